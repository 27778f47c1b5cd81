//! Per-tool argument rules: a schema, deny patterns over every string argument, and the hosts URL
//! arguments may name.

use super::{Schema, Violation};
use crate::engine::json::{Kind, Value};
use regex_lite::Regex;

/// Deepest nesting of arguments parsed from text.
pub(super) const MAX_DEPTH: usize = 32;

/// A host a URL argument may name: exactly, or any subdomain of it (`*.example.com`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostPattern {
    /// This host only.
    Exact(String),
    /// Subdomains of a domain (not the domain itself), stored with its leading dot: `.example.com`.
    Subdomains(String),
}

impl HostPattern {
    fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Exact(h) => host == h,
            HostPattern::Subdomains(d) => host
                .strip_suffix(d.as_str())
                .is_some_and(|rest| !rest.is_empty()),
        }
    }
}

/// The rules for one tool's arguments.
#[derive(Clone, Debug, Default)]
pub struct ArgRules {
    /// The arguments' schema.
    pub schema: Schema,
    /// Patterns no string argument may match.
    pub deny: Vec<Regex>,
    /// Hosts URL arguments may name; `None`: any.
    pub url_hosts: Option<Vec<HostPattern>>,
}

impl ArgRules {
    /// Checks parsed arguments.
    pub fn check(&self, arguments: &Value<'_>) -> Result<(), Violation> {
        if !self.schema.accepts(arguments) {
            return Err(Violation::Schema);
        }
        let mut strings = Vec::new();
        collect_strings(arguments, &mut strings);
        for s in &strings {
            if self.deny.iter().any(|p| p.is_match(s)) {
                return Err(Violation::Denied);
            }
            if let Some(hosts) = &self.url_hosts {
                for host in url_hosts(s) {
                    if !hosts.iter().any(|h| h.matches(&host)) {
                        return Err(Violation::Host);
                    }
                }
            }
        }
        Ok(())
    }
}

fn collect_strings<'a>(value: &'a Value<'_>, out: &mut Vec<&'a str>) {
    match &value.kind {
        Kind::String(s) => out.push(s),
        Kind::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Kind::Object(members) => members.iter().for_each(|(k, v)| {
            out.push(k);
            collect_strings(v, out)
        }),
        _ => {}
    }
}

/// The hosts of every `scheme://` URL in `text`, lowercased, without userinfo and port. A URL
/// with an empty host yields `""`, which no host pattern matches.
pub(super) fn url_hosts(text: &str) -> Vec<String> {
    let mut hosts = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let after = rest.get(at + 3..).unwrap_or_default();
        let authority_end = after
            .find(|c: char| matches!(c, '/' | '?' | '#' | '\\') || c.is_whitespace())
            .unwrap_or(after.len());
        let authority = after.get(..authority_end).unwrap_or_default();
        let host_port = authority.rsplit('@').next().unwrap_or_default();
        let host = if let Some(v6) = host_port.strip_prefix('[') {
            v6.split(']').next().unwrap_or_default()
        } else {
            host_port.split(':').next().unwrap_or_default()
        };
        hosts.push(host.trim_end_matches('.').to_ascii_lowercase());
        rest = after;
    }
    hosts
}
