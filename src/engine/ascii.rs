//! Eight bytes at a time: the word-at-a-time test for runs of ASCII letters that the redactor's
//! and the token estimator's fast paths share (prose is mostly letters, and a word of prose fits
//! in one or two 8-byte loads).

/// The high bit of each byte of a little-endian word: where the word-at-a-time tests answer.
pub const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `x` that is an ASCII letter.
fn letter_bits(x: u64) -> u64 {
    let low = x & !HIGH_BITS; // no carry between bytes below
    let folded = low | 0x2020_2020_2020_2020; // upper case to lower case
    let at_least_a = folded + 0x1f1f_1f1f_1f1f_1f1f; // high bit: byte >= b'a'
    let above_z = folded + 0x0505_0505_0505_0505; // high bit: byte > b'z'
    at_least_a & !above_z & !x & HIGH_BITS
}

/// Where the first byte of `x` (little-endian) that is not an ASCII letter is: 8 when all are.
fn letters_in(x: u64) -> usize {
    let missing = !letter_bits(x) & HIGH_BITS;
    (missing.trailing_zeros() / 8) as usize
}

/// How many ASCII letters the 16 bytes `lo` then `hi` (little-endian) start with (16 when all
/// are): no branch on the length.
#[inline]
pub fn leading_letters_16(lo: u64, hi: u64) -> usize {
    let (lo, hi) = (letters_in(lo), letters_in(hi));
    if lo < 8 { lo } else { 8 + hi }
}

fn le(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.first_chunk::<8>().copied().unwrap_or_default())
}

/// The 16 bytes of `bytes` from `i` as two little-endian words, zeros past the end: two loads
/// whenever `bytes` holds at least eight bytes, however near its end `i` is.
#[inline]
pub fn load_16(bytes: &[u8], i: usize) -> (u64, u64) {
    let rest = bytes.get(i..).unwrap_or_default();
    if let Some(chunk) = rest.first_chunk::<16>() {
        let (lo, hi) = chunk.split_at(8);
        return (le(lo), le(hi));
    }
    let n = rest.len();
    // The last eight bytes, shifted so that the first of `rest` comes first.
    let tail = |from_end: usize| {
        let start = bytes.len().saturating_sub(8);
        let shift = 8 * (8 - from_end.min(8)) as u32;
        le(bytes.get(start..).unwrap_or_default())
            .checked_shr(shift)
            .unwrap_or(0)
    };
    if n >= 8 {
        (le(rest), tail(n - 8))
    } else if bytes.len() >= 8 {
        (tail(n), 0)
    } else {
        let mut word = [0u8; 8];
        for (w, b) in word.iter_mut().zip(rest) {
            *w = *b;
        }
        (u64::from_le_bytes(word), 0)
    }
}

/// How many ASCII letters `run` starts with.
#[inline]
pub fn leading_letters(run: &[u8]) -> usize {
    // Most words fit in one 16-byte load.
    if let Some(chunk) = run.first_chunk::<16>() {
        let (lo, hi) = chunk.split_at(8);
        let n = leading_letters_16(le(lo), le(hi));
        if n < 16 {
            return n;
        }
    }
    let mut n = 0;
    let mut chunks = run.chunks_exact(8);
    for chunk in chunks.by_ref() {
        let x = u64::from_le_bytes(<[u8; 8]>::try_from(chunk).unwrap_or_default());
        let k = letters_in(x);
        if k < 8 {
            return n + k;
        }
        n += 8;
    }
    n + chunks
        .remainder()
        .iter()
        .take_while(|b| b.is_ascii_alphabetic())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn leading_letters_matches_a_byte_loop() {
        for b in 0..=255u8 {
            for len in 0..20 {
                let mut run = vec![b'q'; len];
                run.push(b);
                run.extend_from_slice(b"abc");
                let want = run.iter().take_while(|c| c.is_ascii_alphabetic()).count();
                assert_eq!(leading_letters(&run), want, "byte {b} after {len} letters");
                for at in 0..run.len() {
                    let (lo, hi) = load_16(&run, at);
                    let mut padded = run[at..].to_vec();
                    padded.resize(16.max(padded.len()), 0);
                    let want_lo = u64::from_le_bytes(padded[..8].try_into().unwrap());
                    let want_hi = u64::from_le_bytes(padded[8..16].try_into().unwrap());
                    assert_eq!((lo, hi), (want_lo, want_hi), "{run:?} at {at}");
                    let letters = run[at..].iter().take_while(|c| c.is_ascii_alphabetic());
                    assert_eq!(leading_letters_16(lo, hi), letters.count().min(16));
                }
                // Cut anywhere: the count stops at the end of the slice.
                for cut in 0..run.len() {
                    assert_eq!(leading_letters(&run[..cut]), want.min(cut), "cut {cut}");
                }
            }
        }
    }
}
