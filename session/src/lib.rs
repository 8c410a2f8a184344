//! One recording session, assembled in one place: the sampler (signal handler, rings, drain
//! thread), the aggregator thread that names and adds up the samples, and the meaning of
//! each sampling mode (which value kinds its profiles carry, whether blocked threads are
//! kept). `rpprof record` and the in-script API take one profile at the end
//! ([`Session::finish`]); the agent takes one per second ([`Slicer::slice`]). Nothing else
//! starts a sampler.
//!
//! Allocation sampling ([`SessionConfig::alloc_interval`]) is part of the same session: the
//! sampler's allocator hook writes per-thread records that the same drain thread carries,
//! and the same aggregator adds them to the same profile as four more value kinds.
//!
//! A new sampling mode goes here (its value kinds and idle handling, in [`config`]) and in
//! the `sampler` crate (how it is driven); a new value kind is recorded here and declared in
//! `flamegraph::ValueKind`.

#![deny(missing_docs)]

pub mod config;
mod cpu_shares;
pub mod dump;
mod session;
pub mod top;

use std::time::{SystemTime, UNIX_EPOCH};

pub use config::{
    keeps_idle, time_kind, SessionBuilder, SessionConfig, ALLOC_KINDS, DEFAULT_MAX_STACKS,
};
pub use dump::{StackDump, ThreadStack};
pub use session::{warn, AggregatorGauges, Recorded, Session, Slicer, MAX_FRAMES};
pub use top::{TopFunction, TopSlice, TopThread};

/// Why a session could not start.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The sampler refused (bad settings, another session running, no timers).
    #[error(transparent)]
    Sampler(#[from] sampler::SamplerError),
    /// The aggregator thread could not start.
    #[error("cannot start the aggregator thread: {0}")]
    Thread(std::io::Error),
}

/// Now, in nanoseconds since the Unix epoch (0 if the clock is before it).
pub fn now_unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
