//! The scanner: one left-to-right pass over a text that finds every recognised value.
//!
//! Bytes are classified by a table; only token starts and a few delimiters reach a recogniser,
//! and the validators run on candidates only. The pass also works on a growing text: it stops at
//! the first place where a recogniser would need bytes that have not arrived and reports that
//! place as the end of what is final (`committed`). Resuming there with the same [`ScanState`]
//! gives exactly the findings of one pass over the whole text, because every recogniser looks at
//! most [`LOOKBACK`] bytes back and a bounded number of bytes ahead: that is what makes streamed
//! redaction independent of how the stream was cut (see `stream.rs`).

use super::entity::Entity;
use super::leak::{LeakState, PromptPrint};
use super::recognise::{self, Step};
use super::rules::Rules;

/// A recognised value: its byte range in the scanned text and its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finding {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// What it is.
    pub entity: Entity,
    /// Continues the finding before it (a system-prompt run): replaced by nothing.
    pub quiet: bool,
}

/// How far back any recogniser looks before the place it starts at.
pub const LOOKBACK: usize = 96;

/// Longest token read as one; a longer run of token bytes is read as several tokens.
pub const MAX_TOKEN: usize = 1024;

/// What the scanner carries from one part of a growing text to the next.
#[derive(Clone, Debug, Default)]
pub struct ScanState {
    leak: LeakState,
}

/// What one scan reads with: the compiled rules and, when known, the request's system prompt.
#[derive(Clone, Copy, Debug)]
pub struct Scan<'a> {
    /// Canaries, link allow-list, custom entities.
    pub rules: &'a Rules,
    /// The system prompt's fingerprint, for leak detection.
    pub prompt: Option<&'a PromptPrint>,
}

pub(super) const TOK: u8 = 1;
pub(super) const DIGIT: u8 = 2;
pub(super) const UPPER: u8 = 4;
pub(super) const LOWER: u8 = 8;
pub(super) const PUNCT: u8 = 16;
pub(super) const HIGH: u8 = 32;

/// Byte classes: token bytes are ASCII letters and digits, `_-+/.~%`, and non-ASCII bytes.
// An index out of bounds in a constant fails the build, never a request.
#[allow(clippy::indexing_slicing)]
pub(super) static CLASS: [u8; 256] = byte_table!(|c| if c.is_ascii_digit() {
    TOK | DIGIT
} else if c.is_ascii_uppercase() {
    TOK | UPPER
} else if c.is_ascii_lowercase() {
    TOK | LOWER
} else if matches!(c, b'_' | b'-' | b'+' | b'/' | b'.' | b'~' | b'%') {
    TOK | PUNCT
} else if c >= 0x80 {
    TOK | HIGH
} else {
    0
});

/// The class bits of `b`.
pub(super) fn class(b: u8) -> u8 {
    CLASS.get(usize::from(b)).copied().unwrap_or(0)
}

/// Whether `b` can be part of a token: ASCII letters and digits, `_-+/.~%`, non-ASCII bytes.
pub fn is_token_byte(b: u8) -> bool {
    class(b) & TOK != 0
}

/// Whether `b` is an ASCII letter or digit.
pub(super) fn alnum(b: Option<&u8>) -> bool {
    b.is_some_and(u8::is_ascii_alphanumeric)
}

/// A token: a run of token bytes, with the union of its bytes' classes.
#[derive(Clone, Copy, Debug)]
pub struct Token {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// The union of its bytes' classes.
    pub classes: u8,
}

/// Reads the token starting at `start`: ASCII token bytes or non-ASCII bytes (a change from one
/// to the other ends it, so `電話：03-1234-5678` holds the number as a token of its own), at most
/// [`MAX_TOKEN`] bytes, ending on a character boundary.
pub fn token(bytes: &[u8], start: usize) -> Token {
    let limit = bytes.len().min(start.saturating_add(MAX_TOKEN));
    let script = bytes.get(start).map_or(0, |&b| class(b) & HIGH);
    let mut classes = 0;
    let run = bytes.get(start..limit).unwrap_or_default();
    let mut end = start + run.len();
    for (k, &b) in run.iter().enumerate() {
        let c = class(b);
        if c & TOK == 0 || c & HIGH != script {
            end = start + k;
            break;
        }
        classes |= c;
    }
    if end == limit && end < bytes.len() {
        // INVARIANT: a token that is cut ends on a character boundary.
        while end > start + 1 && bytes.get(end).is_some_and(|b| b & 0xC0 == 0x80) {
            end -= 1;
        }
    }
    Token {
        start,
        end,
        classes,
    }
}

/// Scans `bytes` from `from` (the bytes before it are context, already final) and appends what it
/// finds to `out`. `last` says that no more bytes follow. Returns the offset up to which the
/// findings are final: `bytes.len()` when `last`.
pub fn scan(
    cx: &Scan<'_>,
    bytes: &[u8],
    from: usize,
    last: bool,
    state: &mut ScanState,
    out: &mut Vec<Finding>,
) -> usize {
    let t = recognise::Text { bytes, last };
    let n = bytes.len();
    let fast = cx.rules.canaries.is_empty() && cx.rules.custom.is_empty();
    let mut i = from;
    while i < n {
        let b = bytes.get(i).copied().unwrap_or(0);
        let c = class(b);
        if c & TOK == 0 {
            if b == b'(' && !alnum(i.checked_sub(1).and_then(|p| bytes.get(p))) {
                match recognise::numbers::number(&t, i) {
                    Step::More => return i,
                    Step::Found(f) => {
                        out.push(f);
                        i = f.end;
                        continue;
                    }
                    Step::Skip(end) => {
                        i = end.max(i + 1);
                        continue;
                    }
                    Step::No => {}
                }
            }
            i += 1;
            continue;
        }
        if fast && c & (LOWER | UPPER) != 0 {
            let (next, stop) = match cx.prompt {
                // The leak detector reads every word.
                Some(print) => prose::plain_words(bytes, i, |start, end| {
                    let tok = Token {
                        start,
                        end,
                        classes: TOK | LOWER,
                    };
                    out.extend(state.leak.word(print, bytes, tok));
                }),
                None => prose::plain_words(bytes, i, |_, _| {}),
            };
            i = next;
            match stop {
                prose::Stop::Other => continue,
                // The token there reaches the end too: the general path would wait as well.
                prose::Stop::End if !last => return i,
                _ => {}
            }
        }
        let tok = token(bytes, i);
        if tok.end == n && !last {
            return i;
        }
        match recognise::token(cx, &t, tok) {
            Step::More => return i,
            Step::Found(f) => {
                out.push(f);
                i = f.end.max(i + 1);
            }
            Step::Skip(end) => i = end.max(i + 1),
            Step::No => {
                if let Some(print) = cx.prompt {
                    if let Some(f) = state.leak.word(print, bytes, tok) {
                        out.push(f);
                    }
                }
                i = tok.end;
            }
        }
    }
    n
}

mod prose;

#[cfg(test)]
mod tests;
