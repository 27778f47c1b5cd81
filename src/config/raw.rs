//! The configuration as written: serde types with defaults, unknown fields rejected.

use super::ConfigError;
use serde::Deserialize;

/// The whole plugin configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    /// LLM API routes; when absent, each format's canonical path under any prefix.
    pub routes: Option<Vec<RawRoute>>,
    /// Body and parsing bounds.
    pub limits: RawLimits,
    /// Prompt-injection detection.
    pub injection: RawInjection,
    /// Whether the host holds headers while the body is inspected (`false` for Istio's WasmPlugin,
    /// which cannot set Envoy's `allow_on_headers_stop_iteration`).
    pub hold_headers: Option<bool>,
    /// Data-leak prevention.
    pub redaction: super::redaction::RawRedaction,
    /// Token quotas and request cost guards.
    pub quota: super::quota::RawQuota,
    /// Audit records.
    pub audit: RawAudit,
    /// Tool allow-lists and tool-call checks.
    pub tools: super::tools::RawTools,
    /// Required and verified identities, and the client's provider keys.
    pub identity: super::identity::RawIdentity,
}

/// One route.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    /// Path of the endpoint, for example `/v1/chat/completions`.
    pub path: String,
    /// Format spoken there: `openai_chat`, `openai_completions`, `openai_responses`,
    /// `anthropic_messages`.
    pub api: RawApi,
    /// Whether the path also matches under any prefix (`/openai/v1/chat/completions`).
    #[serde(default = "yes")]
    pub under_any_prefix: bool,
}

fn yes() -> bool {
    true
}

/// API format names.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum RawApi {
    OpenaiChat,
    OpenaiCompletions,
    OpenaiResponses,
    AnthropicMessages,
}

/// Body and parsing bounds.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLimits {
    /// Largest request body inspected (bytes); larger bodies get 413.
    pub max_request_bytes: Option<u64>,
    /// Largest non-streamed response inspected (bytes); larger ones are replaced by a 502 error.
    pub max_response_bytes: Option<u64>,
    /// Deepest JSON nesting accepted.
    pub max_json_depth: Option<u64>,
    /// Largest single server-sent event (bytes).
    pub max_event_bytes: Option<u64>,
}

/// Prompt-injection detection.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawInjection {
    /// `block` (403), `monitor` (record only) or `off`.
    pub mode: Option<RawMode>,
    /// Score at or above which a request is an injection.
    pub threshold: Option<f64>,
    /// How texts of each source are checked.
    pub sources: RawSources,
    /// Phrases that make a request an injection on their own.
    pub deny: Vec<String>,
    /// Phrases whose words never count as signals (an application's own wording).
    pub allow: Vec<String>,
}

/// Per-source checks; absent means the source's default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[allow(missing_docs)]
pub struct RawSources {
    pub system: Option<RawCheck>,
    pub developer: Option<RawCheck>,
    pub user: Option<RawCheck>,
    pub assistant: Option<RawCheck>,
    pub tool_results: Option<RawCheck>,
    pub tool_arguments: Option<RawCheck>,
    pub tool_definitions: Option<RawCheck>,
}

/// How strictly one source is checked.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum RawCheck {
    Off,
    Standard,
    Strict,
}

/// Audit records.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAudit {
    /// `decisions` (default), `all` or `off`.
    pub mode: Option<RawAuditMode>,
}

/// Which exchanges get an audit record.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum RawAuditMode {
    Decisions,
    All,
    Off,
}

/// Enforcement modes.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum RawMode {
    Block,
    Monitor,
    Off,
}

/// Parses the configuration; empty or whitespace-only input means `{}`.
pub fn parse(bytes: &[u8]) -> Result<RawConfig, ConfigError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ConfigError::at("", "configuration is not valid UTF-8"))?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(RawConfig::default());
    }
    if !trimmed.starts_with('{') {
        return Err(ConfigError::at("", "configuration must be a JSON object"));
    }
    let mut de = serde_json::Deserializer::from_str(trimmed);
    let raw = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "?" || path == "." {
            String::new()
        } else {
            path
        };
        ConfigError::at(path, without_position(&e.inner().to_string()))
    })?;
    de.end()
        .map_err(|e| ConfigError::at("", without_position(&e.to_string())))?;
    Ok(raw)
}

/// serde_json appends ` at line L column C`; the JSON path says more.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message.get(..i).unwrap_or(message).to_string(),
        None => message.to_string(),
    }
}
