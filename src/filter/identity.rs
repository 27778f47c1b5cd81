//! The identity's host side: verified JWT claims from Envoy's dynamic metadata, and the removal of
//! the client's provider keys.

use super::host;
use crate::engine::identity::{CLIENT_KEY_HEADERS, Settings, Verified, claim};
use proxy_wasm::hostcalls;
use proxy_wasm::types::{MapType, Status};

/// Envoy's `jwt_authn` filter: its dynamic metadata namespace.
const JWT_AUTHN: &str = "envoy.filters.http.jwt_authn";

/// The claims `jwt_authn` verified for this request. Each claim is read on its own path
/// (`metadata.filter_metadata["envoy.filters.http.jwt_authn"][payload][claim]`): for a string
/// claim Envoy returns its bytes as they are, so no protobuf is parsed here.
pub fn verified(settings: &Settings) -> Result<Verified, Status> {
    let Some(jwt) = &settings.jwt else {
        return Ok(Verified::default());
    };
    let read = |name: &str| -> Result<Option<String>, Status> {
        let path = vec![
            "metadata",
            "filter_metadata",
            JWT_AUTHN,
            jwt.payload_in_metadata.as_str(),
            name,
        ];
        match hostcalls::get_property(path) {
            Ok(bytes) => Ok(claim(bytes)),
            Err(Status::NotFound) => Ok(None),
            Err(status) => Err(status),
        }
    };
    Ok(Verified {
        consumer: read(&jwt.consumer_claim)?,
        group: match &jwt.group_claim {
            Some(name) => read(name)?,
            None => None,
        },
    })
}

/// Removes the client's provider keys from the request headers, when configured.
pub fn remove_client_keys(settings: &Settings) -> Result<(), Status> {
    if settings.remove_client_keys {
        for name in CLIENT_KEY_HEADERS {
            host::remove_header(MapType::HttpRequestHeaders, name)?;
        }
    }
    Ok(())
}
