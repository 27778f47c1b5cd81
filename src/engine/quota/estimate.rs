//! A cheap token estimator: one pass over the text, counting words, digit groups, punctuation and
//! other characters the way byte-pair encoders tend to split them.
//!
//! It only decides admission (the reservation); the charge is the usage the model reports. Its
//! error against real BPE counts (OpenAI's `o200k_base` and `cl100k_base`) is measured offline by
//! `tools/token-estimate` and stated in the README.

use crate::engine::api::{ApiFormat, TextPiece};

/// Tokens a message costs beyond its text (role markers, separators), as chat formats charge.
const PER_MESSAGE: u64 = 4;
/// Tokens every request costs (the reply primer).
const PER_REQUEST: u64 = 3;

/// A word of up to `WORD` letters is usually one token; longer ones one more per `WORD_TAIL`
/// letters (calibrated with `tools/token-estimate`).
const WORD: u64 = 10;
const WORD_TAIL: u64 = 5;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Letter,
    Digit,
    Space,
    Newline,
    Punct,
    /// Ideographs and syllabaries: about a token each.
    Cjk,
    /// Other non-ASCII letters (accented, Cyrillic, Greek…): split more finely than English.
    Wide,
}

/// Classes of the ASCII characters, by code.
// INVARIANT: `i < 128` indexes the 128-entry table (evaluated at compile time).
#[allow(clippy::indexing_slicing)]
const ASCII: [Class; 128] = {
    let mut table = [Class::Punct; 128];
    let mut i = 0;
    while i < 128 {
        let b = i as u8;
        table[i] = if b.is_ascii_alphabetic() {
            Class::Letter
        } else if b.is_ascii_digit() {
            Class::Digit
        } else if b == b' ' || b == b'\t' {
            Class::Space
        } else if b == b'\n' || b == b'\r' {
            Class::Newline
        } else {
            Class::Punct
        };
        i += 1;
    }
    table
};

fn class(c: char) -> Class {
    match c {
        c if c.is_ascii() => ASCII.get(c as usize).copied().unwrap_or(Class::Punct),
        '\u{1100}'..='\u{11ff}'
        | '\u{2e80}'..='\u{9fff}'
        | '\u{ac00}'..='\u{d7af}'
        | '\u{f900}'..='\u{faff}'
        | '\u{ff00}'..='\u{ffef}'
        | '\u{20000}'..='\u{2fa1f}' => Class::Cjk,
        c if c.is_alphabetic() => Class::Wide,
        _ => Class::Punct,
    }
}

/// The tokens of a run of `len` characters of one class.
fn run_tokens(class: Class, len: u64) -> u64 {
    match class {
        Class::Letter => 1 + len.saturating_sub(WORD).div_ceil(WORD_TAIL),
        Class::Digit => len.div_ceil(3),
        // A single space joins the next word; longer runs (indentation) are a token.
        Class::Space => u64::from(len > 1),
        Class::Newline => 1,
        Class::Punct => len.div_ceil(2),
        Class::Cjk => len,
        Class::Wide => len.div_ceil(2),
    }
}

/// Estimated tokens of `text`. Linear in its length, no allocation.
pub fn text_tokens(text: &str) -> u64 {
    let bytes = text.as_bytes();
    let (mut total, mut run, mut len) = (0u64, Class::Space, 0u64);
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        // ASCII by table; other characters decoded (`i` is always at a character boundary).
        let k = if b < 0x80 {
            i += 1;
            ASCII.get(usize::from(b)).copied().unwrap_or(Class::Punct)
        } else {
            let c = text.get(i..).and_then(|rest| rest.chars().next());
            i += c.map_or(1, char::len_utf8);
            c.map_or(Class::Punct, class)
        };
        if k == run {
            len += 1;
        } else {
            if len > 0 {
                total = total.saturating_add(run_tokens(run, len));
            }
            (run, len) = (k, 1);
        }
    }
    if len > 0 {
        total = total.saturating_add(run_tokens(run, len));
    }
    total
}

/// Estimated prompt tokens of a request: its texts plus the per-message framing.
pub fn prompt_tokens(format: ApiFormat, texts: &[TextPiece<'_>], message_count: usize) -> u64 {
    let text: u64 = texts.iter().map(|t| text_tokens(t.text)).sum();
    let framing = match format {
        ApiFormat::OpenAiCompletions => 0,
        _ => PER_MESSAGE.saturating_mul(message_count as u64),
    };
    text.saturating_add(framing).saturating_add(PER_REQUEST)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn counts_runs() {
        assert_eq!(text_tokens(""), 0);
        assert_eq!(text_tokens("hello world"), 2);
        // 13 letters: one token for the first ten, then one more.
        assert_eq!(text_tokens("international"), 2);
        assert_eq!(text_tokens("internationalisation"), 3);
        assert_eq!(text_tokens("1234567"), 3);
        assert_eq!(text_tokens("a();"), 1 + 2);
        assert_eq!(text_tokens("x\n    y"), 4);
        assert_eq!(text_tokens("日本語"), 3);
    }

    #[test]
    fn grows_linearly_with_repetition() {
        let one = text_tokens("The quick brown fox jumps over the lazy dog. ");
        let many = text_tokens(&"The quick brown fox jumps over the lazy dog. ".repeat(100));
        assert!(many >= 99 * one && many <= 101 * one, "{one} {many}");
    }
}
