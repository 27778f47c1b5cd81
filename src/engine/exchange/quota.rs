//! The exchange's side of token quotas: identity at the headers, guards and the reservation at the
//! body, the stream hook, and the one settlement. The logic is in [`crate::engine::quota`].

use super::{Decision, Exchange, Headers};
use crate::engine::api::RequestView;
use crate::engine::api::error::{ErrorInfo, ErrorKind, ErrorReply, error_json};
use crate::engine::api::stream::EventView;
use crate::engine::json::{Edits, Value};
use crate::engine::policy::Policy;
use crate::engine::quota::ledger::Refusal;
use crate::engine::quota::meter::{Guard, standing_headers};
use crate::engine::quota::window::duration;
use crate::engine::quota::{Meter, Mode, Store, StreamVerdict, identity};

/// What a settlement did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settled {
    /// Nothing to settle (no reservation, or already settled).
    Nothing,
    /// Charged this many tokens.
    Charged(u64),
    /// The charge could not be written (the store failed or stayed busy).
    Lost(u64),
}

impl Exchange {
    /// Identifies the consumer from the request headers and the source address. `Some(reply)`:
    /// no identity and anonymous requests are refused (401).
    pub fn quota_identify(
        &mut self,
        policy: &Policy,
        key: &[u8],
        headers: &Headers,
        source_address: identity::SourceAddress<'_>,
    ) -> Option<ErrorReply> {
        let settings = &policy.quota;
        if settings.mode == Mode::Off {
            return None;
        }
        let consumer = identity::identify(&settings.identity, key, headers, source_address)
            .or_else(|| {
                // Monitoring refuses nothing: the request is counted in the anonymous bucket.
                let shared = identity::IdentitySettings {
                    anonymous: identity::Anonymous::Shared,
                    ..settings.identity.clone()
                };
                let monitor = settings.mode == Mode::Monitor;
                monitor
                    .then(|| identity::identify(&shared, key, headers, source_address))
                    .flatten()
            });
        match consumer {
            Some(consumer) => {
                self.quota = Meter::new(settings, consumer, key);
                None
            }
            None => Some(self.reply(
                ErrorKind::Unauthenticated,
                "llm_warden.unauthenticated",
                "an API key or consumer identity is required",
            )),
        }
    }

    /// The request-level guards and the request edits quotas need; called from
    /// [`Exchange::on_request_body`].
    pub(super) fn quota_request(
        &mut self,
        policy: &Policy,
        view: &RequestView<'_>,
        root: &Value<'_>,
        edits: &mut Edits,
    ) -> Result<(), ErrorReply> {
        let Err(guard) = self.quota.on_request(&policy.quota, view, root, edits) else {
            return Ok(());
        };
        let (kind, code, message) = match guard {
            Guard::TooManyMessages(max) => (
                ErrorKind::InvalidRequest,
                "llm_warden.too_many_messages",
                format!("the request has more than {max} messages"),
            ),
            Guard::OutputCeiling(max) => (
                ErrorKind::InvalidRequest,
                "llm_warden.max_tokens",
                format!("the output token limit must not exceed {max}"),
            ),
            Guard::Model => (
                ErrorKind::Blocked,
                "llm_warden.model_not_allowed",
                "this model is not allowed for this consumer".to_string(),
            ),
        };
        if policy.quota.mode == Mode::Monitor {
            self.decisions.push(Decision {
                action: "monitored",
                kind: "quota",
                category: "quota_guard",
            });
            return Ok(());
        }
        self.decisions.push(Decision {
            action: "rejected",
            kind: "quota",
            category: "quota_guard",
        });
        Err(self.reply(kind, code, &message))
    }

    /// Reserves the request's tokens before it is forwarded; `Err(reply)` to refuse it (429, or
    /// 500 when the store fails).
    pub fn quota_admit(
        &mut self,
        policy: &Policy,
        store: &mut dyn Store,
        now_ms: u64,
    ) -> Result<(), ErrorReply> {
        match self.quota.admit(&policy.quota, store, now_ms) {
            Ok(None) => Ok(()),
            Ok(Some(_)) => {
                self.decisions.push(Decision {
                    action: "monitored",
                    kind: "quota",
                    category: "quota",
                });
                Ok(())
            }
            Err(refusal) => {
                self.decisions.push(Decision {
                    action: "rejected",
                    kind: "quota",
                    category: "quota",
                });
                Err(self.refusal_reply(&refusal))
            }
        }
    }

    fn refusal_reply(&self, refusal: &Refusal) -> ErrorReply {
        let (code, message, retry_ms, standing) = match refusal {
            Refusal::OverLimit(s) => {
                let message = if s.limit.tokens < self.quota.requested() {
                    format!(
                        "the request needs more tokens than the {}-token limit of the {} s window",
                        s.limit.tokens, s.limit.seconds
                    )
                } else {
                    format!(
                        "token quota exceeded: {} of {} tokens left in the {} s window, resets in {}",
                        s.remaining,
                        s.limit.tokens,
                        s.limit.seconds,
                        duration(s.reset_ms)
                    )
                };
                ("llm_warden.quota_exceeded", message, s.reset_ms, Some(*s))
            }
            Refusal::Full => (
                "llm_warden.quota_capacity",
                "too many consumers are being tracked: try again later".to_string(),
                60_000,
                None,
            ),
            Refusal::Busy => (
                "llm_warden.quota_busy",
                "the quota counters are busy: try again".to_string(),
                1000,
                None,
            ),
            Refusal::Store(_) => {
                return self.reply(
                    ErrorKind::Internal,
                    "llm_warden.internal_error",
                    "the security filter failed",
                );
            }
        };
        let mut reply = self.reply(ErrorKind::RateLimited, code, &message);
        reply.headers.push((
            "retry-after".into(),
            retry_ms.div_ceil(1000).max(1).to_string(),
        ));
        reply
            .headers
            .extend(standing.map(standing_headers).unwrap_or_default());
        reply
    }

    /// The `x-ratelimit-*-tokens` headers for the response.
    pub fn quota_headers(&self) -> Vec<(String, String)> {
        self.quota.headers()
    }

    /// The stream hook: called for each event by [`Exchange::on_stream_chunk`]; `Some(bytes)`
    /// replaces the event (empty: dropped).
    pub(super) fn quota_event(
        &mut self,
        policy: &Policy,
        event: &EventView<'_>,
    ) -> Option<Vec<u8>> {
        match self.quota.on_event(&policy.quota, event) {
            StreamVerdict::Forward => None,
            StreamVerdict::Drop => Some(Vec::new()),
            StreamVerdict::Cut => {
                let info = ErrorInfo {
                    kind: ErrorKind::RateLimited,
                    code: "llm_warden.quota_exceeded",
                    message: "token quota exceeded: the response was cut",
                    request_id: self.request_id.as_deref(),
                };
                let json = error_json(self.format.provider(), &info);
                Some(Meter::cut_event(self.format, &json))
            }
        }
    }

    /// Settles the reservation once the response is over (or abandoned): `status` is the
    /// upstream's, `completed` whether the response ran to its end.
    pub fn quota_settle(
        &mut self,
        policy: &Policy,
        store: &mut dyn Store,
        status: u16,
        completed: bool,
        now_ms: u64,
    ) -> Settled {
        if !self.quota.reserved() {
            return Settled::Nothing;
        }
        let charge = self.quota.charge(&self.usage, status, completed);
        match self.quota.settle(&policy.quota, store, charge, now_ms) {
            Ok(Some(c)) => Settled::Charged(c),
            Ok(None) => Settled::Nothing,
            Err(_) => Settled::Lost(charge),
        }
    }
}
