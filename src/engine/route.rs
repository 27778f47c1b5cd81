//! Which requests are LLM API calls: path normalisation and route matching.
//!
//! Paths are compared after the normalisation an upstream server might apply itself (query removed,
//! percent-decoding, repeated slashes merged, dot segments resolved, ASCII case folded), so that
//! `//v1/Chat/%63ompletions?x=1` cannot slip past a route for `/v1/chat/completions`.

use super::api::ApiFormat;

/// One configured route: a path and the API format spoken there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// Normalised path, starting with `/`.
    pub path: String,
    /// The format spoken there.
    pub format: ApiFormat,
    /// Whether the path also matches under any prefix (`/openai/v1/chat/completions`).
    pub under_any_prefix: bool,
}

/// The routes of the default configuration: each format's canonical path, under any prefix.
pub fn default_routes() -> Vec<Route> {
    ApiFormat::ALL
        .into_iter()
        .map(|format| Route {
            path: format.default_path().to_string(),
            format,
            under_any_prefix: true,
        })
        .collect()
}

/// The format of the first route `path` matches.
pub fn match_route(routes: &[Route], path: &str) -> Option<ApiFormat> {
    let normalised = normalise_path(path);
    routes
        .iter()
        .find(|r| {
            normalised == r.path || (r.under_any_prefix && normalised.ends_with(r.path.as_str()))
        })
        .map(|r| r.format)
}

/// The path as an upstream would route it: no query or fragment, percent-decoded, single
/// slashes, no `.`/`..` segments, ASCII lowercase, no trailing slash.
pub fn normalise_path(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let decoded = percent_decode(path);
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split(['/', '\\']) {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(decoded.len() + 1);
    for s in segments {
        out.push('/');
        out.push_str(s);
    }
    if out.is_empty() {
        out.push('/');
    }
    out.make_ascii_lowercase();
    out
}

/// Decodes `%XX` escapes; invalid escapes and non-UTF-8 results are left as written.
fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn normalises_like_an_upstream() {
        assert_eq!(
            normalise_path("//v1//chat/completions?x=1"),
            "/v1/chat/completions"
        );
        assert_eq!(
            normalise_path("/v1/chat/%63ompletions"),
            "/v1/chat/completions"
        );
        assert_eq!(
            normalise_path("/V1/Chat/Completions/"),
            "/v1/chat/completions"
        );
        assert_eq!(normalise_path("/x/../v1/./messages#f"), "/v1/messages");
        assert_eq!(normalise_path("/v1%2fmessages"), "/v1/messages");
        assert_eq!(normalise_path("/a%zz%"), "/a%zz%");
        assert_eq!(normalise_path(""), "/");
    }

    #[test]
    fn matches_default_routes_under_any_prefix() {
        let routes = default_routes();
        assert_eq!(
            match_route(&routes, "/v1/chat/completions"),
            Some(ApiFormat::OpenAiChat)
        );
        assert_eq!(
            match_route(&routes, "/openai/v1/chat/completions"),
            Some(ApiFormat::OpenAiChat)
        );
        assert_eq!(
            match_route(&routes, "/v1/completions"),
            Some(ApiFormat::OpenAiCompletions)
        );
        assert_eq!(
            match_route(&routes, "/v1/responses?stream=1"),
            Some(ApiFormat::OpenAiResponses)
        );
        assert_eq!(
            match_route(&routes, "/anthropic/v1/messages"),
            Some(ApiFormat::AnthropicMessages)
        );
        assert_eq!(match_route(&routes, "/v1/models"), None);
        assert_eq!(match_route(&routes, "/v1/chat/completionsx"), None);
        assert_eq!(match_route(&routes, "/xv1/messages"), None);
    }

    #[test]
    fn exact_routes_do_not_match_under_prefixes() {
        let routes = vec![Route {
            path: "/v1/messages".into(),
            format: ApiFormat::AnthropicMessages,
            under_any_prefix: false,
        }];
        assert_eq!(
            match_route(&routes, "/v1/messages"),
            Some(ApiFormat::AnthropicMessages)
        );
        assert_eq!(match_route(&routes, "/p/v1/messages"), None);
    }
}
