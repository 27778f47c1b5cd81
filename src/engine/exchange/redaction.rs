//! Redaction in the exchange: request texts before they leave, JSON response texts, and streamed
//! deltas. The three differ only in how text is taken out and put back; the text itself always
//! goes through [`Redaction`].

use super::{Decision, Exchange, RequestAction};
use crate::engine::api::error::{ErrorKind, ErrorReply};
use crate::engine::api::response::ResponseView;
use crate::engine::api::{RequestView, Role};
use crate::engine::json::{self, Edits};
use crate::engine::policy::Policy;
use crate::engine::redact::{Blocked, Redaction, Side};

mod events;

use events::ChannelState;

/// The redaction state of one exchange.
#[derive(Debug, Default)]
pub(super) struct RedactState {
    redaction: Redaction,
    channels: Vec<ChannelState>,
    blocked: bool,
}

impl Exchange {
    fn note_redactions(&mut self) {
        for e in &self.redact.redaction.rewritten {
            let d = Decision {
                action: "redacted",
                category: e.name(),
            };
            if !self.decisions.contains(&d) {
                self.decisions.push(d);
            }
        }
    }

    fn blocked_reply(&mut self, Blocked(entity): Blocked) -> ErrorReply {
        self.decisions.push(Decision {
            action: "blocked",
            category: entity.name(),
        });
        let message = format!("blocked by policy: sensitive data ({})", entity.name());
        self.reply(ErrorKind::Blocked, "llm_warden.sensitive_data", &message)
    }

    /// Masks request texts; remembers the system prompt. `None`: forward as is.
    pub(super) fn redact_request(
        &mut self,
        policy: &Policy,
        body: &[u8],
        view: &RequestView<'_>,
    ) -> Option<RequestAction> {
        let settings = &policy.redaction;
        let system = view
            .texts
            .iter()
            .filter(|t| matches!(t.role, Role::System | Role::Developer))
            .map(|t| t.text);
        self.redact.redaction.system_prompt(settings, system);
        let mut edits = Edits::new();
        for piece in &view.texts {
            match self
                .redact
                .redaction
                .text(settings, Side::Request, piece.text)
            {
                Ok(Some(text)) => edits.replace_str(piece.span, &text),
                Ok(None) => {}
                Err(blocked) => return Some(RequestAction::Reply(self.blocked_reply(blocked))),
            }
        }
        self.note_redactions();
        if edits.is_empty() {
            return None;
        }
        Some(match edits.apply(body) {
            Ok(bytes) => RequestAction::Forward(Some(bytes)),
            Err(_) => RequestAction::Reply(self.internal()),
        })
    }

    fn internal(&self) -> ErrorReply {
        self.reply(
            ErrorKind::Internal,
            "llm_warden.internal_error",
            "the security filter failed",
        )
    }

    /// Masks the texts of a JSON response body.
    pub(super) fn redact_response(
        &mut self,
        policy: &Policy,
        body: &[u8],
        view: &ResponseView<'_>,
    ) -> Result<Option<Vec<u8>>, ErrorReply> {
        let mut edits = Edits::new();
        // Structured tool inputs (Anthropic `input` objects) are scanned as the JSON text they
        // are, as their streamed `partial_json` is, so that `{"password": "…"}` keeps its key.
        let mut structured = Vec::new();
        for call in view
            .tool_calls
            .iter()
            .filter(|c| c.arguments.as_str().is_none())
        {
            let span = call.arguments.span;
            let Ok(raw) = std::str::from_utf8(span.of(body)) else {
                continue;
            };
            match self
                .redact
                .redaction
                .text(&policy.redaction, Side::Response, raw)
            {
                Ok(Some(text)) => {
                    // A mask never breaks the JSON it sits in; should one ever do, the strings
                    // inside are redacted one by one instead.
                    if json::parse(text.as_bytes(), policy.limits.max_json_depth).is_ok() {
                        edits.replace(span, text.into_bytes());
                        structured.push(span);
                    }
                }
                Ok(None) => structured.push(span),
                Err(blocked) => return Err(self.blocked_reply(blocked)),
            }
        }
        for piece in &view.texts {
            let inside = structured
                .iter()
                .any(|s| s.start <= piece.span.start && piece.span.end <= s.end);
            if inside {
                continue;
            }
            match self
                .redact
                .redaction
                .text(&policy.redaction, Side::Response, piece.text)
            {
                Ok(Some(text)) => edits.replace_str(piece.span, &text),
                Ok(None) => {}
                Err(blocked) => return Err(self.blocked_reply(blocked)),
            }
        }
        self.note_redactions();
        if edits.is_empty() {
            return Ok(None);
        }
        edits.apply(body).map(Some).map_err(|_| self.internal())
    }
}

#[cfg(test)]
mod tests;
