//! `make eval` (injection part): detection rate on attacks and false positives on benign prompts
//! of a labelled corpus, overall and per category, through the engine's full request path.
//!
//! Usage: `cargo run --release --example eval_injection -- [--corpus DIR] [--as user|tool]
//! [--misses CATEGORY]`. Each sample becomes an OpenAI chat request with the text as a user
//! message (or as a tool result with `--as tool`), and counts as detected when the exchange blocks
//! it with `llm_warden.prompt_injection`.

// serde_json's `value["key"]` yields Null for a missing key; it cannot panic.
#![allow(clippy::indexing_slicing)]

use llm_warden::engine::api::ApiFormat;
use llm_warden::engine::exchange::{Exchange, RequestAction};
use llm_warden::engine::inject::tokens;
use llm_warden::engine::policy::Policy;
use std::collections::BTreeMap;
use std::time::Instant;

struct Sample {
    text: String,
    category: String,
    attack: bool,
    held_out: bool,
}

/// The training split of `tools/train_injection.py`: groups with FNV-1a(group) % 5 == 0 are
/// never trained on.
fn held_out(group: &str) -> bool {
    tokens::fnv1a(group.as_bytes()) % 5 == 0
}

fn load(path: &str, attack: bool) -> Result<Vec<Sample>, String> {
    let data = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    data.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| format!("{path}: {e}"))?;
            Ok(Sample {
                text: v["text"].as_str().unwrap_or_default().to_string(),
                category: v["category"].as_str().unwrap_or("none").to_string(),
                attack,
                held_out: held_out(v["group"].as_str().unwrap_or_default()),
            })
        })
        .collect()
}

fn request(text: &str, as_tool: bool) -> Vec<u8> {
    let messages = if as_tool {
        serde_json::json!([
            {"role": "user", "content": "Summarise the document the tool returned."},
            {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                "function": {"name": "fetch", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": text},
        ])
    } else {
        serde_json::json!([{"role": "user", "content": text}])
    };
    serde_json::to_vec(&serde_json::json!({"model": "m", "messages": messages})).unwrap_or_default()
}

fn flagged(policy: &Policy, body: &[u8]) -> bool {
    let mut exchange = Exchange::new(ApiFormat::OpenAiChat, None);
    match exchange.on_request_body(policy, body) {
        RequestAction::Reply(reply) => {
            String::from_utf8_lossy(&reply.body).contains("prompt_injection")
        }
        RequestAction::Forward(_) => false,
    }
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let corpus = arg("--corpus").unwrap_or_else(|| "../shared/corpus".to_string());
    let as_tool = arg("--as").as_deref() == Some("tool");
    let misses = arg("--misses");
    let mut samples = load(&format!("{corpus}/attacks.jsonl"), true)?;
    samples.extend(load(&format!("{corpus}/benign.jsonl"), false)?);
    let policy = Policy::default();
    // Per (attack, category): flagged and total, over all samples and over held-out groups.
    let mut per: BTreeMap<(bool, String), [usize; 4]> = BTreeMap::new();
    let (mut bytes, started) = (0usize, Instant::now());
    for s in &samples {
        let body = request(&s.text, as_tool);
        bytes += body.len();
        let hit = flagged(&policy, &body);
        let entry = per.entry((s.attack, s.category.clone())).or_default();
        entry[0] += usize::from(hit);
        entry[1] += 1;
        if s.held_out {
            entry[2] += usize::from(hit);
            entry[3] += 1;
        }
        if misses.as_deref().is_some_and(|m| m == s.category) && hit != s.attack {
            println!(
                "--- {}: {}",
                if s.attack { "missed" } else { "false positive" },
                s.text
                    .replace('\n', " ")
                    .chars()
                    .take(300)
                    .collect::<String>()
            );
        }
    }
    let elapsed = started.elapsed();
    let pct = |h: usize, n: usize| {
        if n == 0 {
            0.0
        } else {
            100.0 * h as f64 / n as f64
        }
    };
    let row = |name: &str, c: [usize; 4]| {
        println!(
            "  {name:<26} {:>6} {:>7.1}%   {:>6} {:>7.1}%",
            c[1],
            pct(c[0], c[1]),
            c[3],
            pct(c[2], c[3])
        );
    };
    println!(
        "prompt injection, as {} text, corpus {corpus}",
        if as_tool { "tool-result" } else { "user" }
    );
    println!(
        "(held out: groups the learned model was never trained on; see tools/train_injection.py)"
    );
    for (attack, title) in [
        (true, "attacks: detected"),
        (false, "benign: false positives"),
    ] {
        println!(
            "{title:<28} {:>6} {:>8}   {:>6} {:>8}",
            "all", "rate", "held", "rate"
        );
        let mut total = [0usize; 4];
        for ((a, category), counts) in &per {
            if *a == attack {
                row(category, *counts);
                for (t, c) in total.iter_mut().zip(counts) {
                    *t += c;
                }
            }
        }
        row("ALL", total);
    }
    println!(
        "{} requests, {:.1} MB in {:.2} s natively ({:.0} ns/byte, JSON parsing included)",
        samples.len(),
        bytes as f64 / 1e6,
        elapsed.as_secs_f64(),
        elapsed.as_nanos() as f64 / bytes.max(1) as f64
    );
    Ok(())
}
