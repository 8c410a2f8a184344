//! The aggregator thread of the agent: turns the sampler's batches into one-second
//! profiles ("slices"), the grain of every window and of `/debug/pprof/profile`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use flamegraph::hash::FastMap;
use flamegraph::{Profile, ProfileMeta};
use sampler::SampleBatch;
use symbolizer::{AggregateOptions, Aggregator, Symbolizer};

use crate::duration::now_unix_ns;
use crate::metrics::AgentMetrics;
use crate::AgentError;

/// The length of a slice.
pub const SLICE: Duration = Duration::from_secs(1);

/// Half a slice, in nanoseconds: the tolerance when slices are matched to whole seconds.
pub const HALF_SLICE_NS: u64 = SLICE.as_nanos() as u64 / 2;

/// Distinct frames past which the aggregator starts afresh (frames are never forgotten
/// otherwise, and a program that keeps generating code would grow them without end).
const MAX_FRAMES: usize = 500_000;

/// One slice of time's samples.
pub struct Slice {
    /// Start, Unix nanoseconds.
    pub start_ns: u64,
    /// End, Unix nanoseconds.
    pub end_ns: u64,
    /// The samples, with each thread's CPU time during the slice.
    pub profile: Profile,
}

/// Starts the thread: it reads `batches` until the sampler closes them, and sends a slice
/// every [`SLICE`] (and a last one at the end) to `slices`.
pub fn spawn(
    batches: Receiver<SampleBatch>,
    options: AggregateOptions,
    meta: ProfileMeta,
    slices: Sender<Slice>,
    metrics: Arc<AgentMetrics>,
) -> Result<JoinHandle<()>, AgentError> {
    std::thread::Builder::new()
        .name("rpprof-slicer".to_owned())
        .spawn(move || run(&batches, options, &meta, &slices, &metrics))
        .map_err(AgentError::Thread)
}

fn new_aggregator(options: AggregateOptions) -> Aggregator {
    Aggregator::new(options, Symbolizer::new(std::env::current_dir().ok()))
}

fn run(
    batches: &Receiver<SampleBatch>,
    options: AggregateOptions,
    meta: &ProfileMeta,
    slices: &Sender<Slice>,
    metrics: &AgentMetrics,
) {
    let mut aggregator = new_aggregator(options);
    let mut cpu_seen: FastMap<(String, i32), u64> = FastMap::default();
    let mut start_ns = now_unix_ns();
    let mut deadline = Instant::now() + SLICE;
    loop {
        let ended = match batches.recv_deadline(deadline) {
            Ok(batch) => {
                aggregator.add(&batch);
                continue;
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        let end_ns = now_unix_ns();
        let mut profile = aggregator
            .profile(ProfileMeta {
                start_unix_ns: start_ns,
                duration_ns: end_ns.saturating_sub(start_ns),
                overflowed: aggregator.overflowed_samples(),
                ..meta.clone()
            })
            .compact();
        // The aggregator reports CPU since the session started: keep each slice's share.
        for thread in &mut profile.threads {
            if let Some(total) = thread.cpu_time_ns {
                let seen = cpu_seen
                    .entry((thread.name.clone(), thread.tid))
                    .or_insert(0);
                thread.cpu_time_ns = Some(total.saturating_sub(*seen));
                *seen = total;
            }
        }
        metrics
            .overflowed_samples
            .fetch_add(aggregator.overflowed_samples(), Ordering::Relaxed);
        aggregator.clear_stacks();
        if aggregator.frames_len() > MAX_FRAMES {
            aggregator = new_aggregator(options);
        }
        if slices
            .send(Slice {
                start_ns,
                end_ns,
                profile,
            })
            .is_err()
            || ended
        {
            return;
        }
        start_ns = end_ns;
        deadline += SLICE;
        let now = Instant::now();
        if deadline < now {
            deadline = now + SLICE;
        }
        metrics
            .slicer_cpu_ns
            .store(sampler::timer::thread_cpu_ns(), Ordering::Relaxed);
    }
}
