//! The fast path for prose: runs of short words where the general path would find nothing, read
//! word after word without the token reader or the recognisers.
//!
//! A word here is up to 15 ASCII letters, and the general path would answer `No` for it at once:
//! no key word, address, URL or number can start there. Which words those are follows from what
//! the recognisers look at after a token of letters (`recognise::ordinary_word`,
//! `assign::key_word`): the byte after it, and after a space the byte after that. Anything else
//! is left to the general path, so the findings are the same with and without this path (the
//! scanner's tests, the stream's every-cut test and the tests below hold both to that).
//!
//! Most words take one 16-byte load, one look-up for each of the two bytes after them and no
//! branch that depends on their length or spelling.

use super::TOK;
use crate::engine::ascii::{leading_letters_16, load_16};
use crate::engine::redact::recognise::assign::password_word;

/// Longest word read here: a 16-letter run may be a key (`recognise::secrets`).
const MAX_WORD: usize = 15;

/// `c`, the byte after a word, is a space: what follows may be a value (`Bearer …`,
/// `password = …`, `IDENTIFIED BY …`).
const SPACE: u8 = 1;
/// `c` is `.`, a token byte: the token is `word.`, and a space or line break after it ends it.
const DOT: u8 = 2;
/// `c` is any other byte that is not part of a token and does not announce what follows a key,
/// an e-mail's local part, a URL's scheme or an IPv6 group (`@:="'(`): nothing follows the word.
const QUIET: u8 = 4;
/// `a`, the byte after `word `, starts no value: not `=:"'`, a space, or `b`/`B`.
const AFTER_SPACE: u8 = 8;
/// `a` is `b` or `B`: `IDENTIFIED BY …` needs a look at the word.
const AFTER_B: u8 = 16;
/// `a` is a space or a line break: the blanks the scanner passes between words.
const BLANK: u8 = 32;
/// An ASCII letter: the next word starts right there.
const LETTER: u8 = 64;

/// What each byte is, after a word or after its space.
// An index out of bounds in a constant fails the build, never a request.
#[allow(clippy::indexing_slicing)]
static KIND: [u8; 256] = byte_table!(|c| {
    let token = super::CLASS[c as usize] & TOK != 0;
    let mut k = match c {
        b' ' => SPACE,
        b'.' => DOT,
        b'@' | b':' | b'=' | b'"' | b'\'' | b'(' => 0,
        _ if token => 0,
        _ => QUIET,
    };
    k |= match c {
        b'=' | b':' | b'"' | b'\'' | b' ' => 0,
        b'b' | b'B' => AFTER_B,
        _ => AFTER_SPACE,
    };
    if c == b' ' || c == b'\n' {
        k |= BLANK;
    }
    if c.is_ascii_alphabetic() {
        k |= LETTER;
    }
    k
});

fn kind(b: Option<&u8>) -> u8 {
    b.and_then(|&b| KIND.get(usize::from(b)))
        .copied()
        .unwrap_or(0)
}

/// The words that announce a value after a space (`assign::special_word` for words of letters)
/// by length: their first eight bytes in lower case (0: none, as no word of letters gives 0).
// INVARIANT: the lengths index the table of `MAX_WORD + 1` entries (evaluated at compile time).
#[allow(clippy::indexing_slicing)]
const SPECIAL: [[u64; 2]; MAX_WORD + 1] = {
    let mut t = [[0; 2]; MAX_WORD + 1];
    t[5] = [
        u64::from_le_bytes(*b"basic\0\0\0"),
        u64::from_le_bytes(*b"token\0\0\0"),
    ];
    t[6] = [u64::from_le_bytes(*b"bearer\0\0"), 0];
    t[8] = [u64::from_le_bytes(*b"password"), 0];
    t
};

/// Whether the word of `len` ASCII letters whose first eight bytes (and what follows it, when
/// shorter) are `head` is `bearer`, `basic`, `token` or `password` in any case.
fn special(head: u64, len: usize) -> bool {
    let mask = u64::MAX
        .checked_shr(64 - 8 * len.min(8) as u32)
        .unwrap_or(0);
    let lower = (head | 0x2020_2020_2020_2020) & mask;
    let [a, b] = SPECIAL.get(len).copied().unwrap_or_default();
    (lower == a) | (lower == b)
}

/// What the general path does with `word` (letters, starting with the eight bytes `head`) followed
/// by `c` and then `a`: `Some(skip)` when it finds nothing and goes on `skip` bytes after the
/// word's end, having passed over those bytes too; `None` to let it look.
#[inline(always)]
fn after_word(word: &[u8], head: u64, c: Option<&u8>, a: Option<&u8>) -> Option<usize> {
    let (kc, ka) = (kind(c), kind(a));
    if kc & SPACE != 0 {
        let quiet = ka & AFTER_SPACE != 0 || (ka & AFTER_B != 0 && !password_word(word));
        return (quiet && !special(head, word.len())).then_some(1);
    }
    if kc & DOT != 0 {
        return (ka & BLANK != 0).then_some(2);
    }
    (kc & QUIET != 0).then_some(1)
}

/// The length of the word at `i` (up to [`MAX_WORD`] + 1 letters, or to the end of `bytes`) and
/// its first eight bytes.
#[inline(always)]
fn word_at(bytes: &[u8], i: usize) -> (usize, u64) {
    let (lo, hi) = load_16(bytes, i);
    (leading_letters_16(lo, hi), lo)
}

/// Where [`plain_words`] stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stop {
    /// At a word of letters that reaches the end of the text, or is followed by a space or a
    /// `.` that does: the general path would wait for more, or read it when no more follows.
    End,
    /// At a word the general path must read.
    Word,
    /// At a byte that is not a letter.
    Other,
}

/// Reads plain words from `i` (an ASCII letter) and the spaces and line breaks between them,
/// calling `word` with each word's range (a `.` after it included, as the token reader has it).
/// Returns where the general path goes on, and why.
#[inline(always)]
pub(super) fn plain_words(
    bytes: &[u8],
    mut i: usize,
    mut word: impl FnMut(usize, usize),
) -> (usize, Stop) {
    loop {
        let (len, head) = word_at(bytes, i);
        let end = i + len;
        if len == 0 || len > MAX_WORD {
            return (i, Stop::Word);
        }
        // A word that reaches the end may go on in text not yet seen.
        if end >= bytes.len() {
            return (i, Stop::End);
        }
        let (c, a) = (bytes.get(end), bytes.get(end + 1));
        let (kc, ka) = (kind(c), kind(a));
        // The common cases first: one space, then the next word; `.` or `,` and a space, then
        // the next word.
        if kc & SPACE != 0 && ka & LETTER != 0 && a.is_some_and(|a| a | 0x20 != b'b') {
            if special(head, len) {
                return (i, Stop::Word);
            }
            word(i, end);
            i = end + 1;
            continue;
        }
        if kc & (DOT | QUIET) != 0 && a == Some(&b' ') && kind(bytes.get(end + 2)) & LETTER != 0 {
            word(i, if kc & DOT != 0 { end + 1 } else { end });
            i = end + 2;
            continue;
        }
        // `word ` or `word.` at the end: what comes next decides (a key word's value may follow
        // the space; the token `word.` reaches the end).
        if a.is_none() && kc & (SPACE | DOT) != 0 {
            return (i, Stop::End);
        }
        let text = bytes.get(i..end).unwrap_or_default();
        let Some(skip) = after_word(text, head, c, a) else {
            return (i, Stop::Word);
        };
        word(i, if c == Some(&b'.') { end + 1 } else { end });
        i = end + skip;
        while kind(bytes.get(i)) & BLANK != 0 {
            i += 1;
        }
        if !bytes.get(i).is_some_and(u8::is_ascii_alphabetic) {
            return (i, Stop::Other);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::redact::recognise::assign::special_word;
    use crate::engine::redact::scan::class;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// The rule as first written, byte by byte: the tables above must say the same.
    fn reference(word: &[u8], c: u8, a: Option<u8>) -> Option<usize> {
        match c {
            b' ' => {
                let quiet = match a? {
                    b'=' | b':' | b'"' | b'\'' | b' ' => false,
                    b'b' | b'B' => !password_word(word),
                    _ => true,
                };
                (quiet && !special_word(word)).then_some(1)
            }
            b'.' => matches!(a, Some(b' ' | b'\n')).then_some(2),
            b'@' | b':' | b'=' | b'"' | b'\'' | b'(' => None,
            _ => (class(c) & TOK == 0).then_some(1),
        }
    }

    #[test]
    fn tables_match_the_rule() {
        let words: [&[u8]; 12] = [
            b"a",
            b"the",
            b"Basic",
            b"basics",
            b"TOKEN",
            b"tokens",
            b"bearer",
            b"Password",
            b"passwords",
            b"pwd",
            b"identified",
            b"mispw",
        ];
        for w in words {
            let mut padded = w.to_vec();
            padded.resize(8.max(w.len()), b'x');
            let head = u64::from_le_bytes(*padded.first_chunk::<8>().unwrap());
            for c in 0..=255u8 {
                for a in (0..=255u8).map(Some).chain([None]) {
                    let fast = after_word(w, head, Some(&c), a.as_ref());
                    assert_eq!(fast, reference(w, c, a), "{w:?} {c} {a:?}");
                }
            }
        }
    }

    #[test]
    fn special_words_by_their_head() {
        for w in [
            "basic", "BEARER", "Token", "password", "pass", "tokenx", "bearers", "b",
        ] {
            let mut padded = w.as_bytes().to_vec();
            padded.resize(8.max(w.len()), b'z');
            let head = u64::from_le_bytes(*padded.first_chunk::<8>().unwrap());
            assert_eq!(special(head, w.len()), special_word(w.as_bytes()), "{w}");
        }
    }
}
