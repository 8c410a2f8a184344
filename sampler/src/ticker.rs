//! The ticker thread: drives sampling in wall mode (see [`crate::timer`] for why).
//!
//! Every period it asks of each registered thread: is its stack still the one its last
//! sample recorded, in the same state (running or blocked)?
//! - yes: the ticker records a [`Repeat`] of that sample (its time counts for the same
//!   stack) without waking the thread;
//! - no, or not known: it signals the thread (`tgkill`), and its handler takes a real
//!   sample.
//!
//! "Still the same stack" is decided from the interpreter's state, never from how much CPU
//! the thread used: a thread that leaves one wait and enters another a few microseconds later
//! uses less CPU than our own signal costs it, so CPU time cannot tell the two waits apart.
//! The ticker re-reads the thread's stack identity ([`crate::stack_id`]: every frame's
//! address, code and instruction, copied in one system call from where the last sample
//! found the frames) and compares it with its last sample's. The CPU clock only
//! saves work: a clock that has not moved at all since the ticker last found the stack
//! unchanged means the thread has not run since, so nothing needs reading; and a thread last
//! seen running that has run for more than [`park_threshold_ns`] since its signal is signalled
//! without reading its (surely moved) stack.
//!
//! A blocked thread thus costs one `clock_gettime` per period, plus one read of its frames
//! each time it ran (our signal's retry, or its own work), instead of a signal, a wake-up
//! and a restarted system call every period.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::flags::SESSION;
use crate::raw::ThreadState;
use crate::registry::{self, ThreadEntry};
use crate::ring::Repeat;
use crate::stopper::Stopper;
use crate::timer::{monotonic_ns, park_threshold_ns, thread_cpu_ns};

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
    let Some(cpu) = thread.cpu_now_ns() else {
        return;
    };
    if !stack_unchanged(thread, seq, cpu, period_ns) {
        thread.cpu_at_signal.store(cpu, Ordering::Release);
        thread.cpu_checked.store(u64::MAX, Ordering::Release);
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

/// True when the thread is known to be where its last sample (number `seq`) found it, in
/// the same state; `cpu` is its CPU clock, read before anything else about it.
fn stack_unchanged(thread: &ThreadEntry, seq: u64, cpu: u64, period_ns: u64) -> bool {
    if seq == 0 {
        return false;
    }
    let last_idle = thread.last_sample_idle.load(Ordering::Acquire);
    if (thread.state() == ThreadState::Idle) != last_idle {
        return false;
    }
    if cpu == thread.cpu_checked.load(Ordering::Acquire) {
        return true; // It has not run since its stack was last found unchanged.
    }
    let since_signal = cpu.saturating_sub(thread.cpu_at_signal.load(Ordering::Acquire));
    if !last_idle && since_signal >= park_threshold_ns(period_ns) {
        return false; // Running, and for a while: no need to read where it is now.
    }
    let Some(trail) = thread.trail.get() else {
        return false;
    };
    let sampled = thread.stack_id.load(Ordering::Acquire);
    let max_depth = SESSION.max_depth.load(Ordering::Relaxed);
    let now = crate::stack_id::read_remote(thread.published_top_frame(), trail, max_depth);
    // A sample taken meanwhile would make `sampled` stale: then signal, to be sure.
    let unchanged = now == Some(sampled) && thread.sample_seq.load(Ordering::Acquire) == seq;
    if unchanged {
        thread.cpu_checked.store(cpu, Ordering::Release);
    }
    unchanged
}
