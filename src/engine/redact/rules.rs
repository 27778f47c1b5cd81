//! Rules from the configuration that the scanner applies to tokens: canaries, the link-host
//! allow-list, and custom entities (a pattern and an optional validator).

use super::entity::Entity;
use super::recognise::{Step, found};
use super::validate;

/// A check a custom entity's matches must pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validator {
    /// The Luhn checksum over the match's digits.
    Luhn,
    /// Mod-97 over the match as an IBAN (spaces removed).
    Mod97,
}

/// A custom entity: matched within single tokens.
#[derive(Clone, Debug)]
pub struct CustomEntity {
    /// Label in masks and pseudonyms: the name upper-cased (`[REDACTED_EMPLOYEE_ID]`).
    pub label: String,
    /// The compiled pattern.
    pub pattern: regex_lite::Regex,
    /// Extra check, if any.
    pub validator: Option<Validator>,
}

/// Compiled token rules.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    /// Canary strings (token bytes only, at least 8).
    pub canaries: Vec<String>,
    /// Hosts links and images may point at with data (lower case; `*.example.com` for subdomains).
    pub link_hosts: Vec<String>,
    /// Custom entities, in configuration order.
    pub custom: Vec<CustomEntity>,
}

impl Rules {
    /// Whether `host` (lower case) is allowed to receive data in links.
    pub fn host_allowed(&self, host: &[u8]) -> bool {
        self.link_hosts.iter().any(|h| match h.strip_prefix("*.") {
            Some(domain) => {
                host.ends_with(domain.as_bytes())
                    && host.len() > domain.len()
                    && host.get(host.len() - domain.len() - 1) == Some(&b'.')
            }
            None => h.as_bytes() == host,
        })
    }

    /// Canaries and custom entities within one token starting at `offset`.
    pub(super) fn token(&self, token: &[u8], offset: usize) -> Step {
        for canary in &self.canaries {
            if let Some(at) = memchr::memmem::find(token, canary.as_bytes()) {
                return found(offset + at, offset + at + canary.len(), Entity::Canary);
            }
        }
        let Ok(text) = std::str::from_utf8(token) else {
            return Step::No;
        };
        for (index, custom) in self.custom.iter().enumerate() {
            for m in custom.pattern.find_iter(text) {
                let ok = match custom.validator {
                    None => true,
                    Some(Validator::Luhn) => {
                        let digits: Vec<u8> =
                            m.as_str().bytes().filter(u8::is_ascii_digit).collect();
                        digits.len() >= 2 && validate::luhn(&digits)
                    }
                    Some(Validator::Mod97) => validate::iban(
                        &m.as_str()
                            .bytes()
                            .filter(|b| *b != b' ')
                            .map(|b| b.to_ascii_uppercase())
                            .collect::<Vec<u8>>(),
                    ),
                };
                if ok && !m.as_str().is_empty() {
                    let entity = Entity::Custom(u16::try_from(index).unwrap_or(u16::MAX));
                    return found(offset + m.start(), offset + m.end(), entity);
                }
            }
        }
        Step::No
    }
}
