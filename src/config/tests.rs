use super::*;
use crate::engine::api::ApiFormat;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn err(json: &str) -> String {
    load(json.as_bytes()).unwrap_err().to_string()
}

#[test]
fn empty_and_braces_mean_secure_defaults() {
    for cfg in ["", "  ", "{}"] {
        let p = load(cfg.as_bytes()).unwrap();
        assert_eq!(p.routes.len(), 4);
        assert_eq!(p.injection.mode, crate::engine::inject::Mode::Block);
        assert_eq!(p.limits.max_request_bytes, 1 << 20);
    }
}

#[test]
fn errors_name_the_json_path() {
    assert_eq!(
        err(r#"{"bogus":1}"#),
        "bogus: unknown field `bogus`, expected one of `routes`, `limits`, `injection`, `redaction`"
    );
    assert_eq!(
        err(r#"{"injection":{"mode":"maybe"}}"#),
        "injection.mode: unknown variant `maybe`, expected one of `block`, `monitor`, `off`"
    );
    assert_eq!(
        err(r#"{"routes":[{"path":"/a","api":"openai_chat"},{"path":"b","api":"openai_chat"}]}"#),
        "routes[1].path: must start with `/`"
    );
    assert_eq!(
        err(r#"{"routes":[{"path":"/a","api":"gemini"}]}"#)
            .split(':')
            .next(),
        Some("routes[0].api")
    );
    assert_eq!(
        err(r#"{"limits":{"max_request_bytes":10}}"#),
        "limits.max_request_bytes: must be between 1024 and 67108864"
    );
    assert_eq!(
        err(r#"{"limits":{"max_json_depth":"deep"}}"#),
        "limits.max_json_depth: invalid type: string \"deep\", expected u64"
    );
    assert_eq!(err("[]"), "configuration must be a JSON object");
    assert_eq!(
        err(r#"{"routes":[]}"#),
        "routes: must list at least one route (omit it for the defaults)"
    );
    assert!(err(r#"{"limits":{}"#).starts_with("EOF while parsing"));
    assert!(err(r#"{} {}"#).starts_with("trailing characters"));
}

#[test]
fn routes_are_normalised() {
    let p = load(br#"{"routes":[{"path":"/Openai//v1/chat/completions/","api":"openai_chat","under_any_prefix":false}]}"#).unwrap();
    assert_eq!(p.routes[0].path, "/openai/v1/chat/completions");
    assert_eq!(p.routes[0].format, ApiFormat::OpenAiChat);
    assert!(!p.routes[0].under_any_prefix);
}

/// Found by the `config` fuzz target: a key with an escaped newline made the error, which the
/// filter logs, two lines.
#[test]
fn error_quoting_a_key_with_a_newline_stays_one_line() {
    let e = load(br#"{"limits":{"max_x\nforged line":1}}"#).unwrap_err();
    assert_eq!(e.path, "limits.max_x\\nforged line");
    assert!(e.message.starts_with("unknown field `max_x\\nforged line`"));
    assert!(!e.to_string().contains(['\n', '\r']));
}

#[test]
fn redaction_section() {
    use crate::engine::redact::{Action, Entity};
    let p = load(br#"{"redaction":{"request":{"pii":"pseudonym","email":"allow"},"response":{"all":"partial","jwt":"block"},
        "allow_values":["help@example.com"],"canaries":["CANARY-7f3a9c2e"],"link_hosts":["*.example.com"],
        "system_prompt_min_words":0,"custom":[{"name":"employee_id","pattern":"EMP-[0-9]{6}","validator":"luhn"}]}}"#)
    .unwrap();
    let r = &p.redaction;
    assert_eq!(r.request.get(Entity::Phone), Action::Pseudonym);
    assert_eq!(r.request.get(Entity::Email), Action::Allow);
    assert_eq!(r.request.get(Entity::AwsKey), Action::Mask);
    assert_eq!(r.response.get(Entity::Iban), Action::Partial);
    assert_eq!(r.response.get(Entity::Jwt), Action::Block);
    assert_eq!(r.response.get(Entity::Canary), Action::Block);
    assert_eq!(r.response.get(Entity::Custom(0)), Action::Mask);
    assert_eq!(r.request.get(Entity::Custom(0)), Action::Allow);
    assert_eq!(r.prompt_leak_words, 0);
    assert!(r.rules.host_allowed(b"cdn.example.com") && !r.rules.host_allowed(b"example.com.evil"));
    assert_eq!(
        err(r#"{"redaction":{"response":{"emails":"mask"}}}"#),
        "redaction.response.emails: unknown entity `emails`"
    );
    assert_eq!(
        err(r#"{"redaction":{"canaries":["short"]}}"#),
        "redaction.canaries[0]: must be 8 to 128 letters, digits or `_-+/.~%`"
    );
    assert!(
        err(r#"{"redaction":{"custom":[{"name":"x","pattern":"("}]}}"#)
            .starts_with("redaction.custom[0].pattern: ")
    );
    assert_eq!(
        err(r#"{"redaction":{"custom":[{"name":"x","pattern":"a*"}]}}"#),
        "redaction.custom[0].pattern: must not match the empty string"
    );
    assert_eq!(
        err(r#"{"redaction":{"system_prompt_min_words":3}}"#),
        "redaction.system_prompt_min_words: must be 0 (off) or between 8 and 1000"
    );
}
