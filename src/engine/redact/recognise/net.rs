//! Network identifiers: e-mail addresses, IPv6 addresses, and URLs — credentials in their user
//! part, Slack webhooks, and exfiltration links (markdown or HTML images and links to hosts
//! outside the allow-list that carry data).

use super::{Step, Text, found};
use crate::engine::redact::entity::Entity;
use crate::engine::redact::scan::{Scan, Token};

const MAX_DOMAIN: usize = 253;
const MAX_URL: usize = 2048;

fn local_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

/// An e-mail address whose local part ends `tok` (the byte after it is `@`).
pub fn email(t: &Text<'_>, tok: Token) -> Step {
    let at = tok.end;
    let mut start = at;
    while start > tok.start && t.at(start - 1).is_some_and(local_byte) {
        start -= 1;
    }
    while t.at(start) == Some(b'.') && start < at {
        start += 1;
    }
    if start == at {
        return Step::No;
    }
    let mut end = at + 1;
    while t
        .at(end)
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    {
        end += 1;
        if end - at > MAX_DOMAIN {
            return Step::No;
        }
    }
    if t.short(end) {
        return Step::More;
    }
    while end > at + 1 && matches!(t.at(end - 1), Some(b'.' | b'-')) {
        end -= 1;
    }
    let domain = t.slice(at + 1, end);
    let Some(dot) = domain.iter().rposition(|&b| b == b'.') else {
        return Step::No;
    };
    let tld = domain.get(dot + 1..).unwrap_or_default();
    let labels_ok = domain.split(|&b| b == b'.').all(|l| !l.is_empty());
    if tld.len() < 2 || !tld.iter().all(u8::is_ascii_alphabetic) || !labels_ok {
        return Step::No;
    }
    found(start, end, Entity::Email)
}

/// A token followed by `:`: a URL (`scheme://`) or an IPv6 address.
pub fn after_colon(cx: &Scan<'_>, t: &Text<'_>, tok: Token) -> Step {
    let colon = tok.end;
    if t.short(colon + 3) {
        return Step::More;
    }
    if t.slice(colon, colon + 3) == b"://" {
        return url(cx, t, tok);
    }
    ipv6(t, tok.start)
}

fn ipv6(t: &Text<'_>, start: usize) -> Step {
    let mut end = start;
    while t
        .at(end)
        .is_some_and(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
    {
        end += 1;
        if end - start > 45 {
            return Step::No;
        }
    }
    if t.short(end) {
        return Step::More;
    }
    while end > start && matches!(t.at(end - 1), Some(b'.')) {
        end -= 1;
    }
    if t.at(end).is_some_and(|b| b.is_ascii_alphanumeric()) {
        return Step::No;
    }
    let text = t.slice(start, end);
    let colons = text.iter().filter(|&&b| b == b':').count();
    let compressed = text.windows(2).any(|w| w == b"::");
    if colons < 2 || (!compressed && colons < 7) {
        return Step::No;
    }
    let parsed = std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse::<std::net::Ipv6Addr>().ok());
    match parsed {
        Some(_) => found(start, end, Entity::IpAddress),
        None => Step::No,
    }
}

fn url_end(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'<' | b'>' | b')' | b'`' | b'|')
}

fn url(cx: &Scan<'_>, t: &Text<'_>, tok: Token) -> Step {
    // The scheme: the letters before `://` (the token may hold more, as in `(https`).
    let mut start = tok.end;
    while start > tok.start
        && t.at(start - 1)
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-'))
    {
        start -= 1;
    }
    if start == tok.end {
        return Step::No;
    }
    let body = tok.end + 3;
    let mut end = body;
    // A URL ends at white space, a quote or bracket, or where another `://` starts: each byte is
    // read by one URL only.
    while t.at(end).is_some_and(|b| !url_end(b)) && t.slice(end, end + 3) != b"://" {
        end += 1;
        if end - start > MAX_URL {
            return Step::No;
        }
    }
    if t.short(end) {
        return Step::More;
    }
    while end > body && matches!(t.at(end - 1), Some(b'.' | b',' | b';' | b':' | b'!' | b']')) {
        end -= 1;
    }
    let rest = t.slice(body, end);
    let auth_len = rest
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let authority = rest.get(..auth_len).unwrap_or_default();
    let after = rest.get(auth_len..).unwrap_or_default();
    if let Some(at) = authority.iter().rposition(|&b| b == b'@') {
        let user = authority.get(..at).unwrap_or_default();
        let password = user.splitn(2, |&b| b == b':').nth(1).unwrap_or_default();
        let placeholder = password.is_empty()
            || password.iter().all(|b| !b.is_ascii_lowercase())
                && password.iter().all(|b| !b.is_ascii_digit())
            || password.starts_with(b"$")
            || password.starts_with(b"<")
            || password.starts_with(b"{");
        if !placeholder {
            return found(body, body + at, Entity::ConnectionString);
        }
    }
    let host_port = match authority.iter().rposition(|&b| b == b'@') {
        Some(at) => authority.get(at + 1..).unwrap_or_default(),
        None => authority,
    };
    let host = host_port
        .split(|&b| b == b':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if host == b"hooks.slack.com" && after.starts_with(b"/services/") {
        return found(start, end, Entity::SlackWebhook);
    }
    let embedded = {
        let before = t.slice(start.saturating_sub(6), start).to_ascii_lowercase();
        before.ends_with(b"](")
            || before.ends_with(b"](<")
            || before.ends_with(b"src=\"")
            || before.ends_with(b"src='")
            || before.ends_with(b"href=\"")
            || before.ends_with(b"href='")
    };
    let carries_data = after.iter().any(|&b| b == b'?' || b == b'#') || after.len() > 64;
    if embedded && carries_data && !cx.rules.host_allowed(&host) {
        return found(start, end, Entity::ExfilLink);
    }
    Step::No
}
