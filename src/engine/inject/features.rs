//! Features of a normalised text for the learned model: hashed words and word pairs, plus
//! indicator features that the detector adds (rules that fired, evasions, length). (Character
//! 4-grams of words were tried: no better on held-out groups, and a third of the cost.)
//!
//! Words are runs of letters and digits (any script); every other visible character is a token of
//! its own, so that `![`, `<|` and `](` count. Masked payloads are skipped: encoded content is
//! judged on its decoded text. Hashing is FNV-1a ([`tokens`](super::tokens)), fixed, so that the training script
//! (`tools/train_injection.py`) sees exactly the features the module computes.

use super::tokens::{Kind, Token, fnv};

/// Number of feature slots (hashed words take the first [`HASHED`]).
pub const DIM: usize = 1 << 16;
/// Slots for hashed words and word pairs.
pub const HASHED: usize = DIM - 256;
/// First slot of the indicator features.
pub const INDICATOR: usize = HASHED;

fn slot(hash: u32) -> u32 {
    hash % HASHED as u32
}

/// The word and word-pair features of a text, fed its tokens in order.
#[derive(Default)]
pub struct Words {
    /// The previous token's hash, unless a payload came between.
    prev: Option<u32>,
}

impl Words {
    /// Calls `emit` with the slot of `token` and of its pair with the token before.
    pub fn push(&mut self, token: &Token, mut emit: impl FnMut(u32)) {
        if token.kind == Kind::Payload {
            self.prev = None;
            return;
        }
        emit(slot(token.hash));
        if let Some(p) = self.prev {
            emit(slot(fnv(
                p.wrapping_mul(31).wrapping_add(0x9e37),
                &token.hash.to_le_bytes(),
            )));
        }
        self.prev = Some(token.hash);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tokens::tokens;
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn slots(text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        let mut words = Words::default();
        for token in tokens(text) {
            words.push(&token, |s| out.push(s));
        }
        out
    }

    #[test]
    fn words_pairs_and_symbols() {
        // Two words and their pair.
        assert_eq!(slots("ignore previous").len(), 3);
        // Five one-character tokens, four pairs, no 4-grams.
        assert_eq!(slots("![x](").len(), 5 + 4);
        assert_eq!(slots("ignore previous"), slots("ignore   previous"));
        assert_ne!(slots("ignore previous"), slots("previous ignore"));
        assert!(slots("a b c").iter().all(|&s| (s as usize) < HASHED));
    }
}
