//! Streamed responses: each event's deltas through the channel's hold-back rewriter, held text
//! re-emitted in a copy of the channel's last delta event before the event that closes it, and
//! the provider's own error event when the stream must end.

use super::super::{Decision, Exchange};
use crate::engine::api::error::{ErrorKind, ErrorReply};
use crate::engine::api::response::ResponseView;
use crate::engine::api::sse;
use crate::engine::api::stream::{Channel, DONE, read_event};
use crate::engine::api::{ApiFormat, TextKind};
use crate::engine::json::{self, Edits, Span, Value};
use crate::engine::policy::Policy;
use crate::engine::redact::{Blocked, Side, StreamText};
use std::rc::Rc;

/// Why a stream ends early.
#[derive(Debug)]
enum Stop {
    /// A finding whose action is `block`.
    Blocked(Blocked),
    /// An event the filter cannot read (not UTF-8, not JSON, too many channels): not sent on
    /// unscanned.
    Unreadable,
}

impl From<Blocked> for Stop {
    fn from(b: Blocked) -> Self {
        Stop::Blocked(b)
    }
}

/// Most text channels (choices, tool calls, content blocks) one stream may open.
const MAX_CHANNELS: usize = 64;

/// One streamed text and the last event that carried it, to re-emit held-back text in.
#[derive(Debug)]
pub(super) struct ChannelState {
    key: (Channel, TextKind),
    text: StreamText,
    template: Option<Template>,
}

/// An event carrying deltas: its raw bytes, data and the span of every delta. Shared by the
/// channels whose deltas it carries, kept without a copy per channel.
#[derive(Debug)]
struct DeltaEvent {
    raw: Vec<u8>,
    data: String,
    spans: Vec<Span>,
}

/// A channel's last delta event and which of its deltas is the channel's.
#[derive(Debug)]
struct Template {
    event: Rc<DeltaEvent>,
    index: usize,
}

impl Template {
    /// The event again with `text` as our delta and the other deltas empty.
    fn with_text(&self, text: &str) -> Option<Vec<u8>> {
        let event = &self.event;
        let mut edits = Edits::new();
        for (k, span) in event.spans.iter().enumerate() {
            edits.replace_str(*span, if k == self.index { text } else { "" });
        }
        let data = edits.apply(event.data.as_bytes()).ok()?;
        splice_data(&event.raw, &data)
            .or_else(|| Some(sse::with_data(&event.raw, &String::from_utf8(data).ok()?)))
    }
}

impl Exchange {
    /// Handles one complete event of a stream: reads its usage, redacts its text, and appends
    /// what to send to `out`. After a block nothing more is sent.
    pub(in crate::engine::exchange) fn on_event(
        &mut self,
        policy: &Policy,
        raw: Vec<u8>,
        out: &mut Vec<u8>,
    ) {
        if self.redact.blocked {
            return;
        }
        if let Err(stop) = self.rewrite_event(policy, raw, out) {
            let reason = self.stop_reply(stop);
            self.end_with_error(&reason, out);
        }
        self.note_redactions();
    }

    /// Sends what is still held back, at the end of the stream.
    pub(in crate::engine::exchange) fn end_stream(&mut self, policy: &Policy, out: &mut Vec<u8>) {
        if self.redact.blocked {
            return;
        }
        if let Err(stop) = self.flush(policy, out) {
            let reason = self.stop_reply(stop);
            self.end_with_error(&reason, out);
        }
        self.note_redactions();
    }

    /// Ends the stream with the provider's own error event carrying `reply`'s error.
    pub(in crate::engine::exchange) fn end_with_error(
        &mut self,
        reply: &ErrorReply,
        out: &mut Vec<u8>,
    ) {
        self.redact.blocked = true;
        let data = String::from_utf8_lossy(&reply.body);
        let event = match self.format {
            ApiFormat::OpenAiChat | ApiFormat::OpenAiCompletions => None,
            _ => Some("error"),
        };
        out.extend(sse::event(event, &data));
    }

    fn unreadable(&self) -> Stop {
        Stop::Unreadable
    }

    fn stop_reply(&mut self, stop: Stop) -> ErrorReply {
        match stop {
            Stop::Blocked(blocked) => self.blocked_reply(blocked),
            Stop::Unreadable => {
                self.decisions.push(Decision {
                    action: "rejected",
                    kind: "sensitive_data",
                    category: "unreadable_stream",
                });
                self.reply(
                    ErrorKind::BadUpstream,
                    "llm_warden.unreadable_response",
                    "the upstream stream cannot be inspected",
                )
            }
        }
    }

    fn rewrite_event(
        &mut self,
        policy: &Policy,
        raw: Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Result<(), Stop> {
        let Ok(fields) = sse::fields(&raw) else {
            return Err(self.unreadable());
        };
        let Some(data) = fields.data else {
            out.extend(raw);
            return Ok(());
        };
        if data == DONE {
            self.flush(policy, out)?;
            out.extend(raw);
            return Ok(());
        }
        let Ok(root) = json::parse(data.as_bytes(), policy.limits.max_json_depth) else {
            return Err(self.unreadable());
        };
        let view = read_event(self.format, fields.event.as_deref(), &root);
        self.usage.merge(view.usage);
        if let Some(replacement) = self.quota_event(policy, &view) {
            // A usage chunk the client did not ask for (dropped), or the end of the budget (the
            // stream is cut): what is held back goes first.
            self.flush(policy, out)?;
            out.extend(replacement);
            return Ok(());
        }
        let settings = &policy.redaction;
        let mut edits = Edits::new();
        // The channels this event's deltas went to, and which delta: their template once the
        // event is sent.
        let mut carried = Vec::new();
        if view.deltas.is_empty() {
            if closes(
                self.format,
                &root,
                view.end || view.error || view.usage_only,
            ) {
                self.flush(policy, out)?;
            }
            for (span, text) in whole_texts(self.format, &root) {
                if let Some(new) = self.redact.redaction.text(settings, Side::Response, text)? {
                    edits.replace_str(span, &new);
                }
            }
        } else {
            for (index, d) in view.deltas.iter().enumerate() {
                let key = (d.channel, d.kind);
                let at = match self.redact.channels.iter().position(|c| c.key == key) {
                    Some(at) => at,
                    None if self.redact.channels.len() < MAX_CHANNELS => {
                        self.redact.channels.push(ChannelState {
                            key,
                            text: StreamText::new(),
                            template: None,
                        });
                        self.redact.channels.len() - 1
                    }
                    None => return Err(self.unreadable()),
                };
                let Some(channel) = self.redact.channels.get_mut(at) else {
                    return Err(self.unreadable());
                };
                let sent =
                    self.redact
                        .redaction
                        .stream(settings, &mut channel.text, d.text, false)?;
                carried.push((at, index));
                if sent != d.text {
                    edits.replace_str(d.span, &sent);
                }
            }
        }
        if edits.is_empty() {
            out.extend_from_slice(&raw);
        } else {
            let new = edits
                .apply(data.as_bytes())
                .map_err(|_| self.unreadable())?;
            match splice_data(&raw, &new) {
                Some(event) => out.extend(event),
                None => out.extend(sse::with_data(&raw, &String::from_utf8_lossy(&new))),
            }
        }
        if !carried.is_empty() {
            let spans = view.deltas.iter().map(|d| d.span).collect();
            let event = Rc::new(DeltaEvent { raw, data, spans });
            for (at, index) in carried {
                if let Some(channel) = self.redact.channels.get_mut(at) {
                    let event = Rc::clone(&event);
                    channel.template = Some(Template { event, index });
                }
            }
        }
        Ok(())
    }

    /// Sends every channel's held-back text in a copy of its last event.
    fn flush(&mut self, policy: &Policy, out: &mut Vec<u8>) -> Result<(), Stop> {
        for at in 0..self.redact.channels.len() {
            let Some(channel) = self.redact.channels.get_mut(at) else {
                continue;
            };
            if channel.text.held() == 0 {
                continue;
            }
            let text =
                self.redact
                    .redaction
                    .stream(&policy.redaction, &mut channel.text, "", true)?;
            let event = (!text.is_empty())
                .then(|| channel.template.as_ref().and_then(|t| t.with_text(&text)));
            channel.text = StreamText::new();
            match event {
                None => {}
                Some(Some(event)) => out.extend(event),
                Some(None) => return Err(self.unreadable()),
            }
        }
        Ok(())
    }
}

/// Whether a non-delta event closes the text channels: a finish reason, the end of a content
/// block or of the message, a `.done` event.
fn closes(format: ApiFormat, root: &Value<'_>, end: bool) -> bool {
    if end {
        return true;
    }
    match format {
        ApiFormat::OpenAiChat | ApiFormat::OpenAiCompletions => root
            .get("choices")
            .and_then(Value::as_array)
            .unwrap_or_default()
            .iter()
            .any(|c| c.get("finish_reason").is_some_and(|f| !f.is_null())),
        ApiFormat::OpenAiResponses => root.get_str("type").is_some_and(|t| t.ends_with(".done")),
        ApiFormat::AnthropicMessages => matches!(
            root.get_str("type"),
            Some("content_block_stop" | "message_delta" | "message_stop")
        ),
    }
}

/// Whole texts that non-delta events repeat: the Responses API's `.done` events and its final
/// response object.
fn whole_texts<'v>(format: ApiFormat, root: &'v Value<'v>) -> Vec<(Span, &'v str)> {
    let mut texts = Vec::new();
    if format != ApiFormat::OpenAiResponses {
        return texts;
    }
    let mut push = |v: Option<&'v Value<'v>>| {
        if let Some(v) = v {
            if let Some(s) = v.as_str() {
                texts.push((v.span, s));
            }
        }
    };
    for key in ["text", "arguments", "refusal", "delta"] {
        push(root.get(key));
    }
    if let Some(part) = root.get("part") {
        push(part.get("text"));
        push(part.get("refusal"));
    }
    if let Some(item) = root.get("item") {
        item_texts(item, &mut push);
    }
    if let Some(response) = root.get("response") {
        for t in ResponseView::parse(ApiFormat::OpenAiResponses, response).texts {
            texts.push((t.span, t.text));
        }
    }
    texts
}

fn item_texts<'v>(item: &'v Value<'v>, push: &mut impl FnMut(Option<&'v Value<'v>>)) {
    push(item.get("arguments"));
    push(item.get("input"));
    for part in item
        .get("content")
        .and_then(Value::as_array)
        .unwrap_or_default()
        .iter()
        .chain(
            item.get("summary")
                .and_then(Value::as_array)
                .unwrap_or_default(),
        )
    {
        push(part.get("text"));
        push(part.get("refusal"));
    }
}

/// The event `raw` with `data` in place of its one `data:` line, when it has exactly one and
/// `data` is one line (rewritten JSON always is): the common case, without re-reading the event.
fn splice_data(raw: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    if data.contains(&b'\n') || data.contains(&b'\r') {
        return None;
    }
    let mut found = None;
    let mut start = 0;
    while start < raw.len() {
        let end = memchr::memchr2(b'\n', b'\r', raw.get(start..)?).map_or(raw.len(), |e| start + e);
        if raw.get(start..end)?.starts_with(b"data:") {
            if found.is_some() {
                return None;
            }
            found = Some((start, end));
        }
        start = end + 1;
    }
    let (line_start, line_end) = found?;
    let mut out = Vec::with_capacity(raw.len() + data.len());
    out.extend_from_slice(raw.get(..line_start)?);
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(data);
    out.extend_from_slice(raw.get(line_end..)?);
    Some(out)
}
