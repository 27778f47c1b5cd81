//! The compiled policy: everything the configuration decides, checked and ready at request time.

use super::identity;
use super::inject;
use super::quota;
use super::redact;
use super::route::{Route, default_routes};
use super::tools;

/// Size and shape bounds on what the filter buffers and parses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body inspected; larger bodies are answered with 413.
    pub max_request_bytes: usize,
    /// Largest non-streamed response body inspected; larger ones are replaced by a 502 error.
    pub max_response_bytes: usize,
    /// Deepest JSON nesting accepted.
    pub max_json_depth: usize,
    /// Largest single server-sent event; a larger one ends the stream with an error event.
    pub max_event_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_bytes: 1 << 20,
            max_response_bytes: 4 << 20,
            max_json_depth: 64,
            max_event_bytes: 256 << 10,
        }
    }
}

/// Which exchanges get an audit record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditMode {
    /// Those with a decision: a block, a redaction, a monitor hit, a quota refusal.
    Decisions,
    /// Every inspected exchange.
    All,
    /// None.
    Off,
}

/// The whole compiled policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// LLM API routes; other paths pass untouched.
    pub routes: Vec<Route>,
    /// Buffering and parsing bounds.
    pub limits: Limits,
    /// Prompt-injection detection.
    pub injection: inject::Settings,
    /// Hold request headers until the body is inspected, and JSON response headers until the
    /// body is; `false` where the host cannot (the upstream then sees the request headers first,
    /// and a response can no longer change its status once its body is judged).
    pub hold_headers: bool,
    /// Data-leak prevention.
    pub redaction: redact::Settings,
    /// Token quotas and request cost guards.
    pub quota: quota::Settings,
    /// Which exchanges get an audit record.
    pub audit: AuditMode,
    /// Tool allow-lists and tool-call checks.
    pub tools: tools::Settings,
    /// Required and verified identities, and the client's provider keys.
    pub identity: identity::Settings,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            routes: default_routes(),
            limits: Limits::default(),
            injection: inject::Settings::default(),
            hold_headers: true,
            redaction: redact::Settings::default(),
            quota: quota::Settings::default(),
            audit: AuditMode::Decisions,
            tools: tools::Settings::default(),
            identity: identity::Settings::default(),
        }
    }
}
