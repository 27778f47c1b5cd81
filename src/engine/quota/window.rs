//! Windows and their counters: fixed windows aligned to the epoch, and the binary form of one
//! shard of consumers as it sits in shared data.
//!
//! A shard value is `[version][count]` then `count` entries of `[id: 16][n][n × (seconds: u32,
//! start: u64, used: u64)]`, little-endian. Each window's start is inside the value, so one key
//! serves every window forever: keys never carry a time.

use super::identity::{ConsumerId, ID_BYTES};

/// Format version of a shard value.
const VERSION: u8 = 1;
/// Consumers per shard.
pub const SLOTS: usize = 8;

/// A token limit over a window of `seconds`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    /// Window length.
    pub seconds: u64,
    /// Tokens allowed per window.
    pub tokens: u64,
}

impl Limit {
    /// Start (seconds since the epoch) of the window holding `now_ms`.
    pub fn start(&self, now_ms: u64) -> u64 {
        let now = now_ms / 1000;
        now - now % self.seconds.max(1)
    }

    /// Milliseconds from `now_ms` to the end of the window starting at `start`.
    pub fn reset_ms(&self, start: u64, now_ms: u64) -> u64 {
        start
            .saturating_add(self.seconds)
            .saturating_mul(1000)
            .saturating_sub(now_ms)
    }
}

/// One window's counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counter {
    /// Window length.
    pub seconds: u64,
    /// Window start, seconds since the epoch.
    pub start: u64,
    /// Tokens charged and reserved in it.
    pub used: u64,
}

/// One consumer's counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The consumer.
    pub id: ConsumerId,
    /// One counter per window length.
    pub counters: Vec<Counter>,
}

impl Entry {
    /// Tokens used in `limit`'s current window at `now_ms` (0 when that window has not been used).
    pub fn used(&self, limit: &Limit, now_ms: u64) -> u64 {
        let start = limit.start(now_ms);
        self.counters
            .iter()
            .find(|c| c.seconds == limit.seconds && c.start == start)
            .map_or(0, |c| c.used)
    }

    /// Sets the tokens used in `limit`'s current window at `now_ms`, starting a new window (and
    /// forgetting the old one) when it has rolled over.
    pub fn set_used(&mut self, limit: &Limit, now_ms: u64, used: u64) {
        let counter = Counter {
            seconds: limit.seconds,
            start: limit.start(now_ms),
            used,
        };
        match self
            .counters
            .iter_mut()
            .find(|c| c.seconds == limit.seconds)
        {
            Some(c) => *c = counter,
            None => self.counters.push(counter),
        }
    }

    /// Whether the entry holds nothing worth keeping at `now_ms`: every counter is zero or its
    /// window has ended. Such a slot may be given to another consumer.
    pub fn idle(&self, now_ms: u64) -> bool {
        self.counters.iter().all(|c| {
            c.used == 0 || c.start.saturating_add(c.seconds).saturating_mul(1000) <= now_ms
        })
    }
}

/// Encodes a shard.
pub fn encode(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + entries.len() * (ID_BYTES + 1 + 3 * 20));
    out.push(VERSION);
    out.push(entries.len().min(usize::from(u8::MAX)) as u8);
    for e in entries.iter().take(usize::from(u8::MAX)) {
        out.extend_from_slice(&e.id);
        out.push(e.counters.len().min(usize::from(u8::MAX)) as u8);
        for c in e.counters.iter().take(usize::from(u8::MAX)) {
            out.extend_from_slice(&(c.seconds.min(u64::from(u32::MAX)) as u32).to_le_bytes());
            out.extend_from_slice(&c.start.to_le_bytes());
            out.extend_from_slice(&c.used.to_le_bytes());
        }
    }
    out
}

/// Decodes a shard; an empty value is an empty shard. `None`: not a shard of this version.
pub fn decode(bytes: &[u8]) -> Option<Vec<Entry>> {
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let mut r = Reader { bytes, at: 0 };
    if r.take(1)? != [VERSION] {
        return None;
    }
    let count = *r.take(1)?.first()?;
    let mut entries = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let id: ConsumerId = r.take(ID_BYTES)?.try_into().ok()?;
        let n = *r.take(1)?.first()?;
        let mut counters = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            counters.push(Counter {
                seconds: u64::from(u32::from_le_bytes(r.take(4)?.try_into().ok()?)),
                start: u64::from_le_bytes(r.take(8)?.try_into().ok()?),
                used: u64::from_le_bytes(r.take(8)?.try_into().ok()?),
            });
        }
        entries.push(Entry { id, counters });
    }
    (r.at == bytes.len()).then_some(entries)
}

struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl<'b> Reader<'b> {
    fn take(&mut self, n: usize) -> Option<&'b [u8]> {
        let out = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(out)
    }
}

/// `ms` as OpenAI writes durations in `x-ratelimit-reset-tokens`: `1h2m3s`, `6m0s`, `1.5s`,
/// `20ms`.
pub fn duration(ms: u64) -> String {
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (h, m, s, frac) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    let secs = if frac == 0 {
        format!("{s}s")
    } else {
        let f = format!("{frac:03}");
        format!("{s}.{}s", f.trim_end_matches('0'))
    };
    match (h, m) {
        (0, 0) => secs,
        (0, m) => format!("{m}m{secs}"),
        (h, m) => format!("{h}h{m}m{secs}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn windows_align_and_roll_over() {
        let minute = Limit {
            seconds: 60,
            tokens: 10,
        };
        assert_eq!(minute.start(125_000), 120);
        assert_eq!(minute.reset_ms(120, 125_000), 55_000);
        let mut e = Entry {
            id: [1; 16],
            counters: Vec::new(),
        };
        e.set_used(&minute, 125_000, 7);
        assert_eq!(e.used(&minute, 179_999), 7);
        assert!(!e.idle(179_999));
        assert!(e.idle(180_000), "the window has ended");
        assert_eq!(e.used(&minute, 180_000), 0, "rolled over");
        e.set_used(&minute, 180_000, 3);
        assert_eq!(e.counters.len(), 1, "one counter per window length");
        assert_eq!(e.counters[0].start, 180);
    }

    #[test]
    fn shards_round_trip_and_reject_garbage() {
        let entries = vec![
            Entry {
                id: [7; 16],
                counters: vec![Counter {
                    seconds: 60,
                    start: 120,
                    used: u64::MAX,
                }],
            },
            Entry {
                id: [9; 16],
                counters: Vec::new(),
            },
        ];
        let bytes = encode(&entries);
        assert_eq!(decode(&bytes), Some(entries));
        assert_eq!(decode(b""), Some(Vec::new()));
        assert_eq!(decode(&bytes[..bytes.len() - 1]), None);
        assert_eq!(decode(&[bytes.as_slice(), b"x"].concat()), None);
        assert_eq!(decode(b"\x02\x00"), None);
    }

    #[test]
    fn durations_read_like_openai() {
        assert_eq!(duration(20), "20ms");
        assert_eq!(duration(1500), "1.5s");
        assert_eq!(duration(360_000), "6m0s");
        assert_eq!(duration(3_723_000), "1h2m3s");
    }
}
