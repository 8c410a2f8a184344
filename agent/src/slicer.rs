//! The slicer thread of the agent: asks the session for a profile every [`SLICE`] (one
//! second), the grain of every window and of `/debug/pprof/profile`, and sends it on to the
//! windows thread. The session does the adding up; a slice carries only the frames its
//! stacks use, so a slice costs the same however many frames the program has shown.
//!
//! An agent attached to another process (`rpprof agent --pid`) has no session of its own:
//! its slices are fed to it ([`SliceSource::Fed`]), one a second as the target sends them,
//! and go the same way from here.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use flamegraph::Profile;
use session::{AggregatorGauges, Slicer};

use crate::metrics::AgentMetrics;
use crate::top::LiveTop;
use crate::AgentError;

/// The length of a slice.
pub const SLICE: Duration = Duration::from_secs(1);

/// Half a slice, in nanoseconds: the tolerance when slices are matched to whole seconds.
pub const HALF_SLICE_NS: u64 = SLICE.as_nanos() as u64 / 2;

/// One slice of time's samples.
pub struct Slice {
    /// Start, Unix nanoseconds.
    pub start_ns: u64,
    /// End, Unix nanoseconds.
    pub end_ns: u64,
    /// The samples, with each thread's CPU time during the slice.
    pub profile: Profile,
}

impl Slice {
    /// The slice a session profile covers.
    pub fn of(profile: Profile) -> Slice {
        let start_ns = profile.meta.start_unix_ns;
        Slice {
            start_ns,
            end_ns: start_ns.saturating_add(profile.meta.duration_ns),
            profile,
        }
    }
}

/// Adds other processes' samples (Python children's) to each slice before it is sent on.
pub type AddToSlice = Arc<dyn Fn(&mut Profile) + Send + Sync>;

/// Where the slices come from.
pub enum SliceSource {
    /// This process's session, asked every [`SLICE`].
    Session(Slicer),
    /// Profiles another thread receives (from an attached process), taken as they come.
    Fed(Receiver<Profile>),
}

impl SliceSource {
    /// The next slice at `deadline` (a session) or when one comes (fed); `None` when
    /// stopped or when the source has ended.
    fn next(&self, stop: &Receiver<()>, deadline: Instant) -> Option<Profile> {
        match self {
            SliceSource::Session(slicer) => match stop.recv_deadline(deadline) {
                Err(RecvTimeoutError::Timeout) => slicer.slice(),
                Ok(()) | Err(RecvTimeoutError::Disconnected) => None,
            },
            SliceSource::Fed(fed) => crossbeam_channel::select! {
                recv(stop) -> _ => None,
                recv(fed) -> profile => profile.ok(),
            },
        }
    }

    /// What this process's aggregator holds (none when the slices are fed).
    fn aggregator(&self) -> Option<AggregatorGauges> {
        match self {
            SliceSource::Session(slicer) => Some(slicer.aggregator()),
            SliceSource::Fed(_) => None,
        }
    }
}

/// Starts the thread: every [`SLICE`] it sends `slicer`'s next slice (with `add_to_slice`'s
/// additions) to `slices`, until `stop` is closed or the session has finished.
pub fn spawn(
    slicer: SliceSource,
    stop: Receiver<()>,
    slices: Sender<Slice>,
    metrics: Arc<AgentMetrics>,
    add_to_slice: Option<AddToSlice>,
    live_top: Arc<LiveTop>,
) -> Result<JoinHandle<()>, AgentError> {
    std::thread::Builder::new()
        .name("rpprof-slicer".to_owned())
        .spawn(move || {
            run(
                &slicer,
                &stop,
                &slices,
                &metrics,
                add_to_slice.as_ref(),
                &live_top,
            )
        })
        .map_err(AgentError::Thread)
}

fn run(
    slicer: &SliceSource,
    stop: &Receiver<()>,
    slices: &Sender<Slice>,
    metrics: &AgentMetrics,
    add_to_slice: Option<&AddToSlice>,
    live_top: &LiveTop,
) {
    let mut deadline = Instant::now() + SLICE;
    loop {
        let Some(mut profile) = slicer.next(stop, deadline) else {
            return;
        };
        if let Some(add) = add_to_slice {
            add(&mut profile);
        }
        live_top.offer(&profile);
        metrics
            .overflowed_samples
            .fetch_add(profile.meta.overflowed, Ordering::Relaxed);
        if metrics.alloc_sampling.load(Ordering::Relaxed) {
            metrics.allocated_bytes.fetch_add(
                profile.total_of(&flamegraph::ValueKind::ALLOC_SPACE),
                Ordering::Relaxed,
            );
            metrics.in_use_bytes.store(
                profile.total_of(&flamegraph::ValueKind::INUSE_SPACE),
                Ordering::Relaxed,
            );
        }
        if let Some(gauges) = slicer.aggregator() {
            metrics.note_aggregator(gauges);
        }
        if slices.send(Slice::of(profile)).is_err() {
            return;
        }
        deadline += SLICE;
        let now = Instant::now();
        if deadline < now {
            deadline = now + SLICE;
        }
    }
}
