//! The root context: reads and compiles the plugin configuration, creates HTTP contexts.

use super::host;
use super::http::Http;
use super::metrics::Metrics;
use crate::config;
use crate::engine::policy::Policy;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{ContextType, LogLevel};
use std::rc::Rc;

/// One per VM and plugin configuration.
#[derive(Default)]
pub struct Root {
    policy: Option<Rc<Policy>>,
    metrics: Rc<Metrics>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = match host::plugin_configuration() {
            Ok(bytes) => bytes,
            Err(status) => {
                host::log(
                    LogLevel::Critical,
                    &format!("llm-warden: cannot read the plugin configuration: {status:?}"),
                );
                return false;
            }
        };
        match config::load(&bytes) {
            Ok(policy) => {
                if let Err(e) = super::quota::prepare(&policy.quota, &bytes) {
                    host::log(
                        LogLevel::Critical,
                        &format!("llm-warden: cannot prepare the quota counters: {}", e.0),
                    );
                    return false;
                }
                host::log(
                    LogLevel::Info,
                    &format!("llm-warden: configured, {} routes", policy.routes.len()),
                );
                self.policy = Some(Rc::new(policy));
                true
            }
            Err(e) => {
                host::log(
                    LogLevel::Critical,
                    &format!("llm-warden: invalid configuration: {e}"),
                );
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        // Without a policy (on_configure failed) Envoy does not create streams; be safe anyway.
        let policy = self
            .policy
            .clone()
            .unwrap_or_else(|| Rc::new(Policy::default()));
        Some(Box::new(Http::new(policy, Rc::clone(&self.metrics))))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
