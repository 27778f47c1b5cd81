//! Server-sent events: splitting a byte stream into events however it is chunked, reading an
//! event's fields, and writing an event back with new data.

use std::fmt;

/// Splits a byte stream into complete events (raw bytes, terminator included), independent of how
/// the stream was chunked. Work is linear in the bytes pushed; memory is bounded by `max_event`.
#[derive(Debug)]
pub struct EventSplitter {
    buf: Vec<u8>,
    /// Bytes of `buf` already examined.
    scanned: usize,
    /// Start of the line being read.
    line_start: usize,
    max_event: usize,
    examined: u64,
}

/// An event grew past the configured bound without ending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTooLarge;

impl fmt::Display for EventTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("server-sent event larger than the configured limit")
    }
}

impl EventSplitter {
    /// A splitter that refuses events longer than `max_event` bytes.
    pub fn new(max_event: usize) -> Self {
        EventSplitter {
            buf: Vec::new(),
            scanned: 0,
            line_start: 0,
            max_event,
            examined: 0,
        }
    }

    /// Bytes held waiting for the end of an event.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Adds `chunk`; appends every event it completes to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<Vec<u8>>) -> Result<(), EventTooLarge> {
        self.buf.extend_from_slice(chunk);
        let mut event_start = 0;
        let mut i = self.scanned;
        loop {
            let Some(found) = self
                .buf
                .get(i..)
                .and_then(|rest| memchr::memchr2(b'\n', b'\r', rest))
            else {
                self.examined += (self.buf.len() - i) as u64;
                i = self.buf.len();
                break;
            };
            let at = i + found;
            self.examined += (found + 1) as u64;
            let terminator = match (self.buf.get(at), self.buf.get(at + 1)) {
                (Some(b'\r'), Some(b'\n')) => 2,
                (Some(b'\r'), None) => {
                    // A CR at the end may be half of a CRLF: look again when more arrives.
                    i = at;
                    break;
                }
                _ => 1,
            };
            let empty_line = at == self.line_start;
            i = at + terminator;
            self.line_start = i;
            if empty_line {
                out.push(self.buf.get(event_start..i).unwrap_or_default().to_vec());
                event_start = i;
            }
        }
        if event_start > 0 {
            self.buf.drain(..event_start);
        }
        self.scanned = i - event_start;
        self.line_start = self.line_start.saturating_sub(event_start);
        if self.buf.len() > self.max_event {
            return Err(EventTooLarge);
        }
        Ok(())
    }

    /// Bytes examined so far: stays proportional to the bytes pushed, however they are chunked.
    pub fn examined(&self) -> u64 {
        self.examined
    }

    /// Ends the stream: returns an unterminated last event, if any bytes remain.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        self.scanned = 0;
        self.line_start = 0;
        if self.buf.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut self.buf))
        }
    }
}

/// The fields of one event.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Fields {
    /// The `event:` type, if given.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`; `None` when the event has no data line.
    pub data: Option<String>,
}

/// Reads `raw`'s fields. Lines end with CRLF, LF or CR; `data:` lines are joined with `\n`.
pub fn fields(raw: &[u8]) -> Result<Fields, std::str::Utf8Error> {
    let text = std::str::from_utf8(raw)?;
    let mut fields = Fields::default();
    for line in lines(text) {
        let (name, value) = split_field(line);
        match name {
            "event" => fields.event = Some(value.to_string()),
            "data" => match &mut fields.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => fields.data = Some(value.to_string()),
            },
            _ => {}
        }
    }
    Ok(fields)
}

/// Rewrites `raw` with `data` in place of its data lines, keeping every other line and the
/// original line terminator. Data containing newlines becomes several `data:` lines.
pub fn with_data(raw: &[u8], data: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw);
    let newline = if text.contains("\r\n") {
        "\r\n"
    } else if text.contains('\n') {
        "\n"
    } else {
        "\r"
    };
    let mut out = String::with_capacity(raw.len() + data.len());
    let mut wrote_data = false;
    for line in lines(&text).filter(|l| !l.is_empty()) {
        if split_field(line).0 == "data" {
            if wrote_data {
                continue;
            }
            wrote_data = true;
            for data_line in data.split('\n') {
                out.push_str("data: ");
                out.push_str(data_line);
                out.push_str(newline);
            }
        } else {
            out.push_str(line);
            out.push_str(newline);
        }
    }
    out.push_str(newline);
    out.into_bytes()
}

/// A complete event with the given type and data, LF-terminated.
pub fn event(event: Option<&str>, data: &str) -> Vec<u8> {
    let mut out = String::with_capacity(data.len() + 32);
    if let Some(e) = event {
        out.push_str("event: ");
        out.push_str(e);
        out.push('\n');
    }
    for line in data.split('\n') {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out.into_bytes()
}

/// The lines of `text`, split at every CR and every LF (a CRLF leaves an empty line between).
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let r = rest?;
        match memchr::memchr2(b'\n', b'\r', r.as_bytes()) {
            Some(i) => {
                // INVARIANT: CR and LF are ASCII, so `i` and `i + 1` are char boundaries.
                rest = r.get(i + 1..);
                r.get(..i)
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

fn split_field(line: &str) -> (&str, &str) {
    match line.split_once(':') {
        Some((name, value)) => (name, value.strip_prefix(' ').unwrap_or(value)),
        None => (line, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const STREAM: &[u8] = b"event: a\ndata: {\"x\":1}\n\n: comment\r\n\r\ndata: one\r\ndata: two\r\n\r\ndata: cr\r\rdata: [DONE]\n\n";

    fn split_all(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut s = EventSplitter::new(1024);
        let mut out = Vec::new();
        for c in chunks {
            s.push(c, &mut out).unwrap();
        }
        out.extend(s.finish());
        out
    }

    #[test]
    fn splits_every_line_ending() {
        let events = split_all(&[STREAM]);
        assert_eq!(events.len(), 5);
        assert_eq!(events.concat(), STREAM);
        assert_eq!(
            fields(&events[0]).unwrap(),
            Fields {
                event: Some("a".into()),
                data: Some("{\"x\":1}".into())
            }
        );
        assert_eq!(fields(&events[1]).unwrap().data, None);
        assert_eq!(
            fields(&events[2]).unwrap().data.as_deref(),
            Some("one\ntwo")
        );
        assert_eq!(fields(&events[3]).unwrap().data.as_deref(), Some("cr"));
        assert_eq!(fields(&events[4]).unwrap().data.as_deref(), Some("[DONE]"));
    }

    #[test]
    fn independent_of_chunking() {
        let whole = split_all(&[STREAM]);
        for cut in 0..=STREAM.len() {
            let (a, b) = STREAM.split_at(cut);
            assert_eq!(split_all(&[a, b]), whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = STREAM.chunks(1).collect();
        assert_eq!(split_all(&bytes), whole);
    }

    #[test]
    fn unterminated_tail_comes_out_at_finish() {
        let mut s = EventSplitter::new(64);
        let mut out = Vec::new();
        s.push(b"data: a\n\ndata: b", &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(s.finish(), Some(b"data: b".to_vec()));
    }

    #[test]
    fn bounded() {
        let mut s = EventSplitter::new(8);
        let mut out = Vec::new();
        assert_eq!(s.push(b"data: 0123456789", &mut out), Err(EventTooLarge));
    }

    #[test]
    fn byte_at_a_time_is_linear() {
        // One big event fed a byte at a time: the splitter must not rescan what it has seen.
        let mut s = EventSplitter::new(1 << 20);
        let mut out = Vec::new();
        let body = vec![b'x'; 200_000];
        for b in &body {
            s.push(std::slice::from_ref(b), &mut out).unwrap();
        }
        assert_eq!(s.pending(), body.len());
        s.push(b"\n\n", &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert!(
            s.examined() <= 2 * (body.len() as u64 + 2),
            "examined {} bytes",
            s.examined()
        );
    }

    #[test]
    fn with_data_keeps_other_lines() {
        let out = with_data(
            b"event: e\r\nid: 7\r\ndata: old\r\ndata: more\r\n\r\n",
            "new\nlines",
        );
        assert_eq!(
            out,
            b"event: e\r\nid: 7\r\ndata: new\r\ndata: lines\r\n\r\n".to_vec()
        );
        assert_eq!(
            event(Some("error"), "{}"),
            b"event: error\ndata: {}\n\n".to_vec()
        );
    }
}
