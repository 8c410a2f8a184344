//! The aggregated, thread-aware [`Profile`] and every way to write it out: folded stacks,
//! flamegraph SVG (through inferno), pprof, speedscope, top tables and differential
//! flamegraphs; and the readers that bring folded and pprof files back in.
//!
//! A profile holds one frame table and, per thread, the time of each distinct stack. It
//! knows nothing of the interpreter: frames arrive resolved (the `symbolizer` crate does
//! that), so this crate also serves files recorded elsewhere.

#![deny(missing_docs)]

pub mod atomic;
pub mod diff;
mod error;
pub mod folded;
mod frame;
pub mod hash;
pub mod pprof;
mod profile;
pub mod speedscope;
pub mod summary;
pub mod svg;
pub mod top;

pub use error::ProfileError;
pub use frame::{Frame, FrameId, FrameKind, FrameTable, IDLE, INTERPRETER, OVERFLOW, TRUNCATED};
pub use profile::{
    Profile, ProfileMeta, StackCounts, ThreadProfile, TimeKind, ALL_THREADS, MAX_SAMPLES,
};
pub use svg::SvgOptions;
