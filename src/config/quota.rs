//! The `quota` section: raw serde types, and their compilation into [`quota::Settings`].

use super::ConfigError;
use crate::engine::quota::{
    self, Anonymous, Ceiling, Group, IdentitySettings, Limit, Mode, Settings, window::SLOTS,
};
use serde::Deserialize;
use std::collections::HashMap;

/// Token quotas and request cost guards.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawQuota {
    /// `enforce` (default), `monitor` (count and record, refuse nothing) or `off`.
    pub mode: Option<RawQuotaMode>,
    /// Where consumer identities come from.
    pub identity: RawIdentity,
    /// Limits for everyone not in a named group.
    pub default: RawLimits,
    /// Named groups with their own limits.
    pub groups: Vec<RawGroup>,
    /// Consumers tracked at once (rounded up to a multiple of 8).
    pub max_consumers: Option<u64>,
    /// Cut a stream whose output outgrows the consumer's budget, with an error event.
    pub cut_streams: Option<bool>,
}

/// Quota modes.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum RawQuotaMode {
    Enforce,
    Monitor,
    Off,
}

/// Identity sources, in order of precedence.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawIdentity {
    /// Trusted header naming the consumer (default none; `""` also means none).
    pub header: Option<String>,
    /// Whether the API key identifies the consumer (default true).
    pub api_key: Option<bool>,
    /// Whether the source address identifies the consumer (default true).
    pub source_address: Option<bool>,
    /// `shared` (default) or `reject` (401) for requests without an identity.
    pub anonymous: Option<RawAnonymous>,
    /// Trusted header naming the consumer's group.
    pub group_header: Option<String>,
    /// Key for the consumer-id hash (at least 16 characters); default: random per process.
    pub hash_key: Option<String>,
}

/// Anonymous policies.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum RawAnonymous {
    Shared,
    Reject,
}

/// A group's limits; absent fields inherit from `default` (and its from the built-in defaults).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLimits {
    /// Tokens per minute.
    pub tokens_per_minute: Option<u64>,
    /// Tokens per hour.
    pub tokens_per_hour: Option<u64>,
    /// Tokens per day.
    pub tokens_per_day: Option<u64>,
    /// Other windows: `{"seconds": 10, "tokens": 5000}`.
    pub windows: Option<Vec<RawWindow>>,
    /// Most messages per request.
    pub max_messages: Option<u64>,
    /// Largest output ceiling (`max_tokens`, …) per request.
    pub max_output_tokens: Option<u64>,
    /// `clamp` (default) or `reject` above `max_output_tokens`.
    pub output_tokens_over: Option<RawCeiling>,
    /// Output tokens reserved when a request sets no ceiling.
    pub default_output_tokens: Option<u64>,
    /// Models allowed; absent: any.
    pub models: Option<Vec<String>>,
    /// Separate counters per model.
    pub per_model: Option<bool>,
}

/// A window.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWindow {
    /// Length in seconds.
    pub seconds: u64,
    /// Tokens allowed per window.
    pub tokens: u64,
}

/// Ceiling actions.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum RawCeiling {
    Clamp,
    Reject,
}

/// A named group.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    /// The group's name.
    pub name: String,
    /// Header identities (`identity.header` values) in the group.
    #[serde(default)]
    pub consumers: Vec<String>,
    /// The group's limits.
    #[serde(default)]
    pub limits: RawLimits,
}

const MAX_WINDOWS: usize = 4;
const MAX_WINDOW_SECONDS: u64 = 31 * 86_400;

/// Compiles the `quota` section.
pub fn compile(raw: RawQuota) -> Result<Settings, ConfigError> {
    let d = Settings::default();
    let default = group("quota.default", "default", &raw.default, &Group::default())?;
    let mut groups = vec![default];
    let mut members = HashMap::new();
    for (i, g) in raw.groups.iter().enumerate() {
        let at = format!("quota.groups[{i}]");
        if g.name.is_empty() || groups.iter().any(|x| x.name == g.name) {
            return Err(ConfigError::at(
                format!("{at}.name"),
                format!("`{}` is empty or used twice", g.name),
            ));
        }
        let base = groups.first().cloned().unwrap_or_default();
        groups.push(group(&format!("{at}.limits"), &g.name, &g.limits, &base)?);
        for c in &g.consumers {
            if members.insert(c.clone(), i + 1).is_some() {
                return Err(ConfigError::at(
                    format!("{at}.consumers"),
                    format!("`{c}` is in more than one group"),
                ));
            }
        }
    }
    let max_consumers =
        raw.max_consumers
            .map_or(Ok(u64::from(quota::DEFAULT_MAX_CONSUMERS)), |v| {
                if (8..=1 << 20).contains(&v) {
                    Ok(v)
                } else {
                    Err(ConfigError::at(
                        "quota.max_consumers",
                        "must be between 8 and 1048576",
                    ))
                }
            })?;
    let id = raw.identity;
    let hash_key = match id.hash_key {
        Some(k) if k.len() < 16 => {
            return Err(ConfigError::at(
                "quota.identity.hash_key",
                "must be at least 16 characters",
            ));
        }
        k => k.map(String::into_bytes),
    };
    let di = IdentitySettings::default();
    Ok(Settings {
        mode: match raw.mode {
            None | Some(RawQuotaMode::Enforce) => Mode::Enforce,
            Some(RawQuotaMode::Monitor) => Mode::Monitor,
            Some(RawQuotaMode::Off) => Mode::Off,
        },
        identity: IdentitySettings {
            header: match id.header {
                None => di.header,
                Some(h) if h.is_empty() => None,
                Some(h) => Some(h.to_ascii_lowercase()),
            },
            api_key: id.api_key.unwrap_or(di.api_key),
            source_address: id.source_address.unwrap_or(di.source_address),
            anonymous: match id.anonymous {
                None | Some(RawAnonymous::Shared) => Anonymous::Shared,
                Some(RawAnonymous::Reject) => Anonymous::Reject,
            },
            group_header: id
                .group_header
                .filter(|h| !h.is_empty())
                .map(|h| h.to_ascii_lowercase()),
        },
        groups,
        members,
        shards: u32::try_from(max_consumers.div_ceil(SLOTS as u64)).unwrap_or(d.shards),
        cut_streams: raw.cut_streams.unwrap_or(d.cut_streams),
        hash_key,
    })
}

fn group(at: &str, name: &str, raw: &RawLimits, base: &Group) -> Result<Group, ConfigError> {
    let positive = |v: Option<u64>, field: &str, base: u64| match v {
        None => Ok(base),
        Some(0) => Err(ConfigError::at(
            format!("{at}.{field}"),
            "must be at least 1",
        )),
        Some(v) => Ok(v),
    };
    Ok(Group {
        name: name.to_string(),
        limits: limits(at, raw)?.unwrap_or_else(|| base.limits.clone()),
        max_messages: usize::try_from(positive(
            raw.max_messages,
            "max_messages",
            base.max_messages as u64,
        )?)
        .unwrap_or(usize::MAX),
        max_output_tokens: positive(
            raw.max_output_tokens,
            "max_output_tokens",
            base.max_output_tokens,
        )?,
        ceiling: match raw.output_tokens_over {
            None => base.ceiling,
            Some(RawCeiling::Clamp) => Ceiling::Clamp,
            Some(RawCeiling::Reject) => Ceiling::Reject,
        },
        default_output_tokens: positive(
            raw.default_output_tokens,
            "default_output_tokens",
            base.default_output_tokens,
        )?,
        models: raw.models.clone().or_else(|| base.models.clone()),
        per_model: raw.per_model.unwrap_or(base.per_model),
    })
}

/// The windows a group sets, longest last; `None` when it sets none.
fn limits(at: &str, raw: &RawLimits) -> Result<Option<Vec<Limit>>, ConfigError> {
    let named = [
        (raw.tokens_per_minute, 60, "tokens_per_minute"),
        (raw.tokens_per_hour, 3600, "tokens_per_hour"),
        (raw.tokens_per_day, 86_400, "tokens_per_day"),
    ];
    let mut out: Vec<(Limit, String)> = named
        .iter()
        .filter_map(|(t, s, f)| {
            t.map(|tokens| {
                (
                    Limit {
                        seconds: *s,
                        tokens,
                    },
                    format!("{at}.{f}"),
                )
            })
        })
        .collect();
    for (i, w) in raw.windows.iter().flatten().enumerate() {
        let path = format!("{at}.windows[{i}]");
        if !(1..=MAX_WINDOW_SECONDS).contains(&w.seconds) {
            return Err(ConfigError::at(
                format!("{path}.seconds"),
                format!("must be between 1 and {MAX_WINDOW_SECONDS}"),
            ));
        }
        out.push((
            Limit {
                seconds: w.seconds,
                tokens: w.tokens,
            },
            path,
        ));
    }
    if out.is_empty() {
        return Ok(None);
    }
    for (l, path) in &out {
        if l.tokens == 0 {
            return Err(ConfigError::at(path.clone(), "must allow at least 1 token"));
        }
        if out.iter().filter(|(x, _)| x.seconds == l.seconds).count() > 1 {
            return Err(ConfigError::at(
                path.clone(),
                format!("a second window of {} seconds", l.seconds),
            ));
        }
    }
    if out.len() > MAX_WINDOWS {
        return Err(ConfigError::at(
            at,
            format!("at most {MAX_WINDOWS} windows per group"),
        ));
    }
    let mut limits: Vec<Limit> = out.into_iter().map(|(l, _)| l).collect();
    limits.sort_by_key(|l| l.seconds);
    Ok(Some(limits))
}
