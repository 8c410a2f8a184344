//! What `rpprof top` shows each second, as one serializable [`TopSlice`]: per thread, its
//! state now, its CPU time so far, and the heaviest functions of the last slice (self and
//! total samples). The live view computes it from its session's slices; the agent serves it
//! as `GET /top`, and `rpprof top --agent` reads it from there. Viewers add slices up
//! themselves for cumulative figures.

use std::sync::Arc;

use flamegraph::top::TopTable;
use flamegraph::Profile;
use sampler::ThreadEntry;
use serde::{Deserialize, Serialize};

/// Functions kept per thread per slice.
pub const TOP_FUNCTIONS: usize = 100;

/// One slice of time, as `top` shows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TopSlice {
    /// Start of the slice, in nanoseconds since the Unix epoch (tells slices apart).
    pub start_unix_ns: u64,
    /// Its length.
    pub duration_ns: u64,
    /// Samples per second per thread.
    pub rate_hz: u32,
    /// The profile's time kind: `cpu` or `wall`.
    pub mode: String,
    /// Every live Python thread, and those that sampled in the slice and have exited.
    pub threads: Vec<TopThread>,
}

/// One thread in a [`TopSlice`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TopThread {
    /// Its name.
    pub name: String,
    /// Its kernel thread id.
    pub tid: i32,
    /// `running`, `idle`, or `exited`.
    pub state: String,
    /// CPU time it has used since it started, in nanoseconds.
    pub cpu_ns: u64,
    /// Its heaviest functions in the slice, by self samples.
    pub functions: Vec<TopFunction>,
}

/// One function's samples in a slice.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopFunction {
    /// `function (file)`.
    pub function: String,
    /// Samples where it was the leaf.
    pub self_samples: u64,
    /// Samples where it was on the stack.
    pub total_samples: u64,
}

impl TopSlice {
    /// The slice of `profile` (one slice of a session) for `threads` (the registered
    /// threads, read for their state and CPU time now).
    pub fn new(profile: &Profile, threads: &[Arc<ThreadEntry>]) -> TopSlice {
        let value = profile.meta.count_index();
        let functions_of = |tid: i32| -> Vec<TopFunction> {
            let sampled = profile.threads.iter().filter(|t| t.tid == tid);
            TopTable::new("", profile, sampled, value, TOP_FUNCTIONS)
                .rows
                .into_iter()
                .map(|row| TopFunction {
                    function: row.function,
                    self_samples: row.self_samples,
                    total_samples: row.total_samples,
                })
                .collect()
        };
        let mut rows: Vec<TopThread> = threads
            .iter()
            .filter(|t| t.is_alive())
            .map(|t| TopThread {
                name: t.name(),
                tid: t.tid(),
                state: t.state().label().to_owned(),
                cpu_ns: t.cpu_time_ns(),
                functions: functions_of(t.tid()),
            })
            .collect();
        for thread in &profile.threads {
            if thread.process.is_none() && !rows.iter().any(|r| r.tid == thread.tid) {
                rows.push(TopThread {
                    name: thread.name.clone(),
                    tid: thread.tid,
                    state: "exited".to_owned(),
                    cpu_ns: thread.cpu_time_ns.unwrap_or(0),
                    functions: functions_of(thread.tid),
                });
            }
        }
        TopSlice {
            start_unix_ns: profile.meta.start_unix_ns,
            duration_ns: profile.meta.duration_ns,
            rate_hz: profile.meta.rate_hz,
            mode: profile
                .meta
                .time_kind()
                .map_or("cpu", |k| k.name.as_ref())
                .to_owned(),
            threads: rows,
        }
    }
}
