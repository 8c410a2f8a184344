//! The [`Session`]: the sampler, and the aggregator thread that turns its batches into
//! profiles, from start to finish.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{never, select, Receiver, Sender};
use flamegraph::{Profile, ProfileMeta};
use sampler::alloc::{AllocSampling, AllocStats};
use sampler::{SampleBatch, Sampler, SessionReport};
use symbolizer::{AggregateOptions, Aggregator, Symbolizer, TimelineOptions, TimelineRecorder};

use crate::config::SessionConfig;
use crate::cpu_shares::CpuShares;
use crate::{now_unix_ns, SessionError};

/// Distinct frames past which the aggregator of a sliced session starts afresh after a
/// slice (frames are never forgotten otherwise, and a program that keeps generating code
/// would grow them without end).
pub const MAX_FRAMES: usize = 500_000;

/// A running session: every registered Python thread (and every one that starts later) is
/// sampled, and the samples are added up on the session's aggregator thread. Take the
/// profile in slices ([`Session::slicer`], as the agent does), at the end
/// ([`Session::finish`], as `record` does), or both: each profile holds what came after
/// the previous one.
pub struct Session {
    sampler: Sampler,
    allocs: Option<AllocSampling>,
    requests: Sender<Request>,
    aggregator: JoinHandle<Finished>,
    gauges: Arc<Gauges>,
}

/// What a finished session produced.
pub struct Recorded {
    /// The profile since the last slice (since the start when none was taken).
    pub profile: Profile,
    /// The sampler's account: samples, drops, handler time.
    pub report: SessionReport,
    /// CPU time of the aggregator thread.
    pub aggregate_cpu_ns: u64,
    /// What the allocation hook did, when allocations were sampled.
    pub allocs: Option<AllocStats>,
}

/// Asks a running session for slices; clone it to ask from any thread.
#[derive(Clone)]
pub struct Slicer {
    requests: Sender<Request>,
    gauges: Arc<Gauges>,
}

/// What the aggregator thread holds and has used, as of its last slice (the agent's
/// `/metrics`: a service owner sees whether the profiler's own tables grow).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AggregatorGauges {
    /// CPU time the aggregator thread has used, nanoseconds.
    pub cpu_ns: u64,
    /// Distinct frames it holds (it starts afresh past [`MAX_FRAMES`]).
    pub frames: u64,
    /// Distinct stacks it holds (it empties the table once half the stack bound is used).
    pub stacks: u64,
    /// Threads it holds: live ones, ended ones still holding sampled memory, groups'.
    pub threads: u64,
}

/// [`AggregatorGauges`], written by the aggregator thread after each slice.
#[derive(Default)]
struct Gauges {
    cpu_ns: AtomicU64,
    frames: AtomicU64,
    stacks: AtomicU64,
    threads: AtomicU64,
}

impl Slicer {
    /// The profile of everything sampled since the previous slice (or the start), with
    /// only the frames its stacks use and each thread's CPU time during the slice; `None`
    /// once the session has finished.
    pub fn slice(&self) -> Option<Profile> {
        let (reply, answer) = crossbeam_channel::bounded(1);
        self.requests.send(Request::Slice(reply)).ok()?;
        answer.recv().ok()
    }

    /// What the aggregator thread holds and has used, as of its last slice.
    pub fn aggregator(&self) -> AggregatorGauges {
        AggregatorGauges {
            cpu_ns: self.gauges.cpu_ns.load(Ordering::Relaxed),
            frames: self.gauges.frames.load(Ordering::Relaxed),
            stacks: self.gauges.stacks.load(Ordering::Relaxed),
            threads: self.gauges.threads.load(Ordering::Relaxed),
        }
    }
}

enum Request {
    Slice(Sender<Profile>),
}

struct Finished {
    remainder: Profile,
    cpu_ns: u64,
}

/// Writes a warning the user should see while a session runs.
pub fn warn(message: &str) {
    eprintln!("rpprof: warning: {message}");
}

impl Session {
    /// Starts sampling and the aggregator thread.
    pub fn start(config: SessionConfig) -> Result<Session, SessionError> {
        sampler::wait::configure(config.native);
        let (sampler, batches) = Sampler::start(config.sampler, warn)?;
        // After the sampler, whose drain thread carries the allocation records too.
        let allocs = config
            .alloc_interval
            .map(AllocSampling::start)
            .transpose()?;
        let (requests, requests_in) = crossbeam_channel::unbounded();
        let gauges = Arc::new(Gauges::default());
        let written = gauges.clone();
        let aggregator = std::thread::Builder::new()
            .name("rpprof-aggregate".to_owned())
            .spawn(move || SessionAggregator::new(config).run(&batches, requests_in, &written))
            .map_err(SessionError::Thread)?;
        Ok(Session {
            sampler,
            allocs,
            requests,
            aggregator,
            gauges,
        })
    }

    /// A handle that asks for slices.
    pub fn slicer(&self) -> Slicer {
        Slicer {
            requests: self.requests.clone(),
            gauges: self.gauges.clone(),
        }
    }

    /// Stops sampling, adds up what is left, and returns the profile since the last slice.
    pub fn finish(self) -> Recorded {
        let Session {
            sampler,
            allocs,
            requests,
            aggregator,
            ..
        } = self;
        // Before the sampler's last drain: what is live now stays so for the profile.
        let allocs = allocs.map(AllocSampling::stop);
        let report = sampler.stop();
        drop(requests);
        let finished = aggregator
            .join()
            .unwrap_or_else(|_| panic!("the aggregator thread panicked"));
        let mut profile = finished.remainder;
        profile.meta.dropped = report.stats.dropped;
        Recorded {
            profile,
            report,
            aggregate_cpu_ns: finished.cpu_ns,
            allocs,
        }
    }
}

/// The aggregator thread's state: the aggregator, where the current slice started, and how
/// much CPU each thread had when the last slice was taken.
struct SessionAggregator {
    config: SessionConfig,
    aggregator: Aggregator,
    slice_start_ns: u64,
    cpu_shares: CpuShares,
    /// The samples in time order, when the config asks for them.
    timeline: Option<TimelineRecorder>,
}

impl SessionAggregator {
    fn new(config: SessionConfig) -> SessionAggregator {
        SessionAggregator {
            aggregator: new_aggregator(&config),
            timeline: new_timeline(&config),
            config,
            slice_start_ns: now_unix_ns(),
            cpu_shares: CpuShares::default(),
        }
    }

    fn run(
        mut self,
        batches: &Receiver<SampleBatch>,
        mut requests: Receiver<Request>,
        gauges: &Gauges,
    ) -> Finished {
        loop {
            select! {
                recv(batches) -> batch => match batch {
                    Ok(batch) => {
                        self.aggregator.add(&batch, self.timeline.as_mut());
                    }
                    Err(_) => break,
                },
                recv(requests) -> request => match request {
                    Ok(Request::Slice(reply)) => {
                        let _ = reply.send(self.take());
                        gauges.cpu_ns.store(sampler::timer::thread_cpu_ns(), Ordering::Relaxed);
                        gauges.frames.store(self.aggregator.frames_len() as u64, Ordering::Relaxed);
                        gauges.stacks.store(self.aggregator.stacks_len() as u64, Ordering::Relaxed);
                        gauges.threads.store(self.aggregator.threads_len() as u64, Ordering::Relaxed);
                    }
                    // Nobody can ask any more: only the batches matter now.
                    Err(_) => requests = never(),
                },
            }
        }
        Finished {
            remainder: self.take(),
            cpu_ns: sampler::timer::thread_cpu_ns(),
        }
    }

    /// The profile since the last one, then a fresh start for the next.
    fn take(&mut self) -> Profile {
        let end_ns = now_unix_ns();
        let meta = ProfileMeta {
            title: self.config.title.clone(),
            kinds: self.config.value_kinds(),
            rate_hz: self.config.sampler.rate_hz,
            start_unix_ns: self.slice_start_ns,
            duration_ns: end_ns.saturating_sub(self.slice_start_ns),
            dropped: 0,
            overflowed: self.aggregator.overflowed_samples(),
        };
        self.aggregator.sweep_freed();
        let mut profile = self.aggregator.profile(meta);
        if let Some(timeline) = &self.timeline {
            let command_line: Vec<String> = std::env::args_os()
                .map(|arg| arg.to_string_lossy().into_owned())
                .collect();
            // Before `clear_stacks` below: the timeline's stacks are the aggregator's.
            profile.timeline = Some(Arc::new(self.aggregator.timeline(
                timeline,
                self.slice_start_ns,
                sampler::timer::monotonic_ns(),
                &command_line.join(" "),
            )));
            self.timeline = new_timeline(&self.config);
        }
        // The aggregator reports CPU since each thread was armed: keep this profile's share.
        self.cpu_shares.take_shares(&mut profile);
        self.aggregator.clear_stacks();
        if self.aggregator.frames_len() > MAX_FRAMES {
            let mut fresh = new_aggregator(&self.config);
            self.aggregator.move_live_to(&mut fresh);
            self.aggregator = fresh;
        }
        self.slice_start_ns = end_ns;
        profile
    }
}

/// A recorder of the samples in time order, if the config asks for one; its times count
/// from now.
fn new_timeline(config: &SessionConfig) -> Option<TimelineRecorder> {
    (config.timeline_samples > 0).then(|| {
        let options = TimelineOptions {
            period_ns: config.sampler.period_ns(),
            max_samples: config.timeline_samples,
            cpu_mode: config.sampler.mode.weighs_cpu(),
        };
        TimelineRecorder::new(options, sampler::timer::monotonic_ns())
    })
}

fn new_aggregator(config: &SessionConfig) -> Aggregator {
    let options = AggregateOptions {
        period_ns: config.sampler.period_ns(),
        keep_idle: config.keep_idle,
        max_stacks: config.max_stacks,
    };
    let mut aggregator = Aggregator::new(options, Symbolizer::new(std::env::current_dir().ok()));
    if let Some(interval) = config.alloc_interval {
        aggregator.set_alloc_interval(interval);
    }
    aggregator
}
