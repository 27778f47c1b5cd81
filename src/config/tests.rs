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
        "bogus: unknown field `bogus`, expected one of `routes`, `limits`, `injection`, `hold_headers`, `redaction`, `quota`, `audit`, `tools`, `identity`"
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
fn quota_defaults_and_groups() {
    use crate::engine::quota::{Anonymous, Ceiling, Limit, Mode};
    let p = load(b"{}").unwrap();
    assert_eq!(p.quota.mode, Mode::Enforce);
    assert_eq!(p.quota.groups.len(), 1);
    assert_eq!(
        p.quota.identity.header, None,
        "no header is trusted unless configured"
    );
    let p = load(
        br#"{"quota":{"identity":{"header":"","anonymous":"reject","group_header":"X-Tier"},
            "default":{"tokens_per_hour":5000,"windows":[{"seconds":10,"tokens":100}]},
            "groups":[{"name":"batch","consumers":["a","b"],
                       "limits":{"tokens_per_day":9,"output_tokens_over":"reject"}}],
            "max_consumers":100}}"#,
    )
    .unwrap();
    let q = &p.quota;
    assert_eq!(q.identity.header, None);
    assert_eq!(q.identity.anonymous, Anonymous::Reject);
    assert_eq!(q.identity.group_header.as_deref(), Some("x-tier"));
    let minute = |seconds, tokens| Limit { seconds, tokens };
    assert_eq!(
        q.groups[0].limits,
        vec![minute(10, 100), minute(3600, 5000)]
    );
    // A group inherits what it does not set from the configured default.
    assert_eq!(q.groups[1].limits, vec![minute(86_400, 9)]);
    assert_eq!(q.groups[1].ceiling, Ceiling::Reject);
    assert_eq!(q.groups[1].max_messages, q.groups[0].max_messages);
    assert_eq!(q.members.get("b"), Some(&1));
    assert_eq!(q.shards, 13);
}

#[test]
fn quota_errors_name_the_json_path() {
    assert_eq!(
        err(r#"{"quota":{"default":{"windows":[{"seconds":0,"tokens":1}]}}}"#),
        "quota.default.windows[0].seconds: must be between 1 and 2678400"
    );
    assert_eq!(
        err(
            r#"{"quota":{"default":{"tokens_per_minute":10,"windows":[{"seconds":60,"tokens":1}]}}}"#
        ),
        "quota.default.tokens_per_minute: a second window of 60 seconds"
    );
    assert_eq!(
        err(r#"{"quota":{"groups":[{"name":"a","limits":{"tokens_per_day":0}}]}}"#),
        "quota.groups[0].limits.tokens_per_day: must allow at least 1 token"
    );
    assert_eq!(
        err(
            r#"{"quota":{"groups":[{"name":"a","consumers":["x"]},{"name":"b","consumers":["x"]}]}}"#
        ),
        "quota.groups[1].consumers: `x` is in more than one group"
    );
    assert_eq!(
        err(r#"{"quota":{"groups":[{"name":"default"}]}}"#),
        "quota.groups[0].name: `default` is empty or used twice"
    );
    assert_eq!(
        err(r#"{"quota":{"identity":{"hash_key":"short"}}}"#),
        "quota.identity.hash_key: must be at least 16 characters"
    );
    assert_eq!(
        err(r#"{"quota":{"max_consumers":1}}"#),
        "quota.max_consumers: must be between 8 and 1048576"
    );
    assert!(err(r#"{"quota":{"mode":"soft"}}"#).starts_with("quota.mode: unknown variant"));
}

#[test]
fn injection_settings() {
    use crate::engine::inject::{Source, Strictness};
    let p = load(
        br#"{"injection":{"threshold":1.5,"sources":{"system":"standard","tool_results":"off"},
        "deny":["purple elephant"],"allow":["ignore the formatting"]}}"#,
    )
    .unwrap();
    assert_eq!(p.injection.threshold, 1.5);
    assert_eq!(
        p.injection.checks[Source::System as usize],
        Some(Strictness::Standard)
    );
    assert_eq!(p.injection.checks[Source::ToolResults as usize], None);
    assert_eq!(
        p.injection.checks[Source::User as usize],
        Some(Strictness::Standard)
    );
    assert_eq!(
        err(r#"{"injection":{"threshold":0}}"#),
        "injection.threshold: must be between 0.1 and 10"
    );
    assert_eq!(
        err(r#"{"injection":{"allow":["ok phrase","--"]}}"#),
        "injection.allow[1]: must contain a letter or digit"
    );
    assert_eq!(
        err(r#"{"injection":{"sources":{"user":"lenient"}}}"#),
        "injection.sources.user: unknown variant `lenient`, expected one of `off`, `standard`, `strict`"
    );
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
