//! Tool policy tests: allow-lists, argument rules, and whole exchanges (request, JSON response,
//! streams split into many chunks) through [`Exchange`].

use super::rules::url_hosts;
use super::*;
use crate::engine::api::ApiFormat;
use crate::engine::exchange::{Exchange, RequestAction, ResponseHead};
use crate::engine::policy::Policy;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn policy(tools: serde_json::Value) -> Policy {
    let config = serde_json::json!({
        "quota": {"mode": "off", "groups": [{"name": "agents"}]},
        "tools": tools,
    });
    crate::config::load(config.to_string().as_bytes()).unwrap()
}

fn rules_policy() -> Policy {
    policy(serde_json::json!({
        "allow": ["run_sql", "fetch", "get_weather"],
        "rules": {
            "run_sql": {
                "arguments": {"type": "object", "required": ["query"], "additionalProperties": false,
                              "properties": {"query": {"type": "string", "pattern": "(?i)^\\s*select\\b",
                                                       "maxLength": 200}}},
                "deny": ["(?i)\\b(drop|delete|insert|update)\\b"]
            },
            "fetch": {"url_hosts": ["api.example.com", "*.docs.example.org"]}
        }
    }))
}

fn value(json: &str) -> crate::engine::json::Value<'_> {
    crate::engine::json::parse(json.as_bytes(), 16).unwrap()
}

#[test]
fn allow_lists_by_group() {
    let p = policy(serde_json::json!({"allow": ["a"], "groups": {"agents": ["a", "b"]}}));
    let t = &p.tools;
    assert!(t.allows("default", "a") && !t.allows("default", "b"));
    assert!(t.allows("agents", "b") && !t.allows("agents", "c"));
    assert!(!t.inert());
    assert!(policy(serde_json::json!({})).tools.inert());
}

#[test]
fn argument_rules() {
    let p = rules_policy();
    let t = &p.tools;
    let call = |name: &str, args: &str| t.check_call("default", name, &value(args));
    let sql = |q: &str| {
        let args = serde_json::json!({ "query": q }).to_string();
        call("run_sql", &serde_json::Value::String(args).to_string())
    };
    assert_eq!(sql("SELECT name FROM users"), Ok(()));
    assert_eq!(sql("  select 1"), Ok(()));
    assert_eq!(sql("DELETE FROM users"), Err(Violation::Schema));
    assert_eq!(sql("SELECT 1; DROP TABLE users"), Err(Violation::Denied));
    assert_eq!(
        sql(&format!("SELECT {}", "x".repeat(300))),
        Err(Violation::Schema)
    );
    // Anthropic passes an object; extra properties and missing ones break the schema.
    assert_eq!(
        call("run_sql", r#"{"query":"select 1","db":"x"}"#),
        Err(Violation::Schema)
    );
    assert_eq!(call("run_sql", "{}"), Err(Violation::Schema));
    assert_eq!(call("run_sql", r#""not json""#), Err(Violation::Schema));
    assert_eq!(call("drop_db", "{}"), Err(Violation::NotAllowed));
    assert_eq!(call("get_weather", r#""{\"city\":\"Paris\"}""#), Ok(()));
    let fetch = |url: &str| call("fetch", &serde_json::json!({ "url": url }).to_string());
    assert_eq!(fetch("https://api.example.com/v1/x"), Ok(()));
    assert_eq!(fetch("https://a.docs.example.org/page"), Ok(()));
    assert_eq!(fetch("https://docs.example.org/page"), Err(Violation::Host));
    assert_eq!(
        fetch("https://api.example.com.evil.test/"),
        Err(Violation::Host)
    );
    assert_eq!(
        fetch("https://api.example.com@evil.test/"),
        Err(Violation::Host)
    );
    assert_eq!(
        fetch("see http://evil.test and https://api.example.com"),
        Err(Violation::Host)
    );
    assert_eq!(fetch("no url here"), Ok(()));
}

#[test]
fn url_host_extraction() {
    assert_eq!(
        url_hosts("HTTPS://User:pw@Api.Example.COM.:8443/x?y"),
        ["api.example.com"]
    );
    assert_eq!(url_hosts("ftp://[::1]:21/ and gopher://h"), ["::1", "h"]);
    assert_eq!(url_hosts("https:///path"), [""]);
}

#[test]
fn arguments_over_the_limit() {
    let p = policy(serde_json::json!({"allow": ["t"], "max_arguments_bytes": 1024}));
    let big = serde_json::json!({ "a": "x".repeat(2000) }).to_string();
    assert_eq!(
        p.tools.check_streamed("default", "t", &big),
        Err(Violation::TooLarge)
    );
    assert_eq!(p.tools.check_streamed("default", "t", "{}"), Ok(()));
}

fn request(p: &Policy, format: ApiFormat, body: &str) -> RequestAction {
    let mut ex = Exchange::new(format, None);
    ex.on_request_body(p, body.as_bytes())
}

fn status(action: &RequestAction) -> u16 {
    match action {
        RequestAction::Reply(r) => r.status,
        RequestAction::Forward(_) => 200,
    }
}

const CHAT_TOOLS: &str = r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[
    {"type":"function","function":{"name":"get_weather","description":"weather"}},
    {"type":"function","function":{"name":"send_email","description":"mail"}}]}"#;

#[test]
fn declared_tools_rejected_or_stripped() {
    let p = policy(serde_json::json!({"allow": ["get_weather"]}));
    assert_eq!(status(&request(&p, ApiFormat::OpenAiChat, CHAT_TOOLS)), 403);
    let p = policy(serde_json::json!({"allow": ["get_weather"], "on_undeclared": "strip"}));
    let RequestAction::Forward(Some(body)) = request(&p, ApiFormat::OpenAiChat, CHAT_TOOLS) else {
        panic!("expected a rewritten body");
    };
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let names: Vec<&str> = body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["get_weather"]);
    // Nothing left to keep, or a forced tool off the list: refused even when stripping.
    let p = policy(serde_json::json!({"allow": ["other"], "on_undeclared": "strip"}));
    assert_eq!(status(&request(&p, ApiFormat::OpenAiChat, CHAT_TOOLS)), 403);
    let forced = r#"{"model":"m","input":"hi","tools":[{"type":"function","name":"a"}],
        "tool_choice":{"type":"function","name":"b"}}"#;
    let p = policy(serde_json::json!({"allow": ["a"]}));
    assert_eq!(
        status(&request(&p, ApiFormat::OpenAiResponses, forced)),
        403
    );
    let anthropic = r#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}],
        "tools":[{"name":"a","input_schema":{}}]}"#;
    assert_eq!(
        status(&request(&p, ApiFormat::AnthropicMessages, anthropic)),
        200
    );
}

fn respond(p: &Policy, format: ApiFormat, body: &str) -> u16 {
    let mut ex = Exchange::new(format, None);
    let head = vec![("content-type".to_string(), "application/json".to_string())];
    assert_eq!(ex.on_response_head(p, 200, &head), ResponseHead::Buffer);
    match ex.on_response_body(p, 200, body.as_bytes()) {
        Ok(_) => 200,
        Err(reply) => {
            assert_eq!(ex.decisions.last().map(|d| d.kind), Some("tool_policy"));
            reply.status
        }
    }
}

#[test]
fn json_tool_calls_checked() {
    let p = rules_policy();
    let chat = |name: &str, args: &str| {
        let call =
            serde_json::json!({"type": "function", "function": {"name": name, "arguments": args}});
        serde_json::json!({"choices": [{"index": 0, "message": {"role": "assistant", "tool_calls": [call]}}]})
            .to_string()
    };
    assert_eq!(
        respond(&p, ApiFormat::OpenAiChat, &chat("get_weather", "{}")),
        200
    );
    assert_eq!(
        respond(&p, ApiFormat::OpenAiChat, &chat("send_email", "{}")),
        403
    );
    let drop = r#"{"query":"DROP TABLE t"}"#;
    assert_eq!(
        respond(&p, ApiFormat::OpenAiChat, &chat("run_sql", drop)),
        403
    );
    let responses = r#"{"output":[{"type":"function_call","name":"run_sql","arguments":"{\"query\":\"select 1\"}"}]}"#;
    assert_eq!(respond(&p, ApiFormat::OpenAiResponses, responses), 200);
    let anthropic =
        r#"{"content":[{"type":"tool_use","name":"fetch","input":{"url":"http://evil.test"}}]}"#;
    assert_eq!(respond(&p, ApiFormat::AnthropicMessages, anthropic), 403);
}

/// What the exchange makes of `events` without tool rules (redaction may move text between
/// deltas): an allowed call must come out exactly so.
fn untouched(format: ApiFormat, events: &str, size: usize) -> String {
    stream(&policy(serde_json::json!({})), format, events, size).0
}

/// Streams `events` (SSE text) through an exchange in chunks of `size` bytes; returns the output.
fn stream(p: &Policy, format: ApiFormat, events: &str, size: usize) -> (String, Exchange) {
    let mut ex = Exchange::new(format, None);
    let head = vec![("content-type".to_string(), "text/event-stream".to_string())];
    assert_eq!(ex.on_response_head(p, 200, &head), ResponseHead::Stream);
    let bytes = events.as_bytes();
    let mut out = Vec::new();
    let chunks: Vec<&[u8]> = bytes.chunks(size).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        out.extend(ex.on_stream_chunk(p, chunk, i + 1 == chunks.len()));
    }
    (String::from_utf8(out).unwrap(), ex)
}

fn chat_stream(name: &str, args: &str) -> String {
    let mut s = String::new();
    let mut data = |v: serde_json::Value| s.push_str(&format!("data: {v}\n\n"));
    data(
        serde_json::json!({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}),
    );
    data(
        serde_json::json!({"choices": [{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "id": "c1", "type": "function", "function": {"name": name, "arguments": ""}}]}}]}),
    );
    for piece in args.as_bytes().chunks(3) {
        let piece = std::str::from_utf8(piece).unwrap();
        data(
            serde_json::json!({"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "function": {"arguments": piece}}]}}]}),
        );
    }
    data(
        serde_json::json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
    );
    s.push_str("data: [DONE]\n\n");
    s
}

#[test]
fn streamed_chat_calls_are_held_and_checked() {
    let p = rules_policy();
    let ok = chat_stream("run_sql", r#"{"query":"SELECT id FROM orders"}"#);
    for size in [1, 7, 64, 4096] {
        let (out, ex) = stream(&p, ApiFormat::OpenAiChat, &ok, size);
        assert_eq!(out, untouched(ApiFormat::OpenAiChat, &ok, size));
        assert!(ex.decisions.is_empty());
    }
    let bad = chat_stream("run_sql", r#"{"query":"SELECT 1; DROP TABLE orders"}"#);
    let (out, ex) = stream(&p, ApiFormat::OpenAiChat, &bad, 5);
    assert!(
        !out.contains("DROP") && !out.contains("tool_calls"),
        "{out}"
    );
    assert!(out.contains("llm_warden.tool_call"), "{out}");
    assert_eq!(
        ex.decisions.last().map(|d| d.category),
        Some("tool_arguments_denied")
    );
    let (out, _) = stream(
        &p,
        ApiFormat::OpenAiChat,
        &chat_stream("send_email", "{}"),
        9,
    );
    assert!(
        !out.contains("send_email") && out.contains("not allowed"),
        "{out}"
    );
}

#[test]
fn streamed_calls_over_the_hold_back_bound_are_refused() {
    let mut p = rules_policy();
    p.tools.max_held_bytes = 2048;
    let args = serde_json::json!({ "query": format!("SELECT {}", "a, ".repeat(200)) }).to_string();
    let (out, ex) = stream(
        &p,
        ApiFormat::OpenAiChat,
        &chat_stream("run_sql", &args),
        50,
    );
    assert_eq!(
        ex.decisions.last().map(|d| d.category),
        Some("tool_arguments_too_large")
    );
    assert!(!out.contains("tool_calls"));
}

fn anthropic_stream(name: &str, input: &str) -> String {
    let mut s = String::new();
    let mut ev =
        |name: &str, v: serde_json::Value| s.push_str(&format!("event: {name}\ndata: {v}\n\n"));
    ev(
        "message_start",
        serde_json::json!({"type": "message_start", "message": {"usage": {"input_tokens": 1}}}),
    );
    ev(
        "content_block_start",
        serde_json::json!({"type": "content_block_start", "index": 0,
        "content_block": {"type": "tool_use", "id": "t", "name": name, "input": {}}}),
    );
    for piece in input.as_bytes().chunks(4) {
        ev(
            "content_block_delta",
            serde_json::json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": std::str::from_utf8(piece).unwrap()}}),
        );
    }
    ev(
        "content_block_stop",
        serde_json::json!({"type": "content_block_stop", "index": 0}),
    );
    ev("message_stop", serde_json::json!({"type": "message_stop"}));
    s
}

#[test]
fn streamed_anthropic_and_responses_calls() {
    let p = rules_policy();
    let ok = anthropic_stream("fetch", r#"{"url":"https://api.example.com/a"}"#);
    assert_eq!(
        stream(&p, ApiFormat::AnthropicMessages, &ok, 11).0,
        untouched(ApiFormat::AnthropicMessages, &ok, 11)
    );
    let bad = anthropic_stream("fetch", r#"{"url":"https://evil.test/a"}"#);
    let (out, _) = stream(&p, ApiFormat::AnthropicMessages, &bad, 11);
    assert!(!out.contains("evil") && !out.contains("tool_use"), "{out}");
    assert!(out.contains("event: error"), "{out}");
    let responses = |args: &str| {
        let item =
            serde_json::json!({"type": "function_call", "name": "run_sql", "arguments": args});
        let mut s = String::new();
        let mut ev = |v: serde_json::Value| {
            s.push_str(&format!(
                "event: {}\ndata: {v}\n\n",
                v["type"].as_str().unwrap()
            ))
        };
        let mut added = item.clone();
        added["arguments"] = "".into();
        ev(
            serde_json::json!({"type": "response.output_item.added", "output_index": 0, "item": added}),
        );
        for piece in args.as_bytes().chunks(2) {
            ev(
                serde_json::json!({"type": "response.function_call_arguments.delta", "output_index": 0,
                "delta": std::str::from_utf8(piece).unwrap()}),
            );
        }
        ev(
            serde_json::json!({"type": "response.output_item.done", "output_index": 0, "item": item}),
        );
        ev(serde_json::json!({"type": "response.completed", "response": {"output": [item]}}));
        s
    };
    let ok = responses(r#"{"query":"select 2"}"#);
    assert_eq!(
        stream(&p, ApiFormat::OpenAiResponses, &ok, 13).0,
        untouched(ApiFormat::OpenAiResponses, &ok, 13)
    );
    let (out, _) = stream(
        &p,
        ApiFormat::OpenAiResponses,
        &responses(r#"{"query":"update t"}"#),
        13,
    );
    assert!(
        !out.contains("update") && out.contains("event: error"),
        "{out}"
    );
}

#[test]
fn configuration_errors_name_the_path() {
    let err = |tools: serde_json::Value| {
        let config = serde_json::json!({ "tools": tools });
        crate::config::load(config.to_string().as_bytes())
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err(serde_json::json!({"groups": {"nobody": ["a"]}})),
        "tools.groups.nobody: names no quota group"
    );
    assert_eq!(
        err(serde_json::json!({"rules": {"t": {"arguments": {"oneOf": []}}}})),
        "tools.rules.t.arguments.oneOf: unsupported schema keyword `oneOf`"
    );
    assert!(
        err(serde_json::json!({"rules": {"t": {"deny": ["(unclosed"]}}}))
            .starts_with("tools.rules.t.deny[0]: ")
    );
    assert_eq!(
        err(serde_json::json!({"rules": {"t": {"url_hosts": ["https://x"]}}})),
        "tools.rules.t.url_hosts[0]: must be a host name (`api.example.com`) or `*.` and a domain"
    );
    assert_eq!(
        err(serde_json::json!({"on_undeclared": "drop"}))
            .split(':')
            .next(),
        Some("tools.on_undeclared")
    );
}

#[test]
fn the_default_checks_nothing() {
    let p = policy(serde_json::json!({}));
    let args = serde_json::json!({ "a": "x".repeat(100 << 10) }).to_string();
    let call =
        serde_json::json!({"type": "function", "function": {"name": "any", "arguments": args}});
    let body = serde_json::json!({"choices": [{"index": 0, "message": {"tool_calls": [call]}}]});
    assert_eq!(respond(&p, ApiFormat::OpenAiChat, &body.to_string()), 200);
    let mut strict = policy(serde_json::json!({"allow": ["any"]}));
    strict.tools.max_arguments_bytes = 1024;
    assert_eq!(
        respond(&strict, ApiFormat::OpenAiChat, &body.to_string()),
        403
    );
}
