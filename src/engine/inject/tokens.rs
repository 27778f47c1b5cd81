//! Tokens of a normalised text, read once and shared by the lexicon's phrase matcher and the
//! learned model's features.
//!
//! A token is a word (a run of letters and digits, any script: every byte ≥ 0x80 counts as a
//! letter, as the normaliser leaves only letters there) or one visible ASCII character that is
//! not a letter (`<`, `|`, `:`). Whitespace separates tokens and is not one. Each token carries
//! its FNV-1a hash, computed as it is read.

use super::normalize::PAYLOAD;

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

/// FNV-1a of `bytes`: the hash of tokens, also what fixes the training split (of group names).
pub fn fnv1a(bytes: &[u8]) -> u32 {
    fnv(FNV_OFFSET, bytes)
}

/// FNV-1a of `bytes` continued from `seed`.
pub fn fnv(seed: u32, bytes: &[u8]) -> u32 {
    bytes.iter().fold(seed, |h, &b| fnv_step(h, b))
}

#[inline(always)]
fn fnv_step(h: u32, b: u8) -> u32 {
    (h ^ u32::from(b)).wrapping_mul(FNV_PRIME)
}

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Letters and digits.
    Word,
    /// One ASCII character that is neither a letter, a digit nor whitespace.
    Symbol,
    /// The mark of a masked payload ([`PAYLOAD`]).
    Payload,
}

/// One token: where it is in the text and its hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    /// Byte offset of its first byte.
    pub start: usize,
    /// Byte offset just past it.
    pub end: usize,
    /// FNV-1a of its bytes.
    pub hash: u32,
    /// Word, symbol or payload.
    pub kind: Kind,
    /// Whether it holds a character of a script written without spaces (a lead byte ≥ 0xE3:
    /// Chinese, Japanese, Korean), whose lexicon atoms are matched inside words.
    pub wide: bool,
}

/// Byte classes: [`WORD`] bytes continue a word, [`SPACE`] bytes separate tokens.
const WORD: u8 = 1;
const SPACE: u8 = 2;
// An index out of bounds in a constant fails the build, never a request.
#[allow(clippy::indexing_slicing)]
static CLASSES: [u8; 256] = byte_table!(|c| if c.is_ascii_alphanumeric() || c >= 0x80 {
    WORD
} else if c.is_ascii_whitespace() {
    SPACE
} else {
    0
});

fn class(b: u8) -> u8 {
    CLASSES.get(usize::from(b)).copied().unwrap_or(0)
}

/// The tokens of `text`, in order.
pub fn tokens(text: &str) -> Tokens<'_> {
    Tokens {
        bytes: text.as_bytes(),
        at: 0,
    }
}

/// Iterator over the tokens of a text (see [`tokens`]).
pub struct Tokens<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Iterator for Tokens<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let bytes = self.bytes;
        let mut at = self.at;
        while bytes.get(at).is_some_and(|&b| class(b) == SPACE) {
            at += 1;
        }
        let &first = bytes.get(at)?;
        let start = at;
        let mut hash = fnv_step(FNV_OFFSET, first);
        let mut top = first;
        at += 1;
        let kind = if class(first) == WORD {
            while let Some(&b) = bytes.get(at) {
                if class(b) != WORD {
                    break;
                }
                hash = fnv_step(hash, b);
                top = top.max(b);
                at += 1;
            }
            if first >= 0x80 && bytes.get(start..at) == Some(PAYLOAD.as_bytes()) {
                Kind::Payload
            } else {
                Kind::Word
            }
        } else {
            Kind::Symbol
        };
        self.at = at;
        Some(Token {
            start,
            end: at,
            hash,
            kind,
            wide: top >= 0xE3,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn texts(text: &str) -> Vec<&str> {
        tokens(text).map(|t| &text[t.start..t.end]).collect()
    }

    #[test]
    fn words_symbols_and_payloads() {
        assert_eq!(
            texts("  <|im_start|>system\n"),
            ["<", "|", "im", "_", "start", "|", ">", "system"]
        );
        assert_eq!(texts("don't  stop"), ["don", "'", "t", "stop"]);
        assert_eq!(texts("привет мир"), ["привет", "мир"]);
        let payload = format!("see {PAYLOAD} now");
        let kinds: Vec<Kind> = tokens(&payload).map(|t| t.kind).collect();
        assert_eq!(kinds, [Kind::Word, Kind::Payload, Kind::Word]);
        assert!(tokens("").next().is_none());
        assert!(tokens(" \n\t ").next().is_none());
    }

    #[test]
    fn hashes_and_wide_scripts() {
        let t: Vec<Token> = tokens("ignore 忽略 мир").collect();
        assert_eq!(t[0].hash, fnv1a(b"ignore"));
        assert_eq!(t[1].hash, fnv1a("忽略".as_bytes()));
        assert_eq!(fnv(fnv1a(b"ign"), b"ore"), fnv1a(b"ignore"));
        assert_eq!(
            t.iter().map(|t| t.wide).collect::<Vec<_>>(),
            [false, true, false]
        );
    }
}
