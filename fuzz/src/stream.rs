//! Server-sent event streams, cut into chunks the input chooses, through
//! `Exchange::on_stream_chunk` and the `EventSplitter` beneath it.
//!
//! Input: one control byte (bits 0-1 the format, bit 2 the smallest configurable event limit,
//! bit 3 end the stream with an extra empty chunk, bits 4-7 how many chunk lengths follow), the
//! chunk lengths (cycled; none means a byte at a time), then the stream.
//!
//! - However the stream is cut, the output (redacted, possibly re-framed: held-back text goes out
//!   in a later event) and the usage are those of the whole stream at once.
//! - The splitter finds the same events however the stream is cut, their concatenation is the
//!   stream, and it examines each byte a bounded number of times.
//! - Rewriting an event's data with `sse::with_data` keeps its fields and gives one event.

use crate::util::{Input, REQUEST_ID, chunks, format};
use llm_warden::engine::api::ApiFormat;
use llm_warden::engine::api::sse::{self, EventSplitter};
use llm_warden::engine::api::stream::UsageUpdate;
use llm_warden::engine::exchange::{Exchange, ResponseHead};
use llm_warden::engine::policy::Policy;

/// Runs the checks on one input.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let lengths = input.bytes(usize::from(flags >> 4));
    let stream = input.rest();
    let format = format(flags);
    let mut policy = Policy::default();
    if flags & 4 != 0 {
        policy.limits.max_event_bytes = 1024;
    }
    let empty_end = flags & 8 != 0;

    let cut = chunks(stream, lengths);
    let (out, usage) = through_exchange(&policy, format, &cut, empty_end);
    let (whole_out, whole_usage) = through_exchange(&policy, format, &[stream], false);
    let events = split(&cut, policy.limits.max_event_bytes);
    assert_eq!(events.concat(), stream);
    // An event over the limit is flushed where the overflow is noticed, which depends on the cut.
    if stream.len() <= policy.limits.max_event_bytes {
        assert!(out == whole_out, "the output depends on how the stream was cut");
        assert_eq!(
            usage, whole_usage,
            "usage depends on how the stream was cut"
        );
        assert_eq!(events, split(&[stream], policy.limits.max_event_bytes));
    }
    for event in &events {
        rewrite_data(event);
    }
}

fn through_exchange(
    policy: &Policy,
    format: ApiFormat,
    chunks: &[&[u8]],
    empty_end: bool,
) -> (Vec<u8>, UsageUpdate) {
    let mut ex = Exchange::new(format, Some(REQUEST_ID.into()));
    let headers = [(
        "content-type".to_string(),
        "text/event-stream; charset=utf-8".to_string(),
    )];
    assert_eq!(
        ex.on_response_head(policy, 200, &headers),
        ResponseHead::Stream
    );
    let mut out = Vec::new();
    let last = chunks.len().saturating_sub(1);
    for (i, chunk) in chunks.iter().enumerate() {
        out.extend(ex.on_stream_chunk(policy, chunk, i == last && !empty_end));
    }
    if empty_end || chunks.is_empty() {
        out.extend(ex.on_stream_chunk(policy, b"", true));
    }
    (out, ex.usage)
}

fn split(chunks: &[&[u8]], max_event: usize) -> Vec<Vec<u8>> {
    let mut splitter = EventSplitter::new(max_event);
    let mut events = Vec::new();
    let mut pushed = 0u64;
    for chunk in chunks {
        pushed += chunk.len() as u64;
        if splitter.push(chunk, &mut events).is_err() {
            events.extend(splitter.finish());
        }
        assert!(splitter.pending() <= max_event);
    }
    events.extend(splitter.finish());
    // A CR at the end of a chunk is looked at again with the next one.
    assert!(
        splitter.examined() <= pushed + chunks.len() as u64,
        "examined {} bytes of {pushed} in {} chunks",
        splitter.examined(),
        chunks.len()
    );
    events
}

fn rewrite_data(event: &[u8]) {
    let Ok(fields) = sse::fields(event) else {
        return;
    };
    let Some(data) = fields.data.as_deref() else {
        return;
    };
    for new in [data, "", "{\"a\":1}\nsecond line"] {
        let rewritten = sse::with_data(event, new);
        let again = sse::fields(&rewritten).expect("rewritten event is not UTF-8");
        assert_eq!(
            again.event, fields.event,
            "rewriting data changed the event type"
        );
        assert_eq!(
            again.data.as_deref(),
            Some(new),
            "rewritten data reads differently"
        );
        let mut splitter = EventSplitter::new(usize::MAX);
        let mut out = Vec::new();
        splitter.push(&rewritten, &mut out).expect("unbounded");
        out.extend(splitter.finish());
        assert_eq!(
            out,
            vec![rewritten.clone()],
            "a rewritten event is not one event"
        );
    }
}
