//! Prompt-injection detection over request texts.
//!
//! A first, deliberately small detector: a handful of instruction-override phrases matched on
//! lowercased text. It proves the block path end to end; the full detector replaces it.

use crate::engine::api::{Role, TextPiece};

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

/// Compiled injection settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Block, monitor or off.
    pub mode: Mode,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { mode: Mode::Block }
    }
}

/// A detection: which category fired, on which text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The family of signals (`instruction_override`, …).
    pub category: &'static str,
    /// Index of the text in the request view.
    pub text_index: usize,
}

const PHRASES: &[&str] = &[
    "ignore previous instructions",
    "ignore all previous instructions",
    "ignore the above instructions",
    "disregard previous instructions",
];

/// Scans the texts a policy covers; returns the first finding.
pub fn scan(settings: &Settings, texts: &[TextPiece<'_>]) -> Option<Finding> {
    if settings.mode == Mode::Off {
        return None;
    }
    texts.iter().enumerate().find_map(|(text_index, t)| {
        let scanned = matches!(t.role, Role::User | Role::Tool);
        let lower = t.text.to_lowercase();
        (scanned && PHRASES.iter().any(|p| lower.contains(p))).then_some(Finding {
            category: "instruction_override",
            text_index,
        })
    })
}
