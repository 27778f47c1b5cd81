//! Path normalisation and route matching.
//!
//! Input: one control byte (bits 0-2: how many mask bytes follow), the mask bytes, then the path
//! (read as UTF-8, invalid sequences replaced).
//!
//! - `normalise_path` gives a canonical path (one leading slash, no empty, `.` or `..` segments,
//!   no trailing slash, lowercase, no query) and is idempotent.
//! - Percent-encoding any characters of the path (those the mask picks) or upper-casing it does not
//!   change where it routes: an upstream decodes and folds them, so the filter must too.
//! - `on_request_head` inspects exactly the paths `match_route` matches.

use crate::util::{Input, REQUEST_ID, check_reply};
use llm_warden::engine::exchange::{HeadDecision, on_request_head};
use llm_warden::engine::policy::Policy;
use llm_warden::engine::route::{match_route, normalise_path};
use std::fmt::Write;

/// Runs the checks on one input.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let mask_len = usize::from(input.byte() & 7);
    let mask = input.bytes(mask_len).to_vec();
    let path = String::from_utf8_lossy(input.rest()).into_owned();

    let normal = normalise_path(&path);
    canonical(&normal);
    assert_eq!(normalise_path(&normal), normal, "not idempotent");
    assert_eq!(
        normalise_path(&path.to_ascii_uppercase()),
        normal,
        "case changes the route"
    );
    let encoded = encode_some(&path, &mask);
    assert_eq!(
        normalise_path(&encoded),
        normal,
        "percent-encoding changes the route: {encoded:?}"
    );

    let policy = Policy::default();
    let route = match_route(&policy.routes, &path);
    assert_eq!(match_route(&policy.routes, &normal), route);
    let headers = [("content-type".to_string(), "application/json".to_string())];
    match on_request_head(&policy, "POST", &path, &headers, Some(REQUEST_ID)) {
        HeadDecision::PassThrough => assert_eq!(route, None),
        HeadDecision::Inspect(format) => assert_eq!(route, Some(format)),
        HeadDecision::Reply(reply) => panic!("a JSON POST was refused: {}", reply.status),
    }
    let text = [("content-type".to_string(), "text/plain".to_string())];
    if let HeadDecision::Reply(reply) =
        on_request_head(&policy, "POST", &path, &text, Some(REQUEST_ID))
    {
        let format = route.expect("a reply for a path that matches no route");
        check_reply(&reply, format.provider(), &[415]);
    }
}

fn canonical(normal: &str) {
    assert!(normal.starts_with('/'), "{normal:?}");
    if normal != "/" {
        assert!(!normal.ends_with('/'), "{normal:?}");
        for segment in normal.split('/').skip(1) {
            assert!(!matches!(segment, "" | "." | ".."), "{normal:?}");
        }
    }
    assert!(
        !normal.contains(['?', '#', '\\']) && !normal.bytes().any(|b| b.is_ascii_uppercase()),
        "{normal:?}"
    );
}

/// `path` with the characters the mask's bits pick percent-encoded (cycling through the mask),
/// up to the query, which stays as it is.
fn encode_some(path: &str, mask: &[u8]) -> String {
    let end = path.find(['?', '#']).unwrap_or(path.len());
    let (head, query) = path.split_at(end);
    let mut bits = mask
        .iter()
        .flat_map(|&m| (0..8).map(move |i| m >> i & 1 == 1))
        .cycle();
    let mut out = String::with_capacity(path.len() * 3);
    for c in head.chars() {
        if bits.next().unwrap_or(false) {
            let mut utf8 = [0u8; 4];
            for b in c.encode_utf8(&mut utf8).bytes() {
                let _ = write!(out, "%{b:02X}");
            }
        } else {
            out.push(c);
        }
    }
    out.push_str(query);
    out
}
