//! From the raw configuration to the engine's policy: every value checked, defaults applied.

use super::ConfigError;
use super::raw::{RawApi, RawAuditMode, RawCheck, RawConfig, RawInjection, RawLimits, RawMode};
use crate::engine::api::ApiFormat;
use crate::engine::inject;
use crate::engine::policy::{AuditMode, Limits, Policy};
use crate::engine::route::{Route, default_routes, normalise_path};

/// Builds the policy from a parsed configuration.
pub fn compile(raw: RawConfig) -> Result<Policy, ConfigError> {
    let routes = match raw.routes {
        None => default_routes(),
        Some(routes) => {
            if routes.is_empty() {
                return Err(ConfigError::at(
                    "routes",
                    "must list at least one route (omit it for the defaults)",
                ));
            }
            routes
                .into_iter()
                .enumerate()
                .map(|(i, r)| {
                    if !r.path.starts_with('/') {
                        return Err(ConfigError::at(
                            format!("routes[{i}].path"),
                            "must start with `/`",
                        ));
                    }
                    Ok(Route {
                        path: normalise_path(&r.path),
                        format: api(r.api),
                        under_any_prefix: r.under_any_prefix,
                    })
                })
                .collect::<Result<_, _>>()?
        }
    };
    let quota = super::quota::compile(raw.quota)?;
    Ok(Policy {
        routes,
        limits: limits(&raw.limits)?,
        injection: injection(&raw.injection)?,
        hold_headers: raw.hold_headers.unwrap_or(true),
        redaction: super::redaction::compile(raw.redaction)?,
        tools: super::tools::compile(raw.tools, &quota.groups)?,
        quota,
        identity: super::identity::compile(raw.identity)?,
        audit: match raw.audit.mode {
            None | Some(RawAuditMode::Decisions) => AuditMode::Decisions,
            Some(RawAuditMode::All) => AuditMode::All,
            Some(RawAuditMode::Off) => AuditMode::Off,
        },
    })
}

fn injection(raw: &RawInjection) -> Result<inject::Settings, ConfigError> {
    let threshold = match raw.threshold {
        None => inject::DEFAULT_THRESHOLD,
        Some(t) if (0.1..=10.0).contains(&t) => t as f32,
        Some(_) => {
            return Err(ConfigError::at(
                "injection.threshold",
                "must be between 0.1 and 10",
            ));
        }
    };
    for (field, patterns) in [("deny", &raw.deny), ("allow", &raw.allow)] {
        for (i, pattern) in patterns.iter().enumerate() {
            inject::check_pattern(pattern)
                .map_err(|e| ConfigError::at(format!("injection.{field}[{i}]"), e))?;
        }
    }
    let detector = if raw.deny.is_empty() && raw.allow.is_empty() {
        inject::standard_detector()
    } else {
        let built = inject::Detector::build(&raw.deny, &raw.allow)
            .map_err(|e| ConfigError::at("injection", e))?;
        Some(std::sync::Arc::new(built))
    };
    let s = &raw.sources;
    let configured = [
        s.system,
        s.developer,
        s.user,
        s.assistant,
        s.tool_results,
        s.tool_arguments,
        s.tool_definitions,
    ];
    let mut checks = [None; 7];
    for ((slot, source), check) in checks.iter_mut().zip(inject::Source::ALL).zip(configured) {
        *slot = match check {
            None => source.default_check(),
            Some(RawCheck::Off) => None,
            Some(RawCheck::Standard) => Some(inject::Strictness::Standard),
            Some(RawCheck::Strict) => Some(inject::Strictness::Strict),
        };
    }
    let detector = detector
        .ok_or_else(|| ConfigError::at("injection", "the built-in detector failed to compile"))?;
    Ok(inject::Settings {
        mode: mode(raw.mode.unwrap_or(RawMode::Block)),
        threshold,
        checks,
        detector: Some(detector),
    })
}

fn api(raw: RawApi) -> ApiFormat {
    match raw {
        RawApi::OpenaiChat => ApiFormat::OpenAiChat,
        RawApi::OpenaiCompletions => ApiFormat::OpenAiCompletions,
        RawApi::OpenaiResponses => ApiFormat::OpenAiResponses,
        RawApi::AnthropicMessages => ApiFormat::AnthropicMessages,
    }
}

fn mode(raw: RawMode) -> inject::Mode {
    match raw {
        RawMode::Block => inject::Mode::Block,
        RawMode::Monitor => inject::Mode::Monitor,
        RawMode::Off => inject::Mode::Off,
    }
}

/// A bound within `min..=max`, or the default when absent.
fn bounded(
    value: Option<u64>,
    default: usize,
    min: u64,
    max: u64,
    path: &str,
) -> Result<usize, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) if (min..=max).contains(&v) => {
            usize::try_from(v).map_err(|_| ConfigError::at(path, "too large"))
        }
        Some(_) => Err(ConfigError::at(
            path,
            format!("must be between {min} and {max}"),
        )),
    }
}

fn limits(raw: &RawLimits) -> Result<Limits, ConfigError> {
    let d = Limits::default();
    const MIB: u64 = 1 << 20;
    Ok(Limits {
        max_request_bytes: bounded(
            raw.max_request_bytes,
            d.max_request_bytes,
            1024,
            64 * MIB,
            "limits.max_request_bytes",
        )?,
        max_response_bytes: bounded(
            raw.max_response_bytes,
            d.max_response_bytes,
            1024,
            64 * MIB,
            "limits.max_response_bytes",
        )?,
        max_json_depth: bounded(
            raw.max_json_depth,
            d.max_json_depth,
            8,
            512,
            "limits.max_json_depth",
        )?,
        max_event_bytes: bounded(
            raw.max_event_bytes,
            d.max_event_bytes,
            1024,
            16 * MIB,
            "limits.max_event_bytes",
        )?,
    })
}
