//! The injection detector: normaliser, payload decoder, lexicon and rules on arbitrary text.
//!
//! Input: the text (read as UTF-8, invalid sequences replaced).
//!
//! - Scoring never panics and gives a finite, non-negative score (no deny patterns configured).
//! - Normalising is bounded: the normalised text is at most a few times the input (compatibility
//!   forms expand: `ﬃ` is `ffi`), and normalising it again does not make it longer. (It is not
//!   idempotent: lookalike folding depends on the word before, which the first pass may change.)
//! - Every payload run lies inside the input, on character boundaries.

use llm_warden::engine::inject::normalize::Normalizer;
use llm_warden::engine::inject::payload::payload_runs;
use llm_warden::engine::inject::{Strictness, standard_detector};

/// Runs the checks on one input.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Some(detector) = standard_detector() else {
        panic!("the built-in detector does not compile");
    };
    let mut normalizer = Normalizer::default();
    for strictness in [Strictness::Standard, Strictness::Strict] {
        let total = detector.score(&text, strictness, &mut normalizer).total();
        assert!(total.is_finite() && total >= 0.0, "score {total}");
    }
    let once = normalizer.normalize(&text);
    assert!(once.text.len() <= 4 * text.len() + 8, "normalised text grew to {}", once.text.len());
    let twice = normalizer.normalize(&once.text);
    assert!(twice.text.len() <= once.text.len() + 1, "normalising again grew the text");
    for run in payload_runs(text.as_bytes()) {
        assert!(run.range.end <= text.len());
        assert!(text.is_char_boundary(run.range.start) && text.is_char_boundary(run.range.end));
    }
}
