//! Finding the lexicon's concepts in one text, token by token.

use super::{Atom, Concept, Hit, Lexicon, is_word_byte};
use crate::engine::inject::phrases::PhraseMatcher;
use crate::engine::inject::tokens::Token;
use aho_corasick::FindOverlappingIter;
use std::ops::Range;

impl Lexicon {
    /// Starts finding the concepts of `text` (normalised), whose spaced-out letters were joined
    /// into words at `joined`.
    pub fn matcher<'a>(&'a self, text: &'a str, joined: &'a [Range<usize>]) -> Matcher<'a> {
        Matcher {
            lexicon: self,
            text,
            joined,
            phrases: PhraseMatcher::new(&self.phrases, text),
            wide: None,
            pending_wide: None,
            recent: Recent::default(),
        }
    }
}

/// Finds the concepts of one text, fed its tokens in order; hits come in order of their end.
pub struct Matcher<'a> {
    lexicon: &'a Lexicon,
    text: &'a str,
    joined: &'a [Range<usize>],
    phrases: PhraseMatcher<'a>,
    /// The wide-script automaton's search, from the first token that holds such a character
    /// (its offset in the text), and a hit it found past the current token.
    wide: Option<(usize, FindOverlappingIter<'a, 'a>)>,
    pending_wide: Option<Hit>,
    recent: Recent,
}

/// The last hits emitted: the same concept at the same place through two atoms (`ignore`,
/// `ignor*`) counts once.
struct Recent {
    seen: [(Concept, u32); 4],
    next: usize,
}

impl Default for Recent {
    fn default() -> Self {
        Recent {
            seen: [(Concept::MAX, u32::MAX); 4],
            next: 0,
        }
    }
}

impl Recent {
    fn once(&mut self, hit: Hit, emit: &mut impl FnMut(Hit)) {
        if self.seen.contains(&(hit.concept, hit.start)) {
            return;
        }
        if let Some(slot) = self.seen.get_mut(self.next % 4) {
            *slot = (hit.concept, hit.start);
        }
        self.next += 1;
        emit(hit);
    }
}

impl Matcher<'_> {
    /// Reads `token`; calls `emit` with every hit that ends within it.
    pub fn token(&mut self, token: &Token, mut emit: impl FnMut(Hit)) {
        if token.wide && self.wide.is_none() {
            if let Some(rest) = self.text.get(token.start..) {
                let search = self.lexicon.wide.automaton.find_overlapping_iter(rest);
                self.wide = Some((token.start, search));
            }
        }
        if self.wide.is_some() {
            self.wide_hits(token.end, &mut emit);
        }
        let joined = self.joined;
        for range in joined
            .iter()
            .filter(|r| r.start < token.end && token.start < r.end)
        {
            self.joined_hits(range.clone(), &mut emit);
        }
        let Matcher {
            phrases, recent, ..
        } = self;
        phrases.token(token, |output, start| {
            let hit = Hit {
                concept: output.concept,
                start: offset(start),
                end: offset(token.end),
                encoded: output.encoded,
            };
            recent.once(hit, &mut emit);
        });
    }

    /// Emits the hits left once every token was read.
    pub fn finish(&mut self, mut emit: impl FnMut(Hit)) {
        if self.wide.is_some() {
            self.wide_hits(usize::MAX, &mut emit);
        }
    }

    /// Emits the wide-script hits that end by `end`.
    fn wide_hits(&mut self, end: usize, emit: &mut impl FnMut(Hit)) {
        loop {
            if let Some(hit) = self.pending_wide.take_if(|h| h.end as usize <= end) {
                self.recent.once(hit, emit);
            }
            if self.pending_wide.is_some() {
                return;
            }
            let lexicon = self.lexicon;
            let bytes = self.text.as_bytes();
            let Some((base, search)) = self.wide.as_mut() else {
                return;
            };
            let Some(m) = search.next() else {
                self.wide = None;
                return;
            };
            let (start, stop) = (*base + m.start(), *base + m.end());
            self.pending_wide = lexicon
                .wide
                .atoms
                .get(m.pattern().as_usize())
                .filter(|atom| atom.accepts(bytes, start, stop, false))
                .map(|atom| atom.hit(start, stop));
        }
    }

    /// Emits the hits of every atom inside a word joined from spaced-out letters.
    fn joined_hits(&mut self, range: Range<usize>, emit: &mut impl FnMut(Hit)) {
        let Matcher {
            lexicon,
            text,
            recent,
            ..
        } = self;
        let Some(word) = text.get(range.clone()) else {
            return;
        };
        let substrings = &lexicon.joined;
        for m in substrings.automaton.find_overlapping_iter(word) {
            let (start, end) = (range.start + m.start(), range.start + m.end());
            let Some(atom) = substrings.atoms.get(m.pattern().as_usize()) else {
                continue;
            };
            if atom.accepts(text.as_bytes(), start, end, true) {
                recent.once(atom.hit(start, end), emit);
            }
        }
    }
}

impl Atom {
    /// Whether a match of this atom at `start..end` of `bytes` stands at the boundaries it needs
    /// (`inside_joined`: within a joined word, whose inner boundaries are unknown).
    fn accepts(&self, bytes: &[u8], start: usize, end: usize, inside_joined: bool) -> bool {
        let left_ok = !self.left || inside_joined || start == 0 || !is_word_byte(bytes, start - 1);
        let right_ok = !self.right || inside_joined || !is_word_byte(bytes, end);
        let line_ok = !self.line_start || start == 0 || bytes.get(start - 1) == Some(&b'\n');
        left_ok && right_ok && line_ok
    }

    fn hit(&self, start: usize, end: usize) -> Hit {
        Hit {
            concept: self.concept,
            start: offset(start),
            end: offset(end),
            encoded: self.encoded,
        }
    }
}

fn offset(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}
