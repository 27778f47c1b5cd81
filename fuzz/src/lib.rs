//! The checks behind llm-warden's fuzz targets.
//!
//! Each module is one target: `run(data)` feeds the input to one part of the engine and asserts the
//! properties that part promises. A panic here is a finding: either the engine panicked (which
//! would trap the Wasm VM and fail every request on that Envoy worker) or a property broke. The
//! binaries in `fuzz_targets/` are one-line wrappers, and `tests/replay.rs` runs every seed through
//! the same checks on stable Rust.
//!
//! Adding a target: a module here with `pub fn run(data: &[u8])`, a line in [`TARGETS`], a
//! `fuzz_targets/<name>.rs` wrapper, a `[[bin]]` in `Cargo.toml`, and seeds in `seeds/<name>/`.
//! `make fuzz` finds it by itself.

pub mod config;
pub mod inject;
pub mod json;
pub mod request;
pub mod response;
pub mod route;
pub mod stream;
pub mod util;

/// A target's check: panics on a finding.
pub type Check = fn(&[u8]);

/// Every target: its name (the binary in `fuzz_targets/`, the directory in `seeds/`) and its check.
pub const TARGETS: &[(&str, Check)] = &[
    ("config", config::run),
    ("inject", inject::run),
    ("json", json::run),
    ("request", request::run),
    ("response", response::run),
    ("stream", stream::run),
    ("route", route::run),
];
