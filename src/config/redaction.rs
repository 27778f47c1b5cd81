//! The `redaction` section: actions per entity and direction, allowed values, canaries, link
//! hosts, system-prompt leak detection and custom entities.

use super::ConfigError;
use crate::engine::redact::{
    Action, ActionTable, CustomEntity, Entity, Rules, Settings, Validator, entity::BUILT_IN,
    scan::is_token_byte,
};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Data-leak prevention, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRedaction {
    /// Actions on request texts, by entity name or group (`all`, `pii`, `secrets`).
    pub request: BTreeMap<String, RawAction>,
    /// Actions on response texts, by entity name or group.
    pub response: BTreeMap<String, RawAction>,
    /// Values that always pass (the company's own support address).
    pub allow_values: Vec<String>,
    /// Canary strings planted in prompts or documents; seeing one in a response is a leak.
    pub canaries: Vec<String>,
    /// Hosts that links and images in responses may send data to (`*.example.com` for subdomains).
    pub link_hosts: Vec<String>,
    /// Words in a row repeated from the request's system prompt that make a leak (0: off).
    pub system_prompt_min_words: Option<u64>,
    /// Custom entities.
    pub custom: Vec<RawCustom>,
}

/// A custom entity.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCustom {
    /// Name: letters, digits and `_`, at most 32.
    pub name: String,
    /// Pattern (regex-lite syntax), matched within single tokens.
    pub pattern: String,
    /// `luhn` or `mod97`.
    pub validator: Option<RawValidator>,
    /// Action on requests (default `allow`).
    pub request: Option<RawAction>,
    /// Action on responses (default `mask`).
    pub response: Option<RawAction>,
}

/// Actions.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum RawAction {
    Mask,
    Partial,
    Pseudonym,
    Block,
    Allow,
}

/// Validators.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum RawValidator {
    Luhn,
    Mod97,
}

fn action(raw: RawAction) -> Action {
    match raw {
        RawAction::Mask => Action::Mask,
        RawAction::Partial => Action::Partial,
        RawAction::Pseudonym => Action::Pseudonym,
        RawAction::Block => Action::Block,
        RawAction::Allow => Action::Allow,
    }
}

/// A group name and its membership test.
type Group = (&'static str, fn(Entity) -> bool);

/// Applies `raw` to `table`: groups first, then single entities.
fn actions(
    table: &mut ActionTable,
    raw: &BTreeMap<String, RawAction>,
    path: &str,
) -> Result<(), ConfigError> {
    let groups: [Group; 3] = [
        ("all", |e| e.is_pii() || e.is_secret()),
        ("pii", Entity::is_pii),
        ("secrets", Entity::is_secret),
    ];
    for (name, member) in groups {
        if let Some(a) = raw.get(name) {
            for e in BUILT_IN.into_iter().filter(|e| member(*e)) {
                table.set(e, action(*a));
            }
        }
    }
    for (name, a) in raw {
        if groups.iter().any(|(g, _)| g == name) {
            continue;
        }
        let entity = Entity::from_name(name).ok_or_else(|| {
            ConfigError::at(format!("{path}.{name}"), format!("unknown entity `{name}`"))
        })?;
        table.set(entity, action(*a));
    }
    Ok(())
}

const MAX_LIST: usize = 256;

fn list(
    values: Vec<String>,
    path: &str,
    check: impl Fn(&str) -> Option<&'static str>,
) -> Result<Vec<String>, ConfigError> {
    if values.len() > MAX_LIST {
        return Err(ConfigError::at(path, format!("at most {MAX_LIST} entries")));
    }
    for (i, v) in values.iter().enumerate() {
        if let Some(problem) = check(v) {
            return Err(ConfigError::at(format!("{path}[{i}]"), problem));
        }
    }
    Ok(values)
}

/// Builds the redaction settings; `{}` gives the secure defaults.
pub fn compile(raw: RawRedaction) -> Result<Settings, ConfigError> {
    let mut settings = Settings::default();
    actions(&mut settings.request, &raw.request, "redaction.request")?;
    actions(&mut settings.response, &raw.response, "redaction.response")?;
    settings.allow_values = list(raw.allow_values, "redaction.allow_values", |v| {
        v.is_empty().then_some("must not be empty")
    })?;
    let canaries = list(raw.canaries, "redaction.canaries", |v| {
        let token = v.bytes().all(is_token_byte);
        (!(8..=128).contains(&v.len()) || !token)
            .then_some("must be 8 to 128 letters, digits or `_-+/.~%`")
    })?;
    let link_hosts = list(raw.link_hosts, "redaction.link_hosts", |v| {
        let ok = !v.is_empty()
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.*".contains(&b));
        (!ok).then_some("must be a host name, or `*.` and a domain")
    })?;
    settings.prompt_leak_words = match raw.system_prompt_min_words {
        None => settings.prompt_leak_words,
        Some(0) => 0,
        Some(n @ 8..=1000) => usize::try_from(n).unwrap_or(1000),
        Some(_) => {
            return Err(ConfigError::at(
                "redaction.system_prompt_min_words",
                "must be 0 (off) or between 8 and 1000",
            ));
        }
    };
    let mut custom = Vec::new();
    if raw.custom.len() > 32 {
        return Err(ConfigError::at(
            "redaction.custom",
            "at most 32 custom entities",
        ));
    }
    for (i, c) in raw.custom.into_iter().enumerate() {
        let path = format!("redaction.custom[{i}]");
        let name_ok = (1..=32).contains(&c.name.len())
            && c.name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !name_ok {
            return Err(ConfigError::at(
                format!("{path}.name"),
                "must be 1 to 32 letters, digits or `_`",
            ));
        }
        let pattern = regex_lite::RegexBuilder::new(&c.pattern)
            .size_limit(1 << 16)
            .nest_limit(16)
            .build()
            .map_err(|e| ConfigError::at(format!("{path}.pattern"), e.to_string()))?;
        if pattern.is_match("") {
            return Err(ConfigError::at(
                format!("{path}.pattern"),
                "must not match the empty string",
            ));
        }
        settings
            .request
            .push_custom(action(c.request.unwrap_or(RawAction::Allow)));
        settings
            .response
            .push_custom(action(c.response.unwrap_or(RawAction::Mask)));
        custom.push(CustomEntity {
            label: c.name.to_ascii_uppercase(),
            pattern,
            validator: c.validator.map(|v| match v {
                RawValidator::Luhn => Validator::Luhn,
                RawValidator::Mod97 => Validator::Mod97,
            }),
        });
    }
    settings.rules = Rules {
        canaries,
        link_hosts: link_hosts
            .into_iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
        custom,
    };
    Ok(settings)
}
