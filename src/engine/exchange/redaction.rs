//! Redaction in the exchange: request texts before they leave, JSON response texts, and streamed
//! deltas. The three differ only in how text is taken out and put back; the text itself always
//! goes through [`Redaction`].

use super::{Decision, Exchange};
use crate::engine::api::error::{ErrorKind, ErrorReply};
use crate::engine::api::response::ResponseView;
use crate::engine::api::{RequestView, Role, TextPiece};
use crate::engine::json::{self, Edits, Span, Value};
use crate::engine::policy::Policy;
use crate::engine::redact::{Blocked, Redaction, Side};

mod events;

use events::ChannelState;

/// The redaction state of one exchange.
#[derive(Debug, Default)]
pub(super) struct RedactState {
    redaction: Redaction,
    channels: Vec<ChannelState>,
    /// The stream was ended with an error event: nothing more is sent.
    pub(super) blocked: bool,
}

impl Exchange {
    fn note_redactions(&mut self) {
        for e in &self.redact.redaction.rewritten {
            let d = Decision {
                action: "redacted",
                kind: "sensitive_data",
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
            kind: "sensitive_data",
            category: entity.name(),
        });
        let message = format!("blocked by policy: sensitive data ({})", entity.name());
        self.reply(ErrorKind::Blocked, "llm_warden.sensitive_data", &message)
    }

    /// Masks request texts into `edits`; remembers the system prompt. `Err`: a `block` entity.
    pub(super) fn redact_request(
        &mut self,
        policy: &Policy,
        body: &[u8],
        root: &Value<'_>,
        view: &RequestView<'_>,
        edits: &mut Edits,
    ) -> Result<(), ErrorReply> {
        let settings = &policy.redaction;
        let system = view
            .texts
            .iter()
            .filter(|t| matches!(t.role, Role::System | Role::Developer))
            .map(|t| t.text);
        self.redact.redaction.system_prompt(settings, system);
        let redacted = self.redact_texts(
            policy,
            Side::Request,
            body,
            &view.texts,
            &tool_inputs(root),
            edits,
        );
        self.note_redactions();
        redacted.map_err(|blocked| self.blocked_reply(blocked))
    }

    /// Edits that redact `texts`. Structured tool inputs (`structured`: JSON objects, as Anthropic
    /// `input`) are scanned as the JSON text they are — as their streamed `partial_json` is — so
    /// that `{"password": "…"}` keeps its key; the strings inside them are then not scanned again.
    fn redact_texts(
        &mut self,
        policy: &Policy,
        side: Side,
        body: &[u8],
        texts: &[TextPiece<'_>],
        structured: &[Span],
        edits: &mut Edits,
    ) -> Result<(), Blocked> {
        let settings = &policy.redaction;
        let mut done = Vec::new();
        for span in structured {
            let Ok(raw) = std::str::from_utf8(span.of(body)) else {
                continue;
            };
            match self.redact.redaction.text(settings, side, raw)? {
                // A mask never breaks the JSON it sits in; should one ever do, the strings
                // inside are redacted one by one instead.
                Some(text)
                    if json::parse(text.as_bytes(), policy.limits.max_json_depth).is_ok() =>
                {
                    edits.replace(*span, text.into_bytes());
                    done.push(*span);
                }
                Some(_) => {}
                None => done.push(*span),
            }
        }
        for piece in texts {
            let inside = done
                .iter()
                .any(|s| s.start <= piece.span.start && piece.span.end <= s.end);
            if inside {
                continue;
            }
            if let Some(text) = self.redact.redaction.text(settings, side, piece.text)? {
                edits.replace_str(piece.span, &text);
            }
        }
        Ok(())
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
        let structured: Vec<Span> = view
            .tool_calls
            .iter()
            .filter(|c| c.arguments.as_str().is_none())
            .map(|c| c.arguments.span)
            .collect();
        let mut edits = Edits::new();
        self.redact_texts(
            policy,
            Side::Response,
            body,
            &view.texts,
            &structured,
            &mut edits,
        )
        .map_err(|blocked| self.blocked_reply(blocked))?;
        self.note_redactions();
        if edits.is_empty() {
            return Ok(None);
        }
        edits.apply(body).map(Some).map_err(|_| self.internal())
    }
}

/// The `input` objects of Anthropic `tool_use` blocks in a request's messages.
fn tool_inputs(root: &Value<'_>) -> Vec<Span> {
    let mut spans = Vec::new();
    for message in root
        .get("messages")
        .and_then(Value::as_array)
        .unwrap_or_default()
    {
        for block in message
            .get("content")
            .and_then(Value::as_array)
            .unwrap_or_default()
        {
            if block.get_str("type") == Some("tool_use") {
                if let Some(input) = block.get("input").filter(|i| i.as_str().is_none()) {
                    spans.push(input.span);
                }
            }
        }
    }
    spans
}

#[cfg(test)]
mod tests;
