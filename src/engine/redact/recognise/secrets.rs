//! Credentials: provider keys by their documented prefixes, JWTs, PEM private keys, values of
//! `password=` / `api_key:` assignments and `Authorization` headers, and — for the hundreds of
//! other vendors — tokens whose shape and entropy say "secret" (a `prefix_` then a random body,
//! or a random string next to a word such as `token` or `key`).

use super::assign::{key_word, keyword_before};
use super::{Step, Text, found, letters_and_digits, mixed};
use crate::engine::redact::entity::Entity;
use crate::engine::redact::scan::{Token, class};
use crate::engine::redact::validate::entropy;

/// Longest PEM block read; a longer one has its header masked and its lines caught as
/// high-entropy strings.
pub const MAX_PEM: usize = 8192;

/// Classifies a token: a known key shape, an assignment's key, or a random-looking string.
pub fn token(t: &Text<'_>, tok: Token) -> Step {
    let bytes = t.slice(tok.start, tok.end);
    if bytes.starts_with(b"-----BEGIN") {
        return pem(t, tok);
    }
    let len = bytes.len();
    if let Some(step) = key_word(t, tok, bytes).filter(|s| *s != Step::No) {
        return step;
    }
    if len < 16 {
        return Step::No;
    }
    let (body, end) = trimmed(t, tok);
    if let Some(entity) = prefixed(body) {
        return found(tok.start, end, entity);
    }
    if body.len() < 16 || !(letters_and_digits(tok.classes) || balanced_case(body)) {
        return Step::No;
    }
    let generic = vendor_shape(body)
        || (compact(body) && keyword_before(t, tok.start) && entropy(body) >= 3.0)
        || random(body, tok.classes);
    if generic {
        found(tok.start, end, Entity::GenericSecret)
    } else {
        Step::No
    }
}

/// The token without trailing `.`/`-`, plus base64 `=` padding after it.
fn trimmed<'t>(t: &Text<'t>, tok: Token) -> (&'t [u8], usize) {
    let mut end = tok.end;
    while end > tok.start && matches!(t.at(end - 1), Some(b'.' | b'-' | b'/')) {
        end -= 1;
    }
    if end == tok.end {
        while end < tok.end + 2 && t.at(end) == Some(b'=') {
            end += 1;
        }
    }
    (t.slice(tok.start, end), end)
}

fn body_after(bytes: &[u8], prefix: &[u8], min: usize) -> bool {
    bytes.len() >= prefix.len() + min && bytes.starts_with(prefix)
}

/// Keys with a documented prefix.
pub fn prefixed(b: &[u8]) -> Option<Entity> {
    let upper_digits = |s: &[u8]| {
        s.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    };
    if b.len() >= 20
        && [b"AKIA", b"ASIA", b"ABIA", b"ACCA"]
            .iter()
            .any(|p| b.starts_with(*p))
        && upper_digits(b.get(..20).unwrap_or_default())
    {
        return Some(Entity::AwsKey);
    }
    if [b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_"]
        .iter()
        .any(|p| body_after(b, *p, 30))
        || body_after(b, b"github_pat_", 40)
    {
        return Some(Entity::GithubToken);
    }
    if body_after(b, b"sk-ant-", 20) {
        return Some(Entity::AnthropicKey);
    }
    if body_after(b, b"sk-", 20) && (mixed_bytes(b) || b.windows(8).any(|w| w == b"T3BlbkFJ")) {
        return Some(Entity::OpenAiKey);
    }
    let slack = b.len() >= 15
        && (b.starts_with(b"xapp-")
            || (b.starts_with(b"xox")
                && b.get(4) == Some(&b'-')
                && b.get(3).is_some_and(|c| b"abposre".contains(c))));
    if slack {
        return Some(Entity::SlackToken);
    }
    if [b"sk_live_", b"sk_test_", b"rk_live_", b"rk_test_"]
        .iter()
        .any(|p| body_after(b, *p, 16))
    {
        return Some(Entity::StripeKey);
    }
    if body_after(b, b"AIza", 35) {
        return Some(Entity::GoogleApiKey);
    }
    if b.starts_with(b"eyJ") && b.windows(4).any(|w| w == b".eyJ") && b.len() >= 30 {
        return Some(Entity::Jwt);
    }
    None
}

fn mixed_bytes(b: &[u8]) -> bool {
    let classes = b.iter().fold(0, |acc, &c| acc | class(c));
    mixed(classes)
}

/// `prefix_` or `prefix-` (2 to 12 letters, lower case or all capitals) and a random body of at
/// least 16 bytes: the shape of most vendors' tokens (`glpat-`, `npm_`, `dop_v1_`, `SG.`).
fn vendor_shape(b: &[u8]) -> bool {
    let Some(p) = b
        .iter()
        .take(13)
        .position(|&c| matches!(c, b'_' | b'-' | b'.'))
    else {
        return false;
    };
    let prefix = b.get(..p).unwrap_or_default();
    let one_case =
        prefix.iter().all(u8::is_ascii_lowercase) || prefix.iter().all(u8::is_ascii_uppercase);
    let rest = b.get(p + 1..).unwrap_or_default();
    let rest_classes = rest.iter().fold(0, |acc, &c| acc | class(c));
    p >= 2
        && one_case
        && rest.len() >= 16
        && (letters_and_digits(rest_classes) || (rest.len() >= 24 && balanced_case(rest)))
        && entropy(rest) >= 3.3
        && compact(rest)
}

/// Whether `b` is one compact string, not a path, a domain or a URL: mostly letters and digits,
/// no `//`, and any `.`-separated parts long (`SG.<22>.<43>`, not `proxy.internal.node40.com`).
fn compact(b: &[u8]) -> bool {
    let alnum = b.iter().filter(|c| c.is_ascii_alphanumeric()).count();
    alnum * 10 >= b.len() * 8
        && !b.windows(2).any(|w| w == b"//")
        && (!b.contains(&b'.') || b.split(|&c| c == b'.').all(|part| part.len() >= 16))
}

/// The longest run of lower-case letters: words have long ones, random strings rarely more
/// than a few.
fn lower_run(b: &[u8]) -> usize {
    let mut best = 0;
    let mut run = 0;
    for c in b {
        run = if c.is_ascii_lowercase() { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// Whether upper and lower case letters are about as frequent (random, not `CamelCase`).
pub(super) fn balanced_case(b: &[u8]) -> bool {
    let upper = b.iter().filter(|c| c.is_ascii_uppercase()).count();
    let letters = b.iter().filter(|c| c.is_ascii_alphabetic()).count();
    letters > 0 && upper * 10 >= letters * 3 && upper * 10 <= letters * 7
}

/// A random-looking string: long, upper and lower case and digits, mostly alphanumeric, high
/// entropy.
fn random(b: &[u8], classes: u8) -> bool {
    let alnum = b.iter().filter(|c| c.is_ascii_alphanumeric()).count();
    let slashes = b.iter().filter(|&&c| c == b'/').count();
    b.len() >= 20
        && !b.contains(&b'.')
        && !b.starts_with(b"/")
        && lower_run(b) <= 8
        && mixed(classes)
        && alnum * 10 >= b.len() * 9
        && slashes <= b.len() / 16
        && entropy(b) >= 3.6
}

/// A PEM block from `-----BEGIN … PRIVATE KEY-----` to its `-----END …-----` line.
fn pem(t: &Text<'_>, tok: Token) -> Step {
    let line_end = (tok.start..tok.start + 100)
        .find(|&i| matches!(t.at(i), Some(b'\n' | b'\r') | None))
        .unwrap_or(tok.start + 100);
    if t.short(line_end) {
        return Step::More;
    }
    let header = t.slice(tok.start, line_end);
    if !header.windows(11).any(|w| w == b"PRIVATE KEY") {
        return Step::No;
    }
    let Some(close) = header.windows(5).skip(10).position(|w| w == b"-----") else {
        return Step::No;
    };
    let header_end = tok.start + close + 15;
    // The block ends at the first `-----` after its header; one that is not `-----END` (another
    // `-----BEGIN`) means this block has no end, so each header is searched from only once.
    let window = t.slice(header_end, tok.start + MAX_PEM);
    let dashes = window.windows(5).position(|w| w == b"-----");
    let end_line = dashes.filter(|&e| window.get(e..e + 8) == Some(b"-----END".as_slice()));
    if dashes.is_some_and(|e| e + 8 > window.len()) && t.short(header_end + window.len() + 1) {
        return Step::More;
    }
    if let Some(e) = end_line {
        let after = header_end + e + 8;
        let tail = t.slice(after, after + 100);
        if let Some(c) = tail.windows(5).position(|w| w == b"-----") {
            return found(tok.start, after + c + 5, Entity::PrivateKey);
        }
        if t.short(after + 100) {
            return Step::More;
        }
    } else if dashes.is_none() && t.short(tok.start + MAX_PEM) {
        return Step::More;
    }
    found(tok.start, header_end, Entity::PrivateKey)
}
