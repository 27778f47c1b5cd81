//! The recognisers, by family. Each looks at a candidate the scanner hands it and answers
//! found / not found / need more bytes; none looks further back than [`LOOKBACK`] bytes.
//!
//! [`LOOKBACK`]: super::scan::LOOKBACK

pub mod assign;
pub mod net;
pub mod numbers;
pub mod secrets;

use super::entity::Entity;
use super::scan::{DIGIT, Finding, HIGH, LOWER, PUNCT, Scan, Token, UPPER};

/// The text being scanned, and whether more may follow.
#[derive(Clone, Copy)]
pub struct Text<'t> {
    /// Everything available, from the start of the retained context.
    pub bytes: &'t [u8],
    /// No more bytes follow.
    pub last: bool,
}

impl<'t> Text<'t> {
    /// The byte at `i`.
    pub fn at(&self, i: usize) -> Option<u8> {
        self.bytes.get(i).copied()
    }

    /// The bytes in `start..end`, clamped.
    pub fn slice(&self, start: usize, end: usize) -> &'t [u8] {
        let end = end.min(self.bytes.len());
        self.bytes.get(start.min(end)..end).unwrap_or_default()
    }

    /// Whether a read that reached `i` ran out of bytes that may still come.
    pub fn short(&self, i: usize) -> bool {
        i >= self.bytes.len() && !self.last
    }
}

/// A recogniser's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Nothing here.
    No,
    /// Cannot tell before more bytes arrive.
    More,
    /// A value.
    Found(Finding),
    /// Not a value, and neither is anything before this offset (a number that fails its check).
    Skip(usize),
}

pub(super) fn found(start: usize, end: usize, entity: Entity) -> Step {
    Step::Found(Finding {
        start,
        end,
        entity,
        quiet: false,
    })
}

/// Whether nothing can start at `tok`: a short word of letters only, not followed by a byte that
/// announces an address, a URL or a value. Most prose ends here.
fn ordinary_word(cx: &Scan<'_>, t: &Text<'_>, tok: Token) -> bool {
    if tok.classes & (DIGIT | PUNCT | HIGH) != 0
        || tok.end - tok.start >= 16
        || !cx.rules.canaries.is_empty()
        || !cx.rules.custom.is_empty()
    {
        return false;
    }
    match t.at(tok.end) {
        Some(b'@' | b':' | b'=' | b'"' | b'\'' | b'(') => false,
        Some(b' ') => {
            let special = assign::special_word(t.slice(tok.start, tok.end));
            let after = t.at(tok.end + 1);
            !special
                && !matches!(
                    after,
                    Some(b'=' | b':' | b'"' | b'\'' | b' ' | b'b' | b'B') | None
                )
        }
        None => t.last,
        Some(_) => true,
    }
}

/// Classifies the token `tok` (its end is known), trying the recognisers whose first byte fits.
pub fn token(cx: &Scan<'_>, t: &Text<'_>, tok: Token) -> Step {
    if ordinary_word(cx, t, tok) {
        return Step::No;
    }
    let first = t.at(tok.start).unwrap_or(0);
    let next = t.at(tok.end);
    if first.is_ascii_digit()
        || (first == b'+' && t.at(tok.start + 1).is_some_and(|b| b.is_ascii_digit()))
    {
        let step = numbers::number(t, tok.start);
        if step != Step::No {
            return step;
        }
    }
    match next {
        Some(b'@') => {
            let step = net::email(t, tok);
            if step != Step::No {
                return step;
            }
        }
        Some(b':') => {
            let step = net::after_colon(cx, t, tok);
            if step != Step::No {
                return step;
            }
        }
        _ => {}
    }
    if first.is_ascii_uppercase() {
        let step = numbers::iban(t, tok.start);
        if step != Step::No {
            return step;
        }
    }
    if !cx.rules.canaries.is_empty() || !cx.rules.custom.is_empty() {
        let step = cx.rules.token(t.slice(tok.start, tok.end), tok.start);
        if step != Step::No {
            return step;
        }
    }
    if tok.classes & HIGH != 0 {
        return Step::No;
    }
    secrets::token(t, tok)
}

/// Whether the classes include a letter and a digit.
pub(super) fn letters_and_digits(classes: u8) -> bool {
    classes & DIGIT != 0 && classes & (UPPER | LOWER) != 0
}

/// Whether the classes include upper and lower case letters and digits.
pub(super) fn mixed(classes: u8) -> bool {
    classes & (DIGIT | UPPER | LOWER) == DIGIT | UPPER | LOWER
}
