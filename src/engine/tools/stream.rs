//! Streamed tool calls: a call's name and argument fragments are assembled per channel, and the
//! stream is held back from a call's first event until every open call is complete and checked,
//! so that a refused call is never partly delivered.
//!
//! Bounds: at most [`MAX_CALLS`] open calls, `max_arguments_bytes` per call and `max_held_bytes`
//! of held-back events; past any of them the stream is refused ([`Violation::TooLarge`]).

use super::{Settings, Violation};
use crate::engine::api::response::ResponseView;
use crate::engine::api::stream::{Channel, EventView};
use crate::engine::api::{ApiFormat, TextKind};
use crate::engine::json::Value;

/// Most tool calls open at once in one stream.
pub const MAX_CALLS: usize = 64;

/// Which open calls an event completes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Close {
    /// None.
    #[default]
    Nothing,
    /// Every call of this choice (an OpenAI `finish_reason`).
    Choice(u64),
    /// The call on this channel (the end of an output item or content block).
    Channel(Channel),
    /// Every call (the end of the response).
    All,
}

/// What one event says about tool calls, besides its argument deltas.
#[derive(Clone, Debug, Default)]
pub struct ToolEvent<'v> {
    /// Calls that start, with their tool's name.
    pub starts: Vec<(Channel, &'v str)>,
    /// Complete calls the event carries whole (a finished output item, the final response).
    pub whole: Vec<(&'v str, &'v Value<'v>)>,
    /// A channel's complete arguments, repeated by a `.done` event.
    pub arguments: Option<(Channel, &'v str)>,
    /// Calls the event completes.
    pub close: Close,
}

/// Reads the tool-call side of an event of `format` (`event`: the SSE event type).
pub fn read_tool_event<'v>(
    format: ApiFormat,
    event: Option<&str>,
    data: &'v Value<'v>,
    view: &EventView<'_>,
) -> ToolEvent<'v> {
    let mut out = ToolEvent::default();
    let number = |v: &Value<'_>, key: &str| v.get(key).and_then(Value::as_u64).unwrap_or(0);
    match format {
        ApiFormat::OpenAiChat | ApiFormat::OpenAiCompletions => {
            for choice in data
                .get("choices")
                .and_then(Value::as_array)
                .unwrap_or_default()
            {
                let index = number(choice, "index");
                for call in choice
                    .get("delta")
                    .and_then(|d| d.get("tool_calls"))
                    .and_then(Value::as_array)
                    .unwrap_or_default()
                {
                    if let Some(name) = call.get("function").and_then(|f| f.get_str("name")) {
                        let sub = number(call, "index").saturating_add(1);
                        out.starts.push((Channel { index, sub }, name));
                    }
                }
                if choice.get("finish_reason").is_some_and(|f| !f.is_null()) {
                    out.close = Close::Choice(index);
                }
            }
        }
        ApiFormat::OpenAiResponses => {
            let channel = Channel {
                index: number(data, "output_index"),
                sub: 0,
            };
            let item = data.get("item");
            let call = item.and_then(|i| match i.get_str("type") {
                Some("function_call") => Some((i.get_str("name")?, i.get("arguments")?)),
                Some("custom_tool_call") => Some((i.get_str("name")?, i.get("input")?)),
                _ => None,
            });
            match (data.get_str("type").unwrap_or_default(), call) {
                ("response.output_item.added", Some((name, _))) => out.starts.push((channel, name)),
                ("response.output_item.done", call) => {
                    out.whole.extend(call);
                    out.close = Close::Channel(channel);
                }
                ("response.function_call_arguments.done", _) => {
                    out.arguments = data.get_str("arguments").map(|a| (channel, a));
                }
                ("response.custom_tool_call_input.done", _) => {
                    out.arguments = data.get_str("input").map(|a| (channel, a));
                }
                _ => {}
            }
            if let Some(response) = data.get("response") {
                let calls = ResponseView::parse(format, response).tool_calls;
                out.whole
                    .extend(calls.into_iter().map(|c| (c.name, c.arguments)));
            }
        }
        ApiFormat::AnthropicMessages => {
            let channel = Channel {
                index: number(data, "index"),
                sub: 0,
            };
            match data.get_str("type").or(event).unwrap_or_default() {
                "content_block_start" => {
                    let block = data.get("content_block");
                    if let Some(name) = block
                        .filter(|b| b.get_str("type").is_some_and(|t| t.ends_with("tool_use")))
                        .and_then(|b| b.get_str("name"))
                    {
                        out.starts.push((channel, name));
                    }
                }
                "content_block_stop" => out.close = Close::Channel(channel),
                _ => {}
            }
        }
    }
    if view.end || view.error {
        out.close = Close::All;
    }
    out
}

/// One call being assembled.
#[derive(Debug)]
struct Call {
    channel: Channel,
    name: String,
    arguments: String,
}

/// The tool calls of one stream, and the events held back while they are open.
#[derive(Debug, Default)]
pub struct StreamCalls {
    calls: Vec<Call>,
    held: Vec<Vec<u8>>,
    held_bytes: usize,
}

impl StreamCalls {
    /// Takes one event (`raw`, what it says about tools, its deltas): `Ok(events)` to send on now
    /// (empty while calls are open), `Err` when a call is refused.
    pub fn step(
        &mut self,
        settings: &Settings,
        group: &str,
        raw: Vec<u8>,
        event: &ToolEvent<'_>,
        view: &EventView<'_>,
    ) -> Result<Vec<Vec<u8>>, Violation> {
        for (name, arguments) in &event.whole {
            settings.check_call(group, name, arguments)?;
        }
        for (channel, name) in &event.starts {
            self.call(*channel, name)?;
        }
        for delta in view
            .deltas
            .iter()
            .filter(|d| d.kind == TextKind::ToolArguments)
        {
            let call = self.call(delta.channel, "")?;
            if call.arguments.len().saturating_add(delta.text.len()) > settings.max_arguments_bytes
            {
                return Err(Violation::TooLarge);
            }
            call.arguments.push_str(delta.text);
        }
        if let Some((channel, arguments)) = event.arguments {
            if let Some(call) = self.calls.iter().find(|c| c.channel == channel) {
                settings.check_streamed(group, &call.name, arguments)?;
            }
        }
        let closing = |c: &Call| match event.close {
            Close::Nothing => false,
            Close::Choice(index) => c.channel.index == index,
            Close::Channel(channel) => c.channel == channel,
            Close::All => true,
        };
        for call in self.calls.iter().filter(|c| closing(c)) {
            settings.check_streamed(group, &call.name, &call.arguments)?;
        }
        self.calls.retain(|c| !closing(c));
        if self.calls.is_empty() {
            self.held_bytes = 0;
            let mut out = std::mem::take(&mut self.held);
            out.push(raw);
            return Ok(out);
        }
        self.held_bytes = self.held_bytes.saturating_add(raw.len());
        if self.held_bytes > settings.max_held_bytes {
            return Err(Violation::TooLarge);
        }
        self.held.push(raw);
        Ok(Vec::new())
    }

    /// The end of the stream: calls still open are checked as they stand, and what was held
    /// back is released.
    pub fn finish(&mut self, settings: &Settings, group: &str) -> Result<Vec<Vec<u8>>, Violation> {
        for call in &self.calls {
            settings.check_streamed(group, &call.name, &call.arguments)?;
        }
        self.calls.clear();
        self.held_bytes = 0;
        Ok(std::mem::take(&mut self.held))
    }

    /// Whether events are being held back.
    pub fn holding(&self) -> bool {
        !self.calls.is_empty()
    }

    /// The call on `channel`, opened with `name` if new; a known call's name is extended by `name`.
    fn call(&mut self, channel: Channel, name: &str) -> Result<&mut Call, Violation> {
        let at = match self.calls.iter().position(|c| c.channel == channel) {
            // A name in pieces is joined, as clients join it.
            Some(at) => {
                if let Some(call) = self.calls.get_mut(at) {
                    call.name.push_str(name);
                }
                at
            }
            None if self.calls.len() < MAX_CALLS => {
                self.calls.push(Call {
                    channel,
                    name: name.to_string(),
                    arguments: String::new(),
                });
                self.calls.len() - 1
            }
            None => return Err(Violation::TooLarge),
        };
        self.calls.get_mut(at).ok_or(Violation::TooLarge)
    }
}
