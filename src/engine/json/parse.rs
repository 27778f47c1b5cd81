//! The strict parser: RFC 8259 grammar, UTF-8 only, bounded nesting, duplicate keys rejected.

use super::{Kind, Span, Value};
use crate::engine::ascii::HIGH_BITS;
use std::borrow::Cow;
use std::fmt;

/// Why a body is not acceptable JSON. Carries the byte offset, never the input itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset where parsing stopped.
    pub offset: usize,
    /// What was wrong there.
    pub reason: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid JSON at byte {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for ParseError {}

/// Objects with more members than this are checked for duplicate keys by sorting instead of scanning.
const LINEAR_DUPLICATE_CHECK: usize = 16;

/// Parses `body` as one JSON value surrounded by optional whitespace.
///
/// Nesting deeper than `max_depth` arrays/objects, invalid UTF-8 and duplicate object keys are
/// errors: a duplicate key is read differently by different parsers (first wins or last wins), and
/// a filter must never scan a different request from the one the provider executes.
pub fn parse(body: &[u8], max_depth: usize) -> Result<Value<'_>, ParseError> {
    let src = std::str::from_utf8(body).map_err(|e| ParseError {
        offset: e.valid_up_to(),
        reason: "body is not valid UTF-8",
    })?;
    let mut parser = Parser {
        src,
        pos: 0,
        depth: 0,
        max_depth,
    };
    parser.skip_ws();
    let value = parser.value()?;
    parser.skip_ws();
    if parser.pos != src.len() {
        return Err(parser.error("trailing characters after the JSON value"));
    }
    Ok(value)
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
    max_depth: usize,
}

impl<'a> Parser<'a> {
    fn error(&self, reason: &'static str) -> ParseError {
        ParseError {
            offset: self.pos,
            reason,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect_literal(
        &mut self,
        literal: &'static str,
        kind: Kind<'a>,
    ) -> Result<Value<'a>, ParseError> {
        let start = self.pos;
        if self.src.as_bytes().get(start..start + literal.len()) == Some(literal.as_bytes()) {
            self.pos += literal.len();
            Ok(Value {
                span: Span {
                    start,
                    end: self.pos,
                },
                kind,
            })
        } else {
            Err(self.error("unexpected character"))
        }
    }

    fn value(&mut self) -> Result<Value<'a>, ParseError> {
        match self.peek() {
            Some(b'{') => self.nested(Self::object),
            Some(b'[') => self.nested(Self::array),
            Some(b'"') => {
                let start = self.pos;
                let text = self.string()?;
                Ok(Value {
                    span: Span {
                        start,
                        end: self.pos,
                    },
                    kind: Kind::String(text),
                })
            }
            Some(b't') => self.expect_literal("true", Kind::Bool(true)),
            Some(b'f') => self.expect_literal("false", Kind::Bool(false)),
            Some(b'n') => self.expect_literal("null", Kind::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("unexpected character")),
            None => Err(self.error("unexpected end of input")),
        }
    }

    fn nested(
        &mut self,
        inner: fn(&mut Self) -> Result<Kind<'a>, ParseError>,
    ) -> Result<Value<'a>, ParseError> {
        if self.depth >= self.max_depth {
            return Err(self.error("nesting too deep"));
        }
        self.depth += 1;
        let start = self.pos;
        let kind = inner(self)?;
        self.depth -= 1;
        Ok(Value {
            span: Span {
                start,
                end: self.pos,
            },
            kind,
        })
    }

    fn object(&mut self) -> Result<Kind<'a>, ParseError> {
        self.pos += 1; // '{'
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Kind::Object(Vec::new()));
        }
        // Room for a typical API object's members without growing (one allocation, not four).
        let mut members: Vec<(Cow<'a, str>, Value<'a>)> = Vec::with_capacity(8);
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string key"));
            }
            let key_at = self.pos;
            let key = self.string()?;
            if members.len() < LINEAR_DUPLICATE_CHECK && members.iter().any(|(k, _)| *k == key) {
                return Err(ParseError {
                    offset: key_at,
                    reason: "duplicate object key",
                });
            }
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.error("expected ':'"));
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value()?;
            members.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
        if members.len() > LINEAR_DUPLICATE_CHECK && has_duplicate_key(&members) {
            return Err(self.error("duplicate object key"));
        }
        Ok(Kind::Object(members))
    }

    fn array(&mut self) -> Result<Kind<'a>, ParseError> {
        self.pos += 1; // '['
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Kind::Array(Vec::new()));
        }
        let mut items = Vec::with_capacity(4);
        loop {
            self.skip_ws();
            items.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Kind::Array(items));
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    fn number(&mut self) -> Result<Value<'a>, ParseError> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let digits = |pos: &mut usize| {
            let from = *pos;
            while bytes.get(*pos).is_some_and(u8::is_ascii_digit) {
                *pos += 1;
            }
            *pos - from
        };
        let mut pos = start;
        if bytes.get(pos) == Some(&b'-') {
            pos += 1;
        }
        match bytes.get(pos) {
            Some(b'0') => pos += 1,
            Some(b'1'..=b'9') => {
                digits(&mut pos);
            }
            _ => {
                return Err(ParseError {
                    offset: pos,
                    reason: "invalid number",
                });
            }
        }
        if bytes.get(pos) == Some(&b'.') {
            pos += 1;
            if digits(&mut pos) == 0 {
                return Err(ParseError {
                    offset: pos,
                    reason: "invalid number",
                });
            }
        }
        if let Some(b'e' | b'E') = bytes.get(pos) {
            pos += 1;
            if let Some(b'+' | b'-') = bytes.get(pos) {
                pos += 1;
            }
            if digits(&mut pos) == 0 {
                return Err(ParseError {
                    offset: pos,
                    reason: "invalid number",
                });
            }
        }
        self.pos = pos;
        let raw = self.src.get(start..pos).unwrap_or_default();
        Ok(Value {
            span: Span { start, end: pos },
            kind: Kind::Number(raw),
        })
    }

    /// Parses a string starting at the opening quote; returns its decoded text.
    fn string(&mut self) -> Result<Cow<'a, str>, ParseError> {
        let bytes = self.src.as_bytes();
        let content_start = self.pos + 1;
        // Fast path: no escapes, the text borrows from the body.
        let mut pos = content_start + plain_run(bytes.get(content_start..).unwrap_or_default());
        match bytes.get(pos) {
            Some(b'"') => {
                self.pos = pos + 1;
                return Ok(Cow::Borrowed(
                    self.src.get(content_start..pos).unwrap_or_default(),
                ));
            }
            Some(b'\\') => {}
            Some(_) => {
                self.pos = pos;
                return Err(self.error("control character in string"));
            }
            None => {
                self.pos = pos;
                return Err(self.error("unterminated string"));
            }
        }
        // Slow path: decode escapes into an owned string.
        let mut out = String::with_capacity(pos - content_start + 16);
        out.push_str(self.src.get(content_start..pos).unwrap_or_default());
        loop {
            match bytes.get(pos) {
                Some(b'"') => {
                    self.pos = pos + 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    pos += 1;
                    let escaped = match bytes.get(pos) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos = pos;
                            let c = self.unicode_escape()?;
                            pos = self.pos;
                            out.push(c);
                            continue;
                        }
                        _ => {
                            self.pos = pos;
                            return Err(self.error("invalid escape"));
                        }
                    };
                    out.push(escaped);
                    pos += 1;
                }
                Some(b) if *b < 0x20 => {
                    self.pos = pos;
                    return Err(self.error("control character in string"));
                }
                Some(_) => {
                    let run = plain_run(bytes.get(pos..).unwrap_or_default());
                    // INVARIANT: `pos` and `pos + run` sit next to ASCII bytes or the ends of
                    // `src`, so both are char boundaries.
                    out.push_str(self.src.get(pos..pos + run).unwrap_or_default());
                    pos += run;
                }
                None => {
                    self.pos = pos;
                    return Err(self.error("unterminated string"));
                }
            }
        }
    }

    /// Decodes `uXXXX` (and a following low surrogate) with `self.pos` on the `u`; leaves
    /// `self.pos` after the escape. A lone surrogate decodes to U+FFFD.
    fn unicode_escape(&mut self) -> Result<char, ParseError> {
        let high = self.hex4(self.pos + 1)?;
        self.pos += 5;
        if !(0xD800..0xDC00).contains(&high) {
            return Ok(char::from_u32(high).unwrap_or(char::REPLACEMENT_CHARACTER));
        }
        let bytes = self.src.as_bytes();
        if bytes.get(self.pos) == Some(&b'\\') && bytes.get(self.pos + 1) == Some(&b'u') {
            let low = self.hex4(self.pos + 2)?;
            if (0xDC00..0xE000).contains(&low) {
                self.pos += 6;
                let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                return Ok(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
        }
        Ok(char::REPLACEMENT_CHARACTER)
    }

    fn hex4(&self, at: usize) -> Result<u32, ParseError> {
        let digits = self.src.as_bytes().get(at..at + 4).ok_or(ParseError {
            offset: at,
            reason: "truncated \\u escape",
        })?;
        digits.iter().try_fold(0u32, |acc, &b| {
            let d = (b as char).to_digit(16).ok_or(ParseError {
                offset: at,
                reason: "invalid \\u escape",
            })?;
            Ok(acc * 16 + d)
        })
    }
}

/// Bytes that end a plain run inside a string: the closing quote, an escape, a control character.
// An index out of bounds in a constant fails the build, never a request.
#[allow(clippy::indexing_slicing)]
static STOPS: [bool; 256] = byte_table!(false; |c| c == b'"' || c == b'\\' || c < 0x20);

const ONES: u64 = 0x0101_0101_0101_0101;

/// Whether one of the eight bytes of `x` is a [`STOPS`] byte (exact: the zero-byte and
/// byte-below-n tests never miss one, and the caller finds it byte by byte).
fn has_stop(x: u64) -> bool {
    let zero_in = |v: u64| v.wrapping_sub(ONES) & !v;
    let quote = zero_in(x ^ (ONES * u64::from(b'"')));
    let backslash = zero_in(x ^ (ONES * u64::from(b'\\')));
    let control = x.wrapping_sub(ONES * 0x20) & !x;
    (quote | backslash | control) & HIGH_BITS != 0
}

/// How many bytes at the start of `bytes` are plain string content (no [`STOPS`] byte): eight
/// at a time, then byte by byte. One pass for both the end of the run and control characters.
fn plain_run(bytes: &[u8]) -> usize {
    let mut at = 0;
    while let Some(word) = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        if has_stop(u64::from_le_bytes(*word)) {
            break;
        }
        at += 8;
    }
    let rest = bytes.get(at..).unwrap_or_default();
    at + rest
        .iter()
        .position(|&b| STOPS.get(usize::from(b)).copied().unwrap_or(true))
        .unwrap_or(rest.len())
}

fn has_duplicate_key(members: &[(Cow<'_, str>, Value<'_>)]) -> bool {
    let mut keys: Vec<&str> = members.iter().map(|(k, _)| k.as_ref()).collect();
    keys.sort_unstable();
    keys.windows(2).any(|w| w.first() == w.get(1))
}
