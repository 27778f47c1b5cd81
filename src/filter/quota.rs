//! The quota's host side: counters in proxy-wasm shared data, the host clock, the source address,
//! and what the filter exposes for a fleet (a request header and filter state).

use super::host;
use crate::engine::quota::ledger::create_shards;
use crate::engine::quota::{HASH_KEY, Mode, Settings, Store, StoreError, Written, hash_key};
use proxy_wasm::hostcalls;
use proxy_wasm::types::{MapType, Status};
use std::cell::RefCell;

/// Request header carrying the consumer's label to filters after this one (Envoy's rate limit
/// filter reads it for the fleet-wide budget). A value sent by the client is replaced.
pub const CONSUMER_HEADER: &str = "x-llm-warden-consumer";
/// Filter state (`wasm.llm_warden.charged_tokens`): tokens charged to the request, once settled.
pub const CHARGED_PROPERTY: &str = "llm_warden.charged_tokens";

/// Proxy-wasm shared data: one map per VM id, shared by every worker, with compare-and-swap.
pub struct SharedData;

fn failed(what: &str, status: Status) -> StoreError {
    StoreError(format!("{what} failed: {status:?}"))
}

impl Store for SharedData {
    fn get(&mut self, key: &str) -> Result<Option<(Vec<u8>, u32)>, StoreError> {
        match hostcalls::get_shared_data(key) {
            Ok((_, None)) => Ok(None),
            Ok((value, Some(cas))) => Ok(Some((value.unwrap_or_default(), cas))),
            Err(status) => Err(failed("get_shared_data", status)),
        }
    }

    fn set(&mut self, key: &str, value: &[u8], cas: u32) -> Result<Written, StoreError> {
        match hostcalls::set_shared_data(key, Some(value), (cas != 0).then_some(cas)) {
            Ok(()) => Ok(Written::Ok),
            Err(Status::CasMismatch) => Ok(Written::CasMismatch),
            Err(status) => Err(failed("set_shared_data", status)),
        }
    }
}

/// The host clock in milliseconds since the epoch (wasm32-unknown-unknown has no clock of its own).
pub fn now_ms() -> Result<u64, Status> {
    Ok(u64::try_from(host::since_epoch()?.as_millis()).unwrap_or(u64::MAX))
}

/// The downstream connection's address (`ip:port`), if the host knows it.
pub fn source_address() -> Option<String> {
    let bytes = hostcalls::get_property(vec!["source", "address"]).ok()??;
    String::from_utf8(bytes).ok()
}

/// At configuration: creates the shard keys and the per-process hash key if missing.
pub fn prepare(settings: &Settings, configuration: &[u8]) -> Result<(), StoreError> {
    if settings.mode == Mode::Off {
        return Ok(());
    }
    let mut store = SharedData;
    create_shards(&mut store, settings.shards)?;
    let time = now_ms().map_err(|s| failed("get_current_time", s))?;
    hash_key(
        settings,
        &mut store,
        &[&time.to_le_bytes(), configuration].concat(),
    )?;
    Ok(())
}

thread_local! {
    /// The per-process hash key as this VM first read it from shared data.
    static STORED_KEY: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

/// The key of consumer-id hashes: the configured one, else the per-process one. Workers that
/// start at once may race to create it and the stored one wins, for everybody; once stored it
/// never changes, so each VM reads it from shared data once and keeps it.
pub fn key(settings: &Settings) -> Result<Vec<u8>, StoreError> {
    if let Some(k) = &settings.hash_key {
        return Ok(k.clone());
    }
    if let Some(k) = STORED_KEY.with_borrow(Clone::clone) {
        return Ok(k);
    }
    match SharedData.get(HASH_KEY)? {
        Some((k, _)) if !k.is_empty() => {
            STORED_KEY.set(Some(k.clone()));
            Ok(k)
        }
        _ => Err(StoreError("the hash key is missing".into())),
    }
}

/// Publishes the consumer label as a request header for filters after this one.
pub fn publish_consumer(label: &str) -> Result<(), Status> {
    host::set_header(MapType::HttpRequestHeaders, CONSUMER_HEADER, label)
}

/// Records the tokens charged as filter state, for access logs and the rate limit filter.
pub fn publish_charge(tokens: u64) {
    host::set_filter_state(CHARGED_PROPERTY, &tokens.to_string());
}
