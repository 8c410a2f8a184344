//! The drain thread: empties every thread's rings at a fixed interval and sends the samples
//! on as batches, so the rings never fill under normal load. The ticker's repeats become
//! copies of the samples they repeat. It also notices when the program replaced the
//! SIGPROF handler, and then stops the timers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use std::collections::HashMap;

use crate::batch::SampleBatch;
use crate::lifecycle::handler_is_installed;
use crate::raw::{RawFrame, SampleHeader};
use crate::registry::{self, ThreadEntry};
use crate::ring::{Repeat, RepeatRing};
use crate::stopper::Stopper;
use crate::timer::thread_cpu_ns;

/// Name of the drain thread (it is never sampled: it never registers).
pub const DRAIN_THREAD_NAME: &str = "rpprof-drain";

/// A running drain thread.
pub(crate) struct Drainer {
    stopper: Arc<Stopper>,
    handle: JoinHandle<u64>,
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
        let stopper = Arc::new(Stopper::default());
        let stopped = stopper.clone();
        let handle = std::thread::Builder::new()
            .name(DRAIN_THREAD_NAME.to_owned())
            .spawn(move || {
                crate::background::note_background_thread(0);
                drain_loop(interval, &output, &stopped, &handler_lost, warn);
                thread_cpu_ns()
            })?;
        Ok(Drainer { stopper, handle })
    }

    /// Drains one last time, waits for the thread to end and returns the CPU time it used.
    pub fn finish(self) -> u64 {
        self.stopper.stop();
        self.handle.join().unwrap_or(0)
    }
}

fn drain_loop(
    interval: Duration,
    output: &Sender<SampleBatch>,
    stopper: &Stopper,
    handler_lost: &AtomicBool,
    warn: fn(&str),
) {
    let mut cursors = HashMap::new();
    loop {
        let stopping = stopper.sleep_until(Instant::now() + interval);
        if !drain_all(output, &mut cursors) {
            return;
        }
        if !handler_lost.load(Ordering::Relaxed) && !handler_is_installed() {
            handler_lost.store(true, Ordering::Relaxed);
            // The program's own handler would now receive our signals: stop them. If the
            // embedding saw it coming (signal.signal), it has stopped them and warned.
            if crate::ownership::release_sigprof() {
                warn(
                    "the program replaced the SIGPROF handler; sampling stopped \
                     (the profile holds the samples taken before)",
                );
            }
        }
        if stopping {
            return;
        }
    }
}

/// What the drain thread remembers of a thread between drains: how many of its samples it
/// has read, and the last one (a later repeat may refer to it).
#[derive(Default)]
pub(crate) struct Cursor {
    seq: u64,
    last: Option<(SampleHeader, Vec<RawFrame>)>,
}

/// Where a sample's frames sit in the batch being built.
#[derive(Clone, Copy)]
struct InBatch {
    header: SampleHeader,
    start: u32,
    depth: u32,
}

/// Builds one thread's batch: its samples, with each ticker repeat placed right after the
/// sample it repeats.
struct Merger<'a> {
    batch: SampleBatch,
    cursor: &'a mut Cursor,
    previous: Option<InBatch>,
    repeats: std::collections::VecDeque<Repeat>,
}

impl Merger<'_> {
    /// The sample repeats refer to now: the last one added, else the last of an earlier
    /// drain (copied into the batch the first time it is needed).
    fn current(&mut self) -> Option<InBatch> {
        if self.previous.is_none() {
            if let Some((header, frames)) = &self.cursor.last {
                let start = self.batch.push_frames(frames);
                self.previous = Some(InBatch {
                    header: *header,
                    start,
                    depth: frames.len() as u32,
                });
            }
        }
        self.previous
    }

    /// Emits the queued repeats that refer to samples numbered below `seq_limit`.
    fn emit_repeats_before(&mut self, seq_limit: u64) {
        while self.repeats.front().is_some_and(|r| r.seq < seq_limit) {
            let repeat = self.repeats.pop_front().expect("checked");
            if let Some(sample) = self.current() {
                let header = SampleHeader {
                    time_ns: repeat.time_ns,
                    weight_ns: repeat.weight_ns,
                    ..sample.header
                };
                self.batch.push_repeat(header, sample.start, sample.depth);
            }
        }
    }

    fn add_sample(&mut self, header: SampleHeader, frames: &mut dyn Iterator<Item = RawFrame>) {
        let seq = self.cursor.seq + 1;
        self.emit_repeats_before(seq);
        let start = self.batch.frames.len() as u32;
        self.batch.push(header, frames);
        self.cursor.seq = seq;
        self.previous = Some(InBatch {
            header,
            start,
            depth: self.batch.frames.len() as u32 - start,
        });
    }

    fn finish(mut self) -> SampleBatch {
        self.emit_repeats_before(u64::MAX);
        if let Some(last) = self.previous {
            let frames =
                &self.batch.frames[last.start as usize..(last.start + last.depth) as usize];
            self.cursor.last = Some((last.header, frames.to_vec()));
        }
        self.batch
    }
}

/// Drains one thread: repeats first (each refers to a sample written before it, so that
/// sample is in the ring by the time the ring is read), then samples.
fn drain_thread(thread: &Arc<ThreadEntry>, cursor: &mut Cursor) -> Option<SampleBatch> {
    let ring = thread.ring.get()?;
    let allocs = thread.alloc_ring.get().filter(|allocs| !allocs.is_empty());
    if ring.is_empty()
        && thread.repeats.get().is_none_or(RepeatRing::is_empty)
        && allocs.is_none()
        && !crate::task::has_waiting(thread)
    {
        return None;
    }
    let mut repeats = std::collections::VecDeque::new();
    if let Some(queue) = thread.repeats.get() {
        queue.drain(|repeat| repeats.push_back(repeat));
    }
    let mut merger = Merger {
        batch: SampleBatch::new(thread.clone()),
        cursor,
        previous: None,
        repeats,
    };
    ring.drain(|header, frames| merger.add_sample(header, frames));
    let mut batch = merger.finish();
    crate::task::drain_waiting(thread, &mut batch);
    if let Some(allocs) = allocs {
        allocs.drain(|header, frames| batch.push_alloc(header, frames));
    }
    (!batch.is_empty()).then_some(batch)
}

/// Sends every thread's records on; false once nobody listens any more.
pub(crate) fn drain_all(output: &Sender<SampleBatch>, cursors: &mut HashMap<u32, Cursor>) -> bool {
    let mut finished: Vec<Arc<ThreadEntry>> = Vec::new();
    for thread in registry::registered_threads() {
        // Read liveness before draining: a thread seen dead here writes nothing more, so
        // after this drain its rings are empty for good.
        let alive = thread.is_alive();
        let cursor = cursors.entry(thread.key()).or_default();
        if let Some(batch) = drain_thread(&thread, cursor) {
            if output.send(batch).is_err() {
                return false;
            }
        }
        if !alive {
            cursors.remove(&thread.key());
            finished.push(thread);
        }
    }
    registry::forget_dead(&finished);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raw::ThreadState;
    use crate::ring::{RepeatRing, SampleRing};

    fn frame(n: usize) -> RawFrame {
        RawFrame {
            qualname: n,
            filename: 1,
            line: n as u32,
            first_line: 1,
        }
    }

    fn write_sample(ring: &SampleRing, time: u64, leaf: usize) {
        // SAFETY: the test is the only producer.
        let mut writer = unsafe { ring.reserve(4) }.unwrap();
        writer.push(frame(leaf));
        writer.push(frame(1));
        writer.commit(SampleHeader {
            time_ns: time,
            weight_ns: 10,
            state: ThreadState::Idle,
            truncated: false,
            task: crate::raw::TaskName::NONE,
            labels: 0,
            call: crate::wait::RawCall::NONE,
        });
    }

    fn repeat(ring: &RepeatRing, seq: u64, time: u64) {
        // SAFETY: the test is the only producer.
        assert!(unsafe {
            ring.push(Repeat {
                seq,
                time_ns: time,
                weight_ns: 7,
            })
        });
    }

    /// (time, leaf line, weight) of each sample in the batch.
    fn timeline(batch: &SampleBatch) -> Vec<(u64, u32, u64)> {
        batch
            .iter()
            .map(|(h, frames)| (h.time_ns, frames[0].line, h.weight_ns))
            .collect()
    }

    #[test]
    fn repeats_follow_the_sample_they_repeat_across_drains() {
        let entry = std::thread::spawn(|| crate::register_current_thread("t", None))
            .join()
            .unwrap();
        let ring = entry.ring.get_or_init(|| SampleRing::new(1024));
        let repeats = entry.repeats.get_or_init(|| RepeatRing::new(64));
        let mut cursor = Cursor::default();

        // Samples 1 (leaf 10) and 2 (leaf 20); sample 1 repeated twice, sample 2 once.
        write_sample(ring, 100, 10);
        repeat(repeats, 1, 110);
        repeat(repeats, 1, 120);
        write_sample(ring, 130, 20);
        repeat(repeats, 2, 140);
        let batch = drain_thread(&entry, &mut cursor).unwrap();
        assert_eq!(
            timeline(&batch),
            [
                (100, 10, 10),
                (110, 10, 7),
                (120, 10, 7),
                (130, 20, 10),
                (140, 20, 7)
            ]
        );
        assert!(batch.iter().all(|(h, _)| h.state == ThreadState::Idle));

        // The next drain: only repeats of sample 2, which is remembered from the last one.
        repeat(repeats, 2, 150);
        let batch = drain_thread(&entry, &mut cursor).unwrap();
        assert_eq!(timeline(&batch), [(150, 20, 7)]);

        // Nothing new: no batch.
        assert!(drain_thread(&entry, &mut cursor).is_none());
    }
}
