//! Prints the learned model's features for each sample of a labelled corpus, for
//! `tools/train_injection.py`: one line per sample, `label<TAB>group<TAB>category<TAB>slots`.
//!
//! Usage: `cargo run --release --example injection_features -- FILE.jsonl...`

// serde_json's `value["key"]` yields Null for a missing key; it cannot panic.
#![allow(clippy::indexing_slicing)]

use llm_warden::engine::inject::{Detector, Strictness};

fn main() -> Result<(), String> {
    let detector = Detector::build(&[], &[])?;
    for path in std::env::args().skip(1) {
        let data = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        for line in data.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| format!("{path}: {e}"))?;
            let text = v["text"].as_str().unwrap_or_default();
            let slots = detector.features(text, Strictness::Standard);
            let slots: Vec<String> = slots.iter().map(u32::to_string).collect();
            println!(
                "{}\t{}\t{}\t{}",
                u8::from(v["label"] == "attack"),
                v["group"].as_str().unwrap_or_default(),
                v["category"].as_str().unwrap_or_default(),
                slots.join(" ")
            );
        }
    }
    Ok(())
}
