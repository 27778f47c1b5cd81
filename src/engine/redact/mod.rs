//! Data-leak prevention: recognising personal data, credentials, canaries, system-prompt leaks
//! and exfiltration links in text, and masking them — in whole texts and in streamed text, with
//! the same result however a stream is cut.
//!
//! [`scan`] finds values in one pass; [`mask`] rewrites them by action; [`stream`] holds back
//! the least text needed to do the same on a stream. The exchange feeds request texts, JSON
//! response texts and streamed deltas through [`Redaction`], one code path for all three.

pub mod entity;
pub mod leak;
pub mod mask;
pub mod recognise;
pub mod rules;
pub mod scan;
pub mod stream;
pub mod validate;

pub use entity::Entity;
pub use mask::{Action, ActionTable, Blocked, Masker};
pub use rules::{CustomEntity, Rules, Validator};
pub use stream::StreamText;

use leak::PromptPrint;
use scan::{Finding, Scan, ScanState};
use std::borrow::Cow;

/// Compiled redaction settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Actions on request texts (default: credentials masked, the rest allowed).
    pub request: ActionTable,
    /// Actions on response texts (default: everything masked, canaries and system-prompt leaks
    /// blocked).
    pub response: ActionTable,
    /// Values that pass whatever they are (compared case-insensitively).
    pub allow_values: Vec<String>,
    /// Canaries, link allow-list, custom entities.
    pub rules: Rules,
    /// Words in a row repeated from the system prompt that make a leak; 0 turns detection off.
    pub prompt_leak_words: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            request: ActionTable::new(|e| {
                if e.is_secret() {
                    Action::Mask
                } else {
                    Action::Allow
                }
            }),
            response: ActionTable::new(|e| match e {
                Entity::Canary | Entity::SystemPrompt => Action::Block,
                _ => Action::Mask,
            }),
            allow_values: Vec::new(),
            rules: Rules::default(),
            prompt_leak_words: 20,
        }
    }
}

/// Which way text flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Client to provider.
    Request,
    /// Provider to client.
    Response,
}

/// One exchange's redaction state: pseudonyms and the system prompt's fingerprint.
#[derive(Clone, Debug, Default)]
pub struct Redaction {
    masker: Masker,
    prompt: Option<PromptPrint>,
    /// Entities rewritten so far (names only, never values).
    pub rewritten: Vec<Entity>,
}

/// The outcome of redacting a text: `None` when it is unchanged.
pub type Rewrite = Result<Option<String>, Blocked>;

impl Redaction {
    /// Remembers the request's system texts, for leak detection in the response.
    pub fn system_prompt<'a>(&mut self, settings: &Settings, texts: impl Iterator<Item = &'a str>) {
        self.prompt = PromptPrint::new(texts, settings.prompt_leak_words);
    }

    fn actions(settings: &Settings, side: Side) -> &ActionTable {
        match side {
            Side::Request => &settings.request,
            Side::Response => &settings.response,
        }
    }

    fn scan_cx<'a>(&'a self, settings: &'a Settings, side: Side) -> Scan<'a> {
        Scan {
            rules: &settings.rules,
            prompt: self.prompt.as_ref().filter(|_| side == Side::Response),
        }
    }

    /// Redacts a whole text.
    pub fn text(&mut self, settings: &Settings, side: Side, text: &str) -> Rewrite {
        let actions = Self::actions(settings, side);
        if actions.all_allowed() {
            return Ok(None);
        }
        let mut findings = Vec::new();
        let cx = self.scan_cx(settings, side);
        scan::scan(
            &cx,
            text.as_bytes(),
            0,
            true,
            &mut ScanState::default(),
            &mut findings,
        );
        self.rewrite(settings, side, text, &findings)
    }

    fn rewrite(
        &mut self,
        settings: &Settings,
        side: Side,
        text: &str,
        findings: &[Finding],
    ) -> Rewrite {
        rewrite(
            &mut self.masker,
            &mut self.rewritten,
            settings,
            side,
            text,
            findings,
        )
    }

    /// Redacts the next piece of a streamed response text; returns the text to send now (the
    /// rest is held back in `stream`), borrowed from `stream` when nothing in it is rewritten.
    pub fn stream<'s>(
        &mut self,
        settings: &Settings,
        stream: &'s mut StreamText,
        piece: &str,
        last: bool,
    ) -> Result<Cow<'s, str>, Blocked> {
        let cx = Scan {
            rules: &settings.rules,
            prompt: self.prompt.as_ref(),
        };
        let ready = stream.push(&cx, piece, last);
        let rewritten = rewrite(
            &mut self.masker,
            &mut self.rewritten,
            settings,
            Side::Response,
            ready.text,
            ready.findings,
        )?;
        Ok(rewritten.map_or(Cow::Borrowed(ready.text), Cow::Owned))
    }
}

/// Rewrites `text` with its findings; records the entities rewritten.
fn rewrite(
    masker: &mut Masker,
    rewritten: &mut Vec<Entity>,
    settings: &Settings,
    side: Side,
    text: &str,
    findings: &[Finding],
) -> Rewrite {
    if findings.is_empty() {
        return Ok(None);
    }
    let mut out = String::with_capacity(text.len() + 32);
    let hit = masker.apply(
        text,
        findings,
        Redaction::actions(settings, side),
        &settings.allow_values,
        &settings.rules.custom,
        &mut out,
    )?;
    if hit.is_empty() {
        return Ok(None);
    }
    for e in hit {
        if !rewritten.contains(&e) {
            rewritten.push(e);
        }
    }
    Ok(Some(out))
}
