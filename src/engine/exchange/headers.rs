//! Header checks: which requests are inspected, and which bodies the filter can read.

use crate::engine::api::error::{ErrorInfo, ErrorKind, ErrorReply, error_reply};
use crate::engine::api::{ApiFormat, Provider};
use crate::engine::policy::Policy;
use crate::engine::route::match_route;

/// Headers, lowercase names, in arrival order (repeated names repeat).
pub type Headers = [(String, String)];

/// The values of every header named `name`.
pub fn header_values<'h>(
    headers: &'h Headers,
    name: &'h str,
) -> impl Iterator<Item = &'h str> + 'h {
    headers
        .iter()
        .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The single value of `name`, if it appears exactly once.
pub fn header<'h>(headers: &'h Headers, name: &'h str) -> Option<&'h str> {
    let mut values = header_values(headers, name);
    let first = values.next();
    if values.next().is_some() { None } else { first }
}

/// What to do with a request, decided from its headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeadDecision {
    /// Not an LLM call: pass untouched and unbuffered.
    PassThrough,
    /// An LLM call of this format: buffer and inspect the body.
    Inspect(ApiFormat),
    /// Answer now without forwarding.
    Reply(ErrorReply),
}

/// Decides from the request line and headers. Only `POST`s to configured routes are inspected;
/// their bodies must be JSON that the filter can read (one `content-type`, no `content-encoding`).
pub fn on_request_head(
    policy: &Policy,
    method: &str,
    path: &str,
    headers: &Headers,
    request_id: Option<&str>,
) -> HeadDecision {
    let Some(format) = match_route(&policy.routes, path) else {
        return HeadDecision::PassThrough;
    };
    if !method.eq_ignore_ascii_case("POST") {
        return HeadDecision::PassThrough;
    }
    let reject = |kind, code, message| {
        HeadDecision::Reply(reply(format.provider(), kind, code, message, request_id))
    };
    let mut types = header_values(headers, "content-type");
    let content_type = types.next();
    if types.next().is_some() {
        return reject(
            ErrorKind::UnsupportedMedia,
            "llm_warden.content_type",
            "send exactly one content-type header",
        );
    }
    if let Some(ct) = content_type {
        if !is_json(ct) {
            return reject(
                ErrorKind::UnsupportedMedia,
                "llm_warden.content_type",
                "request body must be application/json",
            );
        }
    }
    let encoded = header_values(headers, "content-encoding")
        .any(|v| !v.trim().eq_ignore_ascii_case("identity"));
    if encoded {
        return reject(
            ErrorKind::UnsupportedMedia,
            "llm_warden.content_encoding",
            "compressed request bodies cannot be inspected: send the body uncompressed",
        );
    }
    HeadDecision::Inspect(format)
}

/// Whether a content type is JSON (`application/json`, `application/*+json`, any parameters).
pub fn is_json(content_type: &str) -> bool {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

/// Whether a content type is a server-sent event stream.
pub fn is_event_stream(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .eq_ignore_ascii_case("text/event-stream")
}

/// An error reply for `provider` with a stable code and a message that holds no request content.
pub fn reply(
    provider: Provider,
    kind: ErrorKind,
    code: &str,
    message: &str,
    request_id: Option<&str>,
) -> ErrorReply {
    error_reply(
        provider,
        &ErrorInfo {
            kind,
            code,
            message,
            request_id,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn status(d: HeadDecision) -> u16 {
        match d {
            HeadDecision::Reply(r) => r.status,
            HeadDecision::Inspect(_) => 0,
            HeadDecision::PassThrough => 1,
        }
    }

    #[test]
    fn decides_from_headers() {
        let p = Policy::default();
        let json = h(&[("content-type", "application/json; charset=utf-8")]);
        assert_eq!(
            on_request_head(&p, "POST", "/v1/chat/completions", &json, None),
            HeadDecision::Inspect(ApiFormat::OpenAiChat)
        );
        assert_eq!(
            on_request_head(&p, "POST", "/v1/messages", &h(&[]), None),
            HeadDecision::Inspect(ApiFormat::AnthropicMessages)
        );
        assert_eq!(
            status(on_request_head(
                &p,
                "GET",
                "/v1/chat/completions",
                &json,
                None
            )),
            1
        );
        assert_eq!(
            status(on_request_head(&p, "POST", "/healthz", &json, None)),
            1
        );
        let twice = h(&[
            ("content-type", "application/json"),
            ("Content-Type", "text/plain"),
        ]);
        assert_eq!(
            status(on_request_head(
                &p,
                "POST",
                "/v1/chat/completions",
                &twice,
                None
            )),
            415
        );
        let text = h(&[("content-type", "TEXT/plain")]);
        assert_eq!(
            status(on_request_head(
                &p,
                "POST",
                "/v1/chat/completions",
                &text,
                None
            )),
            415
        );
        let gzip = h(&[
            ("content-type", "application/json"),
            ("content-encoding", "gzip"),
        ]);
        assert_eq!(
            status(on_request_head(
                &p,
                "POST",
                "/v1/chat/completions",
                &gzip,
                None
            )),
            415
        );
        let identity = h(&[("content-encoding", "Identity")]);
        assert_eq!(
            status(on_request_head(
                &p,
                "POST",
                "/v1/chat/completions",
                &identity,
                None
            )),
            0
        );
    }

    #[test]
    fn media_types() {
        assert!(is_json("Application/JSON"));
        assert!(is_json("application/vnd.api+json; x=y"));
        assert!(!is_json("text/json-ish"));
        assert!(is_event_stream("text/event-stream; charset=utf-8"));
    }
}
