//! A cheap token estimator: one pass over the text, counting words, digit groups, punctuation and
//! other characters the way byte-pair encoders tend to split them.
//!
//! It only decides admission (the reservation); the charge is the usage the model reports. Its
//! error against real BPE counts (OpenAI's `o200k_base` and `cl100k_base`) is measured offline by
//! `tools/token-estimate` and stated in the README.

use crate::engine::api::{ApiFormat, TextPiece};
use crate::engine::ascii::{leading_letters, leading_letters_16, load_16};

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
    /// A UTF-8 continuation byte: part of the character before it.
    Continuation,
}

/// The class of each byte. Non-ASCII characters are classed by their first byte, which is
/// enough to tell scripts apart: two-byte characters (U+0080–U+07FF) are Latin, Greek, Cyrillic,
/// Hebrew, Arabic letters; three-byte ones from U+3000 to U+DFFF and from U+F900 are CJK and
/// Hangul; U+2000–U+2FFF (general punctuation, symbols) and four-byte ones (emoji) are symbols.
// An index out of bounds in a constant fails the build, never a request.
#[allow(clippy::indexing_slicing)]
const CLASSES: [Class; 256] = byte_table!(Class::Punct; |b| match b {
    b'a'..=b'z' | b'A'..=b'Z' => Class::Letter,
    b'0'..=b'9' => Class::Digit,
    b' ' | b'\t' => Class::Space,
    b'\n' | b'\r' => Class::Newline,
    0x80..=0xbf => Class::Continuation,
    0xc2..=0xdf => Class::Wide,
    0xe1 | 0xe3..=0xed | 0xef => Class::Cjk,
    _ => Class::Punct,
});

fn class(b: u8) -> Class {
    CLASSES.get(usize::from(b)).copied().unwrap_or(Class::Punct)
}

/// The tokens of a word of `len` ASCII letters.
fn letter_tokens(len: u64) -> u64 {
    1 + len.saturating_sub(WORD).div_ceil(WORD_TAIL)
}

/// The tokens of a run of `len` characters of one class.
fn run_tokens(class: Class, len: u64) -> u64 {
    match class {
        Class::Letter => letter_tokens(len),
        Class::Digit => len.div_ceil(3),
        // A single space joins the next word; longer runs (indentation) are a token.
        Class::Space => u64::from(len > 1),
        Class::Newline => 1,
        Class::Punct => len.div_ceil(2),
        Class::Cjk => len,
        Class::Continuation => 0,
        Class::Wide => len.div_ceil(2),
    }
}

/// Estimated tokens of `text`. Linear in its length, no allocation: words of ASCII letters are
/// measured sixteen bytes at a time, other runs one table look-up a byte.
pub fn text_tokens(text: &str) -> u64 {
    let bytes = text.as_bytes();
    let mut total = 0u64;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let k = class(b);
        if k == Class::Letter {
            i = words(bytes, i, &mut total);
            continue;
        }
        // A run of one class; the continuation bytes inside belong to its characters.
        let (mut len, mut end) = (0u64, i);
        for &b in bytes.get(i..).unwrap_or_default() {
            let c = class(b);
            if c == k {
                len += 1;
            } else if c != Class::Continuation {
                break;
            }
            end += 1;
        }
        i = end;
        total = total.saturating_add(run_tokens(k, len));
    }
    total
}

/// Adds to `total` the tokens of the words from `i` (an ASCII letter) and of what joins them in
/// prose: a single space (nothing), or a punctuation mark and a space (one token); returns where
/// they end.
fn words(bytes: &[u8], mut i: usize, total: &mut u64) -> usize {
    // At most one token a byte: no overflow before the sum is added to `total`.
    let mut tokens = 0u64;
    loop {
        // INVARIANT: in UTF-8 no continuation byte follows an ASCII byte, so a run of letters
        // ends at the first byte that is not one.
        let (lo, hi) = load_16(bytes, i);
        let mut len = leading_letters_16(lo, hi);
        if len == 16 {
            len += leading_letters(bytes.get(i + 16..).unwrap_or_default());
        }
        tokens += letter_tokens(len as u64);
        i += len;
        let letter_at = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_alphabetic);
        match bytes.get(i).copied() {
            Some(b' ') if letter_at(i + 1) => i += 1,
            Some(p) if class(p) == Class::Punct && bytes.get(i + 1) == Some(&b' ') => {
                if !letter_at(i + 2) {
                    break;
                }
                tokens += run_tokens(Class::Punct, 1);
                i += 2;
            }
            _ => break,
        }
    }
    *total = total.saturating_add(tokens);
    i
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

    /// The estimate one byte at a time, as first written: the word loop must give the same.
    fn byte_loop(text: &str) -> u64 {
        let (mut total, mut run, mut len) = (0u64, Class::Space, 0u64);
        for &b in text.as_bytes() {
            let k = class(b);
            if k == run {
                len += 1;
            } else if k != Class::Continuation {
                if len > 0 {
                    total += run_tokens(run, len);
                }
                (run, len) = (k, 1);
            }
        }
        total + if len > 0 { run_tokens(run, len) } else { 0 }
    }

    #[test]
    fn word_loop_matches_the_byte_loop() {
        let parts = [
            "a",
            "the",
            "Bread",
            "international",
            "internationalisation",
            "x",
            " ",
            "  ",
            "\t",
            "\n",
            "\r\n",
            ", ",
            ".",
            "!?",
            "é",
            "naïve",
            "日本語",
            "😀",
            "12",
            "1234567",
            "-",
            "Ωμέγα",
            " b",
            "_",
        ];
        let mut next = crate::engine::xorshift(0x2545_f491_4f6c_dd1d);
        for _ in 0..5000 {
            let mut text = String::new();
            for _ in 0..next(12) {
                text.push_str(parts[next(parts.len())]);
            }
            assert_eq!(text_tokens(&text), byte_loop(&text), "{text:?}");
        }
        let prose = "Bread rises because yeast feeds on the sugars in flour, and releases gas.\n\n";
        assert_eq!(text_tokens(prose), byte_loop(prose));
    }

    #[test]
    fn grows_linearly_with_repetition() {
        let one = text_tokens("The quick brown fox jumps over the lazy dog. ");
        let many = text_tokens(&"The quick brown fox jumps over the lazy dog. ".repeat(100));
        assert!(many >= 99 * one && many <= 101 * one, "{one} {many}");
    }
}
