//! Splicing edits into a JSON body: everything outside the edited spans stays byte-for-byte.

use super::Span;

/// A set of replacements of byte spans in one body. Insertions are empty spans.
#[derive(Debug, Default, Clone)]
pub struct Edits {
    edits: Vec<(Span, Vec<u8>)>,
}

/// Two edits touched the same bytes: a bug in the caller, reported instead of guessing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverlappingEdits;

impl Edits {
    /// No edits yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether there is nothing to change.
    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// Replaces the bytes of `span` with `bytes`.
    pub fn replace(&mut self, span: Span, bytes: Vec<u8>) {
        self.edits.push((span, bytes));
    }

    /// Replaces the string value at `span` (quotes included) with `text`, encoded as a JSON string.
    pub fn replace_str(&mut self, span: Span, text: &str) {
        let mut out = Vec::with_capacity(text.len() + 2);
        write_str(&mut out, text);
        self.replace(span, out);
    }

    /// Forgets the edits that lie within `span` (which another edit replaces whole).
    pub fn drop_within(&mut self, span: Span) {
        self.edits
            .retain(|(s, _)| !(span.start <= s.start && s.end <= span.end));
    }

    /// Inserts `bytes` at byte offset `at`.
    pub fn insert(&mut self, at: usize, bytes: Vec<u8>) {
        self.replace(Span { start: at, end: at }, bytes);
    }

    /// Applies the edits to `body`. Edits that overlap, or lie outside `body`, are an error.
    pub fn apply(mut self, body: &[u8]) -> Result<Vec<u8>, OverlappingEdits> {
        self.edits.sort_by_key(|(span, _)| (span.start, span.end));
        let added: usize = self.edits.iter().map(|(_, b)| b.len()).sum();
        let mut out = Vec::with_capacity(body.len() + added);
        let mut pos = 0;
        for (span, bytes) in &self.edits {
            if span.start < pos || span.end < span.start {
                return Err(OverlappingEdits);
            }
            out.extend_from_slice(body.get(pos..span.start).ok_or(OverlappingEdits)?);
            out.extend_from_slice(bytes);
            pos = span.end;
        }
        out.extend_from_slice(body.get(pos..).ok_or(OverlappingEdits)?);
        Ok(out)
    }
}

/// Appends `text` to `out` as a JSON string literal, quotes included.
pub fn write_str(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => &[],
            _ => continue,
        };
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            for nibble in [b >> 4, b & 0xf] {
                out.push(HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'));
            }
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}
