//! From raw samples to a named, thread-aware profile.
//!
//! The sampler's handler copies only addresses of interned strings and line numbers; this
//! crate reads the names behind them ([`Symbolizer`], cached per address, on any thread but
//! never in a signal handler), and adds samples up per thread and stack ([`Aggregator`]),
//! with each thread named as the program named it (`MainThread`, `worker-1`).

#![deny(missing_docs)]

mod aggregate;
mod allocs;
mod calls;
mod labels;
mod names;
mod resolve;
mod stacks;
mod thread_ref;
mod timeline;
mod values;

pub use aggregate::{AggregateOptions, Aggregator, DEFAULT_MAX_STACKS, MAX_ENDED_THREADS};
pub use allocs::sample_weights;
pub use names::Symbolizer;
pub use timeline::{TimelineOptions, TimelineRecorder, DEFAULT_TIMELINE_SAMPLES};
pub use values::{
    ALLOC_KINDS, ALLOC_OBJECTS_VALUE, ALLOC_SPACE_VALUE, INUSE_OBJECTS_VALUE, INUSE_SPACE_VALUE,
    SAMPLES_VALUE, TIME_VALUE,
};
