//! Prompt-injection and jailbreak detection over request texts.
//!
//! Texts are grouped by where they come from ([`Source`]); each group is joined and scanned once,
//! so an instruction split across messages is still seen. Scanning is [`normalize`] (undo
//! evasions) → [`tokens`] read once for the [`lexicon`] and the model's [`features`] → [`rules`] (weighted signals in families) →
//! a score compared with the threshold; payloads found encoded or smuggled are decoded
//! ([`decode`]) and scanned the same way. The README's "Prompt-injection detection" says why.

pub mod decode;
mod detector;
pub mod features;
mod fold;
mod fold_table;
pub mod lexicon;
mod model;
pub mod normalize;
pub mod payload;
mod phrases;
pub mod rules;
pub mod tokens;

pub use detector::{Detector, Score, Strictness, check_pattern};

use crate::engine::api::{Role, TextKind, TextPiece};
use normalize::Normalizer;
use std::sync::{Arc, OnceLock};

/// What to do when a request looks like an injection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Reject with 403.
    Block,
    /// Let it pass, but record the decision.
    Monitor,
    /// Do not scan.
    Off,
}

/// Where a text comes from, for the per-source policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// System prompts: the application's own instructions.
    System,
    /// OpenAI `developer` messages: the application's own instructions.
    Developer,
    /// End-user turns.
    User,
    /// Earlier model turns sent back in the request.
    Assistant,
    /// Tool and function results, and attached documents: third-party content.
    ToolResults,
    /// Arguments of tool calls the model made in earlier turns.
    ToolArguments,
    /// Descriptions of the tools the client declares.
    ToolDefinitions,
}

impl Source {
    /// Every source, in configuration order.
    pub const ALL: [Source; 7] = [
        Source::System,
        Source::Developer,
        Source::User,
        Source::Assistant,
        Source::ToolResults,
        Source::ToolArguments,
        Source::ToolDefinitions,
    ];

    /// The name used in configuration and audit records.
    pub fn name(self) -> &'static str {
        match self {
            Source::System => "system",
            Source::Developer => "developer",
            Source::User => "user",
            Source::Assistant => "assistant",
            Source::ToolResults => "tool_results",
            Source::ToolArguments => "tool_arguments",
            Source::ToolDefinitions => "tool_definitions",
        }
    }

    /// The source of a request text.
    pub fn of(piece: &TextPiece<'_>) -> Source {
        match (piece.kind, piece.role) {
            (TextKind::ToolResult | TextKind::Document, _) | (TextKind::Content, Role::Tool) => {
                Source::ToolResults
            }
            (TextKind::ToolArguments, _) => Source::ToolArguments,
            (TextKind::ToolDefinition, _) => Source::ToolDefinitions,
            (TextKind::Content, Role::System) => Source::System,
            (TextKind::Content, Role::Developer) => Source::Developer,
            (TextKind::Content, Role::User) => Source::User,
            (TextKind::Content, Role::Assistant) => Source::Assistant,
        }
    }

    /// How texts from this source are checked by default: the application's own instructions
    /// and the model's own turns are trusted, users are checked, third-party content strictly.
    pub fn default_check(self) -> Option<Strictness> {
        match self {
            Source::System | Source::Developer | Source::Assistant | Source::ToolArguments => None,
            Source::User | Source::ToolDefinitions => Some(Strictness::Standard),
            Source::ToolResults => Some(Strictness::Strict),
        }
    }
}

/// Compiled injection settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Block, monitor or off.
    pub mode: Mode,
    /// Score at or above which a text is an injection.
    pub threshold: f32,
    /// How each [`Source`] is checked (`None`: not scanned), indexed like [`Source::ALL`].
    pub checks: [Option<Strictness>; 7],
    /// The compiled detector; `None` only if the built-in lexicon failed to compile, and then
    /// every scanned request is treated as an injection (fail closed).
    pub detector: Option<Arc<Detector>>,
}

/// The default threshold: one strong signal, or two medium ones of different families.
pub const DEFAULT_THRESHOLD: f32 = 1.0;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            mode: Mode::Block,
            threshold: DEFAULT_THRESHOLD,
            checks: Source::ALL.map(Source::default_check),
            detector: standard_detector(),
        }
    }
}

/// The detector without configured patterns, compiled once per VM.
pub fn standard_detector() -> Option<Arc<Detector>> {
    static STANDARD: OnceLock<Option<Arc<Detector>>> = OnceLock::new();
    STANDARD
        .get_or_init(|| Detector::build(&[], &[]).ok().map(Arc::new))
        .clone()
}

/// A detection: which family of signals decided, on texts from which source.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// The family that contributed most (`instruction_override`, …), `deny_pattern` for a
    /// configured pattern, or `detector_unavailable`.
    pub category: &'static str,
    /// Where the texts came from.
    pub source: Source,
    /// The score (for audit records, never for the client).
    pub score: f32,
}

/// Scans the texts the settings cover; returns the strongest finding at or over the threshold.
pub fn scan(settings: &Settings, texts: &[TextPiece<'_>]) -> Option<Finding> {
    if settings.mode == Mode::Off {
        return None;
    }
    let mut normalizer = Normalizer::default();
    let mut best: Option<Finding> = None;
    for strictness in [Strictness::Standard, Strictness::Strict] {
        let mut joined = String::new();
        let mut source = None;
        for piece in texts {
            let s = Source::of(piece);
            if settings.checks.get(s as usize).copied().flatten() == Some(strictness) {
                if !joined.is_empty() {
                    joined.push_str("\n\n");
                }
                joined.push_str(piece.text);
                source.get_or_insert(s);
            }
        }
        let Some(source) = source else { continue };
        let Some(detector) = &settings.detector else {
            return Some(Finding {
                category: "detector_unavailable",
                source,
                score: f32::INFINITY,
            });
        };
        let score = detector.score(&joined, strictness, &mut normalizer);
        let total = score.total();
        if total >= settings.threshold && best.as_ref().is_none_or(|b| total > b.score) {
            let category = if score.denied {
                "deny_pattern"
            } else {
                score.top_family().map_or("injection", rules::Family::name)
            };
            best = Some(Finding {
                category,
                source,
                score: total,
            });
        }
    }
    best
}

#[cfg(test)]
mod tests;
