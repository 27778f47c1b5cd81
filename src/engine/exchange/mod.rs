//! One request/response exchange, from the engine's side: the filter hands it headers and bodies
//! and gets back what to forward, what to rewrite, or what to answer instead.

mod audit;
mod headers;
mod identity;
mod quota;
mod redaction;
mod response;
mod tools;

pub use headers::{
    HeadDecision, Headers, header, header_values, is_event_stream, is_json, on_request_head,
};
pub use quota::Settled;
pub use response::{ResponseHead, StreamOutput};

use crate::engine::api::error::{ErrorKind, ErrorReply};
use crate::engine::api::stream::UsageUpdate;
use crate::engine::api::{ApiFormat, RequestView};
use crate::engine::inject;
use crate::engine::json;
use crate::engine::policy::Policy;
use crate::engine::quota::Meter;
use response::ResponseState;

/// What to do with a request body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestAction {
    /// Forward it, replaced by the given bytes when `Some`.
    Forward(Option<Vec<u8>>),
    /// Answer with this instead of forwarding.
    Reply(ErrorReply),
}

/// A decision worth recording: a block, a monitor hit, a redaction, a quota refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// `blocked`, `monitored`, `redacted`, `rejected`, `stripped`.
    pub action: &'static str,
    /// Which protection decided: `prompt_injection`, `sensitive_data`, `quota` or `tool_policy`.
    pub kind: &'static str,
    /// What it found: a family of injection signals, an entity, a quota limit or guard.
    pub category: &'static str,
}

/// The engine's state for one exchange.
#[derive(Debug)]
pub struct Exchange {
    /// The API format of the route.
    pub format: ApiFormat,
    /// The request's `x-request-id`.
    pub request_id: Option<String>,
    /// The requested model.
    pub model: Option<String>,
    /// Whether the client asked for a stream.
    pub stream: bool,
    /// Decisions taken so far.
    pub decisions: Vec<Decision>,
    /// Usage reported by the response so far.
    pub usage: UsageUpdate,
    /// Token-quota accounting.
    pub quota: Meter,
    response: ResponseState,
    redact: redaction::RedactState,
    tool_calls: crate::engine::tools::stream::StreamCalls,
    /// The identity a filter before this one verified.
    pub verified: crate::engine::identity::Verified,
}

impl Exchange {
    /// A new exchange on a route of `format`.
    pub fn new(format: ApiFormat, request_id: Option<String>) -> Self {
        Exchange {
            format,
            request_id,
            model: None,
            stream: false,
            decisions: Vec::new(),
            usage: UsageUpdate::default(),
            quota: Meter::default(),
            response: ResponseState::PassThrough,
            redact: redaction::RedactState::default(),
            tool_calls: Default::default(),
            verified: Default::default(),
        }
    }

    /// An error reply in this exchange's dialect.
    pub fn reply(&self, kind: ErrorKind, code: &str, message: &str) -> ErrorReply {
        headers::reply(
            self.format.provider(),
            kind,
            code,
            message,
            self.request_id.as_deref(),
        )
    }

    /// The reply for a request body over `max_request_bytes`.
    pub fn request_too_large(&self, policy: &Policy) -> ErrorReply {
        let message = format!(
            "request body exceeds the {} byte limit",
            policy.limits.max_request_bytes
        );
        self.reply(
            ErrorKind::TooLarge,
            "llm_warden.request_too_large",
            &message,
        )
    }

    /// The reply for a request without a body.
    pub fn missing_body(&self) -> ErrorReply {
        self.reply(
            ErrorKind::InvalidRequest,
            "llm_warden.invalid_request",
            "request body is required",
        )
    }

    /// Inspects the complete request body.
    pub fn on_request_body(&mut self, policy: &Policy, body: &[u8]) -> RequestAction {
        let invalid = |this: &Self, message: &str| {
            RequestAction::Reply(this.reply(
                ErrorKind::InvalidRequest,
                "llm_warden.invalid_request",
                message,
            ))
        };
        let root = match json::parse(body, policy.limits.max_json_depth) {
            Ok(root) => root,
            Err(e) => return invalid(self, &format!("request body is not valid JSON: {e}")),
        };
        let view = match RequestView::parse(self.format, &root) {
            Ok(view) => view,
            Err(e) => return invalid(self, &e.0),
        };
        self.model = view.model.map(str::to_string);
        self.stream = view.stream;
        if let Some(finding) = inject::scan(&policy.injection, &view.texts) {
            let blocked = policy.injection.mode == inject::Mode::Block;
            self.decisions.push(Decision {
                action: if blocked { "blocked" } else { "monitored" },
                kind: "prompt_injection",
                category: finding.category,
            });
            if blocked {
                let message = format!(
                    "request blocked by policy: prompt_injection ({})",
                    finding.category
                );
                return RequestAction::Reply(self.reply(
                    ErrorKind::Blocked,
                    "llm_warden.prompt_injection",
                    &message,
                ));
            }
        }
        // One set of edits for the body: masked texts, then the quota's clamps and stream options.
        // Redaction first: it may still refuse the request, and the quota reserves budget.
        let mut edits = json::Edits::new();
        if let Err(reply) = self.redact_request(policy, body, &root, &view, &mut edits) {
            return RequestAction::Reply(reply);
        }
        if let Err(reply) = self.quota_request(policy, &view, &root, &mut edits) {
            return RequestAction::Reply(reply);
        }
        if let Err(reply) = self.tools_request(policy, &view, &mut edits) {
            return RequestAction::Reply(reply);
        }
        if edits.is_empty() {
            return RequestAction::Forward(None);
        }
        match edits.apply(body) {
            Ok(rewritten) => RequestAction::Forward(Some(rewritten)),
            Err(_) => RequestAction::Reply(self.reply(
                ErrorKind::Internal,
                "llm_warden.internal_error",
                "the security filter failed",
            )),
        }
    }
}

#[cfg(test)]
mod tests;
