//! OpenAI Chat Completions, legacy Completions and Responses requests.

use super::{Location, RequestError, RequestView, TextKind, ToolDecl, index, invalid};
use crate::engine::api::Role;
use crate::engine::json::{Kind, Value};

fn role_of(name: &str) -> Role {
    match name {
        "system" => Role::System,
        "developer" => Role::Developer,
        "assistant" => Role::Assistant,
        "tool" | "function" => Role::Tool,
        // Unknown roles are scanned with the strictest policy rather than rejected.
        _ => Role::User,
    }
}

fn kind_for(role: Role) -> TextKind {
    if role == Role::Tool {
        TextKind::ToolResult
    } else {
        TextKind::Content
    }
}

/// Chat Completions: `messages`, `tools`/`functions`, `tool_choice`, `max_completion_tokens`.
pub(super) fn chat<'v>(view: &mut RequestView<'v>) -> Result<(), RequestError> {
    let root = view.root;
    let messages = root
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("messages", "an array"))?;
    view.message_count = messages.len();
    for (i, message) in messages.iter().enumerate() {
        let role = role_of(
            message
                .get_str("role")
                .ok_or_else(|| invalid("messages[].role", "a string"))?,
        );
        let at = Location {
            field: "messages",
            index: index(i),
            part: None,
        };
        if let Some(content) = message.get("content") {
            content_parts(
                view,
                role,
                kind_for(role),
                content,
                at,
                "messages[].content",
            )?;
        }
        if let Some(refusal) = message.get("refusal") {
            view.push(role, TextKind::Content, refusal, at);
        }
        for call in message
            .get("tool_calls")
            .and_then(Value::as_array)
            .unwrap_or_default()
        {
            if let Some(args) = call.get("function").and_then(|f| f.get("arguments")) {
                view.push(role, TextKind::ToolArguments, args, at);
            }
            if let Some(input) = call.get("custom").and_then(|f| f.get("input")) {
                view.push(role, TextKind::ToolArguments, input, at);
            }
        }
        if let Some(args) = message
            .get("function_call")
            .and_then(|f| f.get("arguments"))
        {
            view.push(role, TextKind::ToolArguments, args, at);
        }
    }
    view.read_output_limit(&["max_completion_tokens", "max_tokens"])?;
    declared_tools(view, "tools", |t| {
        let f = t.get("function");
        (
            f.and_then(|f| f.get_str("name"))
                .or_else(|| t.get_str("type")),
            f.and_then(|f| f.get("description")),
        )
    })?;
    if view.tools.is_empty() {
        declared_tools(view, "functions", |t| {
            (t.get_str("name"), t.get("description"))
        })?;
    }
    view.forced_tool = match root.get("tool_choice") {
        Some(choice) => choice.get("function").and_then(|f| f.get_str("name")),
        None => root.get("function_call").and_then(|f| f.get_str("name")),
    };
    Ok(())
}

/// Legacy Completions: `prompt` (text only; token-id prompts cannot be inspected) and `suffix`.
pub(super) fn completions<'v>(view: &mut RequestView<'v>) -> Result<(), RequestError> {
    let root = view.root;
    let prompt = root
        .get("prompt")
        .ok_or_else(|| invalid("prompt", "present"))?;
    let at = Location {
        field: "prompt",
        index: None,
        part: None,
    };
    match &prompt.kind {
        Kind::String(_) => view.push(Role::User, TextKind::Content, prompt, at),
        Kind::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if item.as_str().is_none() {
                    return Err(RequestError(
                        "`prompt` must be text: token-id prompts cannot be inspected".into(),
                    ));
                }
                view.push(
                    Role::User,
                    TextKind::Content,
                    item,
                    Location {
                        index: index(i),
                        ..at
                    },
                );
            }
        }
        _ => return Err(invalid("prompt", "a string or an array of strings")),
    }
    view.message_count = 1;
    if let Some(suffix) = root.get("suffix") {
        view.push(
            Role::User,
            TextKind::Content,
            suffix,
            Location {
                field: "suffix",
                index: None,
                part: None,
            },
        );
    }
    view.read_output_limit(&["max_tokens"])
}

/// Responses: `instructions`, `input` (a string or items), `prompt.variables`, `tools`.
pub(super) fn responses<'v>(view: &mut RequestView<'v>) -> Result<(), RequestError> {
    let root = view.root;
    if let Some(instructions) = root.get("instructions") {
        let at = Location {
            field: "instructions",
            index: None,
            part: None,
        };
        view.push(Role::System, TextKind::Content, instructions, at);
    }
    match root.get("input").map(|v| &v.kind) {
        None | Some(Kind::Null) => {}
        Some(Kind::String(_)) => {
            if let Some(input) = root.get("input") {
                view.message_count = 1;
                view.push(
                    Role::User,
                    TextKind::Content,
                    input,
                    Location {
                        field: "input",
                        index: None,
                        part: None,
                    },
                );
            }
        }
        Some(Kind::Array(items)) => {
            view.message_count = items.len();
            for (i, item) in items.iter().enumerate() {
                response_item(
                    view,
                    item,
                    Location {
                        field: "input",
                        index: index(i),
                        part: None,
                    },
                )?;
            }
        }
        Some(_) => return Err(invalid("input", "a string or an array")),
    }
    if let Some(variables) = root.get("prompt").and_then(|p| p.get("variables")) {
        let at = Location {
            field: "prompt",
            index: None,
            part: None,
        };
        for (_, value) in variables.as_object().unwrap_or_default() {
            match value.get_str("type") {
                Some("input_text") => {
                    if let Some(text) = value.get("text") {
                        view.push(Role::User, TextKind::Content, text, at);
                    }
                }
                _ => view.push(Role::User, TextKind::Content, value, at),
            }
        }
    }
    view.read_output_limit(&["max_output_tokens"])?;
    declared_tools(view, "tools", |t| {
        (
            t.get_str("name").or_else(|| t.get_str("type")),
            t.get("description"),
        )
    })?;
    view.forced_tool = root.get("tool_choice").and_then(|c| c.get_str("name"));
    Ok(())
}

fn response_item<'v>(
    view: &mut RequestView<'v>,
    item: &'v Value<'v>,
    at: Location,
) -> Result<(), RequestError> {
    if item.as_object().is_none() {
        return Err(invalid("input[]", "an object"));
    }
    match item.get_str("type") {
        None | Some("message") => {
            let role = role_of(
                item.get_str("role")
                    .ok_or_else(|| invalid("input[].role", "a string"))?,
            );
            if let Some(content) = item.get("content") {
                content_parts(view, role, kind_for(role), content, at, "input[].content")?;
            }
        }
        Some("function_call") => push_field(
            view,
            Role::Assistant,
            TextKind::ToolArguments,
            item,
            "arguments",
            at,
        ),
        Some("custom_tool_call") => push_field(
            view,
            Role::Assistant,
            TextKind::ToolArguments,
            item,
            "input",
            at,
        ),
        Some(
            "function_call_output"
            | "custom_tool_call_output"
            | "computer_call_output"
            | "local_shell_call_output",
        ) => {
            if let Some(output) = item.get("output") {
                content_parts(
                    view,
                    Role::Tool,
                    TextKind::ToolResult,
                    output,
                    at,
                    "input[].output",
                )?;
            }
        }
        Some("reasoning") => {
            for part in item
                .get("summary")
                .and_then(Value::as_array)
                .unwrap_or_default()
            {
                push_field(view, Role::Assistant, TextKind::Content, part, "text", at);
            }
        }
        Some("item_reference") => {}
        // Items of other types carry their text under one of these names when they carry any.
        Some(_) => {
            for key in ["text", "content", "output", "arguments", "input"] {
                if let Some(v) = item.get(key) {
                    view.push_leaves(Role::User, TextKind::Content, v, at);
                }
            }
        }
    }
    Ok(())
}

fn push_field<'v>(
    view: &mut RequestView<'v>,
    role: Role,
    kind: TextKind,
    obj: &'v Value<'v>,
    key: &str,
    at: Location,
) {
    if let Some(v) = obj.get(key) {
        view.push(role, kind, v, at);
    }
}

/// Message content: a string, null, or an array of parts of which text-bearing ones are read.
fn content_parts<'v>(
    view: &mut RequestView<'v>,
    role: Role,
    kind: TextKind,
    content: &'v Value<'v>,
    at: Location,
    field: &str,
) -> Result<(), RequestError> {
    match &content.kind {
        Kind::Null => {}
        Kind::String(_) => view.push(role, kind, content, at),
        Kind::Array(parts) => {
            for (p, part) in parts.iter().enumerate() {
                let at = Location {
                    part: index(p),
                    ..at
                };
                match part.get_str("type") {
                    Some("image_url" | "input_image" | "input_audio" | "input_file" | "file") => {}
                    Some("refusal") => push_field(view, role, kind, part, "refusal", at),
                    _ => match &part.kind {
                        Kind::String(_) => view.push(role, kind, part, at),
                        _ => push_field(view, role, kind, part, "text", at),
                    },
                }
            }
        }
        _ => return Err(invalid(field, "a string, an array of parts, or null")),
    }
    Ok(())
}

/// Reads a tools array: names via `name_of`, descriptions as tool-definition texts.
pub(super) fn declared_tools<'v>(
    view: &mut RequestView<'v>,
    field: &'static str,
    name_of: impl Fn(&'v Value<'v>) -> (Option<&'v str>, Option<&'v Value<'v>>),
) -> Result<(), RequestError> {
    let Some(tools) = view.root.get(field).filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let items = tools.as_array().ok_or_else(|| invalid(field, "an array"))?;
    view.tools_field = Some(tools);
    for (i, tool) in items.iter().enumerate() {
        let (name, description) = name_of(tool);
        let name = name.ok_or_else(|| invalid(field, "an array of tools with names"))?;
        view.tools.push(ToolDecl {
            name,
            span: tool.span,
        });
        if let Some(d) = description {
            view.push(
                Role::System,
                TextKind::ToolDefinition,
                d,
                Location {
                    field,
                    index: index(i),
                    part: None,
                },
            );
        }
    }
    Ok(())
}
