//! Per-thread POSIX interval timers that deliver SIGPROF to one thread
//! (`timer_create` with `SIGEV_THREAD_ID`).
//!
//! Two clocks, chosen per mode and rate by [`TimerClock::for_rate`] from measurements on
//! this project's machines (DESIGN.md, "Sampling"), with two busy threads:
//!
//! | timer | 99 Hz | 250 Hz | 499 Hz | 999 Hz | 4999 Hz |
//! |---|---|---|---|---|---|
//! | the thread's CPU clock | 96% | 96% | 48% | 24% | – |
//! | `CLOCK_MONOTONIC`, weighted by the thread's CPU delta | – | – | – | 97% | 97% |
//!
//! A CPU-clock timer only runs while its thread runs, so idle threads cost nothing, but the
//! kernel checks CPU timers once per scheduler tick (250 Hz here) and cannot go faster.
//! Above the tick, a monotonic (high-resolution) timer per thread keeps the rate, and the
//! handler weights each sample by the CPU time the thread used since its previous one.

use std::io;

use crate::config::Mode;

/// The highest rate at which a thread CPU-clock timer keeps up: the kernel tick
/// (CONFIG_HZ = 250 on the machines we measured).
pub const CPU_CLOCK_MAX_HZ: u32 = 250;

/// Which clock drives a thread's timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerClock {
    /// The thread's own CPU-time clock: fires only while the thread runs.
    ThreadCpu,
    /// Wall-clock time: fires whether or not the thread runs.
    Monotonic,
}

impl TimerClock {
    /// The clock for a mode and rate: CPU mode up to the tick uses the thread's CPU clock;
    /// faster CPU sampling and all wall sampling use monotonic timers.
    pub fn for_rate(mode: Mode, rate_hz: u32) -> TimerClock {
        match mode {
            Mode::Cpu if rate_hz <= CPU_CLOCK_MAX_HZ => TimerClock::ThreadCpu,
            _ => TimerClock::Monotonic,
        }
    }
}

/// An armed timer; dropping it deletes the timer.
#[derive(Debug)]
pub struct ThreadTimer {
    id: libc::timer_t,
}

// SAFETY: a timer_t is a kernel handle; any thread of the process may set or delete it.
unsafe impl Send for ThreadTimer {}

impl ThreadTimer {
    /// Arms a timer on `clock` (`cpu_clock` is the thread's CPU clock id, used for
    /// [`TimerClock::ThreadCpu`]) that sends SIGPROF to thread `tid` every `period_ns`,
    /// first after `first_ns`.
    pub fn arm(
        clock: TimerClock,
        cpu_clock: libc::clockid_t,
        tid: libc::pid_t,
        first_ns: u64,
        period_ns: u64,
    ) -> io::Result<ThreadTimer> {
        let clock_id = match clock {
            TimerClock::ThreadCpu => cpu_clock,
            TimerClock::Monotonic => libc::CLOCK_MONOTONIC,
        };
        // SAFETY: sigevent is a plain C struct for which all-zero is a valid value.
        let mut event: libc::sigevent = unsafe { std::mem::zeroed() };
        event.sigev_notify = libc::SIGEV_THREAD_ID;
        event.sigev_signo = libc::SIGPROF;
        event.sigev_notify_thread_id = tid;
        let mut id: libc::timer_t = std::ptr::null_mut();
        // SAFETY: `event` and `id` are valid for the call; the kernel copies `event`.
        if unsafe { libc::timer_create(clock_id, &mut event, &mut id) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let timer = ThreadTimer { id };
        let spec = libc::itimerspec {
            it_interval: timespec(period_ns),
            it_value: timespec(first_ns.max(1)),
        };
        // SAFETY: `timer.id` was just created; `spec` is valid for the call.
        if unsafe { libc::timer_settime(timer.id, 0, &spec, std::ptr::null_mut()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(timer)
    }
}

impl Drop for ThreadTimer {
    fn drop(&mut self) {
        // SAFETY: `id` came from timer_create and is deleted exactly once, here.
        unsafe { libc::timer_delete(self.id) };
    }
}

fn timespec(ns: u64) -> libc::timespec {
    libc::timespec {
        tv_sec: (ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (ns % 1_000_000_000) as libc::c_long,
    }
}

/// Reads a clock in nanoseconds (async-signal-safe: `clock_gettime` is on the POSIX list).
/// Returns `None` when the clock is gone (a dead thread's CPU clock).
#[inline]
pub fn clock_ns(clock: libc::clockid_t) -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is valid for writing.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return None;
    }
    Some(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

/// `CLOCK_MONOTONIC` in nanoseconds.
#[inline]
pub fn monotonic_ns() -> u64 {
    clock_ns(libc::CLOCK_MONOTONIC).unwrap_or(0)
}

/// The calling thread's CPU time in nanoseconds.
#[inline]
pub fn thread_cpu_ns() -> u64 {
    clock_ns(libc::CLOCK_THREAD_CPUTIME_ID).unwrap_or(0)
}
