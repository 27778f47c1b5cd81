//! Reserve, then reconcile: every change to a shard is read, changed and written back with
//! compare-and-swap, retried a bounded number of times, so concurrent workers never lose an update.
//!
//! Consumers live in a fixed number of shard keys (`llm_warden.quota.v1.<n>`), [`SLOTS`] per
//! shard: the number of keys never grows with traffic. A slot whose counters are all zero or whose
//! windows have all ended is given to the next new consumer of that shard. When a shard has no free
//! slot, a new consumer is refused ([`Refusal::Full`]) until one frees up.

use super::identity::ConsumerId;
use super::store::{Store, StoreError, Written};
use super::window::{Entry, Limit, SLOTS, decode, encode};

/// Attempts at one read-modify-write before giving up.
pub const MAX_ATTEMPTS: u32 = 64;

/// Creates every shard of `shards` that does not exist yet (empty), so that at request time every
/// write is a compare-and-swap on an existing key. Proxy-wasm cannot create a key only if it is
/// absent: two creations racing with a first update could lose it, so creation happens here, at
/// start-up, before traffic.
pub fn create_shards(store: &mut dyn Store, shards: u32) -> Result<(), StoreError> {
    for n in 0..shards {
        let key = shard_key(n);
        if store.get(&key)?.is_none() {
            store.set(&key, &encode(&[]), 0)?;
        }
    }
    Ok(())
}

/// The shared-data key of shard `n`.
pub fn shard_key(n: u32) -> String {
    format!("llm_warden.quota.v1.{n}")
}

/// Where a consumer's counters live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Account {
    /// The consumer (or consumer × model).
    pub id: ConsumerId,
    /// Its shard.
    pub shard: u32,
}

impl Account {
    /// The account of `id` among `shards` shards.
    pub fn new(id: ConsumerId, shards: u32) -> Self {
        let mut low = [0u8; 4];
        for (l, b) in low.iter_mut().zip(id.iter()) {
            *l = *b;
        }
        Account {
            id,
            shard: u32::from_le_bytes(low) % shards.max(1),
        }
    }
}

/// Where the most constrained window stands: what the `x-ratelimit-*-tokens` headers say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing {
    /// The window's limit.
    pub limit: Limit,
    /// Tokens left in it.
    pub remaining: u64,
    /// Milliseconds until it resets.
    pub reset_ms: u64,
}

/// A reservation made: the window starts it was counted in, for the reconciliation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reservation {
    /// Tokens reserved.
    pub tokens: u64,
    /// Start of each limit's window at reservation time, in the order of the limits.
    pub starts: Vec<u64>,
    /// The standing after the reservation.
    pub standing: Option<Standing>,
}

/// Why a reservation was not made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A window cannot cover the reservation; its standing without it.
    OverLimit(Standing),
    /// The shard has no free slot for a new consumer.
    Full,
    /// Compare-and-swap kept failing.
    Busy,
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Store(e)
    }
}

fn standing(entry: &Entry, limits: &[Limit], now_ms: u64) -> Option<Standing> {
    limits
        .iter()
        .map(|l| Standing {
            limit: *l,
            remaining: l.tokens.saturating_sub(entry.used(l, now_ms)),
            reset_ms: l.reset_ms(l.start(now_ms), now_ms),
        })
        .min_by_key(|s| (s.remaining, u64::MAX - s.reset_ms))
}

/// Reads shard `n`, lets `change` modify the consumer's entry, and writes it back with CAS,
/// retrying on conflict. `change` returns `Err` to abandon without writing.
fn update<T>(
    store: &mut dyn Store,
    account: &Account,
    now_ms: u64,
    mut change: impl FnMut(&mut Entry) -> Result<T, Refusal>,
) -> Result<T, Refusal> {
    let key = shard_key(account.shard);
    for _ in 0..MAX_ATTEMPTS {
        let Some((bytes, cas)) = store.get(&key)? else {
            // A shard is created empty once; the filter creates them all at start-up.
            store.set(&key, &encode(&[]), 0)?;
            continue;
        };
        // A value this version cannot read (written by something else) is reset, not trusted.
        let mut entries = decode(&bytes).unwrap_or_default();
        let slot = match entries.iter().position(|e| e.id == account.id) {
            Some(i) => i,
            None => {
                let fresh = Entry {
                    id: account.id,
                    counters: Vec::new(),
                };
                match entries.iter().position(|e| e.idle(now_ms)) {
                    Some(i) => {
                        if let Some(e) = entries.get_mut(i) {
                            *e = fresh;
                        }
                        i
                    }
                    None if entries.len() < SLOTS => {
                        entries.push(fresh);
                        entries.len() - 1
                    }
                    None => return Err(Refusal::Full),
                }
            }
        };
        let Some(entry) = entries.get_mut(slot) else {
            return Err(Refusal::Full);
        };
        let out = change(entry)?;
        if store.set(&key, &encode(&entries), cas)? == Written::Ok {
            return Ok(out);
        }
    }
    Err(Refusal::Busy)
}

/// Reserves `tokens` in every window of `limits`. With `enforce`, refuses when a window cannot
/// cover them; without, reserves anyway and reports the overrun as `Ok` with `over` set.
pub fn reserve(
    store: &mut dyn Store,
    account: &Account,
    limits: &[Limit],
    tokens: u64,
    now_ms: u64,
    enforce: bool,
) -> Result<(Reservation, Option<Standing>), Refusal> {
    update(store, account, now_ms, |entry| {
        let over = limits
            .iter()
            .find(|l| entry.used(l, now_ms).saturating_add(tokens) > l.tokens)
            .map(|l| Standing {
                limit: *l,
                remaining: l.tokens.saturating_sub(entry.used(l, now_ms)),
                reset_ms: l.reset_ms(l.start(now_ms), now_ms),
            });
        if let (true, Some(s)) = (enforce, over) {
            return Err(Refusal::OverLimit(s));
        }
        for l in limits {
            let used = entry.used(l, now_ms).saturating_add(tokens);
            entry.set_used(l, now_ms, used);
        }
        Ok((
            Reservation {
                tokens,
                starts: limits.iter().map(|l| l.start(now_ms)).collect(),
                standing: standing(entry, limits, now_ms),
            },
            over,
        ))
    })
}

/// Replaces a reservation by the real charge: in a window that has not rolled over since, the
/// reservation is taken back and `charge` added; in a new window, `charge` is added.
pub fn settle(
    store: &mut dyn Store,
    account: &Account,
    limits: &[Limit],
    reservation: &Reservation,
    charge: u64,
    now_ms: u64,
) -> Result<Option<Standing>, Refusal> {
    update(store, account, now_ms, |entry| {
        for (i, l) in limits.iter().enumerate() {
            let used = entry.used(l, now_ms);
            let used = if reservation.starts.get(i) == Some(&l.start(now_ms)) {
                used.saturating_sub(reservation.tokens)
            } else {
                used
            };
            entry.set_used(l, now_ms, used.saturating_add(charge));
        }
        Ok(standing(entry, limits, now_ms))
    })
}
