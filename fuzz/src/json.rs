//! The JSON parser and the edit list. The whole input is the body.
//!
//! - Every value's span, parsed on its own, gives the same value.
//! - Replacing every string with `write_str` of its decoded text gives a body that parses to an
//!   equal tree, and touches nothing else.
//! - The parser agrees with serde_json: it may only be stricter about duplicate keys and nesting,
//!   and more lenient about lone surrogates (read as U+FFFD) and numbers out of `f64` range.

use crate::util::{same_tree, walk};
use llm_warden::engine::json::{self, Edits, Kind, Value, write_str};

const DEPTH: usize = 64;

/// Runs the checks on one input.
pub fn run(body: &[u8]) {
    let parsed = json::parse(body, DEPTH);
    agrees_with_serde(body, &parsed);
    let Ok(root) = parsed else { return };

    let mut edits = Edits::new();
    let mut strings = 0usize;
    walk(&root, &mut |v: &Value<'_>| {
        assert!(v.span.start < v.span.end && v.span.end <= body.len());
        let alone = json::parse(v.span.of(body), DEPTH).expect("a value's span does not parse");
        assert!(same_tree(&alone, v), "a value's span parses differently");
        if let Kind::String(text) = &v.kind {
            let mut literal = Vec::new();
            write_str(&mut literal, text);
            edits.replace(v.span, literal);
            strings += 1;
        }
    });
    let rewritten = edits.apply(body).expect("string spans overlap");
    let reparsed = json::parse(&rewritten, DEPTH).expect("rewritten body does not parse");
    assert!(
        same_tree(&root, &reparsed),
        "rewriting strings changed the tree"
    );
    if strings == 0 {
        assert_eq!(rewritten, body);
    }
}

fn agrees_with_serde(body: &[u8], ours: &Result<Value<'_>, json::ParseError>) {
    let theirs = serde_json::from_slice::<serde_json::Value>(body);
    match (ours, &theirs) {
        (Ok(v), Ok(t)) => assert!(equivalent(v, t), "serde_json reads a different value"),
        (Err(e), Ok(_)) => assert!(
            matches!(e.reason, "duplicate object key" | "nesting too deep"),
            "rejected what serde_json accepts: {e}"
        ),
        (Ok(_), Err(e)) => {
            let message = e.to_string();
            let surrogate = message.contains("hex escape") || message.contains("code point");
            assert!(
                (surrogate && has_surrogate_escape(body))
                    || message.contains("number out of range"),
                "accepted what serde_json rejects: {message}"
            );
        }
        (Err(_), Err(_)) => {}
    }
}

/// Whether `body` has a `\\uD800`-`\\uDFFF` escape: serde_json rejects lone surrogates, which
/// the engine reads as U+FFFD.
fn has_surrogate_escape(body: &[u8]) -> bool {
    body.windows(4).any(|w| {
        w[0] == b'\\'
            && w[1] == b'u'
            && w[2].eq_ignore_ascii_case(&b'd')
            && matches!(w[3], b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F')
    })
}

fn equivalent(ours: &Value<'_>, theirs: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (&ours.kind, theirs) {
        (Kind::Null, J::Null) => true,
        (Kind::Bool(a), J::Bool(b)) => a == b,
        (Kind::Number(raw), J::Number(n)) => match (raw.parse::<i128>(), n.as_i64(), n.as_u64()) {
            (Ok(a), Some(b), _) => a == i128::from(b),
            (Ok(a), None, Some(b)) => a == i128::from(b),
            _ => true, // floats: formatting differs; both accepted the same text
        },
        (Kind::String(a), J::String(b)) => a == b,
        (Kind::Array(a), J::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| equivalent(x, y))
        }
        (Kind::Object(a), J::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k.as_ref()).is_some_and(|t| equivalent(v, t)))
        }
        _ => false,
    }
}
