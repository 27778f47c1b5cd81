//! Tool policy in the exchange: declared tools and a forced `tool_choice` at the request, tool
//! calls in JSON responses and in streams. The rules are in [`crate::engine::tools`].

use super::{Decision, Exchange};
use crate::engine::api::RequestView;
use crate::engine::api::error::{ErrorKind, ErrorReply};
use crate::engine::api::response::ResponseView;
use crate::engine::api::sse;
use crate::engine::api::stream::{DONE, EventView, read_event};
use crate::engine::json::{self, Edits, Span};
use crate::engine::policy::Policy;
use crate::engine::tools::stream::{Close, ToolEvent, read_tool_event};
use crate::engine::tools::{OnUndeclared, Violation};

/// Longest tool name quoted back in an error message.
const MAX_QUOTED_NAME: usize = 64;

impl Exchange {
    fn tool_decision(&mut self, action: &'static str, violation: Violation) {
        let d = Decision {
            action,
            kind: "tool_policy",
            category: violation.name(),
        };
        if !self.decisions.contains(&d) {
            self.decisions.push(d);
        }
    }

    /// Checks the declared tools and a forced `tool_choice` against the group's allow-list:
    /// refuses the request (403) or strips the other tools into `edits`.
    pub(super) fn tools_request(
        &mut self,
        policy: &Policy,
        view: &RequestView<'_>,
        edits: &mut Edits,
    ) -> Result<(), ErrorReply> {
        let settings = &policy.tools;
        let group = self.group(policy);
        let refuse = |this: &mut Self, what: &str, name: &str| {
            this.tool_decision("blocked", Violation::NotAllowed);
            let name: String = name.chars().take(MAX_QUOTED_NAME).collect();
            let message =
                format!("blocked by policy: {what} a tool that is not allowed (`{name}`)");
            Err(this.reply(ErrorKind::Blocked, "llm_warden.tool_not_allowed", &message))
        };
        if let Some(name) = view.forced_tool.filter(|n| !settings.allows(group, n)) {
            return refuse(self, "`tool_choice` forces", name);
        }
        let kept: Vec<bool> = view
            .tools
            .iter()
            .map(|t| settings.allows(group, t.name))
            .collect();
        let Some(first) = view.tools.iter().zip(&kept).find(|(_, k)| !**k) else {
            return Ok(());
        };
        // Providers refuse an empty tool list: a request left with none is refused here.
        if settings.on_undeclared == OnUndeclared::Reject || !kept.contains(&true) {
            return refuse(self, "the request declares", first.0.name);
        }
        let spans: Vec<Span> = view.tools.iter().map(|t| t.span).collect();
        for range in removals(&spans, &kept) {
            edits.drop_within(range);
            edits.replace(range, Vec::new());
        }
        self.tool_decision("stripped", Violation::NotAllowed);
        Ok(())
    }

    /// Checks the tool calls of a whole JSON response.
    pub(super) fn tools_response(
        &mut self,
        policy: &Policy,
        view: &ResponseView<'_>,
    ) -> Result<(), ErrorReply> {
        if policy.tools.inert() {
            return Ok(());
        }
        let group = self.group(policy);
        for call in &view.tool_calls {
            if let Err(v) = policy.tools.check_call(group, call.name, call.arguments) {
                return Err(self.tool_refusal(v));
            }
        }
        Ok(())
    }

    fn tool_refusal(&mut self, violation: Violation) -> ErrorReply {
        self.tool_decision("blocked", violation);
        let message = format!("blocked by policy: {}", violation.message());
        self.reply(ErrorKind::Blocked, "llm_warden.tool_call", &message)
    }

    /// The stream hook: holds events back while tool calls are open, checks each call when it
    /// completes, and passes what may go on to redaction ([`Exchange::on_event`]).
    pub(super) fn tools_event(&mut self, policy: &Policy, raw: Vec<u8>, out: &mut Vec<u8>) {
        if policy.tools.inert() || self.stream_ended() {
            return self.on_event(policy, raw, out);
        }
        match self.tool_step(policy, raw) {
            Ok(events) => self.release(policy, events, out),
            Err(v) => {
                let reply = self.tool_refusal(v);
                self.end_with_error(&reply, out);
            }
        }
    }

    /// The end of a stream: calls still open are checked, held-back events released.
    pub(super) fn tools_finish(&mut self, policy: &Policy, out: &mut Vec<u8>) {
        if !self.tool_calls.holding() || self.stream_ended() {
            return;
        }
        let group = self.group(policy);
        match self.tool_calls.finish(&policy.tools, group) {
            Ok(events) => self.release(policy, events, out),
            Err(v) => {
                let reply = self.tool_refusal(v);
                self.end_with_error(&reply, out);
            }
        }
    }

    /// Sends released events on through redaction, until a quota cut ends the stream.
    fn release(&mut self, policy: &Policy, events: Vec<Vec<u8>>, out: &mut Vec<u8>) {
        for event in events {
            if self.quota.is_cut() {
                break;
            }
            self.on_event(policy, event, out);
        }
    }

    fn stream_ended(&self) -> bool {
        self.redact.blocked
    }

    fn tool_step(&mut self, policy: &Policy, raw: Vec<u8>) -> Result<Vec<Vec<u8>>, Violation> {
        let group = self.group(policy);
        let data = sse::fields(&raw)
            .ok()
            .and_then(|f| Some((f.event, f.data?)));
        let Some((event, data)) = data else {
            // Comments, retries, unreadable events: held in order if calls are open.
            let none = EventView::default();
            return self
                .tool_calls
                .step(&policy.tools, group, raw, &ToolEvent::default(), &none);
        };
        if data == DONE {
            let all = ToolEvent {
                close: Close::All,
                ..ToolEvent::default()
            };
            let none = EventView::default();
            return self.tool_calls.step(&policy.tools, group, raw, &all, &none);
        }
        let Ok(root) = json::parse(data.as_bytes(), policy.limits.max_json_depth) else {
            // Redaction refuses it when it gets there.
            let none = EventView::default();
            return self
                .tool_calls
                .step(&policy.tools, group, raw, &ToolEvent::default(), &none);
        };
        let view = read_event(self.format, event.as_deref(), &root);
        let tools = read_tool_event(self.format, event.as_deref(), &root, &view);
        self.tool_calls
            .step(&policy.tools, group, raw, &tools, &view)
    }
}

/// The byte ranges that delete the declarations not `kept` from an array whose elements sit at
/// `spans`, with their separating commas. At least one element is kept.
fn removals(spans: &[Span], kept: &[bool]) -> Vec<Span> {
    let last_kept = kept.iter().rposition(|k| *k);
    let mut out = Vec::new();
    for (i, (span, keep)) in spans.iter().zip(kept).enumerate() {
        if *keep {
            continue;
        }
        let next = spans.get(i + 1);
        let range = match (last_kept, next) {
            // A kept element follows: remove up to the next element.
            (Some(k), Some(next)) if k > i => Span {
                start: span.start,
                end: next.start,
            },
            // In the trailing run: remove from the end of the previous element.
            _ => Span {
                start: i
                    .checked_sub(1)
                    .and_then(|p| spans.get(p))
                    .map_or(span.start, |p| p.end),
                end: span.end,
            },
        };
        out.push(range);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn strip(body: &str, kept: &[bool]) -> String {
        let root = json::parse(body.as_bytes(), 8).unwrap();
        let spans: Vec<Span> = root.as_array().unwrap().iter().map(|v| v.span).collect();
        let mut edits = Edits::new();
        for r in removals(&spans, kept) {
            edits.replace(r, Vec::new());
        }
        String::from_utf8(edits.apply(body.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn removals_keep_the_array_valid() {
        let body = r#"[ {"a":1} , {"b":2},{"c":3} ,{"d":4} ]"#;
        let cases: [(&[bool], &str); 5] = [
            (&[true, false, false, false], r#"[ {"a":1} ]"#),
            (&[false, true, false, true], r#"[ {"b":2},{"d":4} ]"#),
            (&[false, false, false, true], r#"[ {"d":4} ]"#),
            (&[true, false, true, false], r#"[ {"a":1} , {"c":3} ]"#),
            (&[true, true, true, true], body),
        ];
        for (kept, want) in cases {
            let got = strip(body, kept);
            assert_eq!(got, want, "{kept:?}");
            assert!(json::parse(got.as_bytes(), 8).is_ok());
        }
    }
}
