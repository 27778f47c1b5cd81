//! The counters' storage: a key-value map with compare-and-swap, as proxy-wasm shared data is.
//! The filter implements [`Store`] over shared data; [`MemoryStore`] is the same contract in memory
//! for tests and benchmarks.

use std::collections::HashMap;

/// The outcome of a conditional write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    /// The value was stored.
    Ok,
    /// Someone wrote the key since it was read: read again and retry.
    CasMismatch,
}

/// The store failed (a host call returned an error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError(pub String);

/// A shared key-value map with compare-and-swap, as proxy-wasm shared data: no delete, no expiry.
pub trait Store {
    /// The value of `key` and its version (`cas`), or `None` when the key was never written.
    fn get(&mut self, key: &str) -> Result<Option<(Vec<u8>, u32)>, StoreError>;
    /// Writes `value` if the key's version is still `cas`; `cas` 0 writes unconditionally. A key
    /// that does not exist yet is written whatever `cas` says (as Envoy does).
    fn set(&mut self, key: &str, value: &[u8], cas: u32) -> Result<Written, StoreError>;
}

/// [`Store`] in memory, with Envoy's semantics, for tests and benchmarks.
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: HashMap<String, (Vec<u8>, u32)>,
    next_cas: u32,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of keys written.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no key was ever written.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl Store for MemoryStore {
    fn get(&mut self, key: &str) -> Result<Option<(Vec<u8>, u32)>, StoreError> {
        Ok(self.map.get(key).cloned())
    }

    fn set(&mut self, key: &str, value: &[u8], cas: u32) -> Result<Written, StoreError> {
        if let Some((_, current)) = self.map.get(key) {
            if cas != 0 && cas != *current {
                return Ok(Written::CasMismatch);
            }
        }
        self.next_cas = self.next_cas.wrapping_add(1).max(1);
        self.map
            .insert(key.to_string(), (value.to_vec(), self.next_cas));
        Ok(Written::Ok)
    }
}
