//! The detector: normalised text → lexicon hits → rules → a score per family of signals.
//!
//! One pass of the normaliser and one pass of the lexicon's automaton per text; decoded payloads
//! and smuggled text are scanned the same way, recursively, within a depth and a byte budget.
//! Hits are evaluated in batches that overlap by the longest rule span, so that memory stays
//! bounded and no input is too long to score.

use super::decode::decode;
use super::features;
use super::lexicon::{Concept, Hit, Lexicon};
use super::model::Model;
use super::normalize::{Candidate, Normalized, Normalizer, payload_runs};
use super::rules::{self, Family, Rule, Scope};

/// How deep decoded payloads are followed (a payload inside a payload inside a text).
const MAX_DEPTH: u32 = 2;
/// Bytes of decoded and hidden text scanned per call, over all depths.
const DECODE_BUDGET: usize = 64 << 10;
/// Hits evaluated together; a longer text is evaluated in overlapping batches.
const BATCH: usize = 4096;
/// Smuggled text this long is a signal by itself.
const MIN_HIDDEN: usize = 8;

/// How strictly a text is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strictness {
    /// Direct input: user and assistant turns.
    Standard,
    /// Third-party content (tool results, documents): standard rules plus the indirect ones.
    Strict,
}

/// Family scores of one scanned text.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score {
    families: [f32; Family::ALL.len()],
    /// A configured deny pattern matched.
    pub denied: bool,
    /// How much the rule families count in the total (see [`RULE_SHARE`]).
    rule_share: f32,
}

/// With the learned model, the share of the rule families' weights in the total. The model has
/// already weighed which rules fired (they are among its features); the rules' own weights add a
/// smaller share, so that a text full of signals the model underrates still counts. Without a
/// model the rules count in full.
pub const RULE_SHARE: f32 = 0.5;

impl Score {
    /// The total: the sum over families (each family counts its strongest signal once).
    pub fn total(&self) -> f32 {
        if self.denied {
            return f32::INFINITY;
        }
        Family::ALL
            .iter()
            .zip(self.families)
            .map(|(f, s)| {
                if f.is_rule_family() {
                    s * self.rule_share
                } else {
                    s
                }
            })
            .sum()
    }

    /// The family that names the finding: the strongest family of explainable signals, or the
    /// learned model when nothing else fired.
    pub fn top_family(&self) -> Option<Family> {
        let strongest = |rules_only: bool| {
            Family::ALL
                .iter()
                .zip(self.families)
                .filter(|(f, s)| *s > 0.0 && (!rules_only || **f != Family::Learned))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(f, _)| *f)
        };
        strongest(true).or_else(|| strongest(false))
    }

    fn new(rule_share: f32) -> Self {
        Score {
            families: [0.0; Family::ALL.len()],
            denied: false,
            rule_share,
        }
    }

    fn raise(&mut self, family: Family, weight: f32) {
        if let Some(s) = self.families.get_mut(family as usize) {
            *s = s.max(weight);
        }
    }

    fn merge(&mut self, other: &Score) {
        for (family, s) in Family::ALL.iter().zip(other.families) {
            self.raise(*family, s);
        }
        self.denied |= other.denied;
    }
}

/// Checks a configured deny or allow pattern: it must keep a letter or digit once normalised.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    let normalized = Normalizer::default().normalize(pattern.trim_end_matches('*'));
    if normalized.text.chars().any(char::is_alphanumeric) {
        Ok(())
    } else {
        Err("must contain a letter or digit".to_string())
    }
}

/// The compiled detector: lexicon, rules and the configured deny and allow patterns.
#[derive(Clone)]
pub struct Detector {
    lexicon: Lexicon,
    rules: Vec<Rule>,
    payload: Concept,
    deny: Concept,
    allow: Concept,
    longest_span: u32,
    model: Option<Model>,
}

/// Calls `emit` with every feature slot of `text`: hashed words and pairs, then indicators for
/// the rules that `fired`, the evasions used, hidden text and the length. Payloads are not
/// features: whether encoded content is an instruction is judged on its decoded text.
fn features_of(text: &Normalized, fired: u64, mut emit: impl FnMut(u32)) {
    features::words(&text.text, &mut emit);
    let base = features::INDICATOR as u32;
    for i in 0..64 {
        if fired & (1u64 << i) != 0 {
            emit(base + i);
        }
    }
    let e = text.evasions;
    for (i, used) in [e.homoglyphs, e.invisible, e.leet, e.spaced, e.compat]
        .into_iter()
        .enumerate()
    {
        if used > 0 {
            emit(base + 64 + i as u32);
        }
    }
    if !text.hidden.is_empty() {
        emit(base + 70);
    }
    emit(base + 72 + text.text.len().max(1).ilog2().min(24));
}

/// The runs of `source` that decode to text (a base64 image is not an instruction), and their
/// decoded forms.
fn decode_payloads(source: &str) -> (Vec<Candidate>, Vec<String>) {
    let mut decoded = Vec::new();
    let mut runs = payload_runs(source.as_bytes());
    runs.retain(|c| {
        let payload = source
            .get(c.range.clone())
            .and_then(|run| decode(c.kind, run));
        let keep = payload.is_some();
        decoded.extend(payload);
        keep
    });
    (runs, decoded)
}

/// Distinct feature slots, with a bitmap for membership.
struct FeatureSet {
    bits: Vec<u64>,
    slots: Vec<u32>,
}

impl Default for FeatureSet {
    fn default() -> Self {
        FeatureSet {
            bits: vec![0; features::DIM / 64],
            slots: Vec::with_capacity(256),
        }
    }
}

impl FeatureSet {
    fn insert(&mut self, slot: u32) {
        let (word, bit) = (slot as usize / 64, 1u64 << (slot % 64));
        if let Some(w) = self.bits.get_mut(word) {
            if *w & bit == 0 {
                *w |= bit;
                self.slots.push(slot);
            }
        }
    }

    fn slots(&self) -> &[u32] {
        &self.slots
    }
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("patterns", &self.lexicon.len())
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

/// Weight of a text that used evasions (lookalikes, spacing, leetspeak, invisible characters).
const EVASION_WEIGHT: f32 = 0.3;
/// Weight of an instruction spelled in ROT13, Atbash or backwards.
const ENCODED_SPELLING_WEIGHT: f32 = 0.6;
/// Weight of text smuggled in tag characters or variation selectors.
const HIDDEN_WEIGHT: f32 = 0.6;
/// Weight added for a decoded payload that scores on its own.
const DECODED_INSTRUCTION_WEIGHT: f32 = 0.5;

impl Detector {
    /// Compiles the built-in lexicon and rules with configured `deny` and `allow` patterns (lexicon
    /// atom syntax: normalised like the text; `word*` for a stem).
    pub fn build(deny: &[String], allow: &[String]) -> Result<Self, String> {
        for pattern in deny.iter().chain(allow) {
            check_pattern(pattern).map_err(|e| format!("pattern {pattern:?} {e}"))?;
        }
        let mut extra: Vec<(&str, &str)> = rules::SYNTHETIC.iter().map(|c| (*c, "")).collect();
        extra.extend(deny.iter().map(|p| ("deny", p.as_str())));
        extra.extend(allow.iter().map(|p| ("allow", p.as_str())));
        extra.push(("deny", ""));
        extra.push(("allow", ""));
        let lexicon = Lexicon::build(&extra)?;
        let rules = rules::compile(&lexicon)?;
        let concept = |name: &str| lexicon.concept(name).ok_or(format!("no concept `{name}`"));
        let (payload, deny, allow) = (concept("payload")?, concept("deny")?, concept("allow")?);
        let longest_span = rules.iter().map(Rule::span).max().unwrap_or(0);
        let model = Model::embedded()?;
        Ok(Detector {
            lexicon,
            rules,
            payload,
            deny,
            allow,
            longest_span,
            model,
        })
    }

    /// Scores `text` at `strictness`; `normalizer` is scratch space, reused between calls.
    pub fn score(&self, text: &str, strictness: Strictness, normalizer: &mut Normalizer) -> Score {
        let mut budget = DECODE_BUDGET;
        self.score_at(text, strictness, normalizer, 0, &mut budget)
    }

    fn score_at(
        &self,
        source: &str,
        strictness: Strictness,
        normalizer: &mut Normalizer,
        depth: u32,
        budget: &mut usize,
    ) -> Score {
        let (payloads, decoded) = decode_payloads(source);
        let text = normalizer.normalize_masking(source, payloads);
        let (mut score, fired) = self.score_hits(&text, strictness);
        let e = text.evasions;
        if e.homoglyphs + e.invisible + e.leet + e.spaced > 0 {
            score.raise(Family::Obfuscation, EVASION_WEIGHT);
        }
        if let Some(model) = &self.model {
            let mut seen = FeatureSet::default();
            features_of(&text, fired, |slot| seen.insert(slot));
            score.raise(Family::Learned, model.weight(seen.slots()));
        }
        if depth >= MAX_DEPTH {
            return score;
        }
        let mut nested = |inner: &str, score: &mut Score, budget: &mut usize| {
            if inner.len() > *budget {
                return;
            }
            *budget -= inner.len();
            let child = self.score_at(inner, strictness, normalizer, depth + 1, budget);
            if child.total() > 0.5 {
                score.raise(Family::Encoding, DECODED_INSTRUCTION_WEIGHT);
            }
            score.merge(&child);
        };
        if text.hidden.len() >= MIN_HIDDEN {
            score.raise(Family::Smuggling, HIDDEN_WEIGHT);
            nested(&text.hidden, &mut score, budget);
        }
        for payload in &decoded {
            nested(payload, &mut score, budget);
        }
        score
    }

    /// The model's features of `text` (sorted, distinct): what `tools/train_injection.py` learns from.
    pub fn features(&self, text: &str, strictness: Strictness) -> Vec<u32> {
        let (payloads, _) = decode_payloads(text);
        let text = Normalizer::default().normalize_masking(text, payloads);
        let (_, fired) = self.score_hits(&text, strictness);
        let mut seen = FeatureSet::default();
        features_of(&text, fired, |slot| seen.insert(slot));
        let mut slots = seen.slots().to_vec();
        slots.sort_unstable();
        slots
    }

    /// Runs the lexicon over the text and the rules over its hits, batch by batch; returns the
    /// score and the rules that fired (bit `i` for rule `i`).
    fn score_hits(&self, text: &Normalized, strictness: Strictness) -> (Score, u64) {
        let mut fired = 0u64;
        let mut score = Score::new(if self.model.is_some() {
            RULE_SHARE
        } else {
            1.0
        });
        let mut hits: Vec<Hit> = Vec::with_capacity(64);
        let mut pending_payloads = text.candidates.iter().map(|c| c.at).peekable();
        let mut allowed_until = 0u32;
        for hit in self.lexicon.hits(&text.text, &text.joined) {
            // Payload candidates enter the hit list where they sit in the text.
            while let Some(at) = pending_payloads.next_if(|&at| at <= hit.end as usize) {
                hits.push(self.payload_hit(at));
            }
            if hit.concept == self.allow {
                // Hits inside an allowed phrase are dropped, including those already collected.
                hits.retain(|h| h.start < hit.start);
                allowed_until = allowed_until.max(hit.end);
                continue;
            }
            if hit.start < allowed_until {
                continue;
            }
            if hit.concept == self.deny {
                score.denied = true;
                return (score, fired);
            }
            if hit.encoded {
                score.raise(Family::Obfuscation, ENCODED_SPELLING_WEIGHT);
            }
            hits.push(hit);
            if hits.len() >= BATCH {
                self.evaluate(&hits, strictness, &mut score, &mut fired);
                let keep_from = hit.end.saturating_sub(self.longest_span);
                hits.retain(|h| h.start >= keep_from);
            }
        }
        hits.extend(pending_payloads.map(|at| self.payload_hit(at)));
        self.evaluate(&hits, strictness, &mut score, &mut fired);
        (score, fired)
    }

    /// The synthetic hit of a payload that ends at `at` in the normalised text.
    fn payload_hit(&self, at: usize) -> Hit {
        let at = u32::try_from(at).unwrap_or(u32::MAX);
        Hit {
            concept: self.payload,
            start: at,
            end: at,
            encoded: false,
        }
    }

    fn evaluate(&self, hits: &[Hit], strictness: Strictness, score: &mut Score, fired: &mut u64) {
        for (i, rule) in self.rules.iter().enumerate() {
            let applies = rule.scope == Scope::All || strictness == Strictness::Strict;
            if applies && rule.fires(hits) {
                score.raise(rule.family, rule.weight);
                *fired |= 1u64.checked_shl(i as u32).unwrap_or(0);
            }
        }
    }
}

#[cfg(test)]
mod tests;
