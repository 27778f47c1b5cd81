//! How the engine micro-benchmarks are timed: in batches of calls, by the CPU time of the calling
//! thread, so that other processes sharing the core do not inflate the figures (the machine may be
//! shared); by wall time where the platform has no thread clock.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// A source of elapsed time.
#[derive(Clone, Copy)]
pub enum Clock {
    /// CPU time of this thread.
    ThreadCpu,
    /// Wall time since the given instant.
    Wall(Instant),
}

impl Clock {
    /// The thread's CPU clock where the platform has one, else wall time.
    pub fn best() -> Clock {
        if thread_cpu().is_some() {
            Clock::ThreadCpu
        } else {
            Clock::Wall(Instant::now())
        }
    }

    /// `cpu` or `wall`.
    pub fn name(self) -> &'static str {
        match self {
            Clock::ThreadCpu => "cpu",
            Clock::Wall(_) => "wall",
        }
    }

    /// The time now, from an arbitrary origin.
    pub fn now(self) -> Duration {
        match self {
            Clock::ThreadCpu => thread_cpu().unwrap_or_default(),
            Clock::Wall(origin) => origin.elapsed(),
        }
    }
}

/// `CLOCK_THREAD_CPUTIME_ID`, on Linux and in WASI alike.
const THREAD_CPUTIME: u32 = 3;

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
#[allow(unsafe_code)] // one libc call; std exposes no CPU clock
fn thread_cpu() -> Option<Duration> {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: clock_gettime writes one `struct timespec`, two 64-bit integers on 64-bit Linux, into
    // memory we own.
    let rc = unsafe { clock_gettime(THREAD_CPUTIME as i32, &mut ts) };
    let sec = u64::try_from(ts.sec).ok()?;
    let nsec = u32::try_from(ts.nsec).ok()?;
    (rc == 0).then(|| Duration::new(sec, nsec))
}

#[cfg(target_os = "wasi")]
#[allow(unsafe_code)] // one WASI call; std exposes no CPU clock
fn thread_cpu() -> Option<Duration> {
    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    unsafe extern "C" {
        fn clock_time_get(id: u32, precision: u64, time: *mut u64) -> u16;
    }
    let mut ns = 0u64;
    // SAFETY: clock_time_get writes one u64 into memory we own.
    let errno = unsafe { clock_time_get(THREAD_CPUTIME, 1, &mut ns) };
    (errno == 0).then(|| Duration::from_nanos(ns))
}

#[cfg(not(any(
    all(target_os = "linux", target_pointer_width = "64"),
    target_os = "wasi"
)))]
fn thread_cpu() -> Option<Duration> {
    None
}

/// Timed batches per measurement; the median batch is reported.
const SAMPLES: usize = 11;

/// Median seconds per call of `run`, over `SAMPLES` batches filling `budget`, timed by `clock`.
pub fn measure(run: &mut dyn FnMut() -> usize, budget: Duration, clock: Clock) -> f64 {
    // Warm-up, and how many calls fill a batch.
    let start = Instant::now();
    let mut calls: u32 = 0;
    while start.elapsed() < budget || calls == 0 {
        black_box(run());
        calls += 1;
    }
    let per_call = start.elapsed() / calls;
    let batch = ((budget / SAMPLES as u32).as_secs_f64() / per_call.as_secs_f64()).max(1.0) as u32;
    let mut samples: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let t = clock.now();
            for _ in 0..batch {
                black_box(run());
            }
            clock.now().saturating_sub(t).as_secs_f64() / f64::from(batch)
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples.get(SAMPLES / 2).copied().unwrap_or(f64::NAN)
}
