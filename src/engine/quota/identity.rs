//! Who the consumer is: a trusted header, the API key (kept only as a keyed hash) or the source
//! address, in that order; requests with none of them follow the anonymous policy.

use crate::engine::exchange::{Headers, header};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Bytes of a consumer id: a truncated HMAC-SHA256.
pub const ID_BYTES: usize = 16;

/// A consumer id: the keyed hash of where the identity came from and what it was.
pub type ConsumerId = [u8; ID_BYTES];

/// What to do with requests that carry no identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anonymous {
    /// They share one bucket with the default group's limits.
    Shared,
    /// They are answered with 401.
    Reject,
}

/// Where identities come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentitySettings {
    /// A header set by a trusted filter before this one (for example `x-consumer-id`), if any.
    pub header: Option<String>,
    /// Whether `authorization: Bearer …` or `x-api-key` identify the consumer.
    pub api_key: bool,
    /// Whether the source address identifies the consumer.
    pub source_address: bool,
    /// Requests without an identity.
    pub anonymous: Anonymous,
    /// A trusted header naming the consumer's group, if any.
    pub group_header: Option<String>,
}

impl Default for IdentitySettings {
    fn default() -> Self {
        IdentitySettings {
            // Off unless configured: a header is an identity only if a filter before this one sets
            // it and removes the client's own, or clients could pick their bucket.
            header: None,
            api_key: true,
            source_address: true,
            anonymous: Anonymous::Shared,
            group_header: None,
        }
    }
}

/// Which source identified the consumer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The trusted header.
    Header,
    /// A verified JWT claim (Envoy's `jwt_authn`).
    Jwt,
    /// The API key.
    ApiKey,
    /// The source address.
    Address,
    /// No identity: the shared anonymous bucket.
    Anonymous,
}

impl Source {
    /// The source's name in metadata and logs.
    pub fn name(self) -> &'static str {
        match self {
            Source::Header => "header",
            Source::Jwt => "jwt",
            Source::ApiKey => "api_key",
            Source::Address => "address",
            Source::Anonymous => "anonymous",
        }
    }
}

/// The consumer of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consumer {
    /// Where the identity came from.
    pub source: Source,
    /// The keyed hash that names its counters.
    pub id: ConsumerId,
    /// A printable name for metadata and the fleet's rate-limit descriptors: the header value or
    /// the address as given, `key:` and a hash prefix for API keys — never the key itself.
    pub label: String,
    /// The header identity, for group membership.
    pub header_value: Option<String>,
    /// The group named by the group header, if any.
    pub group_name: Option<String>,
}

/// Reads the connection's source address (`ip:port`) when the identity comes down to it: no
/// trusted header and no API key. Reading it is a host call, not free.
pub type SourceAddress<'a> = &'a dyn Fn() -> Option<String>;

/// Longest header identity or address used as a label; longer ones are labelled by their hash.
const MAX_LABEL: usize = 128;

/// Identifies the consumer from the request headers and the connection's source address
/// (`ip:port`). `None`: no identity, and the anonymous policy is to reject.
pub fn identify(
    settings: &IdentitySettings,
    key: &[u8],
    headers: &Headers,
    source_address: SourceAddress<'_>,
) -> Option<Consumer> {
    let group_name = settings
        .group_header
        .as_deref()
        .and_then(|name| header(headers, name))
        .map(|v| v.trim().to_string());
    let from_header = settings
        .header
        .as_deref()
        .and_then(|name| header(headers, name))
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let named = from_header.map(|v| (Source::Header, v)).or_else(|| {
        let key = settings.api_key.then(|| api_key(headers)).flatten();
        key.map(|k| (Source::ApiKey, k))
    });
    let address = if named.is_none() && settings.source_address {
        source_address()
    } else {
        None
    };
    let (source, raw) = if let Some(named) = named {
        named
    } else if let Some(a) = address.as_deref().map(strip_port).filter(|a| !a.is_empty()) {
        (Source::Address, a)
    } else if settings.anonymous == Anonymous::Shared {
        (Source::Anonymous, "")
    } else {
        return None;
    };
    let id = keyed_hash(key, &[source.name().as_bytes(), raw.as_bytes()]);
    let label = match source {
        Source::ApiKey => format!("key:{}", hex(id.get(..6).unwrap_or_default())),
        Source::Anonymous => "anonymous".to_string(),
        _ if raw.len() <= MAX_LABEL && raw.bytes().all(|b| b.is_ascii_graphic()) => raw.to_string(),
        _ => format!("{}:{}", source.name(), hex(id.get(..6).unwrap_or_default())),
    };
    Some(Consumer {
        source,
        id,
        label,
        header_value: (source == Source::Header).then(|| raw.to_string()),
        group_name,
    })
}

/// The id of `consumer`'s counters for one model (limits per consumer × model).
pub fn per_model(key: &[u8], consumer: &ConsumerId, model: &str) -> ConsumerId {
    keyed_hash(key, &[b"model", consumer, model.as_bytes()])
}

/// The API key of `authorization: Bearer …` or `x-api-key`, when exactly one is sent.
fn api_key(headers: &Headers) -> Option<&str> {
    let bearer = header(headers, "authorization").and_then(|v| {
        let (scheme, token) = v.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then_some(token.trim())
    });
    bearer
        .or_else(|| header(headers, "x-api-key").map(str::trim))
        .filter(|k| !k.is_empty())
}

/// `1.2.3.4:5678` → `1.2.3.4`, `[::1]:5678` → `::1`; anything else as given.
fn strip_port(address: &str) -> &str {
    if let Some(rest) = address.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match address.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host
        }
        _ => address,
    }
}

/// HMAC-SHA256 of the parts (each length-prefixed, so parts cannot run into each other),
/// truncated to [`ID_BYTES`].
pub fn keyed_hash(key: &[u8], parts: &[&[u8]]) -> ConsumerId {
    let mut out = [0u8; ID_BYTES];
    // INVARIANT: HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return out;
    };
    for part in parts {
        mac.update(&(part.len() as u64).to_le_bytes());
        mac.update(part);
    }
    let digest = mac.finalize().into_bytes();
    for (o, d) in out.iter_mut().zip(digest.iter()) {
        *o = *d;
    }
    out
}

/// Lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for nibble in [b >> 4, b & 0xf] {
            s.push(char::from(
                DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    s
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

    /// A synthetic API key, built at run time.
    fn key() -> String {
        ["sk", "test", &"0123456789".repeat(3)].join("-")
    }

    fn with_header() -> IdentitySettings {
        IdentitySettings {
            header: Some("x-consumer-id".into()),
            ..IdentitySettings::default()
        }
    }

    #[test]
    fn precedence_header_then_key_then_address() {
        let s = with_header();
        let bearer = format!("Bearer {}", key());
        let both = h(&[("x-consumer-id", "team-a"), ("authorization", &bearer)]);
        let c = identify(&s, b"k", &both, &|| Some("10.0.0.1:4000".into())).unwrap();
        assert_eq!((c.source, c.label.as_str()), (Source::Header, "team-a"));
        let c = identify(&s, b"k", &both[1..], &|| Some("10.0.0.1:4000".into())).unwrap();
        assert_eq!(c.source, Source::ApiKey);
        assert!(c.label.starts_with("key:") && !c.label.contains(&key()));
        let by_x_api_key = identify(&s, b"k", &h(&[("x-api-key", &key())]), &|| None).unwrap();
        assert_eq!(by_x_api_key.id, c.id, "the same key by either header");
        let c = identify(&s, b"k", &[], &|| Some("[::1]:4000".into())).unwrap();
        assert_eq!((c.source, c.label.as_str()), (Source::Address, "::1"));
        let c = identify(&s, b"k", &[], &|| Some("10.0.0.1:4000".into())).unwrap();
        assert_eq!(c.label, "10.0.0.1");
        let c = identify(&s, b"k", &[], &|| None).unwrap();
        assert_eq!(c.source, Source::Anonymous);
        let by_default = IdentitySettings::default();
        let c = identify(&by_default, b"k", &both, &|| None).unwrap();
        assert_eq!(
            c.source,
            Source::ApiKey,
            "the header is not trusted unless configured"
        );
        let reject = IdentitySettings {
            anonymous: Anonymous::Reject,
            ..s
        };
        assert_eq!(identify(&reject, b"k", &[], &|| None), None);
    }

    #[test]
    fn the_address_is_read_only_when_nothing_else_identifies() {
        let reads = std::cell::Cell::new(0);
        let address = || {
            reads.set(reads.get() + 1);
            Some("10.0.0.1:4000".to_string())
        };
        let s = with_header();
        let bearer = format!("Bearer {}", key());
        for named in [
            ("x-consumer-id", "team-a"),
            ("authorization", bearer.as_str()),
        ] {
            assert_ne!(
                identify(&s, b"k", &h(&[named]), &address).map(|c| c.source),
                Some(Source::Address)
            );
        }
        assert_eq!(reads.get(), 0);
        let c = identify(&s, b"k", &[], &address).unwrap();
        assert_eq!((c.source, reads.get()), (Source::Address, 1));
        let off = IdentitySettings {
            source_address: false,
            ..s
        };
        assert_eq!(
            identify(&off, b"k", &[], &address).map(|c| c.source),
            Some(Source::Anonymous)
        );
        assert_eq!(reads.get(), 1, "not read when addresses do not identify");
    }

    #[test]
    fn ids_depend_on_the_key_and_the_source() {
        let s = with_header();
        let id = |k: &[u8], hs: &[(&str, &str)]| identify(&s, k, &h(hs), &|| None).unwrap().id;
        let bearer = format!("Bearer {}", key());
        assert_ne!(
            id(b"one", &[("authorization", &bearer)]),
            id(b"two", &[("authorization", &bearer)])
        );
        // The header value `x` and the API key `x` are different consumers.
        assert_ne!(
            id(b"k", &[("x-consumer-id", "x")]),
            id(b"k", &[("authorization", "Bearer x")])
        );
        let c = id(b"k", &[("x-consumer-id", "x")]);
        assert_ne!(per_model(b"k", &c, "a"), per_model(b"k", &c, "b"));
    }

    #[test]
    fn long_or_odd_labels_are_hashed() {
        let s = with_header();
        let long = "x".repeat(200);
        let c = identify(&s, b"k", &h(&[("x-consumer-id", &long)]), &|| None).unwrap();
        assert!(c.label.starts_with("header:") && c.label.len() < 30);
        let c = identify(&s, b"k", &h(&[("x-consumer-id", "a b")]), &|| None).unwrap();
        assert!(c.label.starts_with("header:"));
    }
}
