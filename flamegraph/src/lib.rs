//! The aggregated, thread-aware [`Profile`] and every way to write it out: folded stacks,
//! flamegraph SVG (through inferno), and the readers that bring folded files back in.
//!
//! A profile holds one frame table and, per thread, the time of each distinct stack. It
//! knows nothing of the interpreter: frames arrive resolved (the `symbolizer` crate does
//! that), so this crate also serves files recorded elsewhere.

#![deny(missing_docs)]

mod error;
pub mod folded;
mod frame;
mod profile;
pub mod svg;

pub use error::ProfileError;
pub use frame::{Frame, FrameId, FrameKind, FrameTable, IDLE, INTERPRETER, TRUNCATED};
pub use profile::{Profile, ProfileMeta, StackCounts, ThreadProfile, TimeKind, ALL_THREADS};
pub use svg::SvgOptions;
