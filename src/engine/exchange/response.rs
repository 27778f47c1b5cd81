//! The response side of an exchange: whole JSON bodies and server-sent event streams.

use super::{Exchange, Headers, header, is_event_stream, is_json};
use crate::engine::api::error::{ErrorKind, ErrorReply};
use crate::engine::api::response::ResponseView;
use crate::engine::api::sse::EventSplitter;
use crate::engine::json;
use crate::engine::policy::Policy;

/// How the response is handled, decided from its headers.
#[derive(Debug)]
pub(super) enum ResponseState {
    /// Not inspected.
    PassThrough,
    /// A JSON body, buffered whole.
    Json,
    /// An event stream, processed as it arrives.
    Stream(Box<EventSplitter>),
}

/// What to do after the response headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseHead {
    /// Leave the response alone.
    PassThrough,
    /// Buffer the whole body and hand it to [`Exchange::on_response_body`]. The body may change:
    /// drop `content-length`.
    Buffer,
    /// Hand each chunk to [`Exchange::on_stream_chunk`]. The body may change: drop `content-length`.
    Stream,
    /// Replace the response with this error.
    Reply(ErrorReply),
}

/// The bytes to send on for one stream chunk.
pub type StreamOutput = Vec<u8>;

impl Exchange {
    /// Decides how to handle the response from its status and headers.
    pub fn on_response_head(
        &mut self,
        policy: &Policy,
        status: u16,
        headers: &Headers,
    ) -> ResponseHead {
        let content_type = header(headers, "content-type").unwrap_or_default();
        let encoded = super::header_values(headers, "content-encoding")
            .any(|v| !v.trim().eq_ignore_ascii_case("identity"));
        let inspectable = is_json(content_type) || is_event_stream(content_type);
        if encoded && (inspectable || status < 400) {
            return ResponseHead::Reply(
                self.bad_upstream("the upstream response is compressed and cannot be inspected"),
            );
        }
        if is_event_stream(content_type) {
            self.response =
                ResponseState::Stream(Box::new(EventSplitter::new(policy.limits.max_event_bytes)));
            ResponseHead::Stream
        } else if is_json(content_type) {
            self.response = ResponseState::Json;
            ResponseHead::Buffer
        } else if status >= 400 {
            // Error pages from proxies and load balancers carry no model output.
            ResponseHead::PassThrough
        } else {
            ResponseHead::Reply(
                self.bad_upstream(
                    "the upstream response has a content type that cannot be inspected",
                ),
            )
        }
    }

    fn bad_upstream(&self, message: &str) -> ErrorReply {
        self.reply(
            ErrorKind::BadUpstream,
            "llm_warden.unreadable_response",
            message,
        )
    }

    /// The reply for a JSON response over `max_response_bytes`.
    pub fn response_too_large(&self, policy: &Policy) -> ErrorReply {
        let message = format!(
            "the upstream response exceeds the {} byte inspection limit",
            policy.limits.max_response_bytes
        );
        self.bad_upstream(&message)
    }

    /// Inspects a whole JSON response body: `Ok(None)` to forward it as is, `Ok(Some(bytes))` to
    /// forward a rewritten body, `Err(reply)` to answer with an error instead.
    pub fn on_response_body(
        &mut self,
        policy: &Policy,
        status: u16,
        body: &[u8],
    ) -> Result<Option<Vec<u8>>, ErrorReply> {
        let root = match json::parse(body, policy.limits.max_json_depth) {
            Ok(root) => root,
            Err(_) if status >= 400 => return Ok(None),
            Err(_) => return Err(self.bad_upstream("the upstream response is not valid JSON")),
        };
        let view = ResponseView::parse(self.format, &root);
        if let Some(usage) = view.usage {
            self.usage.merge(crate::engine::api::stream::UsageUpdate {
                input_tokens: Some(usage.input_tokens),
                output_tokens: Some(usage.output_tokens),
            });
        }
        if status >= 400 {
            return Ok(None);
        }
        self.tools_response(policy, &view)?;
        self.redact_response(policy, body, &view)
    }

    /// Processes one chunk of an event stream (`end` on the last); returns the bytes to send on.
    /// Events pass as they complete, so a partial event waits for its end.
    pub fn on_stream_chunk(&mut self, policy: &Policy, chunk: &[u8], end: bool) -> StreamOutput {
        let ResponseState::Stream(splitter) = &mut self.response else {
            return chunk.to_vec();
        };
        let mut events = Vec::new();
        let overflow = splitter.push(chunk, &mut events).is_err();
        if end || overflow {
            events.extend(splitter.finish());
        }
        let mut out = Vec::with_capacity(chunk.len());
        for raw in events {
            // After a cut for quota nothing more is sent.
            if self.quota.is_cut() {
                break;
            }
            self.tools_event(policy, raw, &mut out);
        }
        if end && !self.quota.is_cut() {
            self.tools_finish(policy, &mut out);
            self.end_stream(policy, &mut out);
        }
        out
    }
}
