//! The pure engine: everything the filter decides, with no knowledge of the proxy that hosts it.
//!
//! Nothing under `engine` imports `proxy_wasm`; it is tested natively and on wasm32.

pub mod api;
pub mod ascii;
pub mod exchange;
pub mod identity;
pub mod inject;
pub mod json;
pub mod policy;
pub mod quota;
pub mod redact;
pub mod route;
pub mod tools;
