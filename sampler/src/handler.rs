//! The SIGPROF handler.
//!
//! # Signal safety
//! The handler runs on whatever thread the kernel interrupted, at any instruction. So it:
//! - saves `errno` on entry and restores it on exit;
//! - allocates nothing and takes no lock (not even a `try_lock` on a futex-backed mutex),
//!   touches no `RefCell` and no lazily initialised thread-local;
//! - reads only: its thread's entry (through a `const` thread-local pointer), the
//!   interpreter's frame chain of its own thread, its current label set id (a `const`
//!   thread-local atomic, [`crate::labels`]), its VM's running asyncio task and that task's
//!   name ([`crate::task`]), and clocks (`clock_gettime`);
//! - writes only: its thread's single-producer ring, relaxed atomic counters, and (in wall
//!   mode) its thread's stack identity and frame trail for the ticker ([`crate::stack_id`]);
//! - when the ring is full, counts a drop and returns.
//!
//! SIGPROF stays blocked while the handler runs (no `SA_NODEFER`), so a thread's ring never
//! has two producers. A test with a counting global allocator checks that sampling allocates
//! nothing (`tests/handler_allocation.rs`).

use std::cell::Cell;
use std::sync::atomic::Ordering;

use crate::flags::{session_mode, SESSION};
use crate::raw::{SampleHeader, ThreadState};
use crate::registry::{ThreadEntry, CURRENT};
use crate::stats::HandlerStats;
use crate::timer::{monotonic_ns, park_threshold_ns, thread_cpu_ns, Driver};
use crate::walk::walk_and_trail;

/// Counters every handler run updates.
pub(crate) static STATS: HandlerStats = HandlerStats::new();

thread_local! {
    /// True while this thread runs the handler (a `const` thread-local without destructor:
    /// safe to touch in a signal handler). Tests use it to prove the handler allocates
    /// nothing: a counting allocator checks it on every allocation.
    static IN_HANDLER: Cell<bool> = const { Cell::new(false) };
}

/// True while the calling thread is inside the SIGPROF handler.
pub fn in_handler() -> bool {
    IN_HANDLER.with(Cell::get)
}

/// The handler installed for SIGPROF (`SA_SIGINFO | SA_RESTART`).
pub(crate) extern "C" fn on_sigprof(
    _signal: libc::c_int,
    info: *mut libc::siginfo_t,
    _context: *mut libc::c_void,
) {
    let _errno = ErrnoGuard::save();
    let _inside = InHandler::enter();
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let info = unsafe { &*info };
    // A stack dump's request (SI_QUEUE, from this process) is answered whether or not a
    // session samples.
    if crate::snapshot::is_request(info) {
        let entry = CURRENT.with(|current| current.get());
        if !entry.is_null() {
            // SAFETY: as for sampling below: a non-null CURRENT is a live entry.
            crate::snapshot::answer(unsafe { &*entry });
        }
        return;
    }
    // Only our timers (SI_TIMER) and our ticker (SI_TKILL) sample; SIGPROF from anything
    // else (the program's setitimer(ITIMER_PROF), kill) is not ours.
    if info.si_code != libc::SI_TIMER && info.si_code != libc::SI_TKILL {
        STATS.record_foreign();
        return;
    }
    if !SESSION.sampling.load(Ordering::Acquire) {
        return;
    }
    let entry = CURRENT.with(|current| current.get());
    if entry.is_null() {
        STATS.record_unregistered();
        return;
    }
    // SAFETY: CURRENT is non-null only between the thread's registration and its exit guard,
    // and the registry holds the entry (an Arc) at least that long.
    sample(unsafe { &*entry }, info);
}

/// How many expirations of a POSIX timer this signal stands for: 1 plus the overruns the
/// kernel counted while the signal was pending (`si_overrun`, for `si_code == SI_TIMER`).
#[inline]
fn timer_expirations(info: &libc::siginfo_t) -> u64 {
    if info.si_code != libc::SI_TIMER {
        return 1;
    }
    // The kernel's layout of a timer siginfo on 64-bit Linux: si_signo, si_errno, si_code,
    // padding, then the `_timer` member { int si_tid; int si_overrun; sigval_t si_sigval },
    // so si_overrun sits 20 bytes in (glibc's struct does not name it).
    // SAFETY: `info` is a whole siginfo_t (128 bytes) and offset 20 holds an aligned i32.
    let overrun = unsafe {
        *(info as *const libc::siginfo_t as *const u8)
            .add(20)
            .cast::<i32>()
    };
    1 + u64::try_from(overrun).unwrap_or(0)
}

#[inline]
fn sample(entry: &ThreadEntry, info: &libc::siginfo_t) {
    let start = monotonic_ns();
    let state = entry.state();
    let cpu_mode = session_mode().weighs_cpu();
    let driver = SESSION.driver.load(Ordering::Relaxed);
    let weight_ns = if !cpu_mode {
        start.saturating_sub(entry.last_wall_ns.swap(start, Ordering::Relaxed))
    } else if driver == Driver::CpuClockTimers.bits() {
        // Each expiration of the thread's CPU-clock timer is one period of its CPU time: no
        // need to read the clock (a system call costing 1-2 us on these machines).
        SESSION.period_ns.load(Ordering::Relaxed) * timer_expirations(info)
    } else {
        let now = thread_cpu_ns();
        let delta = now.saturating_sub(entry.last_cpu_ns.swap(now, Ordering::Relaxed));
        if !keep_timers_running(entry, delta) || delta == 0 {
            STATS.record_skip();
            return;
        }
        delta
    };
    let Some(ring) = entry.ring.get() else {
        return;
    };
    let max_depth = SESSION.max_depth.load(Ordering::Relaxed);
    // SAFETY: this thread's handler is the ring's only producer (SIGPROF is blocked while it
    // runs, and only this thread's CURRENT points at this entry).
    let Some(mut record) = (unsafe { ring.reserve(max_depth) }) else {
        STATS.record_drop();
        return;
    };
    // Only the ticker (wall mode) reads where the frames were.
    let trail = if driver == Driver::Ticker.bits() {
        entry.trail.get()
    } else {
        None
    };
    // SAFETY: we are on the interrupted thread, walking its own stack.
    let walk = unsafe { walk_and_trail(|frame| record.push(frame), trail) };
    record.commit(SampleHeader {
        time_ns: start,
        weight_ns,
        state,
        truncated: walk.truncated,
        task: crate::task::running_task(),
        labels: crate::labels::current(),
        // SAFETY: as for the walk: this thread's own innermost frame, while it is stopped.
        call: unsafe { crate::wait::sample_call(state) },
    });
    entry
        .last_sample_idle
        .store(state == ThreadState::Idle, Ordering::Release);
    entry.stack_id.store(walk.stack_id, Ordering::Release);
    entry.sample_seq.fetch_add(1, Ordering::AcqRel);
    STATS.record_sample(monotonic_ns().saturating_sub(start));
}

/// For [`Driver::WallClockTimers`]: parks or unparks the thread's timers; false when the
/// signal should not be sampled (the session ended, or the thread was just parked).
#[inline]
fn keep_timers_running(entry: &ThreadEntry, cpu_delta: u64) -> bool {
    let Some(timers) = entry.current_timers() else {
        return false;
    };
    if !entry.armed.load(Ordering::Acquire) {
        // The session stopped this thread's timers, but this handler (or one it
        // interrupted) may have restarted one: stop them for good.
        timers.stop();
        return false;
    }
    let period = SESSION.period_ns.load(Ordering::Relaxed);
    if entry.parked.load(Ordering::Relaxed) {
        // The CPU-clock one-shot fired: the thread has run for a period. Back to the rate.
        timers.set_cpu(0, 0);
        timers.set_wall(period, period);
        entry.parked.store(false, Ordering::Relaxed);
        true
    } else if cpu_delta < park_threshold_ns(period) {
        // The thread barely ran since its last signal: stop waking it at the wall-clock
        // rate and let its CPU clock wake it once it has run for a period.
        timers.set_wall(0, 0);
        timers.set_cpu(period, 0);
        entry.parked.store(true, Ordering::Relaxed);
        false
    } else {
        true
    }
}

/// Marks the thread as inside the handler until dropped.
struct InHandler;

impl InHandler {
    fn enter() -> InHandler {
        IN_HANDLER.with(|flag| flag.set(true));
        InHandler
    }
}

impl Drop for InHandler {
    fn drop(&mut self) {
        IN_HANDLER.with(|flag| flag.set(false));
    }
}

/// Restores `errno` when dropped.
struct ErrnoGuard(libc::c_int);

impl ErrnoGuard {
    fn save() -> ErrnoGuard {
        // SAFETY: __errno_location returns this thread's errno slot, always valid.
        ErrnoGuard(unsafe { *libc::__errno_location() })
    }
}

impl Drop for ErrnoGuard {
    fn drop(&mut self) {
        // SAFETY: as in `save`.
        unsafe { *libc::__errno_location() = self.0 };
    }
}
