//! What the running session asks of the signal handler: plain atomics, read on every
//! signal, written by the session (start, stop), by SIGPROF's release and after a fork
//! (`crate::lifecycle`).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize};

use crate::config::Mode;

/// What the running session asks of the handler. Plain atomics: read on every signal.
pub(crate) struct SessionFlags {
    /// A session runs in this process (one at a time).
    pub running: AtomicBool,
    pub sampling: AtomicBool,
    pub mode: AtomicU8,
    pub max_depth: AtomicUsize,
    /// [`Driver::bits`] of the session's driver.
    pub driver: AtomicU8,
    /// The sampling period, for re-arming parked timers.
    pub period_ns: AtomicU64,
}

pub(crate) static SESSION: SessionFlags = SessionFlags {
    running: AtomicBool::new(false),
    sampling: AtomicBool::new(false),
    mode: AtomicU8::new(0),
    max_depth: AtomicUsize::new(128),
    driver: AtomicU8::new(0),
    period_ns: AtomicU64::new(10_000_000),
};

pub(crate) fn mode_bits(mode: Mode) -> u8 {
    match mode {
        Mode::Cpu => 0,
        Mode::Wall => 1,
    }
}

/// The running session's mode, as the handler reads it (one relaxed load; async-signal-safe).
#[inline]
pub(crate) fn session_mode() -> Mode {
    match SESSION.mode.load(std::sync::atomic::Ordering::Relaxed) {
        0 => Mode::Cpu,
        _ => Mode::Wall,
    }
}
