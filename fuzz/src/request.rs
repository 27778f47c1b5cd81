//! Request bodies of every format, through `Exchange::on_request_body` and `RequestView::parse`.
//!
//! Input: one control byte (bits 0-1 the format, bit 2 monitor mode instead of block, bit 3 the
//! smallest configurable depth limit), then the body.
//!
//! - The exchange answers 400 exactly when the body is not JSON or not the format; otherwise it
//!   forwards, or answers 403 in block mode. Replies are well-formed in the caller's dialect.
//! - Every text's span decodes to the text, and texts never overlap.
//! - Rewriting every text with `write_str` of itself gives a body read the same way.
//! - Asking for stream usage gives a body that still parses, reads the same and asks for usage.

use crate::util::{Input, REQUEST_ID, check_reply, check_texts, format};
use llm_warden::engine::api::{ApiFormat, RequestView, TextPiece};
use llm_warden::engine::exchange::{Exchange, RequestAction};
use llm_warden::engine::inject::Mode;
use llm_warden::engine::json::{self, Edits, write_str};
use llm_warden::engine::policy::Policy;

/// Runs the checks on one input.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.byte();
    let body = input.rest();
    let format = format(flags);
    let mut policy = Policy::default();
    if flags & 4 != 0 {
        policy.injection.mode = Mode::Monitor;
    }
    if flags & 8 != 0 {
        policy.limits.max_json_depth = 8;
    }

    let status = exchange_status(&policy, format, body);
    let Ok(root) = json::parse(body, policy.limits.max_json_depth) else {
        assert_eq!(status, 400, "invalid JSON was not answered with 400");
        return;
    };
    let Ok(view) = RequestView::parse(format, &root) else {
        assert_eq!(
            status, 400,
            "a body of the wrong shape was not answered with 400"
        );
        return;
    };
    match policy.injection.mode {
        Mode::Block => assert!(matches!(status, 200 | 403), "status {status}"),
        _ => assert_eq!(status, 200),
    }
    assert_eq!(view.format, format);
    check_texts(body, &view.texts);
    for tool in &view.tools {
        assert!(tool.span.end <= body.len());
    }
    if let Some(limit) = view.output_limit {
        let number = json::parse(limit.span.of(body), 0).expect("output limit span");
        assert_eq!(number.as_u64(), Some(limit.value));
    }

    // Every text rewritten as itself: the same request.
    let mut edits = Edits::new();
    for t in &view.texts {
        let mut literal = Vec::new();
        write_str(&mut literal, t.text);
        edits.replace(t.span, literal);
    }
    let rewritten = edits.apply(body).expect("text edits overlap");
    let root2 = json::parse(&rewritten, policy.limits.max_json_depth).expect("rewritten body");
    let view2 = RequestView::parse(format, &root2).expect("rewritten body is not the format");
    assert_eq!(summary(&view.texts), summary(&view2.texts));
    assert_eq!(exchange_status(&policy, format, &rewritten), status);

    // Asking for the usage chunk of a stream.
    let mut edits = Edits::new();
    let applies = matches!(format, ApiFormat::OpenAiChat | ApiFormat::OpenAiCompletions);
    let needed = applies && view.stream && !view.stream_usage_requested();
    assert_eq!(view.request_stream_usage(&mut edits), needed);
    if needed {
        let asked = edits.apply(body).expect("stream usage edits overlap");
        let root3 = json::parse(&asked, policy.limits.max_json_depth)
            .expect("asking for stream usage broke the JSON");
        let view3 = RequestView::parse(format, &root3).expect("asking for stream usage");
        assert!(view3.stream && view3.stream_usage_requested());
        assert_eq!(view3.model, view.model);
        assert_eq!(summary(&view.texts), summary(&view3.texts));
    } else {
        assert!(edits.is_empty());
    }
}

/// The exchange's answer: 200 for forward, else the reply's status (checked on the way).
fn exchange_status(policy: &Policy, format: ApiFormat, body: &[u8]) -> u16 {
    let mut ex = Exchange::new(format, Some(REQUEST_ID.into()));
    match ex.on_request_body(policy, body) {
        RequestAction::Forward(None) => 200,
        RequestAction::Forward(Some(new_body)) => {
            json::parse(&new_body, policy.limits.max_json_depth).expect("forwarded body");
            200
        }
        RequestAction::Reply(reply) => {
            check_reply(&reply, format.provider(), &[400, 403]);
            reply.status
        }
    }
}

type Summary<'v> = Vec<(
    llm_warden::engine::api::Role,
    llm_warden::engine::api::TextKind,
    &'v str,
    String,
)>;

fn summary<'v>(texts: &[TextPiece<'v>]) -> Summary<'v> {
    texts
        .iter()
        .map(|t| (t.role, t.kind, t.text, t.location.to_string()))
        .collect()
}
