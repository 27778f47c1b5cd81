//! System-prompt leaks: a response that repeats a long run of the request's own system prompt.
//!
//! The system prompt is fingerprinted as the set of hashes of its word 8-grams (words as the
//! scanner reads tokens, lower-cased, punctuation ignored). While scanning a response, each word
//! extends a rolling 8-gram; a run of `min_words` consecutive words whose 8-grams all occur in the
//! prompt is a leak, and every further word of the run is part of it.

use super::entity::Entity;
use super::scan::{Finding, Token};
use std::collections::HashSet;

const N: usize = 8;
/// Most 8-grams kept from a system prompt (about 64 KiB of prompt text).
const MAX_NGRAMS: usize = 8192;

/// The fingerprint of a system prompt.
#[derive(Clone, Debug, Default)]
pub struct PromptPrint {
    ngrams: HashSet<u64>,
    min_words: usize,
}

/// The rolling state of the response's last words.
#[derive(Clone, Debug, Default)]
pub struct LeakState {
    window: [u64; N],
    seen: usize,
    run: usize,
}

fn word_hash(word: &[u8]) -> Option<u64> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut any = false;
    for &b in word {
        if b.is_ascii_alphanumeric() || b >= 0x80 {
            h = (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x100_0000_01b3);
            any = true;
        }
    }
    any.then_some(h)
}

fn combine(window: &[u64; N], seen: usize) -> u64 {
    (0..N).fold(0u64, |acc, k| {
        let w = window.get((seen + k) % N).copied().unwrap_or(0);
        acc.rotate_left(7) ^ w
    })
}

impl PromptPrint {
    /// Fingerprints `texts` (the system and developer texts of a request). `min_words` below 8
    /// turns detection off.
    pub fn new<'a>(texts: impl Iterator<Item = &'a str>, min_words: usize) -> Option<Self> {
        if min_words < N {
            return None;
        }
        let mut print = PromptPrint {
            ngrams: HashSet::new(),
            min_words,
        };
        let mut state = LeakState::default();
        for text in texts {
            for word in text
                .as_bytes()
                .split(|&b| super::scan::class(b) & super::scan::TOK == 0)
            {
                if print.ngrams.len() >= MAX_NGRAMS {
                    break;
                }
                if let Some(g) = state.push(word) {
                    print.ngrams.insert(g);
                }
            }
        }
        (!print.ngrams.is_empty()).then_some(print)
    }
}

impl LeakState {
    /// Adds a word; returns its 8-gram hash once eight words have been seen.
    fn push(&mut self, word: &[u8]) -> Option<u64> {
        let h = word_hash(word)?;
        if let Some(slot) = self.window.get_mut(self.seen % N) {
            *slot = h;
        }
        self.seen += 1;
        (self.seen >= N).then(|| combine(&self.window, self.seen))
    }

    /// Reads the response word `tok`; a finding when it extends a leaked run.
    pub fn word(&mut self, print: &PromptPrint, bytes: &[u8], tok: Token) -> Option<Finding> {
        let g = self.push(bytes.get(tok.start..tok.end)?)?;
        if !print.ngrams.contains(&g) {
            self.run = 0;
            return None;
        }
        self.run += 1;
        let words = self.run + N - 1;
        (words >= print.min_words).then_some(Finding {
            start: tok.start,
            end: tok.end,
            entity: Entity::SystemPrompt,
            quiet: words > print.min_words,
        })
    }
}
