//! The aggregated, thread-aware [`Profile`] and every way to write it out: folded stacks,
//! flamegraph SVG (through inferno), pprof, speedscope, top tables and differential
//! flamegraphs; and the readers that bring folded and pprof files back in.
//!
//! A profile holds one frame table, the kinds of value it measures ([`ValueKind`]: samples,
//! CPU or wall time, and room for bytes and objects) and, per thread, the [`Values`] of each
//! distinct stack. Every format is a row of the [`format`] table. It
//! knows nothing of the interpreter: frames arrive resolved (the `symbolizer` crate does
//! that), so this crate also serves files recorded elsewhere.

#![deny(missing_docs)]

pub mod atomic;
mod cpu_comments;
pub mod diff;
mod error;
pub mod firefox;
mod fold_ended;
pub mod folded;
pub mod format;
mod frame;
mod gauge;
pub mod groups;
pub mod hash;
pub mod labels;
mod options;
pub mod pprof;
mod profile;
pub mod speedscope;
pub mod summary;
pub mod svg;
pub mod timeline;
pub mod top;
pub mod value;
mod view;

pub use error::ProfileError;
pub use fold_ended::MAX_THREADS_APART;
pub use format::{Format, TimelineUse, FORMATS};
pub use frame::{
    Frame, FrameId, FrameKind, FrameTable, AWAITING, IDLE, INTERPRETER, NATIVE, OVERFLOW,
    TASK_PREFIX, TRUNCATED,
};
pub use options::{SvgOptions, WriteOptions};
pub use profile::{ProcessRoot, Profile, ProfileMeta, ThreadProfile, ALL_THREADS, MAX_SAMPLES};
pub use timeline::{ThreadTimeline, TimedSample, Timeline};
pub use value::{format_bytes, ValueKind, Values, MAX_VALUE_KINDS};
pub use view::View;
