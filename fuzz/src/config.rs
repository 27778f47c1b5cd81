//! The plugin configuration: `config::load` on the whole input.
//!
//! - A configuration is either refused with a one-line error, or gives a policy whose limits lie in
//!   their documented ranges and whose route paths are already normalised.

use llm_warden::config;
use llm_warden::engine::route::normalise_path;

/// Runs the checks on one input.
pub fn run(data: &[u8]) {
    match config::load(data) {
        Ok(policy) => {
            assert!(!policy.routes.is_empty());
            for route in &policy.routes {
                assert_eq!(normalise_path(&route.path), route.path);
            }
            let l = &policy.limits;
            const MIB: usize = 1 << 20;
            assert!((1024..=64 * MIB).contains(&l.max_request_bytes));
            assert!((1024..=64 * MIB).contains(&l.max_response_bytes));
            assert!((8..=512).contains(&l.max_json_depth));
            assert!((1024..=16 * MIB).contains(&l.max_event_bytes));
        }
        Err(e) => {
            let line = e.to_string();
            assert!(!line.is_empty() && !line.contains('\n'), "{line:?}");
            // serde_json's ` at line L column C` is dropped: the JSON path says more.
            let tail = line.rsplit(" at line ").next().unwrap_or_default();
            let position = tail.split(" column ").all(|n| n.parse::<u64>().is_ok());
            assert!(!(line.contains(" at line ") && position), "{line:?}");
        }
    }
}
