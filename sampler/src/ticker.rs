//! The ticker thread: drives sampling in wall mode (see [`crate::timer`] for why).
//!
//! Every period it looks at each registered thread's CPU clock:
//! - the clock moved since the ticker last signalled the thread (by more than
//!   [`park_threshold_ns`], or [`QUIET_IDLE_CPU_NS`] if that sample found it blocked): the thread
//!   ran, so its stack may have changed: signal it (`tgkill`), and its handler takes a real
//!   sample;
//! - the clock did not move: the thread has not run, so its stack is the one in its last
//!   sample. The ticker records a [`Repeat`] of that sample (its time counts for the same
//!   stack) without waking the thread.
//!
//! An idle thread thus costs one `clock_gettime` per period instead of a signal, a wake-up
//! and a restarted system call.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::raw::ThreadState;
use crate::registry::{self, ThreadEntry};
use crate::ring::Repeat;
use crate::stopper::Stopper;
use crate::timer::{monotonic_ns, park_threshold_ns, thread_cpu_ns, QUIET_IDLE_CPU_NS};

/// Name of the ticker thread (it never registers, so it is never sampled).
pub const TICKER_THREAD_NAME: &str = "rpprof-ticker";

/// A running ticker.
pub(crate) struct Ticker {
    stopper: Arc<Stopper>,
    handle: JoinHandle<u64>,
}

impl Ticker {
    /// Starts ticking every `period`.
    pub fn start(period: Duration) -> std::io::Result<Ticker> {
        let stopper = Arc::new(Stopper::default());
        let stopped = stopper.clone();
        let handle = std::thread::Builder::new()
            .name(TICKER_THREAD_NAME.to_owned())
            .spawn(move || {
                crate::background::note_background_thread(1);
                tick_loop(period, &stopped);
                thread_cpu_ns()
            })?;
        Ok(Ticker { stopper, handle })
    }

    /// Stops the ticker; returns the CPU time it used.
    pub fn finish(self) -> u64 {
        self.stopper.stop();
        self.handle.join().unwrap_or(0)
    }
}

fn tick_loop(period: Duration, stopper: &Stopper) {
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let period_ns = period.as_nanos() as u64;
    let mut deadline = Instant::now() + period;
    loop {
        if stopper.sleep_until(deadline) {
            return;
        }
        let now = monotonic_ns();
        // Under the registry's lock: a thread that ends meanwhile keeps its repeat ring
        // until the pass is over.
        registry::with_threads(|threads| {
            for thread in threads {
                tick(thread, now, pid, period_ns);
            }
        });
        deadline += period;
        let late = Instant::now();
        if deadline < late {
            // Overloaded: skip the ticks we missed rather than fire them back to back.
            deadline = late + period;
        }
    }
}

fn tick(thread: &ThreadEntry, now: u64, pid: libc::pid_t, period_ns: u64) {
    if !thread.is_alive() {
        return;
    }
    let Some(repeats) = thread.repeats.get() else {
        return;
    };
    let seq = thread.sample_seq.load(Ordering::Acquire);
    let at_signal = thread.cpu_at_signal.load(Ordering::Acquire);
    let Some(cpu) = thread.cpu_now_ns() else {
        return;
    };
    // How much CPU since its last sample still leaves the thread where that sample found
    // it: a thread still blocked may have run our signal's retry path; a thread that was
    // blocked and now runs, or was running and is still attached (preempted, or just
    // resumed), gets only a little; a thread that was running and is now blocked has moved.
    let last_idle = thread.last_sample_idle.load(Ordering::Acquire);
    let tolerance = match (last_idle, thread.state()) {
        (true, ThreadState::Idle) => QUIET_IDLE_CPU_NS,
        (true, _) | (false, ThreadState::Running) => park_threshold_ns(period_ns),
        (false, _) => 0,
    };
    let quiet = seq > 0
        && cpu.saturating_sub(at_signal) < tolerance
        && thread.sample_seq.load(Ordering::Acquire) == seq;
    if !quiet {
        thread.cpu_at_signal.store(cpu, Ordering::Release);
        // SAFETY: tgkill sends SIGPROF to one thread of this process; our handler is
        // installed for it (the session checks it is still ours every drain).
        unsafe { libc::syscall(libc::SYS_tgkill, pid, thread.tid(), libc::SIGPROF) };
        return;
    }
    let last = thread.last_wall_ns.swap(now, Ordering::AcqRel);
    // SAFETY: the ticker is the only producer of every thread's repeat ring.
    unsafe {
        repeats.push(Repeat {
            seq,
            time_ns: now,
            weight_ns: now.saturating_sub(last),
        })
    };
}
