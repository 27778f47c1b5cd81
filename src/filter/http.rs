//! The HTTP context: one per request. Feeds the engine's [`Exchange`] and applies its verdicts.

use super::host;
use super::metrics::Metrics;
use super::quota::{self, SharedData};
use crate::engine::api::error::{ErrorKind, ErrorReply};
use crate::engine::exchange::{
    Exchange, HeadDecision, RequestAction, ResponseHead, Settled, header, on_request_head,
};
use crate::engine::policy::Policy;
use crate::engine::quota::Mode;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, LogLevel, MapType, Status};
use std::rc::Rc;

/// Filter state (`wasm.llm_warden.decisions`) with the exchange's decisions, for access logs.
pub const DECISIONS_PROPERTY: &str = "llm_warden.decisions";

/// The host clock in nanoseconds since the epoch; 0 if the host cannot tell.
fn now_ns() -> u64 {
    host::since_epoch().map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Where the response stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ResponseMode {
    /// Nothing to do (not inspected, or our own local reply).
    PassThrough,
    /// Buffering a JSON body.
    Buffer,
    /// Rewriting an event stream chunk by chunk.
    Stream,
}

/// Per-request state.
pub struct Http {
    policy: Rc<Policy>,
    metrics: Rc<Metrics>,
    exchange: Option<Exchange>,
    replied: bool,
    status: u16,
    response: ResponseMode,
    /// Time spent in this filter's callbacks, in nanoseconds of the host clock.
    busy_ns: u64,
    /// Whether the exchange's end was recorded (stats, audit record).
    finished: bool,
}

impl Http {
    pub fn new(policy: Rc<Policy>, metrics: Rc<Metrics>) -> Self {
        Http {
            policy,
            metrics,
            exchange: None,
            replied: false,
            status: 0,
            response: ResponseMode::PassThrough,
            busy_ns: 0,
            finished: false,
        }
    }

    /// Runs one callback, adding the time it takes to [`Self::busy_ns`].
    fn timed<R>(&mut self, callback: impl FnOnce(&mut Self) -> R) -> R {
        let started = now_ns();
        let result = callback(self);
        self.busy_ns += now_ns().saturating_sub(started);
        result
    }

    /// Records the end of an inspected exchange, once: stats, the audit record, and the decisions
    /// as filter state (`wasm.llm_warden.decisions`) for access logs.
    fn finish(&mut self) {
        let Some(exchange) = self.exchange.as_ref().filter(|_| !self.finished) else {
            return;
        };
        self.finished = true;
        let m = &self.metrics;
        for d in &exchange.decisions {
            m.add(
                &format!("decisions.{}.{}.{}", d.action, d.kind, d.category),
                1,
            );
        }
        if !self.replied {
            m.add("allowed", 1);
        }
        m.add("tokens.input", exchange.usage.input_tokens.unwrap_or(0));
        m.add("tokens.output", exchange.usage.output_tokens.unwrap_or(0));
        if let Some(charged) = exchange.quota.charged {
            m.add("tokens.charged", charged);
        }
        m.record("processing_us", self.busy_ns / 1000);
        if let Some(line) = exchange.audit_record(&self.policy, now_ns() / 1_000_000, self.status) {
            host::log(LogLevel::Info, &format!("llm-warden audit {line}"));
        }
        if !exchange.decisions.is_empty() {
            host::set_filter_state(DECISIONS_PROPERTY, &exchange.decision_summary());
        }
    }

    /// What to answer a headers callback whose headers should wait for the body.
    fn hold(&self) -> Action {
        if self.policy.hold_headers {
            Action::Pause
        } else {
            Action::Continue
        }
    }

    /// Sends `reply` and stops this request; the caller returns `Action::Pause`.
    fn send(&mut self, reply: &ErrorReply) -> Action {
        self.replied = true;
        self.status = reply.status;
        let code = reply.code.strip_prefix("llm_warden.").unwrap_or("other");
        self.metrics.add(&format!("replies.{code}"), 1);
        self.response = ResponseMode::PassThrough;
        if let Err(status) = host::send_json(reply.status, &reply.headers, &reply.body) {
            host::log(
                LogLevel::Error,
                &format!("llm-warden: cannot send local reply: {status:?}"),
            );
        }
        Action::Pause
    }

    /// A host call failed mid-request: fail closed with 500.
    fn internal_error(&mut self, what: &str, status: Status) -> Action {
        self.metrics.add("internal_errors", 1);
        host::log(
            LogLevel::Error,
            &format!("llm-warden: {what} failed: {status:?}"),
        );
        let reply = match &self.exchange {
            Some(ex) => ex.reply(
                ErrorKind::Internal,
                "llm_warden.internal_error",
                "the security filter failed",
            ),
            None => ErrorReply {
                status: 500,
                body: b"{}".to_vec(),
                headers: Vec::new(),
                code: "llm_warden.internal_error".to_string(),
            },
        };
        self.send(&reply)
    }

    fn request_headers(&mut self, end_of_stream: bool) -> Result<Action, (&'static str, Status)> {
        let headers = host::headers(MapType::HttpRequestHeaders)
            .map_err(|s| ("reading request headers", s))?;
        let method = header(&headers, ":method").unwrap_or_default();
        let path = header(&headers, ":path").unwrap_or_default();
        let request_id = header(&headers, "x-request-id").map(str::to_string);
        // Every request, inspected or not: the provider key Envoy injects later is the only one.
        super::identity::remove_client_keys(&self.policy.identity)
            .map_err(|s| ("removing the client's keys", s))?;
        match on_request_head(&self.policy, method, path, &headers, request_id.as_deref()) {
            HeadDecision::PassThrough => Ok(Action::Continue),
            HeadDecision::Reply(reply) => Ok(self.send(&reply)),
            HeadDecision::Inspect(format) => {
                self.metrics.add(&format!("requests.{}", format.name()), 1);
                let mut exchange = Exchange::new(format, request_id);
                if let Some(reply) = self.identify(&mut exchange, &headers)? {
                    return Ok(self.send(&reply));
                }
                if end_of_stream {
                    let reply = exchange.missing_body();
                    return Ok(self.send(&reply));
                }
                // The body may be rewritten, and responses must come back readable. Header setters
                // only work here, not in body callbacks.
                for name in ["content-length", "accept-encoding"] {
                    host::remove_header(MapType::HttpRequestHeaders, name)
                        .map_err(|s| ("removing a request header", s))?;
                }
                self.exchange = Some(exchange);
                // Hold the headers until the body has been inspected: nothing reaches the upstream before.
                Ok(self.hold())
            }
        }
    }

    fn request_body(
        &mut self,
        body_size: usize,
        end_of_stream: bool,
    ) -> Result<Action, (&'static str, Status)> {
        let Some(exchange) = self.exchange.as_mut() else {
            return Ok(Action::Continue);
        };
        if body_size > self.policy.limits.max_request_bytes {
            let reply = exchange.request_too_large(&self.policy);
            return Ok(self.send(&reply));
        }
        if !end_of_stream {
            return Ok(Action::Pause);
        }
        let body = host::body(BufferType::HttpRequestBody, body_size)
            .map_err(|s| ("reading the request body", s))?;
        let action = exchange.on_request_body(&self.policy, &body);
        let new_body = match action {
            RequestAction::Forward(new_body) => new_body,
            RequestAction::Reply(reply) => return Ok(self.send(&reply)),
        };
        let now = quota::now_ms().map_err(|s| ("reading the clock", s))?;
        if let Err(reply) = exchange.quota_admit(&self.policy, &mut SharedData, now) {
            return Ok(self.send(&reply));
        }
        if exchange.quota.reserved() {
            self.metrics.add("quota.admitted", 1);
        }
        if let Some(new_body) = new_body {
            host::replace_body(BufferType::HttpRequestBody, body_size, &new_body)
                .map_err(|s| ("rewriting the request body", s))?;
        }
        Ok(Action::Continue)
    }

    fn response_headers(&mut self) -> Result<Action, (&'static str, Status)> {
        let hold = self.hold();
        let Some(exchange) = self.exchange.as_mut().filter(|_| !self.replied) else {
            return Ok(Action::Continue);
        };
        let headers = host::headers(MapType::HttpResponseHeaders)
            .map_err(|s| ("reading response headers", s))?;
        self.status = header(&headers, ":status")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let (mode, action) = match exchange.on_response_head(&self.policy, self.status, &headers) {
            ResponseHead::PassThrough => (ResponseMode::PassThrough, Action::Continue),
            // Hold the headers: a blocked response must still be able to change its status.
            ResponseHead::Buffer => (ResponseMode::Buffer, hold),
            // Send the headers at once: time to first token matters.
            ResponseHead::Stream => (ResponseMode::Stream, Action::Continue),
            ResponseHead::Reply(reply) => return Ok(self.send(&reply)),
        };
        if mode != ResponseMode::PassThrough {
            host::remove_header(MapType::HttpResponseHeaders, "content-length")
                .map_err(|s| ("removing content-length", s))?;
        }
        for (name, value) in exchange.quota_headers() {
            host::set_header(MapType::HttpResponseHeaders, &name, &value)
                .map_err(|s| ("adding a rate-limit header", s))?;
        }
        self.response = mode;
        Ok(action)
    }

    fn response_body(
        &mut self,
        body_size: usize,
        end_of_stream: bool,
    ) -> Result<Action, (&'static str, Status)> {
        let Some(exchange) = self.exchange.as_mut() else {
            return Ok(Action::Continue);
        };
        match self.response {
            ResponseMode::PassThrough => Ok(Action::Continue),
            ResponseMode::Buffer => {
                if body_size > self.policy.limits.max_response_bytes {
                    let reply = exchange.response_too_large(&self.policy);
                    return Ok(self.send(&reply));
                }
                if !end_of_stream {
                    return Ok(Action::Pause);
                }
                let body = host::body(BufferType::HttpResponseBody, body_size)
                    .map_err(|s| ("reading the response body", s))?;
                let verdict = exchange.on_response_body(&self.policy, self.status, &body);
                self.settle_quota(true);
                match verdict {
                    Ok(None) => Ok(Action::Continue),
                    Ok(Some(new_body)) => {
                        host::replace_body(BufferType::HttpResponseBody, body_size, &new_body)
                            .map_err(|s| ("rewriting the response body", s))?;
                        Ok(Action::Continue)
                    }
                    Err(reply) => Ok(self.send(&reply)),
                }
            }
            ResponseMode::Stream => {
                let chunk = host::body(BufferType::HttpResponseBody, body_size)
                    .map_err(|s| ("reading a stream chunk", s))?;
                let out = exchange.on_stream_chunk(&self.policy, &chunk, end_of_stream);
                if out != chunk {
                    host::replace_body(BufferType::HttpResponseBody, body_size, &out)
                        .map_err(|s| ("rewriting a stream chunk", s))?;
                }
                if end_of_stream {
                    self.settle_quota(true);
                }
                Ok(Action::Continue)
            }
        }
    }

    /// Identifies the consumer (verified claims, then the quota's sources); `Some(reply)` refuses
    /// the request.
    fn identify(
        &self,
        exchange: &mut Exchange,
        headers: &[(String, String)],
    ) -> Result<Option<ErrorReply>, (&'static str, Status)> {
        let verified = super::identity::verified(&self.policy.identity)
            .map_err(|s| ("reading the verified claims", s))?;
        let settings = &self.policy.quota;
        let key = if settings.mode == Mode::Off {
            Vec::new()
        } else {
            quota::key(settings)
                .map_err(|_| ("reading the quota hash key", Status::InternalFailure))?
        };
        if let Some(reply) = exchange.identify(
            &self.policy,
            &key,
            headers,
            &quota::source_address,
            verified,
        ) {
            return Ok(Some(reply));
        }
        if let Some(consumer) = &exchange.quota.consumer {
            quota::publish_consumer(&consumer.label)
                .map_err(|s| ("setting the consumer header", s))?;
        }
        Ok(None)
    }

    /// Settles the request's quota reservation, once: at the end of the response (`completed`),
    /// or when the request ends early (client gone, upstream reset).
    fn settle_quota(&mut self, completed: bool) {
        let Some(exchange) = self.exchange.as_mut().filter(|e| e.quota.reserved()) else {
            return;
        };
        let Ok(now) = quota::now_ms() else { return };
        match exchange.quota_settle(&self.policy, &mut SharedData, self.status, completed, now) {
            Settled::Nothing => {}
            Settled::Charged(tokens) => quota::publish_charge(tokens),
            Settled::Lost(tokens) => host::log(
                LogLevel::Error,
                &format!("llm-warden: a charge of {tokens} tokens could not be recorded"),
            ),
        }
    }

    fn settle(&mut self, result: Result<Action, (&'static str, Status)>) -> Action {
        result.unwrap_or_else(|(what, status)| self.internal_error(what, status))
    }
}

impl Context for Http {
    fn on_done(&mut self) -> bool {
        // The request is over; a reservation not settled yet had no complete response.
        self.settle_quota(false);
        self.finish();
        true
    }
}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        self.timed(|this| {
            let result = this.request_headers(end_of_stream);
            this.settle(result)
        })
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        self.timed(|this| {
            let result = this.request_body(body_size, end_of_stream);
            this.settle(result)
        })
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        // Trailers mean the body never signalled its end: it was not inspected. Fail closed.
        match &self.exchange {
            Some(exchange) if !self.replied => {
                let reply = exchange.reply(
                    ErrorKind::InvalidRequest,
                    "llm_warden.invalid_request",
                    "request trailers are not supported",
                );
                self.send(&reply)
            }
            _ => Action::Continue,
        }
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        self.timed(|this| {
            let result = this.response_headers();
            this.settle(result)
        })
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        self.timed(|this| {
            let result = this.response_body(body_size, end_of_stream);
            this.settle(result)
        })
    }

    fn on_log(&mut self) {
        self.settle_quota(false);
        self.finish();
    }
}
