//! Checked wrappers around the host calls the filter uses; failures come back as `Err`.

use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, LogLevel, MapType, Status};
use std::time::{Duration, UNIX_EPOCH};

/// Logs `message` at `level` under the plugin's name. Logging failures are ignored: there is
/// nowhere to report them.
pub fn log(level: LogLevel, message: &str) {
    let _ = hostcalls::log(level, message);
}

/// The host clock since the epoch (wasm32-unknown-unknown has no clock of its own).
pub fn since_epoch() -> Result<Duration, Status> {
    Ok(hostcalls::get_current_time()?
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default())
}

/// Sets Envoy filter state `name` (read as `wasm.<name>`, for example by access logs). A failure
/// is logged, never fails the request: this is information, not a check.
pub fn set_filter_state(name: &str, value: &str) {
    if let Err(status) = hostcalls::set_property(vec![name], Some(value.as_bytes())) {
        log(
            LogLevel::Warn,
            &format!("llm-warden: cannot set {name}: {status:?}"),
        );
    }
}

/// All headers of `map`, names lowercase as Envoy gives them.
pub fn headers(map: MapType) -> Result<Vec<(String, String)>, Status> {
    hostcalls::get_map(map)
}

/// Removes header `name` from `map`.
pub fn remove_header(map: MapType, name: &str) -> Result<(), Status> {
    hostcalls::remove_map_value(map, name)
}

/// Sets header `name` of `map` to `value`, replacing any value it had.
pub fn set_header(map: MapType, name: &str, value: &str) -> Result<(), Status> {
    hostcalls::set_map_value(map, name, Some(value))
}

/// `size` bytes of `buffer` from the start; empty when the host has none.
pub fn body(buffer: BufferType, size: usize) -> Result<Vec<u8>, Status> {
    Ok(hostcalls::get_buffer(buffer, 0, size)?.unwrap_or_default())
}

/// Replaces the first `size` bytes of `buffer` with `bytes`.
pub fn replace_body(buffer: BufferType, size: usize, bytes: &[u8]) -> Result<(), Status> {
    hostcalls::set_buffer(buffer, 0, size, bytes)
}

/// The plugin configuration, empty when none was given.
pub fn plugin_configuration() -> Result<Vec<u8>, Status> {
    Ok(hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)?.unwrap_or_default())
}

/// Sends a local reply with a JSON body and extra headers.
pub fn send_json(status: u16, headers: &[(String, String)], body: &[u8]) -> Result<(), Status> {
    let mut all: Vec<(&str, &str)> = vec![("content-type", "application/json")];
    all.extend(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    hostcalls::send_http_response(u32::from(status), all, Some(body))
}
