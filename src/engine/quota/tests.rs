use super::ledger::{Account, MAX_ATTEMPTS, Refusal, reserve, settle, shard_key};
use super::window::{SLOTS, decode};
use super::*;
use crate::engine::api::ApiFormat;
use crate::engine::exchange::{Exchange, RequestAction, Settled};
use crate::engine::policy::Policy;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const MINUTE: Limit = Limit {
    seconds: 60,
    tokens: 1000,
};
/// A minute boundary.
const T0: u64 = 1_700_000_040_000;

fn account(n: u8) -> Account {
    Account::new([n; 16], 4)
}

/// A store where another worker writes between each read and write of ours, `conflicts` times:
/// it reserves `tokens` for the same account through the same CAS protocol.
struct Contended {
    inner: MemoryStore,
    conflicts: u32,
    tokens: u64,
}

impl Store for Contended {
    fn get(&mut self, key: &str) -> Result<Option<(Vec<u8>, u32)>, StoreError> {
        self.inner.get(key)
    }

    fn set(&mut self, key: &str, value: &[u8], cas: u32) -> Result<Written, StoreError> {
        if self.conflicts > 0 && cas != 0 {
            self.conflicts -= 1;
            reserve(
                &mut self.inner,
                &account(1),
                &[MINUTE],
                self.tokens,
                T0,
                true,
            )
            .map_err(|e| StoreError(format!("{e:?}")))?;
        }
        self.inner.set(key, value, cas)
    }
}

fn used(store: &mut dyn Store, a: &Account) -> u64 {
    let (bytes, _) = store.get(&shard_key(a.shard)).unwrap().unwrap();
    let entries = decode(&bytes).unwrap();
    let e = entries.iter().find(|e| e.id == a.id).unwrap();
    e.used(&MINUTE, T0)
}

#[test]
fn reserve_then_settle_replaces_the_reservation() {
    let mut store = MemoryStore::new();
    let a = account(1);
    let (r, over) = reserve(&mut store, &a, &[MINUTE], 300, T0, true).unwrap();
    assert_eq!(over, None);
    assert_eq!(r.standing.unwrap().remaining, 700);
    assert_eq!(used(&mut store, &a), 300);
    let s = settle(&mut store, &a, &[MINUTE], &r, 120, T0 + 10).unwrap();
    assert_eq!(s.unwrap().remaining, 880);
    assert_eq!(used(&mut store, &a), 120);
}

#[test]
fn concurrent_writers_never_lose_an_update() {
    let mut store = Contended {
        inner: MemoryStore::new(),
        conflicts: 5,
        tokens: 10,
    };
    let a = account(1);
    reserve(&mut store, &a, &[MINUTE], 100, T0, true).unwrap();
    // Ours (100) and the five interleaved reservations (10 each) all count.
    assert_eq!(used(&mut store.inner, &a), 150);
}

#[test]
fn a_store_that_never_agrees_gives_up_bounded() {
    let mut store = Contended {
        inner: MemoryStore::new(),
        conflicts: MAX_ATTEMPTS + 1,
        tokens: 1,
    };
    let r = reserve(&mut store, &account(1), &[MINUTE], 1, T0, true);
    assert_eq!(r, Err(Refusal::Busy));
}

#[test]
fn over_limit_is_refused_before_anything_is_written() {
    let mut store = MemoryStore::new();
    let a = account(1);
    reserve(&mut store, &a, &[MINUTE], 900, T0, true).unwrap();
    let Err(Refusal::OverLimit(s)) = reserve(&mut store, &a, &[MINUTE], 101, T0 + 5_000, true)
    else {
        panic!("expected a refusal");
    };
    assert_eq!((s.remaining, s.reset_ms), (100, 55_000));
    assert_eq!(used(&mut store, &a), 900);
    // Monitor mode counts it anyway and reports the overrun.
    let (_, over) = reserve(&mut store, &a, &[MINUTE], 101, T0 + 5_000, false).unwrap();
    assert!(over.is_some());
    assert_eq!(used(&mut store, &a), 1001);
}

#[test]
fn a_new_window_starts_empty_and_a_late_settlement_charges_it() {
    let mut store = MemoryStore::new();
    let a = account(1);
    let (r, _) = reserve(&mut store, &a, &[MINUTE], 1000, T0, true).unwrap();
    assert!(reserve(&mut store, &a, &[MINUTE], 1, T0, true).is_err());
    let next = T0 + 60_000;
    // The reservation belonged to the old window: the new one is charged the real usage only.
    settle(&mut store, &a, &[MINUTE], &r, 40, next).unwrap();
    let (r2, _) = reserve(&mut store, &a, &[MINUTE], 10, next, true).unwrap();
    assert_eq!(r2.standing.unwrap().remaining, 950);
}

#[test]
fn shards_hold_a_bounded_number_of_consumers_and_recycle_idle_slots() {
    let mut store = MemoryStore::new();
    let one_shard = |n: u8| Account::new([n; 16], 1);
    for n in 0..SLOTS as u8 {
        reserve(&mut store, &one_shard(n), &[MINUTE], 5, T0, true).unwrap();
    }
    let extra = one_shard(200);
    assert_eq!(
        reserve(&mut store, &extra, &[MINUTE], 5, T0, true),
        Err(Refusal::Full)
    );
    assert_eq!(store.len(), 1, "one key, whatever the number of consumers");
    // Once the window is over, the slots are idle and go to new consumers.
    reserve(&mut store, &extra, &[MINUTE], 5, T0 + 60_000, true).unwrap();
}

#[test]
fn the_hash_key_is_created_once_and_shared() {
    let mut store = MemoryStore::new();
    let s = Settings::default();
    let k1 = hash_key(&s, &mut store, b"seed one").unwrap();
    let k2 = hash_key(&s, &mut store, b"seed two").unwrap();
    assert_eq!(k1, k2);
    let configured = Settings {
        hash_key: Some(b"a configured key!".to_vec()),
        ..Settings::default()
    };
    assert_eq!(
        hash_key(&configured, &mut store, b"x").unwrap(),
        b"a configured key!"
    );
}

/// The policy of a quota section, with `x-consumer-id` as the trusted identity header.
fn policy(quota: &str) -> Policy {
    let mut q: serde_json::Value = serde_json::from_str(quota).unwrap();
    q["identity"]["header"] = "x-consumer-id".into();
    crate::config::load(serde_json::json!({ "quota": q }).to_string().as_bytes()).unwrap()
}

fn exchange(p: &Policy, format: ApiFormat, headers: &[(&str, &str)]) -> Exchange {
    let mut ex = Exchange::new(format, Some("req-1".into()));
    let h: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(
        ex.quota_identify(p, b"key", &h, &|| Some("10.1.2.3:5".into())),
        None
    );
    ex
}

fn body_of(action: RequestAction) -> Option<serde_json::Value> {
    match action {
        RequestAction::Forward(Some(b)) => Some(serde_json::from_slice(&b).unwrap()),
        RequestAction::Forward(None) => None,
        RequestAction::Reply(r) => panic!("unexpected reply {}", String::from_utf8_lossy(&r.body)),
    }
}

#[test]
fn guards_clamp_reject_and_allow_list() {
    let p = policy(
        r#"{"default":{"max_messages":2,"max_output_tokens":100},
            "groups":[{"name":"strict","consumers":["s"],
                       "limits":{"output_tokens_over":"reject","models":["m1"]}}]}"#,
    );
    let mut ex = exchange(&p, ApiFormat::OpenAiChat, &[]);
    let body = br#"{"model":"m","max_tokens":500,"messages":[{"role":"user","content":"hi"}]}"#;
    let sent = body_of(ex.on_request_body(&p, body)).unwrap();
    assert_eq!(sent["max_tokens"], 100);
    let three = br#"{"model":"m","messages":[{"role":"user","content":"a"},{"role":"user","content":"b"},{"role":"user","content":"c"}]}"#;
    let mut ex = exchange(&p, ApiFormat::OpenAiChat, &[]);
    let RequestAction::Reply(r) = ex.on_request_body(&p, three) else {
        panic!()
    };
    assert_eq!(r.status, 400);
    let mut ex = exchange(&p, ApiFormat::OpenAiChat, &[("x-consumer-id", "s")]);
    let m1 = br#"{"model":"m1","max_tokens":500,"messages":[]}"#;
    let RequestAction::Reply(r) = ex.on_request_body(&p, m1) else {
        panic!()
    };
    assert_eq!((r.status, ex.quota.group), (400, 1));
    let mut ex = exchange(&p, ApiFormat::OpenAiChat, &[("x-consumer-id", "s")]);
    let RequestAction::Reply(r) = ex.on_request_body(&p, br#"{"model":"m","messages":[]}"#) else {
        panic!()
    };
    assert_eq!(r.status, 403);
    let mut ex = exchange(&p, ApiFormat::OpenAiChat, &[("x-consumer-id", "s")]);
    assert!(matches!(
        ex.on_request_body(&p, br#"{"model":"m1","messages":[]}"#),
        RequestAction::Forward(_)
    ));
}

#[test]
fn anonymous_requests_can_be_refused() {
    let p = policy(r#"{"identity":{"source_address":false,"anonymous":"reject"}}"#);
    let mut ex = Exchange::new(ApiFormat::AnthropicMessages, None);
    let reply = ex
        .quota_identify(&p, b"k", &[], &|| Some("10.0.0.1:1".into()))
        .unwrap();
    assert_eq!(reply.status, 401);
    assert!(String::from_utf8_lossy(&reply.body).contains("authentication_error"));
}

const STREAM_BODY: &[u8] =
    br#"{"model":"m","stream":true,"max_tokens":50,"messages":[{"role":"user","content":"Say hello to the world"}]}"#;

fn chunk(data: &str) -> Vec<u8> {
    format!("data: {data}\n\n").into_bytes()
}

#[test]
fn openai_stream_usage_is_requested_stripped_and_charged_once() {
    let p = policy(r#"{"default":{"tokens_per_minute":1000}}"#);
    let mut store = MemoryStore::new();
    let mut ex = exchange(&p, ApiFormat::OpenAiChat, &[]);
    let sent = body_of(ex.on_request_body(&p, STREAM_BODY)).unwrap();
    assert_eq!(sent["stream_options"]["include_usage"], true);
    ex.quota_admit(&p, &mut store, T0).unwrap();
    let headers = ex.quota_headers();
    let remaining: u64 = headers[1].1.parse().unwrap();
    assert_eq!(remaining, 1000 - ex.quota.prompt_estimate - 50);
    let sse = [("content-type".to_string(), "text/event-stream".to_string())];
    ex.on_response_head(&p, 200, &sse);
    let text = chunk(r#"{"choices":[{"index":0,"delta":{"content":"Hello"}}]}"#);
    let usage = chunk(r#"{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2}}"#);
    let done = chunk("[DONE]");
    let out = ex.on_stream_chunk(&p, &[text, usage, done.clone()].concat(), true);
    // The usage chunk the client did not ask for is gone; the text (which redaction may hold
    // back and send in a later copy of its event) and the end are there.
    let out = String::from_utf8(out).unwrap();
    assert!(!out.contains("usage"), "{out}");
    assert!(out.contains(r#""content":"Hello""#), "{out}");
    assert!(out.ends_with(std::str::from_utf8(&done).unwrap()), "{out}");
    assert_eq!(
        ex.quota_settle(&p, &mut store, 200, true, T0 + 1),
        Settled::Charged(11)
    );
    assert_eq!(
        ex.quota_settle(&p, &mut store, 200, true, T0 + 2),
        Settled::Nothing
    );
    let account = Account::new(ex.quota.consumer.as_ref().unwrap().id, p.quota.shards);
    assert_eq!(used(&mut store, &account), 11);
}

#[test]
fn an_abandoned_anthropic_stream_charges_reported_input_and_seen_output() {
    let p = policy("{}");
    let mut store = MemoryStore::new();
    let mut ex = exchange(&p, ApiFormat::AnthropicMessages, &[]);
    assert_eq!(
        ex.on_request_body(&p, STREAM_BODY),
        RequestAction::Forward(None)
    );
    ex.quota_admit(&p, &mut store, T0).unwrap();
    ex.on_response_head(
        &p,
        200,
        &[("content-type".into(), "text/event-stream".into())],
    );
    let events = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":40,\"output_tokens\":1}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"one two three four\"}}\n\n",
    );
    ex.on_stream_chunk(&p, events.as_bytes(), false);
    // The client went away: no message_delta, no end.
    assert_eq!(
        ex.quota_settle(&p, &mut store, 200, false, T0 + 1),
        Settled::Charged(44)
    );
}

#[test]
fn an_upstream_error_without_usage_charges_nothing() {
    let p = policy("{}");
    let mut store = MemoryStore::new();
    let mut ex = exchange(&p, ApiFormat::OpenAiChat, &[]);
    ex.on_request_body(&p, STREAM_BODY);
    ex.quota_admit(&p, &mut store, T0).unwrap();
    assert_eq!(
        ex.quota_settle(&p, &mut store, 401, true, T0),
        Settled::Charged(0)
    );
}

#[test]
fn over_budget_is_429_with_headers_in_the_callers_dialect() {
    let p = policy(r#"{"default":{"tokens_per_minute":100}}"#);
    let mut store = MemoryStore::new();
    let mut ex = exchange(&p, ApiFormat::AnthropicMessages, &[]);
    ex.on_request_body(&p, STREAM_BODY);
    ex.quota_admit(&p, &mut store, T0).unwrap();
    let mut second = exchange(&p, ApiFormat::AnthropicMessages, &[]);
    second.on_request_body(&p, STREAM_BODY);
    let reply = second.quota_admit(&p, &mut store, T0 + 1500).unwrap_err();
    assert_eq!(reply.status, 429);
    let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tokens left")
    );
    let h: HashMap<_, _> = reply.headers.into_iter().collect();
    assert_eq!(h["retry-after"], "59");
    assert_eq!(h["x-ratelimit-limit-tokens"], "100");
    assert_eq!(h["x-ratelimit-reset-tokens"], "58.5s");
}

#[test]
fn a_stream_outgrowing_the_budget_is_cut_with_an_error_event() {
    let p = policy(r#"{"cut_streams":true,"default":{"tokens_per_minute":100}}"#);
    let mut store = MemoryStore::new();
    let mut ex = exchange(&p, ApiFormat::OpenAiChat, &[]);
    ex.on_request_body(&p, STREAM_BODY);
    ex.quota_admit(&p, &mut store, T0).unwrap();
    let budget = ex.quota.standing.unwrap().remaining + 50;
    ex.on_response_head(
        &p,
        200,
        &[("content-type".into(), "text/event-stream".into())],
    );
    let words = "word ".repeat(usize::try_from(budget).unwrap() + 1);
    let big = chunk(&format!(
        r#"{{"choices":[{{"index":0,"delta":{{"content":"{words}"}}}}]}}"#
    ));
    let out = ex.on_stream_chunk(&p, &[big, chunk("[DONE]")].concat(), true);
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("data: {\"error\":"), "{text}");
    assert!(text.contains("llm_warden.quota_exceeded") && !text.contains("[DONE]"));
    assert!(matches!(
        ex.quota_settle(&p, &mut store, 200, true, T0),
        Settled::Charged(n) if n > budget
    ));
}

#[test]
fn per_model_limits_count_apart() {
    let p = policy(r#"{"default":{"tokens_per_minute":1000,"per_model":true}}"#);
    let mut store = MemoryStore::new();
    let mut accounts = Vec::new();
    for model in ["a", "b", "a"] {
        let mut ex = exchange(&p, ApiFormat::OpenAiChat, &[]);
        let body = format!(r#"{{"model":"{model}","max_tokens":10,"messages":[]}}"#);
        ex.on_request_body(&p, body.as_bytes());
        ex.quota_admit(&p, &mut store, T0).unwrap();
        accounts.push(ex.quota.standing.unwrap().remaining);
    }
    assert_eq!(accounts[0], accounts[1]);
    assert!(accounts[2] < accounts[0]);
}

#[test]
fn an_error_mid_stream_or_no_response_charges_the_estimate_and_output_seen() {
    let p = policy("{}");
    let mut store = MemoryStore::new();
    let mut ex = exchange(&p, ApiFormat::OpenAiChat, &[]);
    ex.on_request_body(&p, STREAM_BODY);
    ex.quota_admit(&p, &mut store, T0).unwrap();
    let estimate = ex.quota.prompt_estimate;
    ex.on_response_head(
        &p,
        200,
        &[("content-type".into(), "text/event-stream".into())],
    );
    let text = chunk(r#"{"choices":[{"index":0,"delta":{"content":"one two three"}}]}"#);
    let error = chunk(r#"{"error":{"message":"overloaded"}}"#);
    ex.on_stream_chunk(&p, &[text, error].concat(), true);
    assert_eq!(
        ex.quota_settle(&p, &mut store, 200, true, T0),
        Settled::Charged(estimate + 3)
    );
    // The client left before any response: the estimate.
    let mut ex = exchange(&p, ApiFormat::OpenAiChat, &[]);
    ex.on_request_body(&p, STREAM_BODY);
    ex.quota_admit(&p, &mut store, T0).unwrap();
    assert_eq!(
        ex.quota_settle(&p, &mut store, 0, false, T0),
        Settled::Charged(estimate)
    );
}

#[test]
fn monitor_mode_counts_and_records_but_refuses_nothing() {
    let p = policy(r#"{"mode":"monitor","default":{"tokens_per_minute":10,"max_messages":1}}"#);
    let mut store = MemoryStore::new();
    let two = br#"{"model":"m","max_tokens":50,"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}"#;
    let mut ex = exchange(&p, ApiFormat::OpenAiChat, &[]);
    assert!(matches!(
        ex.on_request_body(&p, two),
        RequestAction::Forward(_)
    ));
    assert_eq!(ex.quota_admit(&p, &mut store, T0), Ok(()));
    let actions: Vec<_> = ex
        .decisions
        .iter()
        .map(|d| (d.action, d.category))
        .collect();
    assert_eq!(
        actions,
        [("monitored", "quota_guard"), ("monitored", "quota")]
    );
    assert_eq!(ex.quota.standing.unwrap().remaining, 0);
}

#[test]
fn every_output_ceiling_is_clamped_and_choices_multiply_the_reservation() {
    let p = policy(r#"{"default":{"tokens_per_minute":100000,"max_output_tokens":100}}"#);
    let mut store = MemoryStore::new();
    let mut ex = exchange(&p, ApiFormat::OpenAiChat, &[]);
    let body = br#"{"model":"m","n":3,"max_completion_tokens":50,"max_tokens":9000,"messages":[]}"#;
    let sent = body_of(ex.on_request_body(&p, body)).unwrap();
    assert_eq!(
        (
            sent["max_completion_tokens"].as_u64(),
            sent["max_tokens"].as_u64()
        ),
        (Some(50), Some(100))
    );
    ex.quota_admit(&p, &mut store, T0).unwrap();
    let reserved = 100_000 - ex.quota.standing.unwrap().remaining;
    assert_eq!(reserved, ex.quota.prompt_estimate + 3 * 100);
}

#[test]
fn a_request_bigger_than_the_window_is_told_so() {
    let p = policy(r#"{"default":{"tokens_per_minute":100}}"#);
    let mut ex = exchange(&p, ApiFormat::OpenAiChat, &[]);
    ex.on_request_body(&p, br#"{"model":"m","max_tokens":500,"messages":[]}"#);
    let reply = ex.quota_admit(&p, &mut MemoryStore::new(), T0).unwrap_err();
    let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("more tokens than the 100-token limit"),
        "{message}"
    );
}
