//! llm-warden: a security filter for LLM APIs that runs inside Envoy as a proxy-wasm module.
//!
//! Three rooms, imports flowing one way: [`engine`] (pure logic) ← [`config`] (plugin JSON →
//! compiled policy) ← `filter` (the only proxy-wasm code, built for wasm32 with the `filter`
//! feature).

pub mod config;
pub mod engine;
#[cfg(all(target_arch = "wasm32", feature = "filter"))]
mod filter;
