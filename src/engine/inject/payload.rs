//! Runs of a text that may be encoded payloads (base64, hex, percent-encoding), found before
//! normalisation so that the normaliser can mask them and the detector decode them.

use crate::engine::ascii::HIGH_BITS;
use std::ops::Range;

/// Shortest run considered as a base64 payload.
const MIN_BASE64: usize = 20;
/// Shortest run of hex digits considered as a payload.
const MIN_HEX: usize = 16;
/// Most payload candidates noted per text.
const MAX_CANDIDATES: usize = 16;

/// The kind of a possibly encoded run in the original text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Standard or URL-safe base64.
    Base64,
    /// Hexadecimal bytes.
    Hex,
    /// Percent-encoded bytes.
    Percent,
}

/// A run of the original text that may be an encoded payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The encoding it looks like.
    pub kind: Encoding,
    /// Byte range in the original text.
    pub range: Range<usize>,
    /// Byte offset in the normalised text where it ends.
    pub at: usize,
}

fn is_base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_')
}

/// Tracks a run of one character class in the original text.
#[derive(Default)]
struct RunTracker {
    start: usize,
    len: usize,
    digits: usize,
    upper: usize,
    lower: usize,
}

/// Byte classes for finding payload runs: [`RUN`] for bytes that any kind of run may contain,
/// [`NEEDED`] for bytes every kind needs one of (a digit, or `%`).
const RUN: u8 = 1;
const NEEDED: u8 = 2;
// An index out of bounds in a constant fails the build, never a request.
#[allow(clippy::indexing_slicing)]
static CLASSES: [u8; 256] = byte_table!(|c| {
    let run = c.is_ascii_alphanumeric()
        || matches!(c, b'+' | b'/' | b'=' | b'_' | b'-' | b'%' | b'.' | b'~');
    let needed = c.is_ascii_digit() || c == b'%';
    (if run { RUN } else { 0 }) | (if needed { NEEDED } else { 0 })
});
fn class(b: u8) -> u8 {
    CLASSES.get(usize::from(b)).copied().unwrap_or(0)
}

/// The shortest payload of any kind: three `%XX` escapes.
const MIN_RUN: usize = 9;

/// Runs of `bytes` that may be encoded payloads (base64, hex, percent-encoding), in order of their
/// end; their `at` is filled in by the caller. Every kind needs a digit or `%`: a quick scan finds
/// those, and only the stretch of run bytes around one, if long enough, is examined byte by byte.
/// At most [`MAX_CANDIDATES`] runs.
pub fn payload_runs(bytes: &[u8]) -> Vec<Candidate> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(needed) = bytes.get(from..).and_then(first_needed) {
        let needed = from + needed;
        let before = bytes.get(from..needed).unwrap_or_default();
        let start = needed
            - before
                .iter()
                .rev()
                .take_while(|&&b| class(b) & RUN != 0)
                .count();
        let after = bytes.get(needed..).unwrap_or_default();
        let end = needed + after.iter().take_while(|&&b| class(b) & RUN != 0).count();
        if end - start >= MIN_RUN {
            examine_run(bytes, start..end, &mut out);
        }
        from = end.max(needed + 1);
    }
    out
}

/// The high bit of each byte of `x` that is an ASCII digit or `%` (see [`NEEDED`]).
fn needed_bits(x: u64) -> u64 {
    let low = x & !HIGH_BITS; // no carry between bytes below
    let at_least_0 = low + 0x5050_5050_5050_5050; // high bit: byte >= b'0'
    let above_9 = low + 0x4646_4646_4646_4646; // high bit: byte > b'9'
    let not_percent = (low ^ 0x2525_2525_2525_2525) + 0x7f7f_7f7f_7f7f_7f7f; // high bit: byte != b'%'
    ((at_least_0 & !above_9) | !not_percent) & !x & HIGH_BITS
}

/// Where the first digit or `%` of `bytes` is: eight bytes at a time.
fn first_needed(bytes: &[u8]) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let bits = needed_bits(u64::from_le_bytes(chunk.try_into().unwrap_or_default()));
        if bits != 0 {
            return Some(at + (bits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = chunks.remainder().iter();
    tail.map(|&b| class(b))
        .position(|c| c & NEEDED != 0)
        .map(|i| at + i)
}

/// Finds the base64, hex and percent-encoded runs inside one stretch of run bytes.
fn examine_run(bytes: &[u8], stretch: Range<usize>, out: &mut Vec<Candidate>) {
    let (mut b64, mut hex, mut percent) = (
        RunTracker::default(),
        RunTracker::default(),
        RunTracker::default(),
    );
    for at in stretch.clone() {
        let Some(&b) = bytes.get(at) else { break };
        extend(&mut b64, is_base64(b), b, at);
        if !is_base64(b) {
            close(
                out,
                Encoding::Base64,
                &mut b64,
                MIN_BASE64,
                plausible_base64,
            );
        }
        extend(&mut hex, b.is_ascii_hexdigit(), b, at);
        if !b.is_ascii_hexdigit() {
            close(out, Encoding::Hex, &mut hex, MIN_HEX, plausible_hex);
        }
        // Percent runs: count `%XX` escapes in a run of URL characters.
        if b.is_ascii_alphanumeric() || b"%-._~+".contains(&b) {
            if percent.len == 0 {
                percent.start = at;
            }
            percent.len += 1;
            let escape = b == b'%'
                && bytes
                    .get(at + 1..at + 3)
                    .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
            percent.digits += usize::from(escape);
        } else {
            close(out, Encoding::Percent, &mut percent, 3, plausible_percent);
        }
    }
    for (kind, run, min, plausible) in [
        (
            Encoding::Base64,
            &mut b64,
            MIN_BASE64,
            plausible_base64 as fn(&RunTracker) -> bool,
        ),
        (Encoding::Hex, &mut hex, MIN_HEX, plausible_hex),
        (Encoding::Percent, &mut percent, 3, plausible_percent),
    ] {
        close(out, kind, run, min, plausible);
    }
}

fn plausible_base64(r: &RunTracker) -> bool {
    r.digits > 0 && r.upper > 0 && r.lower > 0
}

fn plausible_hex(r: &RunTracker) -> bool {
    r.digits > 0 && r.len % 2 == 0
}

fn plausible_percent(r: &RunTracker) -> bool {
    r.digits >= 3
}

fn extend(run: &mut RunTracker, member: bool, b: u8, at: usize) {
    if !member {
        return;
    }
    if run.len == 0 {
        run.start = at;
    }
    run.len += 1;
    run.digits += usize::from(b.is_ascii_digit());
    run.upper += usize::from(b.is_ascii_uppercase());
    run.lower += usize::from(b.is_ascii_lowercase());
}

fn close(
    out: &mut Vec<Candidate>,
    kind: Encoding,
    run: &mut RunTracker,
    min: usize,
    plausible: fn(&RunTracker) -> bool,
) {
    if run.len >= min && plausible(run) && out.len() < MAX_CANDIDATES {
        out.push(Candidate {
            kind,
            range: run.start..run.start + run.len,
            at: 0,
        });
    }
    *run = RunTracker::default();
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn first_digit_or_percent_at_every_offset() {
        // Neighbours of the wanted bytes, and their non-ASCII twins (`0` and `%` with the high bit).
        let filler = [b'/', b':', b'$', b'&', 0xB0, 0xA5, 0xB9, b'a', b'Z', 0xFF];
        let naive = |bytes: &[u8]| bytes.iter().position(|b| b.is_ascii_digit() || *b == b'%');
        for len in 0..20 {
            let mut bytes: Vec<u8> = filler.iter().cycle().take(len).copied().collect();
            assert_eq!(first_needed(&bytes), None, "{bytes:?}");
            for at in 0..len {
                for b in 0..=255u8 {
                    let kept = bytes[at];
                    bytes[at] = b;
                    assert_eq!(first_needed(&bytes), naive(&bytes), "{bytes:?}");
                    bytes[at] = kept;
                }
            }
        }
    }
}
