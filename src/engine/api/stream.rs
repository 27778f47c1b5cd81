//! What one streamed event of each format means: text deltas by channel, usage, the end.

use super::request::TextKind;
use super::{ApiFormat, Usage, response};
use crate::engine::json::{Span, Value};

/// One stream of text within a response: a choice's content, a tool call's arguments, a content
/// block. Deltas of one channel concatenate to its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Channel {
    /// Choice index (OpenAI chat/completions), output index (Responses) or block index (Anthropic).
    pub index: u64,
    /// Tool call index + 1 within a choice, content index within an output item; 0 otherwise.
    pub sub: u64,
}

/// A piece of streamed text: its channel, and the span of its JSON string in the event's data.
#[derive(Clone, Debug, PartialEq)]
pub struct Delta<'v> {
    /// The channel it extends.
    pub channel: Channel,
    /// Content or tool arguments.
    pub kind: TextKind,
    /// The decoded text.
    pub text: &'v str,
    /// The JSON string literal in the data.
    pub span: Span,
}

/// Usage figures an event reports; later events override earlier ones field by field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UsageUpdate {
    /// Input tokens, when reported.
    pub input_tokens: Option<u64>,
    /// Output tokens so far, when reported.
    pub output_tokens: Option<u64>,
}

impl UsageUpdate {
    /// Merges `later` into `self`.
    pub fn merge(&mut self, later: UsageUpdate) {
        self.input_tokens = later.input_tokens.or(self.input_tokens);
        self.output_tokens = later.output_tokens.or(self.output_tokens);
    }

    /// The usage, if anything was reported.
    pub fn usage(&self) -> Option<Usage> {
        if self.input_tokens.is_none() && self.output_tokens.is_none() {
            return None;
        }
        Some(Usage {
            input_tokens: self.input_tokens.unwrap_or(0),
            output_tokens: self.output_tokens.unwrap_or(0),
        })
    }
}

/// What one event says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventView<'v> {
    /// Text deltas.
    pub deltas: Vec<Delta<'v>>,
    /// Usage reported by this event.
    pub usage: UsageUpdate,
    /// An OpenAI chunk that only carries usage (`choices: []`), added when `include_usage` is set.
    pub usage_only: bool,
    /// The event ends the response (`[DONE]`, `message_stop`, `response.completed`, …).
    pub end: bool,
    /// The upstream reported an error in the stream.
    pub error: bool,
}

/// The data payload that ends OpenAI chat and completions streams.
pub const DONE: &str = "[DONE]";

/// Reads an event of `format` with event type `event` and parsed `data`.
pub fn read_event<'v>(
    format: ApiFormat,
    event: Option<&str>,
    data: &'v Value<'v>,
) -> EventView<'v> {
    let mut view = EventView::default();
    match format {
        ApiFormat::OpenAiChat | ApiFormat::OpenAiCompletions => {
            openai_chunk(&mut view, format, data)
        }
        ApiFormat::OpenAiResponses => responses_event(&mut view, data),
        ApiFormat::AnthropicMessages => anthropic_event(&mut view, event, data),
    }
    view
}

fn push<'v>(
    view: &mut EventView<'v>,
    channel: Channel,
    kind: TextKind,
    value: Option<&'v Value<'v>>,
) {
    if let Some(v) = value {
        if let Some(text) = v.as_str() {
            view.deltas.push(Delta {
                channel,
                kind,
                text,
                span: v.span,
            });
        }
    }
}

fn number(v: &Value<'_>, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

fn update(format: ApiFormat, usage: Option<&Value<'_>>) -> UsageUpdate {
    response::usage(format, usage)
        .map(|u| UsageUpdate {
            input_tokens: Some(u.input_tokens),
            output_tokens: Some(u.output_tokens),
        })
        .unwrap_or_default()
}

fn openai_chunk<'v>(view: &mut EventView<'v>, format: ApiFormat, data: &'v Value<'v>) {
    view.error = data.get("error").is_some();
    let choices = data
        .get("choices")
        .and_then(Value::as_array)
        .unwrap_or_default();
    for choice in choices {
        let index = number(choice, "index");
        let content = Channel { index, sub: 0 };
        push(view, content, TextKind::Content, choice.get("text"));
        let Some(delta) = choice.get("delta") else {
            continue;
        };
        push(view, content, TextKind::Content, delta.get("content"));
        push(view, content, TextKind::Content, delta.get("refusal"));
        for call in delta
            .get("tool_calls")
            .and_then(Value::as_array)
            .unwrap_or_default()
        {
            let channel = Channel {
                index,
                sub: number(call, "index").saturating_add(1),
            };
            push(
                view,
                channel,
                TextKind::ToolArguments,
                call.get("function").and_then(|f| f.get("arguments")),
            );
        }
    }
    view.usage = update(format, data.get("usage"));
    view.usage_only = choices.is_empty() && view.usage.usage().is_some();
}

fn responses_event<'v>(view: &mut EventView<'v>, data: &'v Value<'v>) {
    let channel = Channel {
        index: number(data, "output_index"),
        sub: number(data, "content_index"),
    };
    match data.get_str("type").unwrap_or_default() {
        "response.output_text.delta"
        | "response.refusal.delta"
        | "response.reasoning_summary_text.delta" => {
            push(view, channel, TextKind::Content, data.get("delta"))
        }
        "response.function_call_arguments.delta" | "response.custom_tool_call_input.delta" => {
            push(view, channel, TextKind::ToolArguments, data.get("delta"))
        }
        "response.completed" | "response.incomplete" | "response.failed" => {
            view.usage = update(
                ApiFormat::OpenAiResponses,
                data.get("response").and_then(|r| r.get("usage")),
            );
            view.end = true;
        }
        "error" => view.error = true,
        _ => {}
    }
}

fn anthropic_event<'v>(view: &mut EventView<'v>, event: Option<&str>, data: &'v Value<'v>) {
    let kind = data.get_str("type").or(event).unwrap_or_default();
    let channel = Channel {
        index: number(data, "index"),
        sub: 0,
    };
    match kind {
        "content_block_delta" => {
            let Some(delta) = data.get("delta") else {
                return;
            };
            match delta.get_str("type") {
                Some("input_json_delta") => push(
                    view,
                    channel,
                    TextKind::ToolArguments,
                    delta.get("partial_json"),
                ),
                Some("thinking_delta") => {
                    push(view, channel, TextKind::Content, delta.get("thinking"))
                }
                _ => push(view, channel, TextKind::Content, delta.get("text")),
            }
        }
        "content_block_start" => push(
            view,
            channel,
            TextKind::Content,
            data.get("content_block").and_then(|b| b.get("text")),
        ),
        "message_start" => {
            view.usage = update(
                ApiFormat::AnthropicMessages,
                data.get("message").and_then(|m| m.get("usage")),
            )
        }
        "message_delta" => {
            let usage = data.get("usage");
            let n = |key: &str| usage.and_then(|u| u.get(key)).and_then(Value::as_u64);
            view.usage = UsageUpdate {
                input_tokens: update(ApiFormat::AnthropicMessages, usage)
                    .input_tokens
                    .filter(|_| n("input_tokens").is_some()),
                output_tokens: n("output_tokens"),
            };
        }
        "message_stop" => view.end = true,
        "error" => view.error = true,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::json::parse;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn read(
        format: ApiFormat,
        event: Option<&str>,
        data: &str,
    ) -> (Vec<(u64, u64, String)>, UsageUpdate, bool, bool) {
        let root = parse(data.as_bytes(), 64).unwrap();
        let v = read_event(format, event, &root);
        for d in &v.deltas {
            assert_eq!(
                parse(d.span.of(data.as_bytes()), 4).unwrap().as_str(),
                Some(d.text)
            );
        }
        (
            v.deltas
                .iter()
                .map(|d| (d.channel.index, d.channel.sub, d.text.to_string()))
                .collect(),
            v.usage,
            v.usage_only,
            v.end,
        )
    }

    #[test]
    fn openai_chat_deltas_tool_calls_and_usage_chunk() {
        let (d, _, only, _) = read(
            ApiFormat::OpenAiChat,
            None,
            r#"{"choices":[{"index":1,"delta":{"content":"hi","tool_calls":[{"index":2,"function":{"arguments":"{\"a"}}]}}],"usage":null}"#,
        );
        assert_eq!(d, vec![(1, 0, "hi".into()), (1, 3, "{\"a".into())]);
        assert!(!only);
        let (d, u, only, _) = read(
            ApiFormat::OpenAiChat,
            None,
            r#"{"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":6}}"#,
        );
        assert!(d.is_empty() && only);
        assert_eq!(
            u.usage(),
            Some(Usage {
                input_tokens: 4,
                output_tokens: 6
            })
        );
    }

    #[test]
    fn responses_events() {
        let (d, _, _, _) = read(
            ApiFormat::OpenAiResponses,
            None,
            r#"{"type":"response.output_text.delta","output_index":2,"content_index":1,"delta":"x"}"#,
        );
        assert_eq!(d, vec![(2, 1, "x".into())]);
        let (_, u, _, end) = read(
            ApiFormat::OpenAiResponses,
            None,
            r#"{"type":"response.completed","response":{"usage":{"input_tokens":1,"output_tokens":2}}}"#,
        );
        assert!(end);
        assert_eq!(u.usage().unwrap().total(), 3);
    }

    #[test]
    fn anthropic_events_and_usage_merge() {
        let mut usage = UsageUpdate::default();
        let (_, u, _, _) = read(
            ApiFormat::AnthropicMessages,
            Some("message_start"),
            r#"{"type":"message_start","message":{"usage":{"input_tokens":7,"output_tokens":1}}}"#,
        );
        usage.merge(u);
        let (d, _, _, _) = read(
            ApiFormat::AnthropicMessages,
            Some("content_block_delta"),
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"q"}}"#,
        );
        assert_eq!(d, vec![(1, 0, "{\"q".into())]);
        let (_, u, _, _) = read(
            ApiFormat::AnthropicMessages,
            Some("message_delta"),
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":12}}"#,
        );
        usage.merge(u);
        assert_eq!(
            usage.usage(),
            Some(Usage {
                input_tokens: 7,
                output_tokens: 12
            })
        );
        let (_, _, _, end) = read(
            ApiFormat::AnthropicMessages,
            Some("message_stop"),
            r#"{"type":"message_stop"}"#,
        );
        assert!(end);
    }
}
