//! One thread's place for its stack snapshot (`rpprof dump`, SIGQUIT): what the thread's
//! own handler fills and the asking thread reads, with the protocol in [`crate::snapshot`].
//! A leaf, so that the registry can hold one per thread without depending on the code that
//! takes snapshots.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize};

#[cfg(doc)]
use crate::call::RawCall;
use crate::raw::{RawFrame, ThreadState};

/// Frames a snapshot keeps per thread (the innermost ones).
pub const SNAPSHOT_DEPTH: usize = 256;

/// One thread's place for its snapshot, created (outside any handler) the first time the
/// thread is asked for one.
pub(crate) struct SnapshotSlot {
    pub(crate) requested: AtomicU64,
    pub(crate) answered: AtomicU64,
    pub(crate) depth: AtomicUsize,
    pub(crate) truncated: AtomicBool,
    pub(crate) state: AtomicU8,
    pub(crate) labels: std::sync::atomic::AtomicU32,
    pub(crate) pause_ns: AtomicU64,
    /// The call a blocked thread waits in ([`RawCall`]: receiver, callee).
    pub(crate) call: [AtomicUsize; 2],
    pub(crate) frames: UnsafeCell<[RawFrame; SNAPSHOT_DEPTH]>,
}

// SAFETY: `frames` is written only by the owning thread's handler while
// `requested != answered`, and read only after `answered` (released after the write) equals
// the request; see the module docs.
unsafe impl Sync for SnapshotSlot {}

impl SnapshotSlot {
    pub(crate) fn new() -> SnapshotSlot {
        let empty = RawFrame {
            qualname: 0,
            filename: 0,
            line: 0,
            first_line: 0,
        };
        SnapshotSlot {
            requested: AtomicU64::new(0),
            answered: AtomicU64::new(0),
            depth: AtomicUsize::new(0),
            truncated: AtomicBool::new(false),
            state: AtomicU8::new(ThreadState::Unknown as u8),
            labels: std::sync::atomic::AtomicU32::new(crate::labels::NO_LABELS),
            pause_ns: AtomicU64::new(0),
            call: [AtomicUsize::new(0), AtomicUsize::new(0)],
            frames: UnsafeCell::new([empty; SNAPSHOT_DEPTH]),
        }
    }
}
