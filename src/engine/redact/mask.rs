//! What happens to a finding: masked, partly kept, replaced by a stable pseudonym, blocking the
//! whole message, or allowed; and the rewriting of a text with its findings.

use super::entity::{BUILT_IN, Entity};
use super::rules::CustomEntity;
use super::scan::Finding;
use std::collections::HashMap;

/// The action for one entity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `[REDACTED_EMAIL]`.
    Mask,
    /// Keep the last four characters: `[REDACTED_CREDIT_CARD …1111]`.
    Partial,
    /// A token stable within the exchange: `<EMAIL_1>`.
    Pseudonym,
    /// Refuse the whole message (an error instead of the request or response).
    Block,
    /// Leave it.
    Allow,
}

/// An action per entity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionTable {
    built_in: [Action; BUILT_IN.len()],
    custom: Vec<Action>,
}

impl ActionTable {
    /// Every built-in entity set to `pick(entity)`; custom entities added with [`Self::push_custom`].
    pub fn new(pick: impl Fn(Entity) -> Action) -> Self {
        ActionTable {
            built_in: BUILT_IN.map(pick),
            custom: Vec::new(),
        }
    }

    /// Sets the action of a built-in entity.
    pub fn set(&mut self, entity: Entity, action: Action) {
        if let Some(i) = BUILT_IN.iter().position(|e| *e == entity) {
            if let Some(slot) = self.built_in.get_mut(i) {
                *slot = action;
            }
        }
    }

    /// Adds the action of the next custom entity.
    pub fn push_custom(&mut self, action: Action) {
        self.custom.push(action);
    }

    /// The action for `entity`; unknown entities are masked.
    pub fn get(&self, entity: Entity) -> Action {
        match entity {
            Entity::Custom(i) => self.custom.get(usize::from(i)).copied(),
            e => BUILT_IN
                .iter()
                .position(|b| *b == e)
                .and_then(|i| self.built_in.get(i).copied()),
        }
        .unwrap_or(Action::Mask)
    }

    /// Whether every entity is allowed (nothing to scan for).
    pub fn all_allowed(&self) -> bool {
        self.built_in
            .iter()
            .chain(&self.custom)
            .all(|a| *a == Action::Allow)
    }
}

/// Most distinct values given pseudonyms in one exchange; beyond it, values are masked.
pub const MAX_PSEUDONYMS: usize = 1024;

/// Per-exchange masking state: the pseudonyms handed out so far.
#[derive(Clone, Debug, Default)]
pub struct Masker {
    pseudonyms: HashMap<(Entity, String), u32>,
    counters: HashMap<Entity, u32>,
}

/// A finding whose action is `block`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blocked(pub Entity);

impl Masker {
    /// Appends to `out` the text `text` with `findings` (sorted, not overlapping, on character
    /// boundaries) rewritten by `actions`. `custom` names custom entities. A finding whose value
    /// is in `allow_values` (compared case-insensitively) stays. Returns the entities rewritten.
    pub fn apply(
        &mut self,
        text: &str,
        findings: &[Finding],
        actions: &ActionTable,
        allow_values: &[String],
        custom: &[CustomEntity],
        out: &mut String,
    ) -> Result<Vec<Entity>, Blocked> {
        let mut hit = Vec::new();
        let mut pos = 0;
        for f in findings {
            let Some(value) = text.get(f.start..f.end) else {
                continue;
            };
            let action = actions.get(f.entity);
            if action == Action::Allow || allow_values.iter().any(|a| a.eq_ignore_ascii_case(value))
            {
                continue;
            }
            if action == Action::Block {
                return Err(Blocked(f.entity));
            }
            out.push_str(text.get(pos..f.start).unwrap_or_default());
            pos = f.end;
            if !hit.contains(&f.entity) {
                hit.push(f.entity);
            }
            if f.quiet {
                continue;
            }
            let label = match f.entity {
                Entity::Custom(i) => custom
                    .get(usize::from(i))
                    .map_or("CUSTOM", |c| c.label.as_str()),
                e => e.label(),
            };
            match action {
                Action::Partial => {
                    let keep: String = value
                        .chars()
                        .rev()
                        .filter(|c| c.is_alphanumeric())
                        .take(4)
                        .collect();
                    let keep: String = keep.chars().rev().collect();
                    out.push_str(&format!("[REDACTED_{label} …{keep}]"));
                }
                Action::Pseudonym => match self.pseudonym(f.entity, value) {
                    Some(n) => out.push_str(&format!("<{label}_{n}>")),
                    None => out.push_str(&format!("[REDACTED_{label}]")),
                },
                _ => out.push_str(&format!("[REDACTED_{label}]")),
            }
        }
        out.push_str(text.get(pos..).unwrap_or_default());
        Ok(hit)
    }

    fn pseudonym(&mut self, entity: Entity, value: &str) -> Option<u32> {
        let key = (entity, normalise(entity, value));
        if let Some(n) = self.pseudonyms.get(&key) {
            return Some(*n);
        }
        if self.pseudonyms.len() >= MAX_PSEUDONYMS {
            return None;
        }
        let counter = self.counters.entry(entity).or_insert(0);
        *counter += 1;
        let n = *counter;
        self.pseudonyms.insert(key, n);
        Some(n)
    }
}

/// The form under which two spellings of one value share a pseudonym: e-mail case folded, numbers
/// without separators.
fn normalise(entity: Entity, value: &str) -> String {
    match entity {
        Entity::Email => value.to_ascii_lowercase(),
        Entity::Phone | Entity::CreditCard | Entity::UsSsn | Entity::Iban => value
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '+')
            .map(|c| c.to_ascii_uppercase())
            .collect(),
        _ => value.to_string(),
    }
}
