//! Engine micro-benchmarks: the throughput (MB/s) of each engine stage on the traffic `make bench`
//! sends through Envoy — OpenAI chat requests of 1, 16 and 128 KiB of benign English prose, the
//! chat completion and the chat-completion event stream (23 events) that answer them.
//!
//! ```sh
//! cargo bench --bench engine                       # native
//! cargo bench --bench engine --no-default-features --target wasm32-wasip1   # wasm, under Node
//! ```
//!
//! The wasm32-wasip1 build runs under Node (V8, the engine Envoy embeds) through `bench/wasi.mjs`,
//! the cargo runner for that target. Arguments after `--`: `--quick` (short timings), `--json` (one
//! JSON object a line); any other word keeps the benchmarks whose name and input contain it
//! (`on_request_body`, `128 KiB`). Without `--bench` (as `cargo test --all-targets` runs it) every
//! benchmark runs once, untimed: a smoke test that its input is accepted, never a timing assertion.
//!
//! Calls are timed in batches by the thread's CPU time (bench/timing.rs), so that other processes on
//! a shared core do not count; the median batch is reported.
//!
//! To add a benchmark, write one function `fn(&[u8]) -> Result<Timed<'_>, String>` that prepares
//! what it needs from the input bytes and returns the closure to time, and list it in [`BENCHES`].

mod inputs;
mod timing;

use inputs::{Over, events, inputs};
use llm_warden::config;
use llm_warden::engine::api::sse::EventSplitter;
use llm_warden::engine::api::stream::UsageUpdate;
use llm_warden::engine::api::{ApiFormat, RequestView};
use llm_warden::engine::exchange::{Exchange, RequestAction, ResponseHead, Settled};
use llm_warden::engine::inject;
use llm_warden::engine::json;
use llm_warden::engine::policy::Policy;
use llm_warden::engine::quota;
use llm_warden::engine::redact;
use std::hint::black_box;
use std::time::Duration;
use timing::{Clock, measure};

/// The work being timed; returns anything derived from its result, so that it is not optimised away.
type Timed<'a> = Box<dyn FnMut() -> usize + 'a>;

/// Prepares a benchmark from its input: untimed set-up, then the closure to time.
type Setup = fn(&[u8]) -> Result<Timed<'_>, String>;

/// One benchmark.
struct Bench {
    name: &'static str,
    over: Over,
    setup: Setup,
}

/// Every benchmark, in pipeline order.
const BENCHES: &[Bench] = &[
    Bench {
        name: "json::parse",
        over: Over::Requests,
        setup: json_parse,
    },
    Bench {
        name: "RequestView::parse",
        over: Over::Requests,
        setup: request_view,
    },
    Bench {
        name: "inject::scan",
        over: Over::Requests,
        setup: inject_scan,
    },
    Bench {
        name: "Exchange::on_request_body",
        over: Over::Requests,
        setup: on_request_body,
    },
    Bench {
        name: "quota::estimate",
        over: Over::Requests,
        setup: quota_estimate,
    },
    Bench {
        name: "quota per request",
        over: Over::Requests,
        setup: quota_bookkeeping,
    },
    Bench {
        name: "Exchange::on_response_body",
        over: Over::Response,
        setup: on_response_body,
    },
    Bench {
        name: "sse::EventSplitter",
        over: Over::Stream,
        setup: event_splitter,
    },
    Bench {
        name: "Exchange::on_stream_chunk",
        over: Over::Stream,
        setup: on_stream_chunk,
    },
    Bench {
        name: "on_stream_chunk tool call {}",
        over: Over::Stream,
        setup: tool_stream_inert,
    },
    Bench {
        name: "on_stream_chunk tool call rules",
        over: Over::Stream,
        setup: tool_stream_checked,
    },
    Bench {
        name: "redact::text (prose)",
        over: Over::Requests,
        setup: redact_prose,
    },
    Bench {
        name: "redact::text (PII-dense)",
        over: Over::Requests,
        setup: redact_dense,
    },
    Bench {
        name: "redact::stream (prose)",
        over: Over::Requests,
        setup: redact_stream,
    },
];

const MAX_DEPTH: usize = 64;

fn json_parse(body: &[u8]) -> Result<Timed<'_>, String> {
    json::parse(body, MAX_DEPTH).map_err(|e| e.to_string())?;
    Ok(Box::new(move || {
        json::parse(body, MAX_DEPTH).map_or(0, |v| v.span.end)
    }))
}

fn request_view(body: &[u8]) -> Result<Timed<'_>, String> {
    let root = json::parse(body, MAX_DEPTH).map_err(|e| e.to_string())?;
    RequestView::parse(ApiFormat::OpenAiChat, &root).map_err(|e| e.to_string())?;
    Ok(Box::new(move || {
        RequestView::parse(ApiFormat::OpenAiChat, &root).map_or(0, |v| v.texts.len())
    }))
}

fn inject_scan(body: &[u8]) -> Result<Timed<'_>, String> {
    let settings = default_policy()?.injection;
    // The texts borrow the parsed body, which must outlive the closure: leak it (a few per run).
    let root = Box::leak(Box::new(
        json::parse(body, MAX_DEPTH).map_err(|e| e.to_string())?,
    ));
    let texts = RequestView::parse(ApiFormat::OpenAiChat, root)
        .map_err(|e| e.to_string())?
        .texts;
    if let Some(finding) = inject::scan(&settings, &texts) {
        return Err(format!("the benign body was flagged: {finding:?}"));
    }
    Ok(Box::new(move || {
        inject::scan(&settings, &texts).map_or(0, |f| f.category.len())
    }))
}

fn on_request_body(body: &[u8]) -> Result<Timed<'_>, String> {
    let policy = default_policy()?;
    let action = Exchange::new(ApiFormat::OpenAiChat, None).on_request_body(&policy, body);
    if action != RequestAction::Forward(None) {
        return Err(format!(
            "the benign body was not forwarded as is: {action:?}"
        ));
    }
    Ok(Box::new(move || {
        let mut exchange = Exchange::new(ApiFormat::OpenAiChat, None);
        match exchange.on_request_body(&policy, body) {
            RequestAction::Forward(_) => 1,
            RequestAction::Reply(_) => 0,
        }
    }))
}

fn quota_estimate(body: &[u8]) -> Result<Timed<'_>, String> {
    let root = Box::leak(Box::new(
        json::parse(body, MAX_DEPTH).map_err(|e| e.to_string())?,
    ));
    let view = RequestView::parse(ApiFormat::OpenAiChat, root).map_err(|e| e.to_string())?;
    Ok(Box::new(move || {
        quota::estimate::prompt_tokens(view.format, &view.texts, view.message_count) as usize
    }))
}

/// Everything quotas add to a request except the estimate (above) and the host's shared-data
/// calls: the consumer's keyed hash, the guards, the reservation and the settlement, with an
/// in-memory store of the same compare-and-swap contract. Constant in the body size.
fn quota_bookkeeping(body: &[u8]) -> Result<Timed<'_>, String> {
    let policy = config::load(
        br#"{"quota":{"default":{"tokens_per_minute":1000000000000,"tokens_per_day":1000000000000}}}"#,
    )
    .map_err(|e| e.to_string())?;
    let root: &json::Value<'_> = Box::leak(Box::new(
        json::parse(body, MAX_DEPTH).map_err(|e| e.to_string())?,
    ));
    let view = RequestView::parse(ApiFormat::OpenAiChat, root).map_err(|e| e.to_string())?;
    let key = [7u8; 16];
    let headers = [(
        "authorization".to_string(),
        ["Bearer sk", "bench", &"0123456789".repeat(4)].join("-"),
    )];
    let mut store = quota::MemoryStore::new();
    let now = 1_700_000_000_000u64;
    Ok(Box::new(move || {
        let mut exchange = Exchange::new(ApiFormat::OpenAiChat, None);
        if exchange
            .quota_identify(&policy, &key, &headers, &|| Some("10.0.0.1:4000".into()))
            .is_some()
            || exchange
                .quota
                .on_request(&policy.quota, &view, root, &mut json::Edits::new())
                .is_err()
            || exchange.quota_admit(&policy, &mut store, now).is_err()
        {
            return 0;
        }
        exchange.usage.merge(UsageUpdate {
            input_tokens: Some(100),
            output_tokens: Some(20),
        });
        match exchange.quota_settle(&policy, &mut store, 200, true, now) {
            Settled::Charged(n) => n as usize,
            _ => 0,
        }
    }))
}

fn on_response_body(body: &[u8]) -> Result<Timed<'_>, String> {
    let policy = default_policy()?;
    let headers = [("content-type".to_string(), "application/json".to_string())];
    let mut exchange = Exchange::new(ApiFormat::OpenAiChat, None);
    let head = exchange.on_response_head(&policy, 200, &headers);
    if head != ResponseHead::Buffer || exchange.on_response_body(&policy, 200, body) != Ok(None) {
        return Err(format!("the completion is not forwarded as is: {head:?}"));
    }
    Ok(Box::new(move || {
        let mut exchange = Exchange::new(ApiFormat::OpenAiChat, None);
        exchange.on_response_head(&policy, 200, &headers);
        match exchange.on_response_body(&policy, 200, body) {
            Ok(_) => 1,
            Err(_) => 0,
        }
    }))
}

fn event_splitter(stream: &[u8]) -> Result<Timed<'_>, String> {
    let chunks = events(stream);
    let max_event = default_policy()?.limits.max_event_bytes;
    Ok(Box::new(move || {
        let mut splitter = EventSplitter::new(max_event);
        let mut out = Vec::new();
        for chunk in &chunks {
            if splitter.push(chunk, &mut out).is_err() {
                return 0;
            }
        }
        out.extend(splitter.finish());
        out.len()
    }))
}

fn on_stream_chunk(stream: &[u8]) -> Result<Timed<'_>, String> {
    let policy = default_policy()?;
    let chunks = events(stream);
    let headers = [("content-type".to_string(), "text/event-stream".to_string())];
    let head = Exchange::new(ApiFormat::OpenAiChat, None).on_response_head(&policy, 200, &headers);
    if head != ResponseHead::Stream {
        return Err(format!("the event stream is not streamed: {head:?}"));
    }
    Ok(Box::new(move || {
        let mut exchange = Exchange::new(ApiFormat::OpenAiChat, None);
        exchange.on_response_head(&policy, 200, &headers);
        let mut sent = 0;
        for (i, chunk) in chunks.iter().enumerate() {
            sent += exchange
                .on_stream_chunk(&policy, chunk, i + 1 == chunks.len())
                .len();
        }
        sent
    }))
}

/// The stream with every content delta turned into an argument fragment of one tool call (the
/// same events, each some 40 bytes longer: MB/s counts the original stream's bytes), run through
/// an exchange under `config`.
fn tool_stream(stream: &[u8], config: &str) -> Result<Timed<'static>, String> {
    let policy = config::load(config.as_bytes()).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut first = true;
    for event in events(stream) {
        let text = std::str::from_utf8(event).map_err(|e| e.to_string())?;
        let Some(data) = text
            .trim()
            .strip_prefix("data: ")
            .filter(|d| d.starts_with('{'))
        else {
            out.push(event.to_vec());
            continue;
        };
        let mut v: serde_json::Value = serde_json::from_str(data).map_err(|e| e.to_string())?;
        if let Some(delta) = v.pointer_mut("/choices/0/delta") {
            if let Some(content) = delta.get("content").cloned().filter(|c| c.is_string()) {
                // The first fragment opens the call with its id and name.
                let call = if std::mem::take(&mut first) {
                    serde_json::json!({"index": 0, "id": "call_1",
                                       "function": {"name": "lookup", "arguments": content}})
                } else {
                    serde_json::json!({"index": 0, "function": {"arguments": content}})
                };
                *delta = serde_json::json!({ "tool_calls": [call] });
            }
        }
        out.push(format!("data: {v}\n\n").into_bytes());
    }
    let headers = [("content-type".to_string(), "text/event-stream".to_string())];
    let run = move || {
        let mut exchange = Exchange::new(ApiFormat::OpenAiChat, None);
        exchange.on_response_head(&policy, 200, &headers);
        let mut sent = Vec::new();
        for (i, chunk) in out.iter().enumerate() {
            sent.extend(exchange.on_stream_chunk(&policy, chunk, i + 1 == out.len()));
        }
        sent
    };
    let sent = run();
    if !sent.windows(6).any(|w| w == b"lookup") || sent.windows(11).any(|w| w == b"llm_warden.") {
        return Err("the tool call did not pass whole".to_string());
    }
    Ok(Box::new(move || run().len()))
}

/// A streamed tool call under `{}`: any tool, nothing held back.
fn tool_stream_inert(stream: &[u8]) -> Result<Timed<'_>, String> {
    tool_stream(stream, "{}")
}

/// A streamed tool call held back until complete and checked against an allow-list, deny
/// patterns and a URL host list.
fn tool_stream_checked(stream: &[u8]) -> Result<Timed<'_>, String> {
    let config = r#"{"tools": {"allow": ["lookup"], "rules": {"lookup": {
        "deny": ["(?i)\\bdrop\\s+table\\b"], "url_hosts": ["api.example.com"]}}}}"#;
    tool_stream(stream, config)
}

/// The request body's user text: benign English prose.
fn prose(body: &[u8]) -> Result<String, String> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    v.pointer("/messages/1/content")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| "no user text".to_string())
}

/// Scans and masks a whole text as a response would be (every entity masked). The time per
/// byte of text is the issue's 2 ns/byte budget.
fn redact_text(text: String) -> Result<Timed<'static>, String> {
    let settings = default_policy()?.redaction;
    Ok(Box::new(move || {
        let mut r = redact::Redaction::default();
        match r.text(&settings, redact::Side::Response, &text) {
            Ok(Some(t)) => t.len(),
            Ok(None) => text.len(),
            Err(_) => 0,
        }
    }))
}

fn redact_prose(body: &[u8]) -> Result<Timed<'_>, String> {
    redact_text(prose(body)?)
}

/// The prose with an e-mail, a phone number, a card and a key-shaped token every ~200 bytes.
fn redact_dense(body: &[u8]) -> Result<Timed<'_>, String> {
    let text = prose(body)?;
    let key = ["sk-ant-api03-", "Zq8vR2mN5xT1wK7pL3hJ9dF4gB6cY0aE"].concat();
    let mut dense = String::with_capacity(text.len() * 2);
    for (i, word) in text.split(' ').enumerate() {
        dense.push_str(word);
        dense.push(' ');
        match i % 120 {
            30 => dense.push_str("jane.doe@example.com "),
            60 => dense.push_str("+1 (624) 693-9006 "),
            90 => dense.push_str("4111 1111 1111 1111 "),
            119 => dense.push_str(&key),
            _ => {}
        }
    }
    redact_text(dense)
}

/// The prose streamed in 16-byte deltas through the hold-back rewriter.
fn redact_stream(body: &[u8]) -> Result<Timed<'_>, String> {
    let text = prose(body)?;
    let settings = default_policy()?.redaction;
    let pieces: Vec<String> = text
        .as_bytes()
        .chunks(16)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    Ok(Box::new(move || {
        let mut r = redact::Redaction::default();
        let mut s = redact::StreamText::new();
        let mut sent = 0;
        for (i, p) in pieces.iter().enumerate() {
            sent += r
                .stream(&settings, &mut s, p, i + 1 == pieces.len())
                .map_or(0, |t| t.len());
        }
        sent
    }))
}

/// The policy of the plugin configuration `{}`: every protection on.
fn default_policy() -> Result<Policy, String> {
    config::load(b"{}").map_err(|e| e.to_string())
}

/// Command-line options.
struct Options {
    timed: bool,
    quick: bool,
    json: bool,
    filters: Vec<String>,
}

impl Options {
    fn from_args() -> Self {
        let mut options = Options {
            timed: false,
            quick: false,
            json: false,
            filters: Vec::new(),
        };
        for arg in std::env::args().skip(1) {
            match arg.as_str() {
                "--bench" => options.timed = true,
                "--quick" => options.quick = true,
                "--json" => options.json = true,
                other if other.starts_with('-') => {}
                other => options.filters.push(other.to_string()),
            }
        }
        options
    }

    fn selects(&self, name: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| name.contains(f.as_str()))
    }

    /// Time spent measuring one benchmark on one input (after as much again of warm-up).
    fn budget(&self) -> Duration {
        Duration::from_millis(if self.quick { 100 } else { 300 })
    }
}

fn main() -> std::process::ExitCode {
    let options = Options::from_args();
    match run(&options) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("engine bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(options: &Options) -> Result<(), String> {
    let arch = std::env::consts::ARCH;
    let clock = Clock::best();
    if options.timed && !options.json {
        println!(
            "{:<28} {:<9} {:>9} {:>10} {:>10}",
            format!("engine ({arch}, {} time)", clock.name()),
            "input",
            "bytes",
            "MB/s",
            "µs/call"
        );
    }
    for bench in BENCHES {
        for (label, input) in inputs(bench.over)? {
            if !options.selects(&format!("{} {label}", bench.name)) {
                continue;
            }
            let mut timed =
                (bench.setup)(&input).map_err(|e| format!("{} {label}: {e}", bench.name))?;
            if !options.timed {
                black_box(timed());
                println!("ok {} {label}", bench.name);
                continue;
            }
            let seconds = measure(&mut timed, options.budget(), clock);
            let mb_s = input.len() as f64 / seconds / 1e6;
            let us = seconds * 1e6;
            if options.json {
                let line = serde_json::json!({
                    "arch": arch, "clock": clock.name(), "bench": bench.name, "input": label,
                    "bytes": input.len(), "mb_s": mb_s, "us_per_call": us,
                });
                println!("{line}");
            } else {
                println!(
                    "{:<28} {label:<9} {:>9} {mb_s:>10.1} {us:>10.2}",
                    bench.name,
                    input.len()
                );
            }
        }
    }
    Ok(())
}
