//! The benchmarks' inputs: the bytes `make bench` sends through Envoy (bench/workload.py builds
//! the same request bodies byte for byte) and the responses its upstream answers with.

/// What a benchmark runs over.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Over {
    /// Each chat request body (1, 16 and 128 KiB).
    Requests,
    /// The event stream, delivered one event per chunk as providers flush them.
    Stream,
    /// The chat completion (a whole JSON response).
    Response,
}

const PROSE: &str = include_str!("fixtures/prose.txt");
const STREAM: &[u8] = include_bytes!("fixtures/chat_stream.sse");
const COMPLETION: &[u8] = include_bytes!("fixtures/chat_completion.json");
const SYSTEM: &str = "You are a helpful assistant. Answer clearly and briefly.";
const REQUEST_SIZES: [usize; 3] = [1 << 10, 16 << 10, 128 << 10];

/// An OpenAI chat request of at most `size` bytes whose user message is prose, cut at a word.
/// Byte for byte the body `bench/workload.py` builds.
fn chat_request(size: usize, stream: bool) -> Result<Vec<u8>, String> {
    let envelope = |text: &str| -> Result<String, String> {
        let text = serde_json::to_string(text).map_err(|e| e.to_string())?;
        let tail = if stream {
            r#","stream":true,"stream_options":{"include_usage":true}"#
        } else {
            ""
        };
        Ok(format!(
            r#"{{"model":"gpt-4o-mini","messages":[{{"role":"system","content":"{SYSTEM}"}},{{"role":"user","content":{text}}}]{tail}}}"#
        ))
    };
    let room = size.saturating_sub(envelope("")?.len());
    let paragraphs: Vec<&str> = PROSE.lines().filter(|l| !l.is_empty()).collect();
    let mut text = String::new();
    for paragraph in paragraphs.iter().cycle() {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(paragraph);
        // Escaped, each newline takes two bytes; the prose has no other character to escape.
        if text.len() + text.matches('\n').count() > room {
            break;
        }
    }
    while text.len() + text.matches('\n').count() > room {
        let cut = text.trim_end().rfind([' ', '\n']).unwrap_or(0);
        text.truncate(cut);
    }
    Ok(envelope(text.trim_end())?.into_bytes())
}

/// The inputs a benchmark runs over: a label and the bytes.
pub fn inputs(over: Over) -> Result<Vec<(String, Vec<u8>)>, String> {
    match over {
        Over::Requests => REQUEST_SIZES
            .iter()
            .map(|&size| Ok((format!("{} KiB", size >> 10), chat_request(size, false)?)))
            .collect(),
        Over::Stream => Ok(vec![("stream".to_string(), STREAM.to_vec())]),
        Over::Response => Ok(vec![("response".to_string(), COMPLETION.to_vec())]),
    }
}

/// Splits an event stream after each blank line: one chunk per event.
pub fn events(stream: &[u8]) -> Vec<&[u8]> {
    let mut chunks = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        let end = memchr_blank_line(rest).unwrap_or(rest.len());
        let (chunk, tail) = rest.split_at(end);
        chunks.push(chunk);
        rest = tail;
    }
    chunks
}

fn memchr_blank_line(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).position(|w| w == b"\n\n").map(|at| at + 2)
}
