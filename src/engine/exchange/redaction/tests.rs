//! The exchange's redaction paths: requests, JSON responses and the three stream dialects.

use super::*;
use crate::engine::api::ApiFormat;
use crate::engine::exchange::{RequestAction, ResponseHead};
use crate::engine::redact::{Action, Entity};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const EMAIL: &str = "jane.doe@example.com";

fn key() -> String {
    ["sk-ant-", "api03-", "Zq8vR2mN5xT1wK7pL3hJ9dF4gB6cY0aE"].concat()
}

fn h(v: &str) -> Vec<(String, String)> {
    vec![("content-type".to_string(), v.to_string())]
}

fn stream(policy: &Policy, format: ApiFormat, chunks: &[&[u8]]) -> Vec<u8> {
    let mut ex = Exchange::new(format, None);
    assert_eq!(
        ex.on_response_head(policy, 200, &h("text/event-stream")),
        ResponseHead::Stream
    );
    let mut out = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        out.extend(ex.on_stream_chunk(policy, c, i + 1 == chunks.len()));
    }
    out
}

fn chat_event(delta: &str) -> String {
    format!(
        "data: {{\"id\":\"c\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":null}}]}}\n\n"
    )
}

#[test]
fn openai_chat_stream_split_secret_and_tool_arguments() {
    let k = key();
    let (a, b) = k.split_at(17);
    let text = |s: &str| {
        chat_event(&format!(
            "{{\"content\":{}}}",
            serde_json::to_string(s).unwrap()
        ))
    };
    let args = |s: &str| {
        chat_event(&format!(
            "{{\"tool_calls\":[{{\"index\":0,\"function\":{{\"arguments\":{}}}}}]}}",
            serde_json::to_string(s).unwrap()
        ))
    };
    let whole = [
        text(&format!("key: {a}")),
        text(&format!("{b} done")),
        args("{\"to\":\"jane.doe@exa"),
        args("mple.com\"}"),
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n".into(),
        "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}\n\n".into(),
        "data: [DONE]\n\n".into(),
    ]
    .concat();
    let p = Policy::default();
    let out = stream(&p, ApiFormat::OpenAiChat, &[whole.as_bytes()]);
    let out_text = String::from_utf8(out.clone()).unwrap();
    let (mut content, mut arguments) = (String::new(), String::new());
    let mut finish_before_usage = false;
    for data in out_text
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
    {
        if data == "[DONE]" {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(data).unwrap();
        if let Some(c) = v["choices"][0]["delta"]["content"].as_str() {
            content.push_str(c);
        }
        if let Some(c) = v["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str()
        {
            arguments.push_str(c);
        }
        if v["choices"][0]["finish_reason"] == "stop" {
            finish_before_usage = true;
        }
        if v.get("usage").is_some_and(|u| !u.is_null()) {
            assert!(finish_before_usage);
            assert_eq!(v["usage"]["completion_tokens"], 4);
        }
    }
    assert_eq!(content, "key: [REDACTED_ANTHROPIC_KEY] done");
    assert_eq!(arguments, "{\"to\":\"[REDACTED_EMAIL]\"}");
    assert!(out_text.ends_with("data: [DONE]\n\n"));
    // The same bytes whatever the upstream's cut.
    for cut in (0..whole.len()).step_by(7) {
        let (x, y) = whole.as_bytes().split_at(cut);
        assert_eq!(
            stream(&p, ApiFormat::OpenAiChat, &[x, y]),
            out,
            "cut at {cut}"
        );
    }
}

#[test]
fn anthropic_block_mid_stream_ends_with_an_error_event() {
    let mut p = Policy::default();
    p.redaction.response.set(Entity::CreditCard, Action::Block);
    let delta = |s: &str| {
        format!(
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":{}}}}}\n\n",
            serde_json::to_string(s).unwrap()
        )
    };
    let whole = [
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":2,\"output_tokens\":1}}}\n\n".to_string(),
        delta("Your card is 4111 1111 "),
        delta("1111 1111, noted."),
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".to_string(),
    ]
    .concat();
    let out = String::from_utf8(stream(
        &p,
        ApiFormat::AnthropicMessages,
        &[whole.as_bytes()],
    ))
    .unwrap();
    assert!(!out.contains("4111"), "{out}");
    let last = out.trim_end().rsplit("\n\n").next().unwrap();
    assert!(
        last.starts_with("event: error\ndata: {\"type\":\"error\""),
        "{out}"
    );
    assert!(last.contains("llm_warden.sensitive_data") && last.contains("credit_card"));
    assert!(!out.contains("message_stop"));
}

#[test]
fn responses_done_events_and_final_response_are_redacted() {
    let ev = |name: &str, data: String| format!("event: {name}\ndata: {data}\n\n");
    let whole = [
        ev("response.output_text.delta", r#"{"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"mail jane.doe@ex"}"#.to_string()),
        ev("response.output_text.delta", r#"{"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"ample.com now"}"#.to_string()),
        ev("response.output_text.done", format!("{{\"type\":\"response.output_text.done\",\"output_index\":0,\"content_index\":0,\"text\":\"mail {EMAIL} now\"}}")),
        ev("response.completed", format!("{{\"type\":\"response.completed\",\"response\":{{\"output\":[{{\"type\":\"message\",\"content\":[{{\"type\":\"output_text\",\"text\":\"mail {EMAIL} now\"}}]}}],\"usage\":{{\"input_tokens\":1,\"output_tokens\":2}}}}}}")),
    ]
    .concat();
    let out = String::from_utf8(stream(
        &Policy::default(),
        ApiFormat::OpenAiResponses,
        &[whole.as_bytes()],
    ))
    .unwrap();
    assert!(!out.contains("example.com"), "{out}");
    assert_eq!(out.matches("mail [REDACTED_EMAIL] now").count(), 2, "{out}");
}

#[test]
fn json_response_texts_only_and_usage_untouched() {
    let p = Policy::default();
    let body = format!(
        r#"{{"content":[{{"type":"text","text":"write to {EMAIL}"}},{{"type":"tool_use","name":"db","input":{{"password":"Hunter2!x","n":1}}}}],"usage":{{"input_tokens":10,"output_tokens":2}}}}"#
    );
    let mut ex = Exchange::new(ApiFormat::AnthropicMessages, None);
    ex.on_response_head(&p, 200, &h("application/json"));
    let out = ex
        .on_response_body(&p, 200, body.as_bytes())
        .unwrap()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["content"][0]["text"], "write to [REDACTED_EMAIL]");
    assert_eq!(v["content"][1]["input"]["password"], "[REDACTED_PASSWORD]");
    assert_eq!(v["usage"]["input_tokens"], 10);
    assert!(
        ex.decisions
            .iter()
            .any(|d| d.action == "redacted" && d.category == "email")
    );
}

#[test]
fn request_secrets_masked_and_system_prompt_leak_blocked() {
    let p = Policy::default();
    let system = "You are the assistant of the Acme travel desk and answer only questions about bookings refunds and loyalty points for members";
    let body = format!(
        r#"{{"model":"m","messages":[{{"role":"system","content":"{system}"}},{{"role":"user","content":"my key {} and {EMAIL}"}}]}}"#,
        key()
    );
    let mut ex = Exchange::new(ApiFormat::OpenAiChat, None);
    let RequestAction::Forward(Some(sent)) = ex.on_request_body(&p, body.as_bytes()) else {
        panic!("not rewritten")
    };
    let v: serde_json::Value = serde_json::from_slice(&sent).unwrap();
    assert_eq!(
        v["messages"][1]["content"],
        format!("my key [REDACTED_ANTHROPIC_KEY] and {EMAIL}")
    );
    ex.on_response_head(&p, 200, &h("application/json"));
    let leak = format!(r#"{{"choices":[{{"message":{{"content":"Sure: {system}."}}}}]}}"#);
    let reply = ex.on_response_body(&p, 200, leak.as_bytes()).unwrap_err();
    assert_eq!(reply.status, 403);
    assert!(String::from_utf8_lossy(&reply.body).contains("system_prompt"));
    let fine =
        r#"{"choices":[{"message":{"content":"Your refund for the booking is on its way."}}]}"#;
    assert_eq!(ex.on_response_body(&p, 200, fine.as_bytes()), Ok(None));
}

#[test]
fn request_tool_inputs_keep_their_keys() {
    let p = Policy::default();
    let body = r#"{"model":"m","max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"db","input":{"password":"Hunter2!x","host":"db1"}}]},{"role":"user","content":"ok"}]}"#;
    let mut ex = Exchange::new(ApiFormat::AnthropicMessages, None);
    let RequestAction::Forward(Some(sent)) = ex.on_request_body(&p, body.as_bytes()) else {
        panic!("not rewritten")
    };
    let v: serde_json::Value = serde_json::from_slice(&sent).unwrap();
    assert_eq!(
        v["messages"][0]["content"][0]["input"],
        serde_json::json!({"password": "[REDACTED_PASSWORD]", "host": "db1"})
    );
}
