//! Which requests are LLM API calls: path normalisation and route matching.
//!
//! Paths are compared after the normalisation an upstream server might apply itself (query removed,
//! percent-decoding, repeated slashes merged, dot segments resolved, ASCII case folded), so that
//! `//v1/Chat/%63ompletions?x=1` cannot slip past a route for `/v1/chat/completions`. Decoding is
//! repeated until no escape is left, because an upstream may decode more than once (`%2563` is
//! `c`), and a byte that is not UTF-8 never stops the rest of the path from being decoded.

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

/// The path as an upstream would route it: no query or fragment, percent-decoded (repeatedly),
/// single slashes, no `.`/`..` segments, ASCII lowercase, no trailing slash.
///
/// The result is a fixed point: normalising it again changes nothing. A `?` or `#` that was
/// escaped in the path is part of a segment, not a query, and stays escaped (`%3f`, `%23`).
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
        for c in s.chars() {
            match c {
                '?' => out.push_str("%3f"),
                '#' => out.push_str("%23"),
                c => out.push(c),
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out.make_ascii_lowercase();
    out
}

/// Decodes `%XX` escapes until none is left, in one pass: a decoded byte can complete an escape
/// with the bytes before it (`%25` `63` is `%63` is `c`), so the end of the output is checked again
/// after each decode. Each decode shortens the output by two bytes, so the work is linear. Invalid
/// escapes stay as written; bytes that are not UTF-8 become U+FFFD.
fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let mut out = Vec::with_capacity(s.len());
    for &b in s.as_bytes() {
        out.push(b);
        while let [.., b'%', hi, lo] = *out.as_slice() {
            let (Some(hi), Some(lo)) = (hex(hi), hex(lo)) else {
                break;
            };
            out.truncate(out.len() - 3);
            out.push(hi << 4 | lo);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    // INVARIANT: a hex digit's value is below 16, so the cast cannot truncate.
    (b as char).to_digit(16).map(|d| d as u8)
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

    /// Found by the `route` fuzz target (`%2570` against `%70`): decoding once left `%70`, which an
    /// upstream that decodes twice, or a second normalisation, reads as `p`.
    #[test]
    fn double_encoded_escapes_decode_fully() {
        assert_eq!(normalise_path("/%2570"), "/p");
        assert_eq!(normalise_path("/%25%37%30"), "/p");
        assert_eq!(
            normalise_path("/v1/chat/%252563ompletions"),
            "/v1/chat/completions"
        );
        for path in ["/%2570", "/%%7%70", "/a%3fb", "/a%23b", "/%25zz", "/%ff"] {
            let once = normalise_path(path);
            assert_eq!(normalise_path(&once), once, "{path}");
        }
    }

    /// Found by the `route` fuzz target (`v%a5/coyyyyy`, letters escaped): an escape decoding to a
    /// byte that is not UTF-8 left the whole path undecoded, so `/%ff/v1/chat/%63ompletions`
    /// passed uninspected.
    #[test]
    fn invalid_utf8_escape_does_not_stop_decoding() {
        assert_eq!(normalise_path("/v%a5/%63"), "/v\u{fffd}/c");
        let routes = default_routes();
        assert_eq!(
            match_route(&routes, "/%ff/v1/chat/%63ompletions"),
            Some(ApiFormat::OpenAiChat)
        );
        assert_eq!(
            match_route(&routes, "/%ff/../v1/%6Dessages"),
            Some(ApiFormat::AnthropicMessages)
        );
    }

    /// An escaped `?` or `#` is part of a segment, not a query: it stays escaped, so that
    /// normalising again does not cut the path there.
    #[test]
    fn escaped_query_characters_stay_escaped() {
        assert_eq!(normalise_path("/a%3Fb%23c?q#f"), "/a%3fb%23c");
        assert_eq!(normalise_path("/a%3fb%23c"), "/a%3fb%23c");
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
