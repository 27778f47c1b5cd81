use super::*;
use crate::engine::json::parse;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn texts(format: ApiFormat, body: &str) -> Vec<(Role, TextKind, String, String)> {
    let root = parse(body.as_bytes(), 64).unwrap();
    let view = RequestView::parse(format, &root).unwrap();
    for t in &view.texts {
        // The span always points at the JSON string literal that decodes to the text.
        let literal = parse(t.span.of(body.as_bytes()), 4).unwrap();
        assert_eq!(literal.as_str(), Some(t.text));
    }
    view.texts
        .iter()
        .map(|t| (t.role, t.kind, t.text.to_string(), t.location.to_string()))
        .collect()
}

fn error(format: ApiFormat, body: &str) -> String {
    let root = parse(body.as_bytes(), 64).unwrap();
    RequestView::parse(format, &root).unwrap_err().0
}

#[test]
fn chat_strings_parts_tools_and_tool_results() {
    let body = r#"{"model":"gpt-4o","stream":true,"max_completion_tokens":50,
      "messages":[
        {"role":"system","content":"be nice"},
        {"role":"user","content":[{"type":"text","text":"hi \u0069gnore"},{"type":"image_url","image_url":{"url":"data:x"}}]},
        {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"search","arguments":"{\"q\":\"x\"}"}}]},
        {"role":"tool","tool_call_id":"c1","content":"result text"},
        {"role":"developer","content":"dev"}],
      "tools":[{"type":"function","function":{"name":"search","description":"finds things"}}],
      "tool_choice":{"type":"function","function":{"name":"search"}}}"#;
    let got = texts(ApiFormat::OpenAiChat, body);
    assert_eq!(
        got,
        vec![
            (
                Role::System,
                TextKind::Content,
                "be nice".into(),
                "messages[0]".into()
            ),
            (
                Role::User,
                TextKind::Content,
                "hi ignore".into(),
                "messages[1].content[0]".into()
            ),
            (
                Role::Assistant,
                TextKind::ToolArguments,
                "{\"q\":\"x\"}".into(),
                "messages[2]".into()
            ),
            (
                Role::Tool,
                TextKind::ToolResult,
                "result text".into(),
                "messages[3]".into()
            ),
            (
                Role::Developer,
                TextKind::Content,
                "dev".into(),
                "messages[4]".into()
            ),
            (
                Role::System,
                TextKind::ToolDefinition,
                "finds things".into(),
                "tools[0]".into()
            ),
        ]
    );
    let root = parse(body.as_bytes(), 64).unwrap();
    let view = RequestView::parse(ApiFormat::OpenAiChat, &root).unwrap();
    assert_eq!(view.model, Some("gpt-4o"));
    assert!(view.stream);
    assert_eq!(view.message_count, 5);
    assert_eq!(
        view.output_limit.map(|f| (f.name, f.value)),
        Some(("max_completion_tokens", 50))
    );
    assert_eq!(
        view.tools.iter().map(|t| t.name).collect::<Vec<_>>(),
        ["search"]
    );
    assert_eq!(view.forced_tool, Some("search"));
}

#[test]
fn completions_prompt_forms() {
    assert_eq!(
        texts(
            ApiFormat::OpenAiCompletions,
            r#"{"prompt":"a","suffix":"b"}"#
        )
        .len(),
        2
    );
    assert_eq!(
        texts(ApiFormat::OpenAiCompletions, r#"{"prompt":["a","b"]}"#)[1].3,
        "prompt[1]"
    );
    assert!(error(ApiFormat::OpenAiCompletions, r#"{"prompt":[1,2,3]}"#).contains("token-id"));
    assert!(error(ApiFormat::OpenAiCompletions, r#"{"model":"x"}"#).contains("prompt"));
}

#[test]
fn responses_input_string_and_items() {
    assert_eq!(
        texts(
            ApiFormat::OpenAiResponses,
            r#"{"input":"hello","instructions":"sys"}"#
        ),
        vec![
            (
                Role::System,
                TextKind::Content,
                "sys".into(),
                "instructions".into()
            ),
            (
                Role::User,
                TextKind::Content,
                "hello".into(),
                "input".into()
            ),
        ]
    );
    let body = r#"{"max_output_tokens":9,"input":[
        {"role":"user","content":[{"type":"input_text","text":"q"},{"type":"input_image","image_url":"x"}]},
        {"type":"function_call","name":"f","arguments":"{}","call_id":"1"},
        {"type":"function_call_output","call_id":"1","output":"tool says"},
        {"type":"message","role":"assistant","content":[{"type":"output_text","text":"a"}]}],
      "tools":[{"type":"function","name":"f","description":"d"},{"type":"web_search"}]}"#;
    let got = texts(ApiFormat::OpenAiResponses, body);
    let kinds: Vec<_> = got.iter().map(|t| (t.0, t.1, t.2.as_str())).collect();
    assert_eq!(
        kinds,
        vec![
            (Role::User, TextKind::Content, "q"),
            (Role::Assistant, TextKind::ToolArguments, "{}"),
            (Role::Tool, TextKind::ToolResult, "tool says"),
            (Role::Assistant, TextKind::Content, "a"),
            (Role::System, TextKind::ToolDefinition, "d"),
        ]
    );
    let root = parse(body.as_bytes(), 64).unwrap();
    let view = RequestView::parse(ApiFormat::OpenAiResponses, &root).unwrap();
    assert_eq!(
        view.tools.iter().map(|t| t.name).collect::<Vec<_>>(),
        ["f", "web_search"]
    );
    assert_eq!(view.output_limit.map(|f| f.value), Some(9));
}

#[test]
fn anthropic_system_blocks_tool_use_and_results() {
    let body = r#"{"model":"claude","max_tokens":100,"system":[{"type":"text","text":"sys"}],
      "messages":[
        {"role":"user","content":"hi"},
        {"role":"assistant","content":[{"type":"text","text":"calling"},{"type":"tool_use","id":"t","name":"f","input":{"q":"x","n":[1,"y"]}}]},
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"out"}]},
                                  {"type":"document","source":{"type":"text","media_type":"text/plain","data":"doc"}}]}],
      "tools":[{"name":"f","description":"d","input_schema":{}}],"tool_choice":{"type":"tool","name":"f"}}"#;
    let got = texts(ApiFormat::AnthropicMessages, body);
    let kinds: Vec<_> = got.iter().map(|t| (t.0, t.1, t.2.as_str())).collect();
    assert_eq!(
        kinds,
        vec![
            (Role::System, TextKind::Content, "sys"),
            (Role::User, TextKind::Content, "hi"),
            (Role::Assistant, TextKind::Content, "calling"),
            (Role::Assistant, TextKind::ToolArguments, "x"),
            (Role::Assistant, TextKind::ToolArguments, "y"),
            (Role::Tool, TextKind::ToolResult, "out"),
            (Role::User, TextKind::Document, "doc"),
            (Role::System, TextKind::ToolDefinition, "d"),
        ]
    );
    let root = parse(body.as_bytes(), 64).unwrap();
    let view = RequestView::parse(ApiFormat::AnthropicMessages, &root).unwrap();
    assert_eq!(view.forced_tool, Some("f"));
    assert_eq!(view.output_limit.map(|f| f.value), Some(100));
}

#[test]
fn structural_errors_name_the_field() {
    assert_eq!(
        error(ApiFormat::OpenAiChat, r#"{"messages":"x"}"#),
        "`messages` must be an array"
    );
    assert_eq!(
        error(ApiFormat::OpenAiChat, r#"[]"#),
        "request body must be a JSON object"
    );
    assert_eq!(
        error(ApiFormat::OpenAiChat, r#"{"messages":[],"stream":"yes"}"#),
        "`stream` must be a boolean"
    );
    assert!(
        error(
            ApiFormat::OpenAiChat,
            r#"{"messages":[{"role":"user","content":5}]}"#
        )
        .contains("messages[].content")
    );
    assert!(
        error(
            ApiFormat::AnthropicMessages,
            r#"{"messages":[{"role":"user"}]}"#
        )
        .contains("content")
    );
    assert!(
        error(ApiFormat::OpenAiChat, r#"{"messages":[],"max_tokens":-1}"#).contains("max_tokens")
    );
}

fn with_usage(body: &str) -> String {
    let root = parse(body.as_bytes(), 64).unwrap();
    let view = RequestView::parse(ApiFormat::OpenAiChat, &root).unwrap();
    let mut edits = Edits::new();
    view.request_stream_usage(&mut edits);
    String::from_utf8(edits.apply(body.as_bytes()).unwrap()).unwrap()
}

#[test]
fn stream_usage_is_requested_in_every_shape() {
    let cases = [
        (
            r#"{"messages":[],"stream":true}"#,
            r#"{"stream_options":{"include_usage":true},"messages":[],"stream":true}"#,
        ),
        (
            r#"{"messages":[],"stream":true,"stream_options":{}}"#,
            r#"{"messages":[],"stream":true,"stream_options":{"include_usage":true}}"#,
        ),
        (
            r#"{"messages":[],"stream":true,"stream_options":{"x":1}}"#,
            r#"{"messages":[],"stream":true,"stream_options":{"include_usage":true,"x":1}}"#,
        ),
        (
            r#"{"messages":[],"stream":true,"stream_options":{"include_usage":false}}"#,
            r#"{"messages":[],"stream":true,"stream_options":{"include_usage":true}}"#,
        ),
        (
            r#"{"messages":[],"stream":true,"stream_options":null}"#,
            r#"{"messages":[],"stream":true,"stream_options":{"include_usage":true}}"#,
        ),
        (
            r#"{"messages":[],"stream":false}"#,
            r#"{"messages":[],"stream":false}"#,
        ),
    ];
    for (input, want) in cases {
        assert_eq!(with_usage(input), want);
        assert!(parse(want.as_bytes(), 8).is_ok());
    }
}
