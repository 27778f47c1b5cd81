//! Envoy stats through proxy-wasm metrics. Every name is under `llm_warden.` (Envoy shows them as
//! `wasmcustom.llm_warden.*`, in `/stats` and `/stats/prometheus`) and is built from the engine's
//! own fixed names — API formats, decision actions, protections, categories, reply codes — never
//! from traffic, so the number of stats is bounded.

use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;
use std::cell::RefCell;
use std::collections::HashMap;

/// The metrics of one VM: ids defined on first use and kept (defining a name again in Envoy
/// would allocate another id).
#[derive(Default)]
pub struct Metrics {
    ids: RefCell<HashMap<String, u32>>,
}

impl Metrics {
    fn id(&self, kind: MetricType, name: &str) -> Option<u32> {
        if let Some(id) = self.ids.borrow().get(name) {
            return Some(*id);
        }
        let id = hostcalls::define_metric(kind, &format!("llm_warden.{name}")).ok()?;
        self.ids.borrow_mut().insert(name.to_string(), id);
        Some(id)
    }

    /// Adds `by` to counter `name`. Failures are ignored: stats never fail a request.
    pub fn add(&self, name: &str, by: u64) {
        if let Some(id) = self.id(MetricType::Counter, name) {
            let _ = hostcalls::increment_metric(id, i64::try_from(by).unwrap_or(i64::MAX));
        }
    }

    /// Records `value` in histogram `name`.
    pub fn record(&self, name: &str, value: u64) {
        if let Some(id) = self.id(MetricType::Histogram, name) {
            let _ = hostcalls::record_metric(id, value);
        }
    }
}
