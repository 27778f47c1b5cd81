//! Lexicon atoms of spaced scripts, matched token by token: a trie whose edges are tokens (or,
//! for stems, word prefixes), walked with the few partial matches that are alive at a time.
//!
//! Most tokens of ordinary text start no atom; for them the cost is a bit test (for whole words)
//! and a lookup of the lengths of the stems that start with the word's first three bytes, the
//! only lengths at which a word is then looked up as a stem. Whitespace between the tokens of a
//! phrase is not compared: `set  aside` and `set\naside` both match `set aside`.

use super::lexicon::Concept;
use super::tokens::{Kind, Token, fnv, fnv1a, tokens};

/// Partial matches followed at once; more are dropped (the longest-running first kept). A
/// phrase needs one per token it has matched so far, so this is far above what text produces.
const MAX_ACTIVE: usize = 16;
/// Bits in each whole-token filter.
const FILTER_BITS: usize = 1 << 15;
/// Entries in each table of stem lengths by head.
const HEAD_SLOTS: usize = 1 << 12;
/// Bytes of a stem's start hashed for the tables of stem lengths (the shortest stem).
const STEM_HEAD: usize = 3;

/// What an atom yields when its last token matches.
#[derive(Clone, Copy, Debug)]
pub struct Output {
    /// The concept found.
    pub concept: Concept,
    /// The atom is an encoded spelling (ROT13, Atbash, reversed).
    pub encoded: bool,
    /// The atom counts only at the start of a line.
    pub line_start: bool,
}

#[derive(Clone, Debug, Default)]
struct Node {
    outputs: Vec<Output>,
    /// Bit `n` set when a stem edge of `n` bytes leaves this node.
    stems: u64,
}

/// An edge: its key (see [`key`]; 0 for an empty slot), the node it leads to and the token (or
/// stem) it matches, as a range of [`Edges::texts`].
#[derive(Clone, Copy, Debug, Default)]
struct Edge {
    key: u64,
    child: u32,
    text: (u32, u32),
}

/// The trie's edges: an open-addressing hash table keyed by (node, stem, token hash), linear
/// probing, at most half full.
#[derive(Clone, Debug)]
struct Edges {
    slots: Vec<Edge>,
    texts: Vec<u8>,
    len: usize,
}

impl Default for Edges {
    fn default() -> Self {
        Edges {
            slots: vec![Edge::default(); 64],
            texts: Vec::new(),
            len: 0,
        }
    }
}

/// The key of an edge: never 0, the mark of an empty slot.
fn key(node: u32, stem: bool, hash: u32) -> u64 {
    (1 << 63) | (u64::from(node) << 33) | (u64::from(stem) << 32) | u64::from(hash)
}

impl Edges {
    fn home(&self, key: u64) -> usize {
        let mixed = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (mixed >> 32) as usize & (self.slots.len() - 1)
    }

    fn text(&self, edge: &Edge) -> &[u8] {
        self.texts
            .get(edge.text.0 as usize..edge.text.1 as usize)
            .unwrap_or_default()
    }

    /// The child along the edge `key` whose text `matches`.
    fn find(&self, key: u64, matches: impl Fn(&[u8]) -> bool) -> Option<u32> {
        let mut i = self.home(key);
        loop {
            let edge = self.slots.get(i)?;
            if edge.key == 0 {
                return None;
            }
            if edge.key == key && matches(self.text(edge)) {
                return Some(edge.child);
            }
            i = (i + 1) & (self.slots.len() - 1);
        }
    }

    fn insert(&mut self, key: u64, text: &[u8], child: u32) {
        if 2 * (self.len + 1) > self.slots.len() {
            let grown = vec![Edge::default(); 2 * self.slots.len()];
            let old = std::mem::replace(&mut self.slots, grown);
            for edge in old.into_iter().filter(|e| e.key != 0) {
                self.place(edge);
            }
        }
        let start = u32::try_from(self.texts.len()).unwrap_or(u32::MAX);
        self.texts.extend_from_slice(text);
        let end = u32::try_from(self.texts.len()).unwrap_or(u32::MAX);
        self.place(Edge {
            key,
            child,
            text: (start, end),
        });
        self.len += 1;
    }

    fn place(&mut self, edge: Edge) {
        let mask = self.slots.len() - 1;
        let mut i = self.home(edge.key);
        while let Some(slot) = self.slots.get_mut(i) {
            if slot.key == 0 {
                *slot = edge;
                return;
            }
            i = (i + 1) & mask;
        }
    }
}

/// The hash of a stem's first [`STEM_HEAD`] bytes, for the tables of stem lengths: one multiply.
fn head_hash(head: &[u8]) -> u32 {
    let packed = head
        .iter()
        .fold(0u32, |packed, &b| packed << 8 | u32::from(b));
    packed.wrapping_mul(0x9E37_79B9) >> 8
}

/// A bit filter over hashes.
#[derive(Clone, Debug)]
struct Filter(Vec<u64>);

impl Default for Filter {
    fn default() -> Self {
        Filter(vec![0; FILTER_BITS / 64])
    }
}

impl Filter {
    fn insert(&mut self, hash: u32) {
        let i = hash as usize % FILTER_BITS;
        if let Some(w) = self.0.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }

    fn contains(&self, hash: u32) -> bool {
        let i = hash as usize % FILTER_BITS;
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}

/// The lengths of the stems that start with each head (hashed): bit `n` set when a stem of `n`
/// bytes does. A word is looked up as a stem only at these lengths.
#[derive(Clone, Debug)]
struct StemLengths(Vec<u64>);

impl Default for StemLengths {
    fn default() -> Self {
        StemLengths(vec![0; HEAD_SLOTS])
    }
}

impl StemLengths {
    fn insert(&mut self, head: u32, len: usize) {
        if let Some(lengths) = self.0.get_mut(head as usize % HEAD_SLOTS) {
            *lengths |= 1u64.checked_shl(len as u32).unwrap_or(0);
        }
    }

    fn get(&self, head: u32) -> u64 {
        self.0.get(head as usize % HEAD_SLOTS).copied().unwrap_or(0)
    }
}

/// Filters of the tokens found at one place in atoms.
#[derive(Clone, Debug, Default)]
struct Filters {
    /// Whole tokens.
    words: Filter,
    /// Stems, by their first [`STEM_HEAD`] bytes.
    stems: StemLengths,
}

impl Filters {
    /// What is worth looking up for a token of this `hash` (and, for a word, this stem `head`).
    fn tries(&self, hash: u32, head: Option<u32>) -> Tries {
        Tries {
            whole: self.words.contains(hash),
            stem_lengths: head.map_or(0, |h| self.stems.get(h)),
        }
    }
}

/// Which edges a token may follow: as a whole token, as a word starting with a stem of one of
/// these lengths (bit `n`: `n` bytes).
#[derive(Clone, Copy, Debug)]
struct Tries {
    whole: bool,
    stem_lengths: u64,
}

impl Tries {
    fn any(self) -> bool {
        self.whole || self.stem_lengths != 0
    }
}

/// The compiled phrases.
#[derive(Clone, Debug)]
pub struct Phrases {
    nodes: Vec<Node>,
    edges: Edges,
    /// What the first tokens of atoms are.
    first: Filters,
    /// What their later tokens are.
    later: Filters,
}

impl Default for Phrases {
    fn default() -> Self {
        Phrases {
            nodes: vec![Node::default()],
            edges: Edges::default(),
            first: Filters::default(),
            later: Filters::default(),
        }
    }
}

impl Phrases {
    /// Adds an atom: `text` (normalised) as a sequence of tokens; with `stem`, its last token
    /// matches any word that starts with it.
    pub fn insert(&mut self, text: &str, stem: bool, output: Output) {
        let parts: Vec<Token> = tokens(text).collect();
        let mut node = 0u32;
        for (i, token) in parts.iter().enumerate() {
            let Some(bytes) = text.as_bytes().get(token.start..token.end) else {
                return;
            };
            let is_stem = stem
                && i + 1 == parts.len()
                && token.kind == Kind::Word
                && (STEM_HEAD..64).contains(&bytes.len());
            node = self.edge(node, bytes, is_stem);
            let filters = if i == 0 {
                &mut self.first
            } else {
                &mut self.later
            };
            if is_stem {
                let head = head_hash(bytes.get(..STEM_HEAD).unwrap_or(bytes));
                filters.stems.insert(head, bytes.len());
            } else {
                filters.words.insert(token.hash);
            }
        }
        if node != 0 {
            if let Some(n) = self.nodes.get_mut(node as usize) {
                n.outputs.push(output);
            }
        }
    }

    /// The node that `bytes` leads to from `node`, created if missing.
    fn edge(&mut self, node: u32, bytes: &[u8], stem: bool) -> u32 {
        let key = key(node, stem, fnv1a(bytes));
        if let Some(child) = self.edges.find(key, |t| t == bytes) {
            return child;
        }
        let child = u32::try_from(self.nodes.len()).unwrap_or(u32::MAX);
        self.edges.insert(key, bytes, child);
        self.nodes.push(Node::default());
        if stem {
            if let Some(n) = self.nodes.get_mut(node as usize) {
                n.stems |= 1 << bytes.len();
            }
        }
        child
    }

    fn child(
        &self,
        node: u32,
        stem: bool,
        hash: u32,
        matches: impl Fn(&[u8]) -> bool,
    ) -> Option<u32> {
        self.edges.find(key(node, stem, hash), matches)
    }
}

/// The state of matching one text, fed its tokens in order.
pub struct PhraseMatcher<'a> {
    phrases: &'a Phrases,
    text: &'a [u8],
    /// Partial matches: the node reached and where the phrase started.
    active: Vec<(u32, usize)>,
    next: Vec<(u32, usize)>,
}

impl<'a> PhraseMatcher<'a> {
    /// Starts matching `text`.
    pub fn new(phrases: &'a Phrases, text: &'a str) -> Self {
        PhraseMatcher {
            phrases,
            text: text.as_bytes(),
            active: Vec::new(),
            next: Vec::new(),
        }
    }

    /// Advances over `token`; calls `emit` with each atom that ends there and where it started.
    pub fn token(&mut self, token: &Token, mut emit: impl FnMut(Output, usize)) {
        let Some(word) = self.text.get(token.start..token.end) else {
            return;
        };
        let phrases = self.phrases;
        let head = match token.kind {
            Kind::Word => word.get(..STEM_HEAD).map(head_hash),
            _ => None,
        };
        let first = phrases.first.tries(token.hash, head);
        if self.active.is_empty() && !first.any() {
            // The common case: nothing in progress, nothing begins.
            return;
        }
        let mut next = std::mem::take(&mut self.next);
        next.clear();
        let later = phrases.later.tries(token.hash, head);
        if later.any() {
            for &(node, start) in &self.active {
                self.step(node, start, token, word, later, &mut next, &mut emit);
            }
        }
        if first.any() {
            self.step(0, token.start, token, word, first, &mut next, &mut emit);
        }
        next.truncate(MAX_ACTIVE);
        self.next = std::mem::replace(&mut self.active, next);
    }

    /// Follows the edges from `node` that `token` matches: as a whole token, and as a word
    /// starting with a stem, as far as `tries` allows.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &self,
        node: u32,
        start: usize,
        token: &Token,
        word: &[u8],
        tries: Tries,
        next: &mut Vec<(u32, usize)>,
        emit: &mut impl FnMut(Output, usize),
    ) {
        let phrases = self.phrases;
        let mut reach = |child: u32| {
            let Some(n) = phrases.nodes.get(child as usize) else {
                return;
            };
            let at_line_start = start == 0 || self.text.get(start - 1) == Some(&b'\n');
            for output in &n.outputs {
                if !output.line_start || at_line_start {
                    emit(*output, start);
                }
            }
            next.push((child, start));
        };
        if tries.whole {
            if let Some(child) = phrases.child(node, false, token.hash, |t| t == word) {
                reach(child);
            }
        }
        let stems = phrases.nodes.get(node as usize).map_or(0, |n| n.stems);
        if tries.stem_lengths & stems == 0 || token.kind != Kind::Word {
            return;
        }
        // Stem lengths up to the word's length, the prefix's hash carried from one to the next.
        let mut lengths = stems & tries.stem_lengths & (u64::MAX >> (63 - word.len().min(63)));
        let (mut hashed, mut hash) = (0, fnv1a(&[]));
        while lengths != 0 {
            let len = lengths.trailing_zeros() as usize;
            lengths &= lengths - 1;
            let (Some(prefix), Some(more)) = (word.get(..len), word.get(hashed..len)) else {
                break;
            };
            hash = fnv(hash, more);
            hashed = len;
            if let Some(child) = phrases.child(node, true, hash, |t| t == prefix) {
                reach(child);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn out(concept: Concept, line_start: bool) -> Output {
        Output {
            concept,
            encoded: false,
            line_start,
        }
    }

    /// The (concept, matched text) of every atom found in `text`.
    fn found(phrases: &Phrases, text: &str) -> Vec<(Concept, String)> {
        let mut matcher = PhraseMatcher::new(phrases, text);
        let mut hits = Vec::new();
        for token in tokens(text) {
            matcher.token(&token, |o, start| {
                hits.push((o.concept, text[start..token.end].to_string()))
            });
        }
        hits
    }

    #[test]
    fn words_phrases_stems_and_line_starts() {
        let mut p = Phrases::default();
        p.insert("ignore", false, out(1, false));
        p.insert("ignor", true, out(2, false));
        p.insert("set aside", false, out(3, false));
        p.insert("all the rules", false, out(4, false));
        p.insert("the rules", false, out(5, false));
        p.insert("system :", false, out(6, true));
        p.insert("<|im_start|>", false, out(7, false));
        assert_eq!(
            found(&p, "please ignore it"),
            [(1, "ignore".into()), (2, "ignore".into())]
        );
        assert_eq!(found(&p, "ignoring"), [(2, "ignoring".into())]);
        assert!(found(&p, "signore ign igno").is_empty());
        assert_eq!(found(&p, "set\naside"), [(3, "set\naside".into())]);
        assert_eq!(
            found(&p, "all the rules"),
            [(4, "all the rules".into()), (5, "the rules".into())]
        );
        assert_eq!(found(&p, "x\nsystem: y"), [(6, "system:".into())]);
        assert!(found(&p, "file system: y").is_empty());
        assert_eq!(found(&p, "x<|im_start|>"), [(7, "<|im_start|>".into())]);
        assert!(found(&p, "set").is_empty());
    }

    #[test]
    fn partial_matches_are_bounded() {
        let mut p = Phrases::default();
        p.insert(
            "a a a a a a a a a a a a a a a a a a a a b",
            false,
            out(1, false),
        );
        let text = "a ".repeat(10_000);
        assert!(found(&p, &text).is_empty());
        let mut matcher = PhraseMatcher::new(&p, &text);
        for token in tokens(&text) {
            matcher.token(&token, |_, _| {});
            assert!(matcher.active.len() <= MAX_ACTIVE);
        }
    }
}
