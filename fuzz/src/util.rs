//! What the targets share: reading a few control bytes off the input, cutting a payload into
//! chunks, and the assertions every reply and every text must satisfy.

use llm_warden::engine::api::error::ErrorReply;
use llm_warden::engine::api::{ApiFormat, Provider, TextPiece};
use llm_warden::engine::json::{self, Kind, Span, Value};

/// The request id every target's exchanges carry; replies must echo it intact.
pub const REQUEST_ID: &str = "fuzz-\"id\"\\\n\u{0}é";

/// The fuzz input as control bytes followed by a payload. Reading past the end yields zeros, so
/// every input is valid and short inputs still reach the payload.
pub struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    /// Wraps the raw fuzz input.
    pub fn new(data: &'a [u8]) -> Self {
        Input(data)
    }

    /// The next control byte, or 0 past the end.
    pub fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    /// The next `n` bytes (fewer at the end).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }

    /// Everything left: the payload.
    pub fn rest(self) -> &'a [u8] {
        self.0
    }
}

/// The API format chosen by the low two bits of `b`.
pub fn format(b: u8) -> ApiFormat {
    ApiFormat::ALL[usize::from(b & 3)]
}

/// Cuts `payload` into chunks whose lengths cycle through `lengths` (a 0 is an empty chunk, as
/// Envoy sometimes delivers). With no lengths, or only zeros, the chunks are single bytes.
pub fn chunks<'p>(payload: &'p [u8], lengths: &[u8]) -> Vec<&'p [u8]> {
    let single = [1u8];
    let lengths = if lengths.iter().all(|&l| l == 0) {
        &single[..]
    } else {
        lengths
    };
    let mut out = Vec::new();
    let mut rest = payload;
    for &len in lengths.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(usize::from(len).min(rest.len()));
        out.push(chunk);
        rest = tail;
    }
    out
}

/// A local reply must be well-formed JSON in the provider's dialect, with a stable code and the
/// request id intact.
pub fn check_reply(reply: &ErrorReply, provider: Provider, statuses: &[u16]) {
    assert!(
        statuses.contains(&reply.status),
        "unexpected status {}",
        reply.status
    );
    let body: serde_json::Value =
        serde_json::from_slice(&reply.body).expect("error reply is not JSON");
    let error = &body["error"];
    if provider == Provider::Anthropic {
        assert_eq!(body["type"], "error");
    }
    let code = error["code"].as_str().expect("error reply without a code");
    assert!(code.starts_with("llm_warden."), "code {code}");
    assert!(error["message"].is_string());
    assert_eq!(error["request_id"], REQUEST_ID);
}

/// Every text's span is a JSON string literal in `body` that decodes to the text, and no two texts
/// overlap, so that a redactor can rewrite all of them with one edit list.
pub fn check_texts(body: &[u8], texts: &[TextPiece<'_>]) {
    let mut spans: Vec<Span> = Vec::with_capacity(texts.len());
    for t in texts {
        assert!(t.span.start < t.span.end && t.span.end <= body.len());
        let literal = json::parse(t.span.of(body), 0).expect("text span is not a JSON literal");
        assert_eq!(
            literal.as_str(),
            Some(t.text),
            "text span decodes differently"
        );
        spans.push(t.span);
    }
    spans.sort_by_key(|s| (s.start, s.end));
    for pair in spans.windows(2) {
        assert!(pair[0].end <= pair[1].start, "texts overlap: {pair:?}");
    }
}

/// Whether two trees are equal, spans aside.
pub fn same_tree(a: &Value<'_>, b: &Value<'_>) -> bool {
    match (&a.kind, &b.kind) {
        (Kind::Array(x), Kind::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_tree(x, y))
        }
        (Kind::Object(x), Kind::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kx, vx), (ky, vy))| kx == ky && same_tree(vx, vy))
        }
        (x, y) => x == y,
    }
}

/// Every value in the tree, depth first.
pub fn walk<'t, 'v>(value: &'t Value<'v>, visit: &mut impl FnMut(&'t Value<'v>)) {
    visit(value);
    match &value.kind {
        Kind::Array(items) => items.iter().for_each(|v| walk(v, visit)),
        Kind::Object(members) => members.iter().for_each(|(_, v)| walk(v, visit)),
        _ => {}
    }
}
