//! One request's accounting: identity, guards and estimate, the reservation, the output seen, and
//! the single settlement.

use super::estimate::{prompt_tokens, text_tokens};
use super::identity::{self, Consumer};
use super::ledger::{self, Account, Refusal, Reservation, Standing};
use super::window::duration;
use super::{Ceiling, Group, Mode, Settings, Store};
use crate::engine::api::stream::{EventView, UsageUpdate};
use crate::engine::api::{ApiFormat, RequestView};
use crate::engine::json::{Edits, Value};

/// Output-ceiling fields of every format. A request may carry more than one (`max_tokens` beside
/// `max_completion_tokens`): each is clamped, and the largest is reserved.
const CEILING_FIELDS: [&str; 3] = ["max_completion_tokens", "max_tokens", "max_output_tokens"];
/// Most completions (`n`, `best_of`) a reservation counts; each may cost the output ceiling.
const MAX_CHOICES: u64 = 128;

/// A request-level guard that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Guard {
    /// More messages than the group allows.
    TooManyMessages(usize),
    /// An output ceiling above the group's maximum, which is configured to reject.
    OutputCeiling(u64),
    /// A model outside the group's allow-list.
    Model,
}

/// What to do with one stream event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamVerdict {
    /// Send it on.
    Forward,
    /// Drop it (the usage chunk the client did not ask for).
    Drop,
    /// The output outgrew the budget: end the stream with an error event.
    Cut,
}

/// One request's accounting.
#[derive(Clone, Debug, Default)]
pub struct Meter {
    /// The consumer, once identified; `None`: quotas do not apply to this request.
    pub consumer: Option<Consumer>,
    /// Index of the consumer's group.
    pub group: usize,
    key: Vec<u8>,
    account: Option<Account>,
    /// Estimated prompt tokens.
    pub prompt_estimate: u64,
    output_ceiling: u64,
    strip_usage_chunk: bool,
    reservation: Option<Reservation>,
    /// The standing to report in `x-ratelimit-*` headers.
    pub standing: Option<Standing>,
    output_seen: u64,
    failed: bool,
    cut: bool,
    /// Tokens charged when settled; set once.
    pub charged: Option<u64>,
}

impl Meter {
    /// Starts accounting for `consumer`, whose ids are hashed with `key`.
    pub fn new(settings: &Settings, consumer: Consumer, key: &[u8]) -> Self {
        let group = settings.group_of(&consumer);
        Meter {
            account: Some(Account::new(consumer.id, settings.shards)),
            consumer: Some(consumer),
            group,
            key: key.to_vec(),
            ..Meter::default()
        }
    }

    fn group<'s>(&self, settings: &'s Settings) -> Option<&'s Group> {
        settings.groups.get(self.group)
    }

    /// Checks the request-level guards, estimates the prompt, and adds the edits the request
    /// needs: a clamped output ceiling, and `stream_options.include_usage` on OpenAI streams. A
    /// failed guard is returned after the accounting is prepared, so that a monitored request is
    /// still counted.
    pub fn on_request(
        &mut self,
        settings: &Settings,
        view: &RequestView<'_>,
        root: &Value<'_>,
        edits: &mut Edits,
    ) -> Result<(), Guard> {
        let (Some(group), Some(consumer)) = (self.group(settings), &self.consumer) else {
            return Ok(());
        };
        let mut guard = None;
        if view.message_count > group.max_messages {
            guard = Some(Guard::TooManyMessages(group.max_messages));
        }
        if let Some(models) = &group.models {
            if !view.model.is_some_and(|m| models.iter().any(|x| x == m)) {
                guard = guard.or(Some(Guard::Model));
            }
        }
        let max = group.max_output_tokens;
        let mut ceiling: Option<u64> = None;
        for v in CEILING_FIELDS.iter().filter_map(|k| root.get(k)) {
            let Some(asked) = v.as_u64() else { continue };
            let granted = match group.ceiling {
                _ if asked <= max => asked,
                Ceiling::Reject => {
                    guard = guard.or(Some(Guard::OutputCeiling(max)));
                    asked
                }
                Ceiling::Clamp => {
                    edits.replace(v.span, max.to_string().into_bytes());
                    max
                }
            };
            ceiling = Some(ceiling.map_or(granted, |c| c.max(granted)));
        }
        let choices = ["n", "best_of"]
            .iter()
            .filter_map(|k| root.get(k).and_then(Value::as_u64))
            .max()
            .unwrap_or(1)
            .clamp(1, MAX_CHOICES);
        self.output_ceiling = ceiling
            .unwrap_or(group.default_output_tokens.min(max))
            .saturating_mul(choices);
        if group.per_model {
            let model = view.model.unwrap_or_default();
            let id = identity::per_model(&self.key, &consumer.id, model);
            self.account = Some(Account::new(id, settings.shards));
        }
        self.prompt_estimate = prompt_tokens(view.format, &view.texts, view.message_count);
        self.strip_usage_chunk = view.request_stream_usage(edits);
        guard.map_or(Ok(()), Err)
    }

    /// Reserves the estimate plus the output ceiling. `Ok(over)`: admitted (`over` is the window a
    /// monitored request overran); `Err`: refused.
    pub fn admit(
        &mut self,
        settings: &Settings,
        store: &mut dyn Store,
        now_ms: u64,
    ) -> Result<Option<Standing>, Refusal> {
        let (Some(group), Some(account)) = (self.group(settings), self.account) else {
            return Ok(None);
        };
        let tokens = self.requested();
        let enforce = settings.mode == Mode::Enforce;
        let (reservation, over) =
            ledger::reserve(store, &account, &group.limits, tokens, now_ms, enforce)?;
        self.standing = reservation.standing;
        self.reservation = Some(reservation);
        Ok(over)
    }

    /// Tokens the request reserves: the prompt estimate plus the output ceiling.
    pub fn requested(&self) -> u64 {
        self.prompt_estimate.saturating_add(self.output_ceiling)
    }

    /// Looks at one stream event (its usage is already merged by the exchange).
    pub fn on_event(&mut self, settings: &Settings, event: &EventView<'_>) -> StreamVerdict {
        if self.reservation.is_none() || self.cut {
            return StreamVerdict::Forward;
        }
        for d in &event.deltas {
            self.output_seen = self.output_seen.saturating_add(text_tokens(d.text));
        }
        self.failed |= event.error;
        let budget = self
            .standing
            .map_or(0, |s| s.remaining)
            .saturating_add(self.output_ceiling);
        if settings.cut_streams && settings.mode == Mode::Enforce && self.output_seen > budget {
            self.cut = true;
            return StreamVerdict::Cut;
        }
        if self.strip_usage_chunk && event.usage_only {
            return StreamVerdict::Drop;
        }
        StreamVerdict::Forward
    }

    /// Whether the stream was cut: every later byte is dropped.
    pub fn is_cut(&self) -> bool {
        self.cut
    }

    /// The tokens to charge: the reported usage when the response completed, else the prompt (as
    /// reported, or estimated) plus the output (as reported, or as seen, whichever is more). An
    /// upstream error status (300 and up) without usage charges nothing: the provider did not
    /// generate. `status` 0: no response yet (the client left first).
    pub fn charge(&self, usage: &UsageUpdate, status: u16, completed: bool) -> u64 {
        match usage.usage() {
            Some(u) if completed && !self.failed && !self.cut => u.total(),
            None if status >= 300 => 0,
            _ => usage
                .input_tokens
                .unwrap_or(self.prompt_estimate)
                .saturating_add(usage.output_tokens.unwrap_or(0).max(self.output_seen)),
        }
    }

    /// Settles the reservation with `charge`, once; later calls return `Ok(None)`.
    pub fn settle(
        &mut self,
        settings: &Settings,
        store: &mut dyn Store,
        charge: u64,
        now_ms: u64,
    ) -> Result<Option<u64>, Refusal> {
        let (Some(group), Some(account), Some(reservation)) =
            (self.group(settings), self.account, self.reservation.take())
        else {
            return Ok(None);
        };
        self.charged = Some(charge);
        ledger::settle(store, &account, &group.limits, &reservation, charge, now_ms)?;
        Ok(Some(charge))
    }

    /// `x-ratelimit-*-tokens` headers for the standing after this request's reservation.
    pub fn headers(&self) -> Vec<(String, String)> {
        self.standing.map(standing_headers).unwrap_or_default()
    }

    /// Whether a reservation was made (and is not settled yet).
    pub fn reserved(&self) -> bool {
        self.reservation.is_some()
    }

    /// The format-specific error event that ends a cut stream.
    pub fn cut_event(format: ApiFormat, error_json: &[u8]) -> Vec<u8> {
        let data = String::from_utf8_lossy(error_json);
        match format {
            ApiFormat::OpenAiChat | ApiFormat::OpenAiCompletions => {
                crate::engine::api::sse::event(None, &data)
            }
            _ => crate::engine::api::sse::event(Some("error"), &data),
        }
    }
}

/// The `x-ratelimit-*-tokens` headers OpenAI clients read.
pub fn standing_headers(s: Standing) -> Vec<(String, String)> {
    vec![
        (
            "x-ratelimit-limit-tokens".into(),
            s.limit.tokens.to_string(),
        ),
        (
            "x-ratelimit-remaining-tokens".into(),
            s.remaining.to_string(),
        ),
        ("x-ratelimit-reset-tokens".into(), duration(s.reset_ms)),
    ]
}
