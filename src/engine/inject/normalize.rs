//! Normalisation before matching: one linear pass that undoes the usual evasions.
//!
//! Output is lowercase text in which words are runs of letters and digits and everything between
//! words is kept as a gap (punctuation verbatim, whitespace collapsed to one space or newline), so
//! that both words (`ignore previous instructions`) and delimiters (`<|im_start|>`, `[inst]`) can be
//! matched. Undone on the way:
//!
//! - compatibility forms: fullwidth, mathematical alphanumerics, circled letters, ligatures,
//!   super/subscripts, small capitals, accents (`𝐢𝐠𝐧𝐨𝐫𝐞`, `ｉｇｎｏｒｅ`, `ìgnöre` → `ignore`);
//! - lookalike letters of other scripts inside Latin words (Cyrillic `о` in `ignоre`);
//! - invisible characters: zero-width, bidi controls, soft hyphen, combining marks (Zalgo);
//! - ASCII smuggled in Unicode tag characters or variation selectors: removed from the text and
//!   decoded into [`Normalized::hidden`] to be scanned on its own;
//! - leetspeak inside words that mix letters and digits or `$ ! |` (`1gn0r3` → `ignore`); `@` stays,
//!   as it is far more often an e-mail address than a letter;
//! - letters spaced out with one separator (`i g n o r e`, `i.g.n.o.r.e` → `ignore`);
//! - letters doubled (`outputt yourr instructionss`): a repeated letter is written once;
//! - case.
//!
//! It also notes runs that may be encoded payloads (base64, hex, percent-encoding) for the decoder.
//! Work and memory are linear in the input; per-word buffers are bounded by [`MAX_WORD`].

use super::fold::{Fold, fold};
use super::payload::Candidate;
use crate::engine::ascii::leading_letters;
use std::ops::Range;

/// Longest word kept together; longer runs of letters are cut (and still emitted).
pub const MAX_WORD: usize = 64;
/// What a masked payload becomes in the normalised text: one token no text can spell.
pub const PAYLOAD: &str = "\u{27ea}payload\u{27eb}";
/// Most joined runs of spaced-out letters noted per text.
const MAX_JOINED: usize = 16;

/// Which evasions a text used; each is a weak signal of its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Evasions {
    /// Letters of another script folded inside Latin words.
    pub homoglyphs: u32,
    /// Invisible characters removed from inside words.
    pub invisible: u32,
    /// Words rewritten from leetspeak.
    pub leet: u32,
    /// Runs of spaced-out letters joined.
    pub spaced: u32,
    /// Characters of compatibility forms folded (fullwidth, mathematical, circled, …).
    pub compat: u32,
}

/// The normalised form of one text.
#[derive(Clone, Debug, Default)]
pub struct Normalized {
    /// The folded text.
    pub text: String,
    /// Text smuggled in tag characters or variation selectors, decoded.
    pub hidden: String,
    /// Runs of the original text that may be encoded payloads, with where they sit in `text`.
    pub candidates: Vec<Candidate>,
    /// Evasions seen.
    pub evasions: Evasions,
    /// Where spaced-out letters were joined into one word in `text` (word boundaries inside are
    /// unknown). At most [`MAX_JOINED`] are kept.
    pub joined: Vec<Range<usize>>,
}

/// One folded character of the word being read.
#[derive(Clone, Copy)]
enum WordChar {
    /// An ASCII letter (lowercase) or digit, or an ASCII spelling's byte.
    Ascii(u8),
    /// A lookalike: its own lowercase letter and the ASCII letter it imitates.
    Confusable(char, u8),
    /// A letter of another script, lowercased.
    Other(char),
    /// A leet symbol between letters (`@`, `$`, `!`, `|`).
    Symbol(u8),
}

/// Reusable state for normalising texts one after another.
#[derive(Default)]
pub struct Normalizer {
    /// The normalised text being written (whole characters between calls of its writers).
    text: Vec<u8>,
    /// The word being read.
    word: Vec<WordChar>,
    /// Whether invisible characters were dropped inside the word being read.
    word_dropped: bool,
    /// The last complete word, waiting for the gap after it to end.
    held: bool,
    /// The held word's letters (a buffer reused from word to word).
    held_word: Vec<WordChar>,
    /// The gap after the held word, so far.
    gap: String,
    /// Spaced-out single letters waiting to be joined, each with the gap that followed it.
    run: Vec<(WordChar, String)>,
    vs_bytes: Vec<u8>,
    /// Whether the last word with letters was Latin (`Some(true)`), of another script, or absent.
    last_latin: Option<bool>,
    /// Tests compare the fast path with the general one, which this forces.
    #[cfg(test)]
    general_only: bool,
}

/// Separators that may sit between spaced-out letters.
fn thin_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '.' | '-' | '_' | '*' | ',' | '/' | '|' | '+' | '~' | '\'' | '`' | '·' | '=' | ':'
    )
}

fn leet(b: u8) -> Option<u8> {
    Some(match b {
        b'0' => b'o',
        b'1' => b'i',
        b'3' => b'e',
        b'4' => b'a',
        b'5' => b's',
        b'7' => b't',
        b'$' => b's',
        b'!' => b'i',
        b'|' => b'l',
        _ => return None,
    })
}

/// Whether a word of ASCII letters followed by `next` ends there as it is: `next` is the end,
/// or ASCII that is neither a letter, a digit nor a leet symbol.
fn ends_plainly(next: Option<u8>) -> bool {
    next.is_none_or(|n| plain_gap(n) && leet(n).is_none())
}

impl Normalizer {
    /// Normalises `input`.
    pub fn normalize(&mut self, input: &str) -> Normalized {
        self.normalize_masking(input, Vec::new())
    }

    /// Normalises `input` with each of `payloads` (runs of it, see [`payload_runs`]) replaced by
    /// [`PAYLOAD`]: their content is scanned decoded, on its own, and their noise stays out of
    /// the text. The payloads become [`Normalized::candidates`], with their place in the text.
    pub fn normalize_masking(&mut self, input: &str, mut payloads: Vec<Candidate>) -> Normalized {
        payloads.sort_by_key(|p| p.range.start);
        let mut out = Normalized::default();
        self.text = Vec::with_capacity(input.len() + 8);
        self.word.clear();
        self.word_dropped = false;
        self.held = false;
        self.gap.clear();
        self.run.clear();
        self.vs_bytes.clear();
        self.last_latin = None;
        let bytes = input.as_bytes();
        out.candidates = payloads;
        // Payloads not reached yet.
        let mut next = 0;
        let mut at = 0;
        while let Some(&b) = bytes.get(at) {
            if let Some(end) = out
                .candidates
                .get(next)
                .filter(|p| p.range.start <= at)
                .map(|p| p.range.end)
            {
                self.end_word(&mut out);
                if self.held || !self.gap.is_empty() {
                    self.finish_unit(&mut out);
                }
                self.end_run(&mut out);
                self.text.extend_from_slice(PAYLOAD.as_bytes());
                if let Some(payload) = out.candidates.get_mut(next) {
                    payload.at = self.text.len();
                }
                // Payload runs are ASCII: their end is a character boundary.
                at = end.max(at + 1);
                next += 1;
                continue;
            }
            if b.is_ascii() {
                if self.plain_word_at(bytes, at) {
                    let limit = out
                        .candidates
                        .get(next)
                        .map_or(bytes.len(), |p| p.range.start);
                    at += self.plain_words(&mut out, bytes, at, limit);
                    continue;
                }
                at += 1;
                if b.is_ascii_alphanumeric() {
                    self.letter(&mut out, WordChar::Ascii(b.to_ascii_lowercase()));
                } else if leet(b).is_some()
                    && !self.word.is_empty()
                    && input
                        .get(at..)
                        .and_then(|r| r.chars().next())
                        .is_some_and(|n| {
                            n.is_alphanumeric() || (n.is_ascii() && leet(n as u8).is_some())
                        })
                {
                    self.letter(&mut out, WordChar::Symbol(b));
                } else {
                    self.separator(&mut out, char::from(b));
                }
                continue;
            }
            let Some(c) = input.get(at..).and_then(|r| r.chars().next()) else {
                break;
            };
            at += c.len_utf8();
            match fold(c) {
                Fold::Keep(k) if k.is_alphanumeric() => self.letter(&mut out, WordChar::Other(k)),
                Fold::Keep(_) | Fold::Sep => self.separator(&mut out, ' '),
                Fold::Ascii(s) => {
                    out.evasions.compat += 1;
                    for b in s.bytes() {
                        if b.is_ascii_alphanumeric() {
                            self.letter(&mut out, WordChar::Ascii(b));
                        } else {
                            self.separator(&mut out, char::from(b));
                        }
                    }
                }
                Fold::Confusable { own, ascii } => {
                    self.letter(&mut out, WordChar::Confusable(own, ascii))
                }
                Fold::Drop => self.word_dropped |= !self.word.is_empty(),
                Fold::Tag(b) => out.hidden.push(char::from(b)),
                Fold::VarSel(b) => self.vs_bytes.push(b),
            }
        }
        self.end_word(&mut out);
        self.finish_unit(&mut out);
        self.end_run(&mut out);
        // Only whole characters were written: the conversion cannot fail, and would lose nothing
        // but the invalid bytes if it did.
        out.text = String::from_utf8(std::mem::take(&mut self.text))
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        // Variation selectors carry hidden bytes only in long runs (one after an emoji is normal).
        if self.vs_bytes.len() >= 4 {
            out.hidden
                .push_str(&String::from_utf8_lossy(&self.vs_bytes));
        }
        out
    }

    /// Whether a plain word starts at `at`: two or more ASCII letters, ending where a separator
    /// that cannot continue the word follows (see [`ends_plainly`]). Such a word needs no
    /// folding: the fast path.
    fn plain_word_at(&self, bytes: &[u8], at: usize) -> bool {
        #[cfg(test)]
        if self.general_only {
            return false;
        }
        if !self.word.is_empty() {
            return false;
        }
        let len = letters_at(bytes, at);
        (2..=MAX_WORD).contains(&len) && ends_plainly(bytes.get(at + len).copied())
    }

    /// Emits the plain word at `at` (see [`Self::plain_word_at`]) straight to the output, and the
    /// plain words that follow it across gaps of ASCII punctuation and whitespace (words of one
    /// letter too, between longer ones), up to `limit`:
    /// exactly what the general path would produce for them. Returns the bytes consumed. One
    /// pass: a gap and the word after it are written, and taken back if that word is not plain.
    fn plain_words(
        &mut self,
        out: &mut Normalized,
        bytes: &[u8],
        at: usize,
        limit: usize,
    ) -> usize {
        if self.held || !self.gap.is_empty() {
            self.finish_unit(out);
        }
        self.end_run(out);
        self.last_latin = Some(true);
        let text = &mut self.text;
        let mut pos = at;
        // Before the gap being tried: the output's length and the gap's offset.
        let mut before_gap: Option<(usize, usize)> = None;
        loop {
            // The word: lowercase, a repeated letter written once.
            let start = pos;
            pos += letters_at(bytes, pos);
            let word = bytes.get(start..pos).unwrap_or_default();
            // ASCII letters: setting the 0x20 bit lowercases them.
            let repeated = word
                .iter()
                .zip(word.iter().skip(1))
                .fold(false, |repeated, (a, b)| repeated | (a | 0x20 == b | 0x20));
            if repeated {
                let mut previous = 0u8;
                for lower in word.iter().map(|b| b | 0x20) {
                    if lower != previous {
                        text.push(lower);
                    }
                    previous = lower;
                }
            } else {
                text.extend(word.iter().map(|b| b | 0x20));
            }
            if let Some((len, gap_at)) = before_gap {
                // One letter is a word of its own only when it cannot join spaced-out letters:
                // the words before and after it have two letters or more.
                let letters = pos - start;
                let plain = (letters >= 2 || (letters == 1 && long_word_follows(bytes, pos)))
                    && letters <= MAX_WORD
                    && pos <= limit;
                if !plain || !ends_plainly(bytes.get(pos).copied()) {
                    text.truncate(len);
                    return gap_at - at;
                }
            }
            // The gap: punctuation verbatim, whitespace collapsed to one space or newline.
            let (len, gap_at) = (text.len(), pos);
            pos += gap_len(bytes, pos);
            push_gap(text, bytes.get(gap_at..pos).unwrap_or_default());
            if pos == gap_at || !bytes.get(pos).is_some_and(u8::is_ascii_alphabetic) {
                text.truncate(len);
                return gap_at - at;
            }
            before_gap = Some((len, gap_at));
        }
    }

    fn letter(&mut self, out: &mut Normalized, c: WordChar) {
        if self.word.is_empty() && (self.held || !self.gap.is_empty()) {
            // A new word begins: the held word and its gap are complete.
            self.finish_unit(out);
        }
        if self.word.len() >= MAX_WORD {
            self.end_word(out);
            self.finish_unit(out);
        }
        self.word.push(c);
    }

    fn separator(&mut self, out: &mut Normalized, c: char) {
        self.end_word(out);
        if self.gap.len() < MAX_WORD {
            self.gap.push(c);
        }
    }

    /// Ends the word being read: decides leet and lookalike folding, and holds it for its gap.
    fn end_word(&mut self, out: &mut Normalized) {
        if self.word.is_empty() {
            return;
        }
        if std::mem::take(&mut self.word_dropped) {
            out.evasions.invisible += 1;
        }
        let (mut letters, mut leets, mut ascii_letters, mut confusables, mut others) =
            (0, 0, 0, 0, 0);
        for c in &self.word {
            match *c {
                WordChar::Ascii(b) if b.is_ascii_alphabetic() => {
                    letters += 1;
                    ascii_letters += 1;
                }
                WordChar::Ascii(b) | WordChar::Symbol(b) if leet(b).is_some() => leets += 1,
                WordChar::Ascii(_) | WordChar::Symbol(_) => {}
                WordChar::Confusable(..) => {
                    letters += 1;
                    confusables += 1;
                }
                WordChar::Other(_) => {
                    letters += 1;
                    others += 1;
                }
            }
        }
        // A word of lookalikes only is Latin after a Latin word, or alone when it has two letters
        // or more; after a word of their own script it stays there (Russian `все` stays `все`).
        let lookalikes_only = others == 0 && confusables > 0;
        let latin = ascii_letters > 0
            || (lookalikes_only
                && (self.last_latin == Some(true)
                    || (self.last_latin.is_none() && confusables >= 2)));
        if letters > 0 {
            self.last_latin = Some(latin);
        }
        let unleet = letters >= 1 && leets >= 1 && leets <= letters + 1 && others == 0;
        out.evasions.homoglyphs += u32::from(latin && confusables > 0);
        out.evasions.leet += u32::from(unleet);
        for c in &mut self.word {
            *c = match *c {
                WordChar::Confusable(_, a) if latin => WordChar::Ascii(a),
                WordChar::Confusable(own, _) => WordChar::Other(own),
                WordChar::Ascii(b) | WordChar::Symbol(b) if unleet => {
                    WordChar::Ascii(leet(b).unwrap_or(b))
                }
                other => other,
            };
        }
        // The word becomes the held one; the old held buffer is reused for the next word.
        std::mem::swap(&mut self.word, &mut self.held_word);
        self.word.clear();
        self.held = true;
    }

    /// The held word and its gap are complete: join spaced-out letters, or emit both.
    fn finish_unit(&mut self, out: &mut Normalized) {
        let gap = std::mem::take(&mut self.gap);
        if !std::mem::take(&mut self.held) {
            self.end_run(out);
            push_gap(&mut self.text, gap.as_bytes());
            self.gap = gap;
            self.gap.clear();
            return;
        }
        let single = match self.held_word.as_slice() {
            [c] if is_letter(c) => Some(*c),
            _ => None,
        };
        if let Some(c) = single {
            let thin = gap.chars().count() == 1 && gap.chars().all(thin_separator);
            if thin || !self.run.is_empty() {
                self.run.push((c, gap));
                // A run is one word: it ends at a wider gap, or at the longest word kept.
                if !thin || self.run.len() >= MAX_WORD {
                    self.end_run(out);
                }
                return;
            }
        }
        self.end_run(out);
        push_word(&mut self.text, &self.held_word);
        push_gap(&mut self.text, gap.as_bytes());
        self.gap = gap;
        self.gap.clear();
    }

    /// Emits the spaced-out letters held so far: joined when there are three or more.
    fn end_run(&mut self, out: &mut Normalized) {
        let run = std::mem::take(&mut self.run);
        if run.len() >= 3 {
            out.evasions.spaced += 1;
            let letters: Vec<WordChar> = run.iter().map(|(c, _)| *c).collect();
            let start = self.text.len();
            push_word(&mut self.text, &letters);
            if out.joined.len() < MAX_JOINED {
                out.joined.push(start..self.text.len());
            }
            push_gap(
                &mut self.text,
                run.last().map_or(&[], |(_, g)| g.as_bytes()),
            );
        } else {
            for (c, gap) in &run {
                push_word(&mut self.text, std::slice::from_ref(c));
                push_gap(&mut self.text, gap.as_bytes());
            }
        }
    }
}

/// How many ASCII letters `bytes` has from `at`, counted up to one more than [`MAX_WORD`]: enough
/// to tell a plain word, and never more work than that.
fn letters_at(bytes: &[u8], at: usize) -> usize {
    let rest = bytes.get(at..).unwrap_or_default();
    leading_letters(rest.get(..MAX_WORD + 1).unwrap_or(rest))
}

/// How many bytes of the fast path's gap (see [`plain_gap`]) start at `at`, at most [`MAX_WORD`].
fn gap_len(bytes: &[u8], at: usize) -> usize {
    let rest = bytes.get(at..).unwrap_or_default();
    rest.iter()
        .take(MAX_WORD)
        .take_while(|&&b| plain_gap(b))
        .count()
}

/// Whether a word of two or more ASCII letters follows the fast path's gap at `at`.
fn long_word_follows(bytes: &[u8], at: usize) -> bool {
    let start = at + gap_len(bytes, at);
    bytes
        .get(start..start + 2)
        .is_some_and(|w| w.iter().all(u8::is_ascii_alphabetic))
}

fn is_letter(c: &WordChar) -> bool {
    match *c {
        WordChar::Ascii(b) => b.is_ascii_alphabetic(),
        WordChar::Confusable(..) | WordChar::Other(_) => true,
        WordChar::Symbol(_) => false,
    }
}

/// Appends a word's letters; an ASCII letter repeated is written once (`instructionss` → `instructions`,
/// and `all` → `al` in the lexicon alike).
fn push_word(text: &mut Vec<u8>, word: &[WordChar]) {
    let mut previous = None;
    for c in word {
        let letter = match *c {
            WordChar::Ascii(b) | WordChar::Symbol(b) => char::from(b),
            WordChar::Confusable(own, _) | WordChar::Other(own) => own,
        };
        if previous != Some(letter) || !letter.is_ascii_alphabetic() {
            push_char(text, letter);
        }
        previous = Some(letter);
    }
}

/// Appends a gap: punctuation verbatim, whitespace collapsed to one space (or a newline).
/// Gaps hold only ASCII: separators are ASCII characters or a space.
#[inline(always)]
fn push_gap(text: &mut Vec<u8>, gap: &[u8]) {
    match gap {
        // The common gap, one character: as `push_long_gap` would write it.
        [b' '] => text.push(b' '),
        [b] if !is_space(*b) => text.push(*b),
        _ => push_long_gap(text, gap),
    }
}

/// [`push_gap`] for gaps of any length.
fn push_long_gap(text: &mut Vec<u8>, gap: &[u8]) {
    let mut pending_space = false;
    let mut newline = false;
    for &b in gap {
        if is_space(b) {
            pending_space = true;
            newline |= b == b'\n' || b == b'\r';
        } else {
            if pending_space {
                text.push(if newline { b'\n' } else { b' ' });
                pending_space = false;
                newline = false;
            }
            text.push(b);
        }
    }
    if pending_space {
        text.push(if newline { b'\n' } else { b' ' });
    }
}

/// Whether `b` may sit in a gap of the fast path: ASCII that is neither a letter nor a digit.
fn plain_gap(b: u8) -> bool {
    b.is_ascii() && !b.is_ascii_alphanumeric()
}

/// ASCII whitespace as `char::is_whitespace` has it (with vertical tab).
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

/// Appends `c` encoded as UTF-8.
fn push_char(text: &mut Vec<u8>, c: char) {
    let mut utf8 = [0; 4];
    text.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
}

#[cfg(test)]
mod tests;
