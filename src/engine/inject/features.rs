//! Features of a normalised text for the learned model: hashed words and word pairs, plus
//! indicator features that the detector adds (rules that fired, evasions, length). (Character
//! 4-grams of words were tried: no better on held-out groups, and a third of the cost.)
//!
//! Words are runs of letters and digits (any script); every other visible character is a token of
//! its own, so that `![`, `<|` and `](` count. Masked payloads are skipped: encoded content is
//! judged on its decoded text. Hashing is FNV-1a, fixed, so that the training script
//! (`tools/train_injection.py`) sees exactly the features the module computes.

use super::normalize::PAYLOAD;

/// Number of feature slots (hashed words take the first [`HASHED`]).
pub const DIM: usize = 1 << 16;
/// Slots for hashed words and word pairs.
pub const HASHED: usize = DIM - 256;
/// First slot of the indicator features.
pub const INDICATOR: usize = HASHED;

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

/// FNV-1a of `bytes`, the hash of words; also what fixes the training split (of group names).
pub fn fnv1a(bytes: &[u8]) -> u32 {
    fnv(FNV_OFFSET, bytes)
}

fn fnv(seed: u32, bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(seed, |h, &b| (h ^ u32::from(b)).wrapping_mul(FNV_PRIME))
}

fn slot(hash: u32) -> u32 {
    hash % HASHED as u32
}

/// Calls `emit` with the slot of every word and word pair of `text` (repeats included).
pub fn words(text: &str, mut emit: impl FnMut(u32)) {
    let bytes = text.as_bytes();
    let mut prev: Option<u32> = None;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let word = b.is_ascii_alphanumeric() || b >= 0x80;
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if word {
            while bytes
                .get(i)
                .is_some_and(|&c| c.is_ascii_alphanumeric() || c >= 0x80)
            {
                i += 1;
            }
        } else {
            i += 1;
        }
        let piece = bytes.get(start..i).unwrap_or_default();
        if piece == PAYLOAD.as_bytes() {
            prev = None;
            continue;
        }
        let token = fnv1a(piece);
        emit(slot(token));
        if let Some(p) = prev {
            emit(slot(fnv(
                p.wrapping_mul(31).wrapping_add(0x9e37),
                &token.to_le_bytes(),
            )));
        }
        prev = Some(token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn slots(text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        words(text, |s| out.push(s));
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
