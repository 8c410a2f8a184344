//! The time-ordered samples of a recording, for the formats that show time (the Firefox
//! Profiler's timeline, speedscope's per-thread view): per thread, every kept sample with
//! its timestamp, stack and weight. A [`Profile`](crate::Profile) adds samples up and
//! forgets their order; a recording that was asked for its timeline carries one beside
//! (`Profile::timeline`), built by the session from the same samples.
//!
//! Memory is bounded by the recording (`symbolizer::TimelineRecorder`): past its budget of
//! samples, neighbouring samples of each thread are merged pairwise (the earlier one's
//! time and stack, both weights), so totals stay exact while the time resolution halves;
//! [`Timeline::keep_one_in`] says how many samples each kept one stands for.

use crate::frame::{FrameId, FrameTable};

/// One kept sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimedSample {
    /// When it was taken, in nanoseconds since the recording started.
    pub time_ns: u64,
    /// The time it stands for, in nanoseconds: CPU time in CPU mode, wall time in wall
    /// mode (summed over merged samples).
    pub weight_ns: u64,
    /// Its stack, an index into [`Timeline::stacks`].
    pub stack: u32,
    /// The whole sampling periods it stands for, counted as the aggregated profile counts
    /// them (so a thread's sum equals its `samples` total there).
    pub count: u32,
}

/// One thread's samples, in time order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ThreadTimeline {
    /// The name the program gave it.
    pub name: String,
    /// Its kernel thread id.
    pub tid: i32,
    /// When it started (registered), in nanoseconds since the recording started; 0 when
    /// it was already running then.
    pub start_ns: u64,
    /// When it ended, if it did before the recording did.
    pub end_ns: Option<u64>,
    /// The CPU time it used while the recording ran, as its CPU clock measured it (none
    /// when unknown). In wall mode the samples do not say how much of a running sample's
    /// time was CPU; this does.
    pub cpu_ns: Option<u64>,
    /// Its samples, in the order they were taken.
    pub samples: Vec<TimedSample>,
}

impl ThreadTimeline {
    /// The sum of its samples' counts.
    pub fn count(&self) -> u64 {
        self.samples.iter().map(|s| u64::from(s.count)).sum()
    }
}

/// Every thread's samples in time order, with the frames and stacks they use.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    /// The frames the stacks use.
    pub frames: FrameTable,
    /// Distinct stacks, root first (markers included, as in the profile).
    pub stacks: Vec<Vec<FrameId>>,
    /// The threads, in the order they were first sampled.
    pub threads: Vec<ThreadTimeline>,
    /// When the recording started, in nanoseconds since the Unix epoch.
    pub start_unix_ns: u64,
    /// How long it ran, in nanoseconds.
    pub duration_ns: u64,
    /// How many taken samples each kept sample stands for at most (1: every one kept).
    pub keep_one_in: u32,
    /// The budget of kept samples that was in force.
    pub max_samples: usize,
    /// Samples taken (and kept or merged) in all.
    pub samples_taken: u64,
    /// True in CPU mode (weights are CPU time), false in wall mode.
    pub cpu_mode: bool,
    /// The profiler's command line, for the record.
    pub command_line: String,
}

impl Timeline {
    /// Samples kept, over all threads.
    pub fn samples_kept(&self) -> usize {
        self.threads.iter().map(|t| t.samples.len()).sum()
    }

    /// Bytes its samples take (their buffers' capacity), the bulk of its memory.
    pub fn sample_bytes(&self) -> usize {
        self.threads
            .iter()
            .map(|t| t.samples.capacity() * std::mem::size_of::<TimedSample>())
            .sum()
    }
}
