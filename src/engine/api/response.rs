//! Whole (non-streamed) responses: the texts the model produced, its tool calls, and its usage.

use super::request::{Location, TextKind, TextPiece};
use super::{ApiFormat, Role, Usage, request::index};
use crate::engine::json::{Kind, Value};

/// A tool call the model made.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolCall<'v> {
    /// The tool's name.
    pub name: &'v str,
    /// Its arguments: a JSON-encoded string (OpenAI) or an object (Anthropic `input`).
    pub arguments: &'v Value<'v>,
}

/// Everything the filter reads from a JSON response body.
#[derive(Clone, Debug, Default)]
pub struct ResponseView<'v> {
    /// Texts the model produced (content, refusals, reasoning summaries, tool arguments).
    pub texts: Vec<TextPiece<'v>>,
    /// Tool calls the model made.
    pub tool_calls: Vec<ToolCall<'v>>,
    /// Usage as reported.
    pub usage: Option<Usage>,
}

impl<'v> ResponseView<'v> {
    /// Reads a response body of `format`. Bodies of unexpected shape (for example an upstream error
    /// object) yield no texts; nothing here fails.
    pub fn parse(format: ApiFormat, root: &'v Value<'v>) -> Self {
        let mut view = ResponseView {
            usage: usage(format, root.get("usage")),
            ..Default::default()
        };
        match format {
            ApiFormat::OpenAiChat | ApiFormat::OpenAiCompletions => view.openai_choices(root),
            ApiFormat::OpenAiResponses => view.responses_output(root),
            ApiFormat::AnthropicMessages => view.anthropic_content(root),
        }
        view
    }

    fn push(&mut self, kind: TextKind, value: Option<&'v Value<'v>>, location: Location) {
        if let Some(Value {
            kind: Kind::String(text),
            span,
        }) = value
        {
            self.texts.push(TextPiece {
                role: Role::Assistant,
                kind,
                text,
                span: *span,
                location,
            });
        }
    }

    fn push_leaves(&mut self, value: &'v Value<'v>, location: Location) {
        match &value.kind {
            Kind::String(_) => self.push(TextKind::ToolArguments, Some(value), location),
            Kind::Array(items) => items.iter().for_each(|v| self.push_leaves(v, location)),
            Kind::Object(members) => members
                .iter()
                .for_each(|(_, v)| self.push_leaves(v, location)),
            _ => {}
        }
    }

    fn openai_choices(&mut self, root: &'v Value<'v>) {
        for (i, choice) in root
            .get("choices")
            .and_then(Value::as_array)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let at = Location {
                field: "choices",
                index: index(i),
                part: None,
            };
            self.push(TextKind::Content, choice.get("text"), at);
            let Some(message) = choice.get("message") else {
                continue;
            };
            self.push(TextKind::Content, message.get("content"), at);
            self.push(TextKind::Content, message.get("refusal"), at);
            for call in message
                .get("tool_calls")
                .and_then(Value::as_array)
                .unwrap_or_default()
            {
                if let Some(f) = call.get("function") {
                    self.tool_call(f.get_str("name"), f.get("arguments"), at);
                }
            }
            if let Some(f) = message.get("function_call") {
                self.tool_call(f.get_str("name"), f.get("arguments"), at);
            }
        }
    }

    fn tool_call(&mut self, name: Option<&'v str>, arguments: Option<&'v Value<'v>>, at: Location) {
        if let (Some(name), Some(arguments)) = (name, arguments) {
            self.tool_calls.push(ToolCall { name, arguments });
            self.push_leaves(arguments, at);
        }
    }

    fn responses_output(&mut self, root: &'v Value<'v>) {
        for (i, item) in root
            .get("output")
            .and_then(Value::as_array)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let at = Location {
                field: "output",
                index: index(i),
                part: None,
            };
            match item.get_str("type") {
                Some("message") => {
                    for (p, part) in item
                        .get("content")
                        .and_then(Value::as_array)
                        .unwrap_or_default()
                        .iter()
                        .enumerate()
                    {
                        let at = Location {
                            part: index(p),
                            ..at
                        };
                        self.push(
                            TextKind::Content,
                            part.get("text").or_else(|| part.get("refusal")),
                            at,
                        );
                    }
                }
                Some("function_call") => {
                    self.tool_call(item.get_str("name"), item.get("arguments"), at)
                }
                Some("custom_tool_call") => {
                    self.tool_call(item.get_str("name"), item.get("input"), at)
                }
                Some("reasoning") => {
                    for part in item
                        .get("summary")
                        .and_then(Value::as_array)
                        .unwrap_or_default()
                    {
                        self.push(TextKind::Content, part.get("text"), at);
                    }
                }
                _ => {}
            }
        }
    }

    fn anthropic_content(&mut self, root: &'v Value<'v>) {
        for (i, block) in root
            .get("content")
            .and_then(Value::as_array)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let at = Location {
                field: "content",
                index: index(i),
                part: None,
            };
            match block.get_str("type") {
                Some("tool_use") => self.tool_call(block.get_str("name"), block.get("input"), at),
                Some("thinking") => self.push(TextKind::Content, block.get("thinking"), at),
                _ => self.push(TextKind::Content, block.get("text"), at),
            }
        }
    }
}

/// Reads a `usage` object of `format`. Anthropic's cached input tokens count as input.
pub fn usage(format: ApiFormat, usage: Option<&Value<'_>>) -> Option<Usage> {
    let usage = usage.filter(|u| u.as_object().is_some())?;
    let n = |key: &str| usage.get(key).and_then(Value::as_u64);
    let (input, output) = match format {
        ApiFormat::OpenAiChat | ApiFormat::OpenAiCompletions => {
            (n("prompt_tokens"), n("completion_tokens"))
        }
        ApiFormat::OpenAiResponses => (n("input_tokens"), n("output_tokens")),
        ApiFormat::AnthropicMessages => {
            let cached = n("cache_creation_input_tokens")
                .unwrap_or(0)
                .saturating_add(n("cache_read_input_tokens").unwrap_or(0));
            (
                n("input_tokens").map(|i| i.saturating_add(cached)),
                n("output_tokens"),
            )
        }
    };
    if input.is_none() && output.is_none() {
        return None;
    }
    Some(Usage {
        input_tokens: input.unwrap_or(0),
        output_tokens: output.unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::json::parse;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn read(format: ApiFormat, body: &str) -> (Vec<String>, Vec<String>, Option<Usage>) {
        let root = parse(body.as_bytes(), 64).unwrap();
        let v = ResponseView::parse(format, &root);
        (
            v.texts.iter().map(|t| t.text.to_string()).collect(),
            v.tool_calls.iter().map(|c| c.name.to_string()).collect(),
            v.usage,
        )
    }

    #[test]
    fn openai_chat() {
        let body = r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"hello",
            "tool_calls":[{"type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]}}],
            "usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}"#;
        let (texts, calls, usage) = read(ApiFormat::OpenAiChat, body);
        assert_eq!(texts, ["hello", "{\"a\":1}"]);
        assert_eq!(calls, ["f"]);
        assert_eq!(
            usage,
            Some(Usage {
                input_tokens: 3,
                output_tokens: 5
            })
        );
    }

    #[test]
    fn completions_responses_anthropic() {
        let (t, _, _) = read(
            ApiFormat::OpenAiCompletions,
            r#"{"choices":[{"text":"x"}]}"#,
        );
        assert_eq!(t, ["x"]);
        let body = r#"{"output":[{"type":"reasoning","summary":[{"type":"summary_text","text":"r"}]},
            {"type":"message","content":[{"type":"output_text","text":"o"}]},
            {"type":"function_call","name":"g","arguments":"{}"}],"usage":{"input_tokens":1,"output_tokens":2}}"#;
        let (t, c, u) = read(ApiFormat::OpenAiResponses, body);
        assert_eq!(
            (t, c, u.unwrap().total()),
            (
                vec!["r".to_string(), "o".into(), "{}".into()],
                vec!["g".to_string()],
                3
            )
        );
        let body = r#"{"content":[{"type":"text","text":"a"},{"type":"tool_use","name":"h","input":{"q":"b"}}],
            "usage":{"input_tokens":10,"cache_read_input_tokens":5,"output_tokens":2}}"#;
        let (t, c, u) = read(ApiFormat::AnthropicMessages, body);
        assert_eq!(
            (t, c, u),
            (
                vec!["a".to_string(), "b".into()],
                vec!["h".to_string()],
                Some(Usage {
                    input_tokens: 15,
                    output_tokens: 2
                })
            )
        );
    }

    #[test]
    fn error_bodies_have_nothing() {
        let (t, c, u) = read(ApiFormat::OpenAiChat, r#"{"error":{"message":"m"}}"#);
        assert!(t.is_empty() && c.is_empty() && u.is_none());
    }
}
