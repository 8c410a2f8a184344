//! Self-telemetry: how many samples were taken and lost, and how long the handler took.
//! Everything here is updated from the signal handler, so it is made of relaxed atomics.

use std::sync::atomic::{AtomicU64, Ordering};

/// Sub-buckets per power of two in the handler-time histogram (12.5% resolution).
const SUB_BUCKETS: usize = 8;
/// Powers of two covered: 1 ns to ~1 s.
const OCTAVES: usize = 30;
const BUCKETS: usize = OCTAVES * SUB_BUCKETS;

/// Counters shared by every thread's handler.
pub struct HandlerStats {
    samples: AtomicU64,
    dropped: AtomicU64,
    skipped_idle: AtomicU64,
    unregistered: AtomicU64,
    foreign: AtomicU64,
    min_ns: AtomicU64,
    max_ns: AtomicU64,
    histogram: [AtomicU64; BUCKETS],
}

/// A snapshot of [`HandlerStats`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatsSnapshot {
    /// Samples written to a ring.
    pub samples: u64,
    /// Samples lost because a ring was full.
    pub dropped: u64,
    /// Signals that found their thread had used no CPU since its last sample (CPU mode).
    pub skipped_idle: u64,
    /// Signals that arrived on a thread the profiler does not know (ignored).
    pub unregistered: u64,
    /// SIGPROF signals not sent by our timers or ticker (ignored).
    pub foreign: u64,
    /// Handler run time, when any sample was taken.
    pub handler_ns: Option<HandlerTimes>,
}

/// Distribution of the handler's run time per sample, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HandlerTimes {
    /// Fastest run.
    pub min: u64,
    /// Median, from a histogram with 12.5% resolution.
    pub median: u64,
    /// 99th percentile, same resolution.
    pub p99: u64,
    /// Slowest run.
    pub max: u64,
}

impl StatsSnapshot {
    /// The CPU the handlers used, estimated as median run time times samples. The sum of
    /// run times would overstate it on a busy machine: a thread preempted inside its
    /// handler counts the time it waited for a CPU.
    pub fn handler_cpu_estimate_ns(&self) -> u64 {
        self.handler_ns
            .map_or(0, |t| t.median.saturating_mul(self.samples))
    }
}

impl HandlerStats {
    /// Zeroed counters (usable in a `static`).
    pub const fn new() -> HandlerStats {
        HandlerStats {
            samples: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            skipped_idle: AtomicU64::new(0),
            unregistered: AtomicU64::new(0),
            foreign: AtomicU64::new(0),
            min_ns: AtomicU64::new(u64::MAX),
            max_ns: AtomicU64::new(0),
            histogram: [const { AtomicU64::new(0) }; BUCKETS],
        }
    }

    /// A sample was written; the handler ran for `elapsed_ns`.
    #[inline]
    pub fn record_sample(&self, elapsed_ns: u64) {
        self.samples.fetch_add(1, Ordering::Relaxed);
        self.min_ns.fetch_min(elapsed_ns, Ordering::Relaxed);
        self.max_ns.fetch_max(elapsed_ns, Ordering::Relaxed);
        self.histogram[bucket_of(elapsed_ns)].fetch_add(1, Ordering::Relaxed);
    }

    /// A sample was lost to a full ring.
    #[inline]
    pub fn record_drop(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// A signal found the thread had not run since its last sample.
    #[inline]
    pub fn record_skip(&self) {
        self.skipped_idle.fetch_add(1, Ordering::Relaxed);
    }

    /// A SIGPROF not sent by our timers or ticker arrived.
    #[inline]
    pub fn record_foreign(&self) {
        self.foreign.fetch_add(1, Ordering::Relaxed);
    }

    /// A signal arrived on a thread without a registration.
    #[inline]
    pub fn record_unregistered(&self) {
        self.unregistered.fetch_add(1, Ordering::Relaxed);
    }

    /// Zeroes every counter (at the start of a session).
    pub fn reset(&self) {
        for counter in [
            &self.samples,
            &self.dropped,
            &self.skipped_idle,
            &self.unregistered,
            &self.foreign,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        self.min_ns.store(u64::MAX, Ordering::Relaxed);
        self.max_ns.store(0, Ordering::Relaxed);
        for bucket in &self.histogram {
            bucket.store(0, Ordering::Relaxed);
        }
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        let counts: Vec<u64> = self
            .histogram
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        let handler_ns = (total > 0).then(|| HandlerTimes {
            min: self.min_ns.load(Ordering::Relaxed),
            median: percentile(&counts, total, 0.5),
            p99: percentile(&counts, total, 0.99),
            max: self.max_ns.load(Ordering::Relaxed),
        });
        StatsSnapshot {
            samples: self.samples.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            skipped_idle: self.skipped_idle.load(Ordering::Relaxed),
            unregistered: self.unregistered.load(Ordering::Relaxed),
            foreign: self.foreign.load(Ordering::Relaxed),
            handler_ns,
        }
    }
}

impl Default for HandlerStats {
    fn default() -> Self {
        HandlerStats::new()
    }
}

/// Log-linear bucket: the power of two, then which eighth of it.
fn bucket_of(ns: u64) -> usize {
    let ns = ns.max(1);
    let octave = 63 - ns.leading_zeros() as usize;
    let sub = if octave >= 3 {
        ((ns >> (octave - 3)) & 7) as usize
    } else {
        ((ns << (3 - octave)) & 7) as usize
    };
    (octave * SUB_BUCKETS + sub).min(BUCKETS - 1)
}

/// The lower bound of a bucket, in nanoseconds.
fn bucket_floor(bucket: usize) -> u64 {
    let octave = bucket / SUB_BUCKETS;
    let sub = (bucket % SUB_BUCKETS) as u64;
    let base = 1u64 << octave;
    base + base * sub / SUB_BUCKETS as u64
}

fn percentile(counts: &[u64], total: u64, q: f64) -> u64 {
    let rank = ((total as f64) * q).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (bucket, &count) in counts.iter().enumerate() {
        seen += count;
        if seen >= rank {
            return bucket_floor(bucket);
        }
    }
    bucket_floor(counts.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut last = 0;
        for ns in [
            1u64, 2, 3, 7, 8, 9, 100, 999, 1000, 1500, 2000, 10_000, 1_000_000,
        ] {
            let b = bucket_of(ns);
            assert!(b >= last);
            last = b;
            let floor = bucket_floor(b);
            assert!(floor <= ns, "{floor} <= {ns}");
            assert!(ns as f64 <= floor as f64 * 1.126 + 1.0, "{ns} vs {floor}");
        }
    }

    #[test]
    fn snapshot_reports_percentiles() {
        let stats = HandlerStats::new();
        for ns in 1..=1000 {
            stats.record_sample(ns * 10);
        }
        stats.record_drop();
        let snap = stats.snapshot();
        assert_eq!(snap.samples, 1000);
        assert_eq!(snap.dropped, 1);
        let times = snap.handler_ns.unwrap();
        assert_eq!(times.min, 10);
        assert_eq!(times.max, 10_000);
        assert!((4400..=5000).contains(&times.median), "{}", times.median);
        assert!((8800..=9900).contains(&times.p99), "{}", times.p99);
        stats.reset();
        assert_eq!(stats.snapshot(), StatsSnapshot::default());
    }
}
