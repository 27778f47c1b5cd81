//! Who may call at all, and who the caller is when a filter before this one verified it: Envoy's
//! `jwt_authn` puts the verified JWT payload in dynamic metadata, and the filter reads two claims
//! of it (the consumer and the group). Also: whether the client's own provider keys are removed
//! before the request goes upstream.

/// Where verified claims are found and which ones name the consumer and the group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JwtClaims {
    /// The `payload_in_metadata` name of Envoy's `jwt_authn` provider.
    pub payload_in_metadata: String,
    /// Claim naming the consumer (for example `sub`).
    pub consumer_claim: String,
    /// Claim naming the consumer's group, if any.
    pub group_claim: Option<String>,
}

/// The compiled identity policy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// Refuse (401) requests without a verified identity: JWT claims, or the quota's trusted
    /// header.
    pub required: bool,
    /// Verified JWT claims, when Envoy's `jwt_authn` runs before the filter.
    pub jwt: Option<JwtClaims>,
    /// Remove the client's `authorization`, `x-api-key` and `api-key` headers before the request
    /// goes upstream (Envoy injects the provider key after the filter).
    pub remove_client_keys: bool,
}

/// Headers that carry a client's provider key.
pub const CLIENT_KEY_HEADERS: [&str; 3] = ["authorization", "x-api-key", "api-key"];

/// Longest claim value used as an identity.
pub const MAX_CLAIM_BYTES: usize = 256;

/// The identity a filter before this one verified.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verified {
    /// The consumer claim.
    pub consumer: Option<String>,
    /// The group claim.
    pub group: Option<String>,
}

/// A claim value as the host returns it: used only if it is a non-empty printable string of at
/// most [`MAX_CLAIM_BYTES`] (a number or an object claim comes back as binary and is ignored).
pub fn claim(bytes: Option<Vec<u8>>) -> Option<String> {
    let text = String::from_utf8(bytes?).ok()?;
    let ok =
        !text.is_empty() && text.len() <= MAX_CLAIM_BYTES && !text.chars().any(char::is_control);
    ok.then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn claims_must_be_short_printable_strings() {
        assert_eq!(claim(Some(b"alice".to_vec())), Some("alice".into()));
        assert_eq!(claim(None), None);
        assert_eq!(claim(Some(Vec::new())), None);
        assert_eq!(claim(Some(42f64.to_le_bytes().to_vec())), None);
        assert_eq!(claim(Some(b"a\nb".to_vec())), None);
        assert_eq!(claim(Some(vec![b'a'; MAX_CLAIM_BYTES + 1])), None);
    }
}

#[cfg(test)]
mod exchange_tests {
    use super::*;
    use crate::engine::api::ApiFormat;
    use crate::engine::exchange::Exchange;
    use crate::engine::quota::identity::Source;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn policy() -> crate::engine::policy::Policy {
        let config = serde_json::json!({
            "identity": {"required": true, "jwt": {"payload_in_metadata": "p", "group_claim": "g"}},
            "quota": {"identity": {"header": "x-consumer-id"}, "groups": [{"name": "agents"}]},
        });
        crate::config::load(config.to_string().as_bytes()).unwrap()
    }

    fn identify(headers: &[(&str, &str)], verified: Verified) -> (Option<u16>, Exchange) {
        let p = policy();
        let mut ex = Exchange::new(ApiFormat::OpenAiChat, None);
        let h: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let reply = ex.identify(&p, b"key", &h, &|| Some("10.0.0.1:4".into()), verified);
        (reply.map(|r| r.status), ex)
    }

    #[test]
    fn configuration() {
        let load = |v: serde_json::Value| crate::config::load(v.to_string().as_bytes());
        let p = load(serde_json::json!({})).unwrap();
        assert_eq!(p.identity, Settings::default());
        let e = load(
            serde_json::json!({"identity": {"jwt": {"payload_in_metadata": "p", "group_claim": ""}}}),
        );
        assert_eq!(
            e.unwrap_err().to_string(),
            "identity.jwt.group_claim: must be 1 to 128 bytes"
        );
        let e = load(serde_json::json!({"identity": {"jwt": {"consumer_claim": "sub"}}}));
        assert!(e.unwrap_err().to_string().contains("payload_in_metadata"));
    }

    #[test]
    fn required_identity() {
        // An API key or an address is not a verified identity.
        let (status, _) = identify(&[("authorization", "Bearer k")], Verified::default());
        assert_eq!(status, Some(401));
        let (status, ex) = identify(&[("x-consumer-id", "svc")], Verified::default());
        assert_eq!(status, None);
        assert_eq!(ex.quota.consumer.map(|c| c.source), Some(Source::Header));
        let verified = Verified {
            consumer: Some("alice".into()),
            group: Some("agents".into()),
        };
        let (status, ex) = identify(&[("x-consumer-id", "svc")], verified);
        assert_eq!(status, None);
        let consumer = ex.quota.consumer.clone().unwrap();
        assert_eq!(
            (consumer.source, consumer.label.as_str()),
            (Source::Jwt, "alice")
        );
        assert_eq!(ex.quota.group, 1);
    }
}
