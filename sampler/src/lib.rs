//! Signal-driven sampling of every Python thread of an embedded RustPython interpreter.
//!
//! Each Python thread registers itself ([`register_current_thread`]); a [`Sampler`] session
//! has SIGPROF sent to each registered thread alone, by a per-thread CPU-clock timer or by
//! the [`ticker`] thread ([`timer`] explains which, and why). The handler walks the
//! interrupted thread's own frame chain and copies interned-name addresses and line numbers ([`RawFrame`]) into
//! that thread's lock-free ring; a drain thread moves the records, as [`SampleBatch`]es, over
//! a crossbeam channel to whoever aggregates them. Names are resolved later, elsewhere
//! (the `symbolizer` crate), never in the handler.
//!
//! # Signal safety
//! See [`handler`]: the handler saves `errno`, allocates nothing, takes no lock, writes
//! only to its own thread's ring and to atomic counters, and counts a drop when the ring is
//! full. The SIGPROF handler is never reset to its default while a timer could still fire.

#![deny(missing_docs)]

pub mod alloc;
mod background;
mod batch;
mod call;
mod config;
mod drain;
mod error;
mod flags;
pub mod handler;
mod interpreter_slot;
pub mod labels;
mod lifecycle;
mod owned;
mod ownership;
mod raw;
mod registry;
pub mod ring;
mod ring_pool;
mod session;
mod snapshot;
mod snapshot_slot;
mod stack_id;
mod stats;
mod stopper;
pub mod task;
mod task_name;
pub mod ticker;
pub mod timer;
pub mod wait;
mod walk;

pub use background::background_cpu_ns;
pub use batch::{AllocSample, SampleBatch};
pub use config::{
    Mode, SamplerConfig, DEFAULT_MAX_DEPTH, DEFAULT_MODE, DEFAULT_RATE_HZ, MAX_DEPTH_LIMIT,
    MAX_RATE_HZ,
};
pub use drain::DRAIN_THREAD_NAME;
pub use error::SamplerError;
pub use lifecycle::{handler_is_installed, in_forked_child, install_handler, reset_after_fork};
pub use ownership::{release_sigprof, sigprof_released};
pub use raw::{RawFrame, RawSample, SampleHeader, TaskName, ThreadState};
pub use registry::{
    arm_failures, current_entry, python_threads_cpu_ns, register_current_thread,
    registered_threads, ThreadEntry,
};
pub use session::{current_stats, Sampler, SessionReport};
pub use snapshot::{ThreadSnapshot, SNAPSHOT_DEPTH};
pub use stats::{HandlerTimes, StatsSnapshot};
pub use wait::RawCall;
pub use walk::{raw_frame, walk_current_stack, StackWalk};

/// Reads every live registered thread's current stack, waiting at most `timeout` for the
/// threads to answer (see `snapshot.rs` for how, and what it costs). Installs the SIGPROF
/// handler if no session did; fails when the program has taken SIGPROF for itself.
pub fn snapshot_threads(timeout: std::time::Duration) -> Result<Vec<ThreadSnapshot>, SamplerError> {
    lifecycle::install_handler().map_err(SamplerError::Signal)?;
    wait::prepare();
    snapshot::collect(timeout)
}
