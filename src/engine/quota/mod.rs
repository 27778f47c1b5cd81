//! Token quotas: who the consumer is, what a request may cost, and counters shared by every worker.
//!
//! A request is admitted by *reserving* its estimated prompt plus its output ceiling in every
//! window of the consumer's group, and *settled* when the response is done: the reservation is
//! replaced by the usage the model reported (or, when none arrives, by the estimate plus the output
//! seen). Counters live in a [`Store`] with compare-and-swap; the filter's store is proxy-wasm
//! shared data, so every Envoy worker sees the same budget.

pub mod estimate;
pub mod identity;
pub mod ledger;
pub mod meter;
pub mod store;
pub mod window;

pub use identity::{Anonymous, Consumer, IdentitySettings};
pub use meter::{Guard, Meter, StreamVerdict};
pub use store::{MemoryStore, Store, StoreError, Written};
pub use window::Limit;

use std::collections::HashMap;

/// Whether quotas are enforced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Requests over a limit or a guard get an error.
    Enforce,
    /// Everything is counted and recorded, nothing is refused.
    Monitor,
    /// No accounting at all.
    Off,
}

/// What to do with an output ceiling (`max_tokens`, …) above the group's maximum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ceiling {
    /// Lower it to the maximum in the forwarded request.
    Clamp,
    /// Answer 400.
    Reject,
}

/// The limits of one group of consumers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// The group's name (`default` for everyone not in a named group).
    pub name: String,
    /// Token limits, all enforced at once; longest window last.
    pub limits: Vec<Limit>,
    /// Most messages (or input items) one request may carry.
    pub max_messages: usize,
    /// Largest output ceiling a request may ask for.
    pub max_output_tokens: u64,
    /// What happens above `max_output_tokens`.
    pub ceiling: Ceiling,
    /// Output tokens reserved for a request that sets no ceiling.
    pub default_output_tokens: u64,
    /// Models the group may use; `None`: any.
    pub models: Option<Vec<String>>,
    /// Whether each model has its own counters (limits per consumer × model).
    pub per_model: bool,
}

impl Default for Group {
    fn default() -> Self {
        Group {
            name: "default".into(),
            limits: vec![
                Limit {
                    seconds: 60,
                    tokens: 100_000,
                },
                Limit {
                    seconds: 86_400,
                    tokens: 5_000_000,
                },
            ],
            max_messages: 1024,
            max_output_tokens: 32_768,
            ceiling: Ceiling::Clamp,
            default_output_tokens: 4096,
            models: None,
            per_model: false,
        }
    }
}

/// The compiled quota policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Enforce, monitor or off.
    pub mode: Mode,
    /// Where identities come from.
    pub identity: IdentitySettings,
    /// Groups; the first is the default group.
    pub groups: Vec<Group>,
    /// Header identity → group index.
    pub members: HashMap<String, usize>,
    /// Number of shard keys in shared data (consumers ÷ [`window::SLOTS`]).
    pub shards: u32,
    /// Whether a stream whose output outgrows the consumer's budget is cut with an error event.
    pub cut_streams: bool,
    /// Key of the consumer-id hash; `None`: a random key per Envoy process, kept in shared data.
    pub hash_key: Option<Vec<u8>>,
}

/// Default number of consumers tracked at once.
pub const DEFAULT_MAX_CONSUMERS: u32 = 8192;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            mode: Mode::Enforce,
            identity: IdentitySettings::default(),
            groups: vec![Group::default()],
            members: HashMap::new(),
            shards: DEFAULT_MAX_CONSUMERS / window::SLOTS as u32,
            cut_streams: false,
            hash_key: None,
        }
    }
}

impl Settings {
    /// The group of `consumer`: named by the group header, else by membership, else the default.
    pub fn group_of(&self, consumer: &Consumer) -> usize {
        let by_name = consumer
            .group_name
            .as_deref()
            .and_then(|n| self.groups.iter().position(|g| g.name == n));
        let by_member = || {
            consumer
                .header_value
                .as_deref()
                .and_then(|v| self.members.get(v).copied())
        };
        by_name.or_else(by_member).unwrap_or(0)
    }
}

/// The shared-data key of the per-process hash key.
pub const HASH_KEY: &str = "llm_warden.quota.v1.key";

/// The key for consumer-id hashes: the configured one, else the per-process key in `store`,
/// created from `seed` (host time and configuration) by the first worker that needs it.
pub fn hash_key(
    settings: &Settings,
    store: &mut dyn Store,
    seed: &[u8],
) -> Result<Vec<u8>, StoreError> {
    if let Some(k) = &settings.hash_key {
        return Ok(k.clone());
    }
    for _ in 0..2 {
        if let Some((key, _)) = store.get(HASH_KEY)?.filter(|(k, _)| !k.is_empty()) {
            return Ok(key);
        }
        let key = identity::keyed_hash(b"llm-warden hash key", &[seed]);
        store.set(HASH_KEY, &key, 0)?;
    }
    Err(StoreError("the hash key cannot be stored".into()))
}

#[cfg(test)]
mod tests;
