//! Anthropic Messages requests.

use super::openai::declared_tools;
use super::{Location, RequestError, RequestView, TextKind, index, invalid};
use crate::engine::api::Role;
use crate::engine::json::{Kind, Value};

/// Messages: `system`, `messages` with content blocks, `tools`, `tool_choice`, `max_tokens`.
pub(super) fn messages<'v>(view: &mut RequestView<'v>) -> Result<(), RequestError> {
    let root = view.root;
    if let Some(system) = root.get("system") {
        let at = Location {
            field: "system",
            index: None,
            part: None,
        };
        blocks(view, Role::System, system, at, "system")?;
    }
    let messages = root
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("messages", "an array"))?;
    view.message_count = messages.len();
    for (i, message) in messages.iter().enumerate() {
        let role = match message.get_str("role") {
            Some("assistant") => Role::Assistant,
            Some(_) => Role::User,
            None => return Err(invalid("messages[].role", "a string")),
        };
        let content = message
            .get("content")
            .ok_or_else(|| invalid("messages[].content", "present"))?;
        blocks(
            view,
            role,
            content,
            Location {
                field: "messages",
                index: index(i),
                part: None,
            },
            "messages[].content",
        )?;
    }
    view.read_output_limit(&["max_tokens"])?;
    declared_tools(view, "tools", |t| (t.get_str("name"), t.get("description")))?;
    view.forced_tool = root
        .get("tool_choice")
        .filter(|c| c.get_str("type") == Some("tool"))
        .and_then(|c| c.get_str("name"));
    Ok(())
}

/// Content: a string or an array of blocks.
fn blocks<'v>(
    view: &mut RequestView<'v>,
    role: Role,
    content: &'v Value<'v>,
    at: Location,
    field: &str,
) -> Result<(), RequestError> {
    match &content.kind {
        Kind::String(_) => view.push(role, TextKind::Content, content, at),
        Kind::Array(items) => {
            for (p, block) in items.iter().enumerate() {
                block_texts(
                    view,
                    role,
                    block,
                    Location {
                        part: index(p),
                        ..at
                    },
                )?;
            }
        }
        _ => return Err(invalid(field, "a string or an array of content blocks")),
    }
    Ok(())
}

fn block_texts<'v>(
    view: &mut RequestView<'v>,
    role: Role,
    block: &'v Value<'v>,
    at: Location,
) -> Result<(), RequestError> {
    let get = |key: &str| block.get(key);
    match block.get_str("type") {
        Some("image" | "redacted_thinking") => {}
        Some("tool_use" | "server_tool_use") => {
            if let Some(input) = get("input") {
                view.push_leaves(role, TextKind::ToolArguments, input, at);
            }
        }
        Some("tool_result" | "web_search_tool_result" | "mcp_tool_result") => {
            if let Some(content) = get("content") {
                tool_result(view, content, at)?;
            }
        }
        Some("document") => document(view, role, block, at)?,
        Some("search_result") => {
            if let Some(title) = get("title") {
                view.push(role, TextKind::Document, title, at);
            }
            if let Some(content) = get("content") {
                blocks(view, role, content, at, "search_result.content")?;
            }
        }
        Some("thinking") => {
            if let Some(t) = get("thinking") {
                view.push(role, TextKind::Content, t, at);
            }
        }
        _ => {
            if let Some(t) = get("text") {
                view.push(role, TextKind::Content, t, at);
            }
        }
    }
    Ok(())
}

/// A tool result's content: a string or blocks; all of it is tool output.
fn tool_result<'v>(
    view: &mut RequestView<'v>,
    content: &'v Value<'v>,
    at: Location,
) -> Result<(), RequestError> {
    match &content.kind {
        Kind::String(_) => view.push(Role::Tool, TextKind::ToolResult, content, at),
        Kind::Array(items) => {
            for block in items {
                match block.get_str("type") {
                    Some("image") => {}
                    Some("document") => document(view, Role::Tool, block, at)?,
                    _ => {
                        for key in ["text", "title"] {
                            if let Some(t) = block.get(key) {
                                view.push(Role::Tool, TextKind::ToolResult, t, at);
                            }
                        }
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// A document block: plain-text sources and their title/context are read; binary sources are not text.
fn document<'v>(
    view: &mut RequestView<'v>,
    role: Role,
    block: &'v Value<'v>,
    at: Location,
) -> Result<(), RequestError> {
    for key in ["title", "context"] {
        if let Some(t) = block.get(key) {
            view.push(role, TextKind::Document, t, at);
        }
    }
    if let Some(source) = block.get("source") {
        match source.get_str("type") {
            Some("text") => {
                if let Some(data) = source.get("data") {
                    view.push(role, TextKind::Document, data, at);
                }
            }
            Some("content") => {
                if let Some(content) = source.get("content") {
                    blocks(view, role, content, at, "document.source.content")?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}
