//! The proxy-wasm host glue: the only code that talks to Envoy.
//!
//! It moves headers, bodies and shared data between Envoy and the [`crate::engine`], turns engine
//! verdicts into local replies, and never panics: every host call's status is checked, and a failed
//! call fails the request closed (500) rather than trapping the VM.

mod host;
mod http;
mod identity;
mod metrics;
mod quota;
mod root;

use proxy_wasm::traits::RootContext;
use proxy_wasm::types::LogLevel;

#[allow(unsafe_code)] // `main!` exports `_initialize` with `#[no_mangle]`.
mod entry {
    use super::*;
    proxy_wasm::main! {{
        proxy_wasm::set_log_level(LogLevel::Info);
        proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(root::Root::default()) });
    }}
}
