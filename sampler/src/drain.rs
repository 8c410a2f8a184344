//! The drain thread: empties every thread's ring at a fixed interval and sends the samples
//! on as batches, so the handler's rings never fill under normal load. It also notices when
//! the program replaced the SIGPROF handler, and then stops the timers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::batch::SampleBatch;
use crate::registry::{self, ThreadEntry};
use crate::signal::handler_is_installed;

/// Name of the drain thread (it is never sampled: it never registers).
pub const DRAIN_THREAD_NAME: &str = "rpprof-drain";

/// A running drain thread.
pub(crate) struct Drainer {
    stop: Sender<()>,
    handle: JoinHandle<()>,
}

impl Drainer {
    /// Starts draining every `interval` into `output`. When the handler is found replaced,
    /// sets `handler_lost`, stops every timer and calls `warn` once.
    pub fn start(
        interval: Duration,
        output: Sender<SampleBatch>,
        handler_lost: Arc<AtomicBool>,
        warn: fn(&str),
    ) -> std::io::Result<Drainer> {
        let (stop, stopped) = crossbeam_channel::bounded(1);
        let handle = std::thread::Builder::new()
            .name(DRAIN_THREAD_NAME.to_owned())
            .spawn(move || drain_loop(interval, &output, &stopped, &handler_lost, warn))?;
        Ok(Drainer { stop, handle })
    }

    /// Drains one last time and waits for the thread to end.
    pub fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.handle.join();
    }
}

fn drain_loop(
    interval: Duration,
    output: &Sender<SampleBatch>,
    stopped: &Receiver<()>,
    handler_lost: &AtomicBool,
    warn: fn(&str),
) {
    loop {
        let stopping = !matches!(
            stopped.recv_timeout(interval),
            Err(RecvTimeoutError::Timeout)
        );
        if !drain_all(output) {
            return;
        }
        if !handler_lost.load(Ordering::Relaxed) && !handler_is_installed() {
            handler_lost.store(true, Ordering::Relaxed);
            // The program's own handler would now receive our signals: stop them.
            registry::disarm_all();
            warn(
                "the program replaced the SIGPROF handler; sampling stopped \
                 (the profile holds the samples taken before)",
            );
        }
        if stopping {
            return;
        }
    }
}

/// Sends every ring's records on; false once nobody listens any more.
pub(crate) fn drain_all(output: &Sender<SampleBatch>) -> bool {
    let mut finished: Vec<Arc<ThreadEntry>> = Vec::new();
    for thread in registry::registered_threads() {
        // Read liveness before draining: a thread seen dead here writes nothing more, so
        // after this drain its ring is empty for good.
        let alive = thread.is_alive();
        if let Some(ring) = thread.ring.get() {
            let mut batch = SampleBatch::new(thread.clone());
            ring.drain(|header, frames| batch.push(header, frames));
            if !batch.is_empty() && output.send(batch).is_err() {
                return false;
            }
        }
        if !alive {
            finished.push(thread);
        }
    }
    registry::forget_dead(&finished);
    true
}
