//! What sends the SIGPROF signals, chosen per mode and rate ([`Driver::for_rate`]) from
//! measurements on this project's machines (DESIGN.md, "Sampling"; two busy threads,
//! share of the CPU time the samples account for):
//!
//! | timer | 99 Hz | 250 Hz | 499 Hz | 999 Hz | 4999 Hz |
//! |---|---|---|---|---|---|
//! | one POSIX timer per thread on the thread's CPU clock | 96% | 96% | 48% | 24% | – |
//! | a wall-clock timer per thread, samples weighted by CPU delta | – | – | – | 97% | 97% |
//!
//! and from what a wake-up costs here: a thread woken from sleep uses 27-49 us of CPU on
//! these virtual machines, and reading another thread's CPU clock about 0.7 us.
//!
//! - [`Driver::CpuClockTimers`] (CPU mode up to the kernel tick, 250 Hz): one `timer_create`
//!   timer per thread on the thread's own CPU clock, delivering to that thread alone
//!   (`SIGEV_THREAD_ID`). It only runs while its thread runs, so idle threads cost nothing;
//!   but the kernel checks CPU timers once per tick, so it cannot go faster.
//! - [`Driver::WallClockTimers`] (CPU mode above the tick): a `CLOCK_MONOTONIC` timer per
//!   thread keeps the rate, and samples are weighted by the CPU the thread used since its
//!   previous one. A thread that barely ran since its last signal is *parked*: its handler
//!   stops the wall-clock timer and arms a one-shot timer on the thread's CPU clock, which
//!   fires (and unparks it) once it has run for a period again. Idle threads are woken once,
//!   not at the rate.
//! - [`Driver::Ticker`] (wall mode): a ticker thread (`crate::ticker`) wakes at the rate
//!   and signals only the threads whose stack may have moved since their last sample (it
//!   reads their stack identity, [`crate::stack_id`]); for the others it records "same
//!   stack again" without waking them.

use std::io;

use crate::config::Mode;

/// The highest rate at which a thread CPU-clock timer keeps up: the kernel tick
/// (CONFIG_HZ = 250 on the machines we measured).
pub const CPU_CLOCK_MAX_HZ: u32 = 250;

/// CPU a thread may use since its last signal and still count as idle: enough for the
/// signal return and the restarted system call it was blocked in (30-50 us on these virtual
/// machines). [`Driver::WallClockTimers`] parks a thread below it.
pub const PARK_CPU_NS: u64 = 50_000;

/// [`PARK_CPU_NS`], but at most half a period: at 20 kHz a busy thread only gets 50 us of
/// CPU per period, and must not be taken for an idle one.
#[inline]
pub fn park_threshold_ns(period_ns: u64) -> u64 {
    PARK_CPU_NS.min(period_ns / 2)
}

/// What drives the sampling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driver {
    /// One CPU-clock timer per thread (CPU mode, up to the tick).
    CpuClockTimers,
    /// One wall-clock timer per thread, parked on the CPU clock while idle (CPU mode, above
    /// the tick).
    WallClockTimers,
    /// The ticker thread (wall mode).
    Ticker,
}

impl Driver {
    /// The driver for a mode and rate.
    pub fn for_rate(mode: Mode, rate_hz: u32) -> Driver {
        match mode {
            Mode::Cpu if rate_hz <= CPU_CLOCK_MAX_HZ => Driver::CpuClockTimers,
            Mode::Cpu => Driver::WallClockTimers,
            Mode::Wall => Driver::Ticker,
        }
    }

    /// Words for `--verbose`.
    pub fn describe(self) -> &'static str {
        match self {
            Driver::CpuClockTimers => "per-thread CPU-clock timers",
            Driver::WallClockTimers => "per-thread wall-clock timers, parked while idle",
            Driver::Ticker => "ticker thread",
        }
    }

    pub(crate) fn bits(self) -> u8 {
        match self {
            Driver::CpuClockTimers => 0,
            Driver::WallClockTimers => 1,
            Driver::Ticker => 2,
        }
    }
}

/// A thread's two timers, both delivering SIGPROF to that thread alone: one on its CPU
/// clock, one on `CLOCK_MONOTONIC`. Created once per thread, re-set by each session (and by
/// the handler, to park and unpark), deleted when dropped.
#[derive(Debug)]
pub struct ThreadTimers {
    cpu: libc::timer_t,
    wall: libc::timer_t,
}

// SAFETY: timer_t values are kernel handles; any thread of the process may set or delete
// them.
unsafe impl Send for ThreadTimers {}
// SAFETY: as above; timer_settime on the same timer from two threads is serialised by the
// kernel.
unsafe impl Sync for ThreadTimers {}

impl ThreadTimers {
    /// Creates both timers for thread `tid`, whose CPU clock is `cpu_clock`. Neither runs
    /// until set.
    pub fn create(cpu_clock: libc::clockid_t, tid: libc::pid_t) -> io::Result<ThreadTimers> {
        let cpu = create_timer(cpu_clock, tid)?;
        let wall = match create_timer(libc::CLOCK_MONOTONIC, tid) {
            Ok(wall) => wall,
            Err(err) => {
                // SAFETY: `cpu` was just created and is deleted once, here.
                unsafe { libc::timer_delete(cpu) };
                return Err(err);
            }
        };
        Ok(ThreadTimers { cpu, wall })
    }

    /// Sets the CPU-clock timer: first after `first_ns` of the thread's CPU time, then every
    /// `period_ns` (0: once). All zero stops it. Async-signal-safe (`timer_settime`).
    #[inline]
    pub fn set_cpu(&self, first_ns: u64, period_ns: u64) {
        set_timer(self.cpu, first_ns, period_ns);
    }

    /// Sets the wall-clock timer, as [`ThreadTimers::set_cpu`]. Async-signal-safe.
    #[inline]
    pub fn set_wall(&self, first_ns: u64, period_ns: u64) {
        set_timer(self.wall, first_ns, period_ns);
    }

    /// Stops both. Async-signal-safe.
    #[inline]
    pub fn stop(&self) {
        self.set_cpu(0, 0);
        self.set_wall(0, 0);
    }
}

impl Drop for ThreadTimers {
    fn drop(&mut self) {
        // SAFETY: both ids came from timer_create and are deleted exactly once, here.
        unsafe {
            libc::timer_delete(self.cpu);
            libc::timer_delete(self.wall);
        }
    }
}

fn create_timer(clock: libc::clockid_t, tid: libc::pid_t) -> io::Result<libc::timer_t> {
    // SAFETY: sigevent is a plain C struct for which all-zero is a valid value.
    let mut event: libc::sigevent = unsafe { std::mem::zeroed() };
    event.sigev_notify = libc::SIGEV_THREAD_ID;
    event.sigev_signo = libc::SIGPROF;
    event.sigev_notify_thread_id = tid;
    let mut id: libc::timer_t = std::ptr::null_mut();
    // SAFETY: `event` and `id` are valid for the call; the kernel copies `event`.
    if unsafe { libc::timer_create(clock, &mut event, &mut id) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(id)
}

#[inline]
fn set_timer(id: libc::timer_t, first_ns: u64, period_ns: u64) {
    let spec = libc::itimerspec {
        it_interval: timespec(period_ns),
        it_value: timespec(first_ns),
    };
    // SAFETY: `id` is a live timer of ours (deleted only when its owner drops); `spec` is
    // valid for the call. timer_settime is async-signal-safe.
    unsafe { libc::timer_settime(id, 0, &spec, std::ptr::null_mut()) };
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

/// The whole process's CPU time in nanoseconds (every thread, ended ones included).
pub fn process_cpu_ns() -> u64 {
    clock_ns(libc::CLOCK_PROCESS_CPUTIME_ID).unwrap_or(0)
}

/// The calling thread's CPU time in nanoseconds.
#[inline]
pub fn thread_cpu_ns() -> u64 {
    clock_ns(libc::CLOCK_THREAD_CPUTIME_ID).unwrap_or(0)
}
