//! The windows thread: merges slices into rolling windows, writes each finished window to
//! the store and queues it for push, and serves the live views (`/debug/pprof/profile`
//! waits on it; `/profile` asks it for the window in progress). It never runs Python and
//! never holds up sampling: it only reads the slices the slicer sends.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{select, Receiver, Sender};
// Past `MAX_THREADS_APART` threads, a window, a collection and the profile since the start
// add ended threads into their groups: a thread per request would grow the profile since
// the start forever, and an hour's window or pull by a thread a request.
use flamegraph::{Profile, ProfileMeta, MAX_THREADS_APART};

use crate::metrics::AgentMetrics;
use crate::push::{PushJob, Pusher};
use crate::slicer::Slice;
use crate::store::Store;
use crate::AgentError;

/// What the HTTP side asks of the windows thread.
pub enum Request {
    /// Collect the slices that start at `from_ns` or later, up to the first that ends at
    /// `until_ns` or later (Unix nanoseconds), then answer.
    Collect {
        /// Slices that started before this are left out.
        from_ns: u64,
        /// When the collection ends.
        until_ns: u64,
        /// Where the profile goes.
        reply: Sender<Profile>,
    },
    /// The window in progress, as it stands.
    Current {
        /// Where the profile goes.
        reply: Sender<Profile>,
    },
    /// Everything since the agent started (allocations: `/debug/pprof/heap` and
    /// `/debug/pprof/allocs`), in-use values as of the last slice.
    SinceStart {
        /// Where the profile goes.
        reply: Sender<Profile>,
    },
}

/// The thread's settings.
pub struct WindowSettings {
    /// Length of a window.
    pub length: Duration,
    /// Distinct stacks kept per window (and per collection).
    pub max_stacks: usize,
    /// The metadata every window starts from (title, mode, rate).
    pub meta: ProfileMeta,
}

struct Collector {
    from_ns: u64,
    until_ns: u64,
    profile: Profile,
    reply: Sender<Profile>,
}

/// Starts the windows thread. It ends, after writing and pushing the window in progress,
/// when the slicer stops sending.
pub fn spawn(
    slices: Receiver<Slice>,
    requests: Receiver<Request>,
    settings: WindowSettings,
    store: Arc<Store>,
    pusher: Option<Pusher>,
    metrics: Arc<AgentMetrics>,
) -> Result<JoinHandle<()>, AgentError> {
    std::thread::Builder::new()
        .name("rpprof-windows".to_owned())
        .spawn(move || {
            run(
                &slices,
                &requests,
                &settings,
                &store,
                pusher.as_ref(),
                &metrics,
            );
            if let Some(pusher) = pusher {
                pusher.finish();
            }
        })
        .map_err(AgentError::Thread)
}

fn run(
    slices: &Receiver<Slice>,
    requests: &Receiver<Request>,
    settings: &WindowSettings,
    store: &Store,
    pusher: Option<&Pusher>,
    metrics: &AgentMetrics,
) {
    let mut window: Option<Profile> = None;
    let mut collectors: Vec<Collector> = Vec::new();
    // Only with allocations (the heap endpoints' data), bounded like a window.
    let keep_since_start = settings.meta.kinds.iter().any(|kind| kind.is_gauge());
    let mut since_start = Profile::new(settings.meta.clone());
    loop {
        select! {
            recv(slices) -> slice => {
                let Ok(slice) = slice else { break };
                let current = window.get_or_insert_with(|| Profile::new(ProfileMeta {
                    start_unix_ns: slice.start_ns,
                    duration_ns: 0,
                    ..settings.meta.clone()
                }));
                // In-use values are a snapshot: a window's are its last slice's.
                current.merge_later_bounded(&slice.profile, settings.max_stacks);
                current.fold_threads_not_in(&slice.profile, MAX_THREADS_APART);
                if keep_since_start {
                    since_start.merge_later_bounded(&slice.profile, settings.max_stacks);
                    since_start.fold_threads_not_in(&slice.profile, MAX_THREADS_APART);
                }
                collectors.retain_mut(|collector| {
                    if slice.start_ns >= collector.from_ns {
                        collector
                            .profile
                            .merge_later_bounded(&slice.profile, settings.max_stacks);
                        collector.profile.fold_threads_not_in(&slice.profile, MAX_THREADS_APART);
                    }
                    if slice.end_ns >= collector.until_ns {
                        let done = std::mem::take(&mut collector.profile);
                        let _ = collector.reply.send(done);
                        false
                    } else {
                        true
                    }
                });
                // Slices end a little after each second: count a window as full half a
                // slice early, so that 10 s windows hold 10 slices, not 11.
                let length = slice.end_ns.saturating_sub(current.meta.start_unix_ns);
                if length + crate::slicer::HALF_SLICE_NS >= settings.length.as_nanos() as u64 {
                    let finished = window.take().expect("a window is open");
                    finish(finished, store, pusher, metrics, slice.end_ns);
                }
                metrics
                    .windows_cpu_ns
                    .store(sampler::timer::thread_cpu_ns(), Ordering::Relaxed);
            }
            recv(requests) -> request => match request {
                Ok(Request::Collect { from_ns, until_ns, reply }) => collectors.push(Collector {
                    from_ns,
                    until_ns,
                    profile: Profile::new(settings.meta.clone()),
                    reply,
                }),
                Ok(Request::SinceStart { reply }) => {
                    let _ = reply.send(since_start.clone());
                }
                Ok(Request::Current { reply }) => {
                    let current = window.clone().unwrap_or_else(|| Profile::new(settings.meta.clone()));
                    let _ = reply.send(current);
                }
                // The HTTP side is gone; keep writing windows until the slices stop.
                Err(_) => {}
            },
        }
    }
    // The slicer stopped: write the window in progress, answer whoever still waits.
    if let Some(partial) = window.take() {
        let end = partial.meta.start_unix_ns + partial.meta.duration_ns;
        finish(partial, store, pusher, metrics, end);
    }
    for collector in collectors {
        let _ = collector.reply.send(collector.profile);
    }
}

/// Stores and queues a finished window.
fn finish(
    window: Profile,
    store: &Store,
    pusher: Option<&Pusher>,
    metrics: &AgentMetrics,
    now_ns: u64,
) {
    if window.is_empty() {
        return;
    }
    // Encoded once, for the store and the push.
    let encoded = store.encode(&window);
    let stored = match &encoded {
        Ok(bytes) => store
            .write_encoded(bytes, &window.meta, now_ns / 1_000_000)
            .map_err(|e| e.to_string()),
        Err(err) => Err(err.to_string()),
    };
    match stored {
        Ok(_) => {
            metrics.windows_stored.fetch_add(1, Ordering::Relaxed);
        }
        Err(message) => {
            metrics.store_errors.fetch_add(1, Ordering::Relaxed);
            metrics.note_error(message);
        }
    }
    if let (Some(pusher), Ok(pprof_bytes)) = (pusher, encoded) {
        let from_s = window.meta.start_unix_ns / 1_000_000_000;
        let until_s = (window.meta.start_unix_ns + window.meta.duration_ns).div_ceil(1_000_000_000);
        let series = if window.has_labels() {
            let (series, folded) = crate::series::split(&window, crate::series::MAX_SERIES);
            metrics
                .push_label_sets_folded
                .fetch_add(folded as u64, Ordering::Relaxed);
            series
                .into_iter()
                .filter_map(|(labels, part)| Some((labels, store.encode(&part).ok()?)))
                .collect()
        } else {
            vec![(Vec::new(), pprof_bytes)]
        };
        pusher.enqueue(PushJob {
            series,
            from_s,
            until_s: until_s.max(from_s + 1),
        });
    }
}
