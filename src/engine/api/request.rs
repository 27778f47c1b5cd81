//! Requests of the four formats, read into one view: every text with its role and span, plus the
//! fields that policies act on (model, stream, output limit, tools).

use super::{ApiFormat, Role};
use crate::engine::json::{Edits, Kind, Span, Value};
use std::fmt;

/// What kind of field a text came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TextKind {
    /// Message content, a prompt, or instructions.
    Content,
    /// A tool or function result, including documents fetched by tools.
    ToolResult,
    /// Arguments of a tool call made by the model in an earlier turn.
    ToolArguments,
    /// A tool's declared description.
    ToolDefinition,
    /// An attached document (Anthropic `document` blocks).
    Document,
}

impl TextKind {
    /// The name used in configuration and audit records.
    pub fn name(self) -> &'static str {
        match self {
            TextKind::Content => "content",
            TextKind::ToolResult => "tool_result",
            TextKind::ToolArguments => "tool_arguments",
            TextKind::ToolDefinition => "tool_definition",
            TextKind::Document => "document",
        }
    }
}

/// Where a text sits, for audit records: `messages[3].content[1]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    /// Top-level field (`messages`, `input`, `system`, `prompt`, `tools`, …).
    pub field: &'static str,
    /// Index within that field, when it is an array.
    pub index: Option<u32>,
    /// Index of the content part or block, when the content is an array.
    pub part: Option<u32>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.field)?;
        if let Some(i) = self.index {
            write!(f, "[{i}]")?;
        }
        if let Some(p) = self.part {
            write!(f, ".content[{p}]")?;
        }
        Ok(())
    }
}

/// One piece of text in a request, decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct TextPiece<'v> {
    /// Who wrote it.
    pub role: Role,
    /// What field it came from.
    pub kind: TextKind,
    /// The decoded text.
    pub text: &'v str,
    /// The JSON string literal (quotes included) in the body.
    pub span: Span,
    /// Where it sits, for audit records.
    pub location: Location,
}

/// A numeric request field with its span, for clamping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NumberField {
    /// The field's name in this format (`max_tokens`, `max_output_tokens`, …).
    pub name: &'static str,
    /// Its value.
    pub value: u64,
    /// The number's span in the body.
    pub span: Span,
}

/// A tool the client declares.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolDecl<'v> {
    /// Function name, or the built-in tool's type (`web_search`, `code_interpreter`, …).
    pub name: &'v str,
    /// The declaration's span within the `tools` (or `functions`) array.
    pub span: Span,
}

/// Everything the filter reads from a request body.
#[derive(Clone, Debug)]
pub struct RequestView<'v> {
    /// The API format.
    pub format: ApiFormat,
    /// The `model` field.
    pub model: Option<&'v str>,
    /// Whether the client asked for a streamed response.
    pub stream: bool,
    /// Every text, in body order.
    pub texts: Vec<TextPiece<'v>>,
    /// Number of messages or input items.
    pub message_count: usize,
    /// The output-token ceiling the client asked for, if any.
    pub output_limit: Option<NumberField>,
    /// Declared tools.
    pub tools: Vec<ToolDecl<'v>>,
    /// The `tools` (or legacy `functions`) array, for rewriting.
    pub tools_field: Option<&'v Value<'v>>,
    /// A tool the client forces with `tool_choice`.
    pub forced_tool: Option<&'v str>,
    root: &'v Value<'v>,
}

/// A request body that parses as JSON but not as the format: answered with 400.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestError(pub String);

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn invalid(field: &str, what: &str) -> RequestError {
    RequestError(format!("`{field}` must be {what}"))
}

impl<'v> RequestView<'v> {
    /// Reads a parsed request body of `format`.
    pub fn parse(format: ApiFormat, root: &'v Value<'v>) -> Result<Self, RequestError> {
        if root.as_object().is_none() {
            return Err(RequestError("request body must be a JSON object".into()));
        }
        let mut view = RequestView {
            format,
            model: optional_str(root, "model")?,
            stream: match root.get("stream") {
                None => false,
                Some(v) if v.is_null() => false,
                Some(v) => v.as_bool().ok_or_else(|| invalid("stream", "a boolean"))?,
            },
            texts: Vec::new(),
            message_count: 0,
            output_limit: None,
            tools: Vec::new(),
            tools_field: None,
            forced_tool: None,
            root,
        };
        match format {
            ApiFormat::OpenAiChat => openai::chat(&mut view)?,
            ApiFormat::OpenAiCompletions => openai::completions(&mut view)?,
            ApiFormat::OpenAiResponses => openai::responses(&mut view)?,
            ApiFormat::AnthropicMessages => anthropic::messages(&mut view)?,
        }
        Ok(view)
    }

    /// Reads the first present numeric field of `names` as the output limit.
    fn read_output_limit(&mut self, names: &[&'static str]) -> Result<(), RequestError> {
        for &name in names {
            if let Some(v) = self.root.get(name).filter(|v| !v.is_null()) {
                let value = v
                    .as_u64()
                    .ok_or_else(|| invalid(name, "a non-negative integer"))?;
                self.output_limit = Some(NumberField {
                    name,
                    value,
                    span: v.span,
                });
                return Ok(());
            }
        }
        Ok(())
    }

    fn push(&mut self, role: Role, kind: TextKind, value: &'v Value<'v>, location: Location) {
        if let Kind::String(text) = &value.kind {
            self.texts.push(TextPiece {
                role,
                kind,
                text,
                span: value.span,
                location,
            });
        }
    }

    /// Pushes every string inside `value` (for structured tool inputs).
    fn push_leaves(
        &mut self,
        role: Role,
        kind: TextKind,
        value: &'v Value<'v>,
        location: Location,
    ) {
        match &value.kind {
            Kind::String(_) => self.push(role, kind, value, location),
            Kind::Array(items) => items
                .iter()
                .for_each(|v| self.push_leaves(role, kind, v, location)),
            Kind::Object(members) => members
                .iter()
                .for_each(|(_, v)| self.push_leaves(role, kind, v, location)),
            _ => {}
        }
    }

    /// Whether an OpenAI streaming request already asks for the final usage chunk.
    pub fn stream_usage_requested(&self) -> bool {
        self.root
            .get("stream_options")
            .and_then(|o| o.get("include_usage"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// Adds edits that make an OpenAI streaming request report usage in its last chunk
    /// (`stream_options.include_usage: true`). Returns false when nothing was needed.
    pub fn request_stream_usage(&self, edits: &mut Edits) -> bool {
        let applies = matches!(
            self.format,
            ApiFormat::OpenAiChat | ApiFormat::OpenAiCompletions
        );
        if !applies || !self.stream || self.stream_usage_requested() {
            return false;
        }
        match self.root.get("stream_options") {
            Some(options) if options.as_object().is_some() => match options.get("include_usage") {
                Some(flag) => edits.replace(flag.span, b"true".to_vec()),
                None => {
                    let sep: &[u8] = if options.as_object().is_some_and(|m| m.is_empty()) {
                        b""
                    } else {
                        b","
                    };
                    edits.insert(
                        options.span.start + 1,
                        [b"\"include_usage\":true".as_slice(), sep].concat(),
                    );
                }
            },
            Some(other) => edits.replace(other.span, b"{\"include_usage\":true}".to_vec()),
            None => edits.insert(
                self.root.span.start + 1,
                b"\"stream_options\":{\"include_usage\":true},".to_vec(),
            ),
        }
        true
    }
}

fn optional_str<'v>(v: &'v Value<'v>, key: &str) -> Result<Option<&'v str>, RequestError> {
    match v.get(key) {
        None => Ok(None),
        Some(x) if x.is_null() => Ok(None),
        Some(x) => x.as_str().map(Some).ok_or_else(|| invalid(key, "a string")),
    }
}

pub(super) fn index(i: usize) -> Option<u32> {
    Some(u32::try_from(i).unwrap_or(u32::MAX))
}

mod anthropic;
mod openai;

#[cfg(test)]
mod tests;
