//! Streamed text: the hold-back rewriter.
//!
//! Text arrives in pieces. Each piece is appended to what is held, the scanner runs from the
//! first byte not yet sent, and everything before the place where it would need more bytes is
//! rewritten and sent at once; the rest is held. The scanner's answer for a byte never depends
//! on bytes further away than its bounded look-ahead, and it resumes with the state and the last
//! [`LOOKBACK`] bytes of context it would have had in one pass, so the output is the same however
//! the text is cut — property-tested below at every byte position and in random cuts.
//!
//! What is held is at most the longest recogniser's look-ahead (a PEM block, [`MAX_PEM`]), and
//! usually a word: in prose, each piece is sent up to its last space.
//!
//! [`MAX_PEM`]: super::recognise::secrets::MAX_PEM

use super::scan::{Finding, LOOKBACK, Scan, ScanState, scan};

/// Context kept before the unsent text: more than any recogniser looks back.
const CONTEXT: usize = LOOKBACK + 32;

/// Sent text kept before it is dropped (bounds the buffer at this plus the context, the hold-back
/// and the last piece).
const DRAIN_AT: usize = 2048;

/// One stream of text being redacted.
#[derive(Clone, Debug, Default)]
pub struct StreamText {
    buf: String,
    /// Start of the unsent text in `buf` (what precedes it is context).
    from: usize,
    state: ScanState,
    findings: Vec<Finding>,
}

/// The part of a stream that is final: the text and its findings, offsets within `text`.
pub struct Ready<'a> {
    /// The original text.
    pub text: &'a str,
    /// Its findings.
    pub findings: &'a [Finding],
}

impl StreamText {
    /// A new, empty stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes held back, not yet sent.
    pub fn held(&self) -> usize {
        self.buf.len() - self.from
    }

    /// Adds `piece` (with `last` when the stream ends) and returns what is final, with its
    /// findings. The text returned is removed from what is held.
    pub fn push(&mut self, cx: &Scan<'_>, piece: &str, last: bool) -> Ready<'_> {
        self.drain_sent();
        self.buf.push_str(piece);
        self.findings.clear();
        let committed = scan(
            cx,
            self.buf.as_bytes(),
            self.from,
            last,
            &mut self.state,
            &mut self.findings,
        );
        // INVARIANT: the scanner stops on a character boundary (a token start or an ASCII byte).
        let committed = floor_boundary(&self.buf, committed.max(self.from));
        let from = self.from;
        for f in &mut self.findings {
            f.start -= from;
            f.end -= from;
        }
        self.from = committed;
        Ready {
            text: self.buf.get(from..committed).unwrap_or_default(),
            findings: &self.findings,
        }
    }

    /// Drops sent text beyond the context now and then, not on every piece: the scanner never
    /// looks further back than the context, so keeping more changes nothing. Done before a piece
    /// is added rather than after one is sent, so that what [`Self::push`] returns can borrow.
    fn drain_sent(&mut self) {
        if self.from < DRAIN_AT + CONTEXT {
            return;
        }
        let keep_from = floor_boundary(&self.buf, self.from.saturating_sub(CONTEXT));
        if keep_from >= DRAIN_AT {
            self.buf.drain(..keep_from);
            self.from -= keep_from;
        }
    }
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests;
