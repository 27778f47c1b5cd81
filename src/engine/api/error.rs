//! Error replies in the caller's API dialect, so that official SDKs raise their typed errors.

use super::Provider;
use crate::engine::json::write_str;

/// A local reply the filter sends instead of forwarding or instead of the upstream's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorReply {
    /// HTTP status.
    pub status: u16,
    /// JSON body in the provider's error format.
    pub body: Vec<u8>,
    /// Extra response headers (for example `retry-after`).
    pub headers: Vec<(String, String)>,
    /// The reason code (`llm_warden.prompt_injection`), for stats and the audit log.
    pub code: String,
}

/// The reason for an error reply; picks the status and the provider's error type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: the request could not be read.
    InvalidRequest,
    /// 401: no usable identity.
    Unauthenticated,
    /// 403: blocked by policy.
    Blocked,
    /// 413: body over the configured limit.
    TooLarge,
    /// 415: a content type or encoding the filter cannot inspect.
    UnsupportedMedia,
    /// 429: quota exhausted.
    RateLimited,
    /// 500: the filter failed and is configured to fail closed.
    Internal,
    /// 502: the upstream answered with something the filter cannot inspect.
    BadUpstream,
}

impl ErrorKind {
    /// The HTTP status for this kind.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::InvalidRequest => 400,
            ErrorKind::Unauthenticated => 401,
            ErrorKind::Blocked => 403,
            ErrorKind::TooLarge => 413,
            ErrorKind::UnsupportedMedia => 415,
            ErrorKind::RateLimited => 429,
            ErrorKind::Internal => 500,
            ErrorKind::BadUpstream => 502,
        }
    }

    fn openai_type(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest | ErrorKind::TooLarge | ErrorKind::UnsupportedMedia => {
                "invalid_request_error"
            }
            ErrorKind::Unauthenticated => "authentication_error",
            ErrorKind::Blocked => "permission_error",
            ErrorKind::RateLimited => "rate_limit_exceeded",
            ErrorKind::Internal | ErrorKind::BadUpstream => "server_error",
        }
    }

    fn anthropic_type(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest | ErrorKind::UnsupportedMedia => "invalid_request_error",
            ErrorKind::Unauthenticated => "authentication_error",
            ErrorKind::Blocked => "permission_error",
            ErrorKind::TooLarge => "request_too_large",
            ErrorKind::RateLimited => "rate_limit_error",
            ErrorKind::Internal | ErrorKind::BadUpstream => "api_error",
        }
    }
}

/// What an error reply says: the kind, a stable machine-readable code, a message for humans, and
/// the request id so operators can find the audit record.
#[derive(Clone, Copy, Debug)]
pub struct ErrorInfo<'a> {
    /// Status and error type.
    pub kind: ErrorKind,
    /// Stable code, `llm_warden.<reason>` (for example `llm_warden.prompt_injection`).
    pub code: &'a str,
    /// Message for humans; never contains request content.
    pub message: &'a str,
    /// The request's `x-request-id`, when there is one.
    pub request_id: Option<&'a str>,
}

/// The error object's JSON, in `provider`'s dialect.
pub fn error_json(provider: Provider, info: &ErrorInfo<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(192);
    let field = |out: &mut Vec<u8>, key: &str, value: &str| {
        out.push(b',');
        write_str(out, key);
        out.push(b':');
        write_str(out, value);
    };
    match provider {
        Provider::OpenAi => {
            out.extend_from_slice(b"{\"error\":{\"message\":");
            write_str(&mut out, info.message);
            field(&mut out, "type", info.kind.openai_type());
            out.extend_from_slice(b",\"param\":null");
            field(&mut out, "code", info.code);
        }
        Provider::Anthropic => {
            out.extend_from_slice(b"{\"type\":\"error\",\"error\":{\"type\":");
            write_str(&mut out, info.kind.anthropic_type());
            field(&mut out, "message", info.message);
            field(&mut out, "code", info.code);
        }
    }
    if let Some(id) = info.request_id {
        field(&mut out, "request_id", id);
    }
    out.extend_from_slice(b"}}");
    out
}

/// A complete error reply for `provider`.
pub fn error_reply(provider: Provider, info: &ErrorInfo<'_>) -> ErrorReply {
    ErrorReply {
        status: info.kind.status(),
        body: error_json(provider, info),
        headers: Vec::new(),
        code: info.code.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn dialects() {
        let info = ErrorInfo {
            kind: ErrorKind::Blocked,
            code: "llm_warden.x",
            message: "no \"way\"",
            request_id: Some("r1"),
        };
        let openai: serde_json::Value =
            serde_json::from_slice(&error_json(Provider::OpenAi, &info)).unwrap();
        assert_eq!(openai["error"]["type"], "permission_error");
        assert_eq!(openai["error"]["message"], "no \"way\"");
        assert_eq!(openai["error"]["code"], "llm_warden.x");
        assert_eq!(openai["error"]["request_id"], "r1");
        let anthropic: serde_json::Value =
            serde_json::from_slice(&error_json(Provider::Anthropic, &info)).unwrap();
        assert_eq!(anthropic["type"], "error");
        assert_eq!(anthropic["error"]["type"], "permission_error");
        assert_eq!(
            error_reply(
                Provider::Anthropic,
                &ErrorInfo {
                    kind: ErrorKind::TooLarge,
                    ..info
                }
            )
            .status,
            413
        );
    }
}
