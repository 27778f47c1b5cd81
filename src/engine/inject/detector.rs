//! The detector: normalised text → lexicon hits → rules → a score per family of signals.
//!
//! One pass of the normaliser and one pass over the tokens of its output per text (lexicon hits
//! and the model's features together); decoded payloads
//! and smuggled text are scanned the same way, recursively, within a depth and a byte budget.
//! Hits are evaluated in batches that overlap by the longest rule span, so that memory stays
//! bounded and no input is too long to score.

use super::decode::decode;
use super::features;
use super::lexicon::{Concept, Hit, Lexicon};
use super::model::Model;
use super::normalize::{Normalized, Normalizer};
use super::payload::{Candidate, payload_runs};
use super::rules::{self, Family, Rule, Scope};
use super::tokens::tokens;
use std::cell::Cell;

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

/// Calls `emit` with the indicator features of `text` (its words are read with the lexicon's):
/// the rules that `fired`, the evasions used, hidden text and the length.
fn indicators(text: &Normalized, fired: u64, mut emit: impl FnMut(u32)) {
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

/// Words in a feature set's bitmap: one bit per slot.
const SET_WORDS: usize = features::DIM / 64;

/// Distinct feature slots, with a bitmap for membership, and the sum of the model's weights of
/// the slots inserted.
struct FeatureSet {
    bits: Box<[u64; SET_WORDS]>,
    slots: Vec<u32>,
    sum: i32,
}

impl Default for FeatureSet {
    fn default() -> Self {
        FeatureSet {
            bits: Box::new([0; SET_WORDS]),
            slots: Vec::new(),
            sum: 0,
        }
    }
}

thread_local! {
    /// The feature set of the last scan, emptied: kept so that a scan does not allocate and zero
    /// its 8 KiB bitmap again. It holds at most the bitmap and one slot per feature (264 KiB).
    static SPARE: Cell<Option<FeatureSet>> = const { Cell::new(None) };
}

/// Runs `f` with an empty feature set, the spare one if no other scan holds it.
fn with_feature_set<R>(f: impl FnOnce(&mut FeatureSet) -> R) -> R {
    let mut set = SPARE
        .try_with(Cell::take)
        .ok()
        .flatten()
        .unwrap_or_default();
    let result = f(&mut set);
    set.clear();
    let _ = SPARE.try_with(|spare| spare.set(Some(set)));
    result
}

impl FeatureSet {
    /// Adds `slot` if it is new, and its weight in `weights` (the model's; empty without one).
    fn insert(&mut self, slot: u32, weights: &[u8]) {
        let word = (slot as usize / 64) % SET_WORDS;
        let bit = 1u64 << (slot % 64);
        if let Some(w) = self.bits.get_mut(word) {
            if *w & bit == 0 {
                *w |= bit;
                self.slots.push(slot);
                self.sum += weights
                    .get(slot as usize)
                    .map_or(0, |&w| i32::from(w as i8));
            }
        }
    }

    /// Empties the set, keeping its memory: only the words of the bitmap in use are zeroed.
    fn clear(&mut self) {
        for &slot in &self.slots {
            if let Some(w) = self.bits.get_mut((slot as usize / 64) % SET_WORDS) {
                *w = 0;
            }
        }
        self.slots.clear();
        self.sum = 0;
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
        let mut score = match &self.model {
            Some(model) => with_feature_set(|seen| {
                let mut score = self.read(&text, strictness, Some(seen));
                score.raise(Family::Learned, model.weight(seen.sum));
                score
            }),
            None => self.read(&text, strictness, None),
        };
        let e = text.evasions;
        if e.homoglyphs + e.invisible + e.leet + e.spaced > 0 {
            score.raise(Family::Obfuscation, EVASION_WEIGHT);
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
        let mut seen = FeatureSet::default();
        self.read(&text, strictness, Some(&mut seen));
        let mut slots = seen.slots;
        slots.sort_unstable();
        slots
    }

    /// Reads the tokens of `text` once: the lexicon's hits go to the rules, batch by batch, and
    /// the words to `seen` (the model's features) if given, then the indicators of the rules that
    /// fired. Returns the rules' score.
    fn read(
        &self,
        text: &Normalized,
        strictness: Strictness,
        mut seen: Option<&mut FeatureSet>,
    ) -> Score {
        let mut batch = Batch {
            detector: self,
            strictness,
            hits: Vec::with_capacity(64),
            payloads: &text.candidates,
            allowed_until: 0,
            score: Score::new(if self.model.is_some() {
                RULE_SHARE
            } else {
                1.0
            }),
            fired: 0,
        };
        let mut matcher = self.lexicon.matcher(&text.text, &text.joined);
        let mut words = features::Words::default();
        let weights = self.model.as_ref().map_or(&[][..], Model::weights);
        for token in tokens(&text.text) {
            if let Some(seen) = seen.as_deref_mut() {
                words.push(&token, |slot| seen.insert(slot, weights));
            }
            matcher.token(&token, |hit| batch.push(hit));
            if batch.score.denied {
                break;
            }
        }
        let (score, fired) = if batch.score.denied {
            (batch.score, batch.fired)
        } else {
            matcher.finish(|hit| batch.push(hit));
            batch.finish()
        };
        if let Some(seen) = seen {
            indicators(text, fired, |slot| seen.insert(slot, weights));
        }
        score
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
}

/// Hits on their way to the rules: payloads merged in where they sit, allowed phrases dropped,
/// evaluated in batches that overlap by the longest rule span.
struct Batch<'a> {
    detector: &'a Detector,
    strictness: Strictness,
    hits: Vec<Hit>,
    /// Payload candidates not merged yet.
    payloads: &'a [Candidate],
    allowed_until: u32,
    score: Score,
    fired: u64,
}

impl Batch<'_> {
    fn push(&mut self, hit: Hit) {
        if self.score.denied {
            return;
        }
        let d = self.detector;
        while let Some((first, rest)) = self.payloads.split_first() {
            if first.at > hit.end as usize {
                break;
            }
            self.hits.push(d.payload_hit(first.at));
            self.payloads = rest;
        }
        if hit.concept == d.allow {
            // Hits inside an allowed phrase are dropped, including those already collected.
            self.hits.retain(|h| h.start < hit.start);
            self.allowed_until = self.allowed_until.max(hit.end);
            return;
        }
        if hit.start < self.allowed_until {
            return;
        }
        if hit.concept == d.deny {
            self.score.denied = true;
            return;
        }
        if hit.encoded {
            self.score
                .raise(Family::Obfuscation, ENCODED_SPELLING_WEIGHT);
        }
        self.hits.push(hit);
        if self.hits.len() >= BATCH {
            self.evaluate();
            let keep_from = hit.end.saturating_sub(d.longest_span);
            self.hits.retain(|h| h.start >= keep_from);
        }
    }

    fn finish(mut self) -> (Score, u64) {
        let d = self.detector;
        let rest = std::mem::take(&mut self.payloads);
        self.hits.extend(rest.iter().map(|c| d.payload_hit(c.at)));
        self.evaluate();
        (self.score, self.fired)
    }

    fn evaluate(&mut self) {
        for (i, rule) in self.detector.rules.iter().enumerate() {
            let applies = rule.scope == Scope::All || self.strictness == Strictness::Strict;
            if applies && rule.fires(&self.hits) {
                self.score.raise(rule.family, rule.weight);
                self.fired |= 1u64.checked_shl(i as u32).unwrap_or(0);
            }
        }
    }
}

#[cfg(test)]
mod tests;
