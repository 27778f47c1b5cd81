//! The `identity` section: required identities, verified JWT claims, and the client's provider
//! keys, compiled into [`identity::Settings`].

use super::ConfigError;
use crate::engine::identity::{self, JwtClaims};
use serde::Deserialize;

/// Required and verified identities.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawIdentity {
    /// Refuse (401) requests without a verified identity (default false).
    pub required: Option<bool>,
    /// Claims of the JWT Envoy's `jwt_authn` verified.
    pub jwt: Option<RawJwt>,
    /// Remove the client's `authorization` / `x-api-key` / `api-key` before the upstream (default
    /// false).
    pub remove_client_keys: Option<bool>,
}

/// Where the verified claims are and which ones to use.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJwt {
    /// The `payload_in_metadata` name of the `jwt_authn` provider.
    pub payload_in_metadata: String,
    /// Claim naming the consumer (default `sub`).
    #[serde(default = "sub")]
    pub consumer_claim: String,
    /// Claim naming the consumer's group.
    #[serde(default)]
    pub group_claim: Option<String>,
}

fn sub() -> String {
    "sub".to_string()
}

/// Compiles the section.
pub fn compile(raw: RawIdentity) -> Result<identity::Settings, ConfigError> {
    let jwt = match raw.jwt {
        None => None,
        Some(j) => {
            for (field, value) in [
                ("payload_in_metadata", Some(&j.payload_in_metadata)),
                ("consumer_claim", Some(&j.consumer_claim)),
                ("group_claim", j.group_claim.as_ref()),
            ] {
                if value.is_some_and(|v| v.is_empty() || v.len() > 128) {
                    return Err(ConfigError::at(
                        format!("identity.jwt.{field}"),
                        "must be 1 to 128 bytes",
                    ));
                }
            }
            Some(JwtClaims {
                payload_in_metadata: j.payload_in_metadata,
                consumer_claim: j.consumer_claim,
                group_claim: j.group_claim,
            })
        }
    };
    Ok(identity::Settings {
        required: raw.required.unwrap_or(false),
        jwt,
        remove_client_keys: raw.remove_client_keys.unwrap_or(false),
    })
}
