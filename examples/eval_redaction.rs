//! Redaction quality on a labelled corpus: recall per entity type, equally for JSON and streamed
//! responses (both run through `Exchange`, the filter's own code path), the change rate on clean
//! texts, and how many hard negatives pass unchanged.
//!
//! ```sh
//! cargo run --release --example eval_redaction -- CORPUS_DIR [EXTRA.jsonl ...]
//! ```
//!
//! CORPUS_DIR holds `pii/*.jsonl` and `secrets/*.jsonl` (lines `{"text", "spans": [{"start",
//! "end", "type"}]}`, offsets in code points). Extra files (fresh `gen_pii.py` samples) are
//! reported on their own. A span counts as redacted when its value no longer appears in the
//! text the client receives (a value that occurs k times and r times after redaction credits
//! k - r of its spans).

// An offline tool over the corpus files: indexing into parsed JSON reads best, and a panic on a
// malformed corpus line is a clear enough error.
#![allow(clippy::indexing_slicing)]

use llm_warden::config;
use llm_warden::engine::api::ApiFormat;
use llm_warden::engine::exchange::{Exchange, ResponseHead};
use llm_warden::engine::policy::Policy;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

struct Doc {
    text: String,
    spans: Vec<(String, String)>,
}

fn load(path: &Path) -> Result<Vec<Doc>, String> {
    let raw = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    raw.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
            let text = v["text"].as_str().unwrap_or_default().to_string();
            let chars: Vec<char> = text.chars().collect();
            let spans = v["spans"]
                .as_array()
                .map(|a| a.as_slice())
                .unwrap_or_default()
                .iter()
                .map(|s| {
                    let at = |k: &str| s[k].as_u64().unwrap_or(0) as usize;
                    let value: String = chars
                        .get(at("start")..at("end").min(chars.len()))
                        .unwrap_or_default()
                        .iter()
                        .collect();
                    (s["type"].as_str().unwrap_or("?").to_string(), value)
                })
                .collect();
            Ok(Doc { text, spans })
        })
        .collect()
}

fn headers(content_type: &str) -> Vec<(String, String)> {
    vec![("content-type".to_string(), content_type.to_string())]
}

/// The text the client receives for a JSON chat completion carrying `text`.
fn via_json(policy: &Policy, text: &str) -> String {
    let body = json!({"id": "c", "object": "chat.completion", "choices": [{"index": 0,
        "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1}});
    let body = serde_json::to_vec(&body).unwrap_or_default();
    let mut ex = Exchange::new(ApiFormat::OpenAiChat, None);
    if ex.on_response_head(policy, 200, &headers("application/json")) != ResponseHead::Buffer {
        return text.to_string();
    }
    match ex.on_response_body(policy, 200, &body) {
        Ok(None) => text.to_string(),
        Ok(Some(new)) => serde_json::from_slice::<Value>(&new).map_or_else(
            |_| String::new(),
            |v| {
                v["choices"][0]["message"]["content"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            },
        ),
        Err(_) => String::new(), // blocked: nothing of the text reaches the client
    }
}

/// The text the client receives when `text` is streamed in deltas of 1 to 16 characters.
fn via_stream(policy: &Policy, text: &str, seed: &mut u64) -> String {
    let mut events = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut at = 0;
    while at < chars.len() {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let n = 1 + (*seed >> 33) as usize % 16;
        let piece: String = chars[at..(at + n).min(chars.len())].iter().collect();
        at += n;
        let chunk = json!({"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0,
            "delta": {"content": piece}, "finish_reason": null}]});
        events.push(format!("data: {chunk}\n\n"));
    }
    let last = json!({"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0,
        "delta": {}, "finish_reason": "stop"}]});
    events.push(format!("data: {last}\n\n"));
    events.push("data: [DONE]\n\n".to_string());
    let mut ex = Exchange::new(ApiFormat::OpenAiChat, None);
    ex.on_response_head(policy, 200, &headers("text/event-stream"));
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        out.extend(ex.on_stream_chunk(policy, e.as_bytes(), i + 1 == events.len()));
    }
    let mut received = String::new();
    for data in String::from_utf8_lossy(&out)
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
    {
        if let Ok(v) = serde_json::from_str::<Value>(data) {
            if v.get("error").is_some() {
                return received;
            }
            received.push_str(
                v["choices"][0]["delta"]["content"]
                    .as_str()
                    .unwrap_or_default(),
            );
        }
    }
    received
}

#[derive(Default)]
struct Tally {
    total: usize,
    json: usize,
    stream: usize,
}

fn pct(n: usize, d: usize) -> f64 {
    if d == 0 {
        0.0
    } else {
        100.0 * n as f64 / d as f64
    }
}

/// Recall per type over `docs`, plus the change rate on documents without spans.
fn evaluate(policy: &Policy, name: &str, docs: &[Doc]) -> (BTreeMap<String, Tally>, Tally) {
    let mut by_type: BTreeMap<String, Tally> = BTreeMap::new();
    let mut clean = Tally::default();
    let mut seed = 7u64;
    for doc in docs {
        let json_out = via_json(policy, &doc.text);
        let stream_out = via_stream(policy, &doc.text, &mut seed);
        let show = std::env::var("EVAL_SHOW").unwrap_or_default();
        if doc.spans.is_empty() && show == "CHANGED" && json_out != doc.text {
            eprintln!("CHANGED {name}: {json_out:?}");
        }
        for (kind, value) in doc.spans.iter().filter(|(k, _)| *k == show) {
            if json_out.contains(value.as_str()) {
                eprintln!(
                    "MISSED {kind} {value:?} in {:?}",
                    doc.text.chars().take(300).collect::<String>()
                );
            }
        }
        if doc.spans.is_empty() {
            clean.total += 1;
            clean.json += usize::from(json_out != doc.text);
            clean.stream += usize::from(stream_out != doc.text);
        }
        // A value that occurs k times and still occurs r times after redaction had k - r of its
        // occurrences redacted; its spans are credited up to that many.
        let mut credited: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for (kind, value) in &doc.spans {
            let t = by_type.entry(kind.clone()).or_default();
            t.total += 1;
            let k = doc.text.matches(value.as_str()).count();
            let (json_left, stream_left) = credited.entry(value.as_str()).or_insert_with(|| {
                (
                    k.saturating_sub(json_out.matches(value.as_str()).count()),
                    k.saturating_sub(stream_out.matches(value.as_str()).count()),
                )
            });
            if value.is_empty() {
                continue;
            }
            if *json_left > 0 {
                *json_left -= 1;
                t.json += 1;
            }
            if *stream_left > 0 {
                *stream_left -= 1;
                t.stream += 1;
            }
        }
    }
    (by_type, clean)
}

fn group(by_type: &BTreeMap<String, Tally>, kinds: &[&str]) -> Tally {
    let mut t = Tally::default();
    for (k, v) in by_type {
        if kinds.is_empty() || kinds.contains(&k.as_str()) {
            t.total += v.total;
            t.json += v.json;
            t.stream += v.stream;
        }
    }
    t
}

fn line(label: &str, t: &Tally) {
    println!(
        "  {label:<28} {:>6} {:>9.2}% {:>9.2}%",
        t.total,
        pct(t.json, t.total),
        pct(t.stream, t.total)
    );
}

fn report(title: &str, by_type: &BTreeMap<String, Tally>) {
    println!(
        "{title}\n  {:<28} {:>6} {:>10} {:>10}",
        "type", "spans", "json", "stream"
    );
    for (k, v) in by_type {
        line(k, v);
    }
    const PII: [&str; 6] = [
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "CREDIT_CARD",
        "US_SSN",
        "IBAN_CODE",
        "IP_ADDRESS",
    ];
    let checksummed = group(by_type, &["CREDIT_CARD", "US_SSN", "IBAN_CODE"]);
    if checksummed.total > 0 {
        line("= checksummed (card/IBAN/SSN)", &checksummed);
    }
    let pii = group(by_type, &PII);
    if pii.total > 0 {
        line("= all PII", &pii);
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = Path::new(
        args.first()
            .ok_or("usage: eval_redaction CORPUS_DIR [EXTRA.jsonl ...]")?,
    );
    let policy = config::load(b"{}").map_err(|e| e.to_string())?;
    println!(
        "redaction eval, default configuration `{{}}`; recall = span value absent from what the client receives\n"
    );

    let mut pii_docs = Vec::new();
    for f in ["faker_generated", "presidio_synth"] {
        pii_docs.extend(load(&dir.join(format!("pii/{f}.jsonl")))?);
    }
    let (pii, faker_clean) = evaluate(&policy, "pii", &pii_docs);
    report("PII (pii/faker_generated + pii/presidio_synth)", &pii);

    let mut secret_docs = Vec::new();
    for f in ["trufflehog", "gitleaks", "detect_secrets", "credsweeper"] {
        secret_docs.extend(load(&dir.join(format!("secrets/{f}.jsonl")))?);
    }
    let (secrets, _) = evaluate(&policy, "secrets", &secret_docs);
    report("\nSecrets (secrets/*, hard negatives apart)", &secrets);
    let named: Vec<&str> = secrets
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "VENDOR_TOKEN" && *k != "HIGH_ENTROPY_STRING")
        .collect();
    line("= named secret types", &group(&secrets, &named));

    let clean_docs = load(&dir.join("pii/clean_outputs.jsonl"))?;
    let (_, clean) = evaluate(&policy, "clean", &clean_docs);
    println!(
        "\nClean texts changed (lower is better)\n  {:<28} {:>6} {:>10} {:>10}",
        "set", "docs", "json", "stream"
    );
    line("pii/clean_outputs", &clean);
    line("clean documents of faker set", &faker_clean);
    let hard = load(&dir.join("secrets/hard_negatives.jsonl"))?;
    let (_, hard) = evaluate(&policy, "hard", &hard);
    println!("\nHard negatives left unchanged (precision proxy; some may rightly be masked)");
    println!(
        "  {:<28} {:>6} {:>9.2}% {:>9.2}%",
        "secrets/hard_negatives",
        hard.total,
        100.0 - pct(hard.json, hard.total),
        100.0 - pct(hard.stream, hard.total)
    );
    for extra in args.iter().skip(1) {
        let docs = load(Path::new(extra))?;
        let (by_type, clean) = evaluate(&policy, extra, &docs);
        report(&format!("\nFresh samples: {extra}"), &by_type);
        line("clean documents changed", &clean);
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("eval_redaction: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
