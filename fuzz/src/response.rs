//! Whole JSON responses of every format, through `Exchange::on_response_body` and
//! `ResponseView::parse`.
//!
//! Input: one control byte (bits 0-1 the format, bit 2 an upstream error status instead of 200),
//! then the body.
//!
//! - A 2xx body that is not JSON is replaced by a well-formed 502; error statuses pass as they are.
//! - A rewritten body (none yet; redaction will) is JSON.
//! - Every text's span decodes to the text, texts never overlap, and the exchange records the
//!   usage the view reads.

use crate::util::{Input, REQUEST_ID, check_reply, check_texts, format};
use llm_warden::engine::api::response::ResponseView;
use llm_warden::engine::exchange::{Exchange, ResponseHead};
use llm_warden::engine::json;
use llm_warden::engine::policy::Policy;

/// Runs the checks on one input.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let body = input.rest();
    let format = format(flags);
    let status = if flags & 4 != 0 { 500 } else { 200 };
    let policy = Policy::default();

    let mut ex = Exchange::new(format, Some(REQUEST_ID.into()));
    let headers = [("content-type".to_string(), "application/json".to_string())];
    assert_eq!(
        ex.on_response_head(&policy, status, &headers),
        ResponseHead::Buffer
    );
    let outcome = ex.on_response_body(&policy, status, body);
    let parsed = json::parse(body, policy.limits.max_json_depth);
    match &outcome {
        Ok(None) => {}
        Ok(Some(new_body)) => {
            json::parse(new_body, policy.limits.max_json_depth).expect("rewritten response");
        }
        Err(reply) => {
            assert!(
                status < 400 && parsed.is_err(),
                "a readable response was replaced"
            );
            check_reply(reply, format.provider(), &[502]);
        }
    }
    let Ok(root) = parsed else {
        assert!(
            status >= 400 || outcome.is_err(),
            "unreadable 2xx response passed"
        );
        return;
    };
    let view = ResponseView::parse(format, &root);
    check_texts(body, &view.texts);
    for call in &view.tool_calls {
        assert!(call.arguments.span.end <= body.len());
    }
    assert_eq!(ex.usage.usage(), view.usage);
}
