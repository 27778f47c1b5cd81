//! Measures llm-warden's token estimator against real BPE tokenizers, offline.
//!
//! ```sh
//! cargo run --release --manifest-path tools/token-estimate/Cargo.toml -- corpus.jsonl [more.jsonl]
//! ```
//!
//! Each input line is a JSON object with a `text` (and optionally `category` and `script`). For
//! `o200k_base` (GPT-4o and later) and `cl100k_base` (GPT-4, GPT-3.5) it prints, per category and
//! overall: the number of texts, real and estimated tokens, the aggregate error (estimated ÷ real −
//! 1) and the median and 90th-percentile error of single texts. The tokenizers' BPE tables are
//! embedded in `tiktoken-rs`: nothing is downloaded.

use llm_warden::engine::quota::estimate::text_tokens;
use std::collections::BTreeMap;
use std::process::ExitCode;

struct Sample {
    group: String,
    text: String,
}

#[derive(Default)]
struct Tally {
    real: u64,
    estimated: u64,
    errors: Vec<f64>,
}

impl Tally {
    fn add(&mut self, real: usize, estimated: u64) {
        self.real += real as u64;
        self.estimated += estimated;
        if real > 0 {
            self.errors.push(estimated as f64 / real as f64 - 1.0);
        }
    }

    fn line(&mut self, name: &str) -> String {
        self.errors.sort_by(|a, b| a.abs().total_cmp(&b.abs()));
        let pct = |q: f64| {
            let i = ((self.errors.len() as f64 - 1.0) * q).round() as usize;
            self.errors.get(i).map_or(0.0, |e| e.abs() * 100.0)
        };
        let within = self.errors.iter().filter(|e| e.abs() <= 0.15).count();
        format!(
            "{name:<28} {:>6} {:>9} {:>9} {:>+8.1}% {:>7.1}% {:>7.1}% {:>7.1}%",
            self.errors.len(),
            self.real,
            self.estimated,
            (self.estimated as f64 / self.real.max(1) as f64 - 1.0) * 100.0,
            pct(0.5),
            pct(0.9),
            within as f64 * 100.0 / self.errors.len().max(1) as f64,
        )
    }
}

fn read(paths: &[String]) -> Result<Vec<Sample>, String> {
    let mut out = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| format!("{path}:{}: {e}", n + 1))?;
            let Some(text) = v.get("text").and_then(|t| t.as_str()) else {
                continue;
            };
            let field = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("-").to_string();
            out.push(Sample {
                group: format!("{} ({})", field("category"), field("script")),
                text: text.to_string(),
            });
        }
    }
    Ok(out)
}

fn main() -> ExitCode {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        eprintln!("usage: token-estimate corpus.jsonl [more.jsonl]");
        return ExitCode::FAILURE;
    }
    let samples = match read(&paths) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("token-estimate: {e}");
            return ExitCode::FAILURE;
        }
    };
    let encoders = [
        ("o200k_base", tiktoken_rs::o200k_base()),
        ("cl100k_base", tiktoken_rs::cl100k_base()),
    ];
    for (name, bpe) in encoders {
        let Ok(bpe) = bpe else {
            eprintln!("token-estimate: cannot load {name}");
            return ExitCode::FAILURE;
        };
        let mut groups: BTreeMap<String, Tally> = BTreeMap::new();
        let mut latin = Tally::default();
        let mut all = Tally::default();
        for s in &samples {
            let real = bpe.encode_ordinary(&s.text).len();
            let estimated = text_tokens(&s.text);
            groups
                .entry(s.group.clone())
                .or_default()
                .add(real, estimated);
            if s.group.ends_with("(latin)") {
                latin.add(real, estimated);
            }
            all.add(real, estimated);
        }
        println!("\n{name}");
        println!(
            "{:<28} {:>6} {:>9} {:>9} {:>9} {:>8} {:>8} {:>8}",
            "category (script)", "texts", "real", "estimate", "total", "median", "p90", "≤15%"
        );
        for (group, tally) in &mut groups {
            println!("{}", tally.line(group));
        }
        println!("{}", latin.line("all latin (English)"));
        println!("{}", all.line("all"));
    }
    ExitCode::SUCCESS
}
