//! Stack dumps: every registered thread's current Python stack, taken while the program runs.
//!
//! # How the stacks are read, and what it costs the program
//! A thread's frame chain can only be walked safely by the thread itself: another thread
//! walking it could meet a frame that is being popped and freed. So a dump does what
//! sampling does. The dumping thread sends each registered thread a SIGPROF of its own kind
//! (`rt_tgsigqueueinfo` with `SI_QUEUE` and a marker value, told apart from timer and
//! ticker signals by its `si_code`); that thread's handler walks its own chain (the same
//! async-signal-safe walk as a sample, [`crate::walk`]) into the thread's snapshot slot,
//! allocating nothing and taking no lock, and publishes it with a release store. The
//! dumping thread waits for the answers and copies the slots out.
//!
//! Nothing is stopped: no stop-the-world, no GIL, no ptrace. Each thread is interrupted for
//! the length of one handler run (a few microseconds, reported per thread as
//! [`ThreadSnapshot::pause_ns`]) and the others run on meanwhile. A thread blocked in a
//! call (sleep, lock, socket) is woken for the handler and goes back to its call: the
//! handler is installed with `SA_RESTART`, and RustPython retries calls that return
//! `EINTR` (PEP 475) with the time that is left. A thread that cannot answer in time (it
//! is exiting, with SIGPROF blocked) is listed without a stack.
//!
//! One dump runs at a time; the slot protocol relies on it. The slot is written only by its
//! thread's handler and only while `requested != answered`; the dumping thread reads it only
//! once `answered` equals the number it asked with, and asks again only after reading.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::raw::{RawFrame, ThreadState};
use crate::registry::{registered_threads, ThreadEntry};
pub(crate) use crate::snapshot_slot::SnapshotSlot;
pub use crate::snapshot_slot::SNAPSHOT_DEPTH;
use crate::timer::monotonic_ns;
use crate::wait::RawCall;
use crate::walk::walk_current_stack;
use crate::SamplerError;

/// The `sigval` that marks a SIGPROF as a snapshot request.
const REQUEST_MARK: usize = 0x7270_7072_6f66_6475; // "rpprofdu"

/// True when the signal described by `info` is a snapshot request of this process.
#[inline]
pub(crate) fn is_request(info: &libc::siginfo_t) -> bool {
    if info.si_code != libc::SI_QUEUE {
        return false;
    }
    // The kernel's layout of an SI_QUEUE siginfo on 64-bit Linux: si_signo, si_errno,
    // si_code, padding, then `_rt` { pid_t si_pid; uid_t si_uid; sigval_t si_sigval }, so
    // si_pid sits 16 bytes in and the sigval 24 bytes in.
    let base = info as *const libc::siginfo_t as *const u8;
    // SAFETY: `info` is a whole siginfo_t (128 bytes); offsets 16 and 24 hold an aligned
    // i32 and an aligned pointer-sized value.
    let (pid, value) = unsafe { (*base.add(16).cast::<i32>(), *base.add(24).cast::<usize>()) };
    // SAFETY: getpid(2) is async-signal-safe.
    value == REQUEST_MARK && pid == unsafe { libc::getpid() }
}

/// Answers a snapshot request in the handler of `entry`'s own thread: walks the thread's
/// stack into its slot. Allocates nothing, takes no lock.
#[inline]
pub(crate) fn answer(entry: &ThreadEntry) {
    let start = monotonic_ns();
    let Some(slot) = entry.snapshot.get() else {
        return;
    };
    let wanted = slot.requested.load(Ordering::Acquire);
    if wanted == slot.answered.load(Ordering::Relaxed) {
        return; // A late repeat of a request already answered.
    }
    let state = entry.state();
    let frames = slot.frames.get();
    let mut depth = 0;
    // SAFETY: we are on the interrupted thread, walking its own stack; the slot's frames
    // are ours to write while `requested != answered` (module docs), and `depth` stays
    // below SNAPSHOT_DEPTH.
    let truncated = unsafe {
        walk_current_stack(|frame| {
            if depth == SNAPSHOT_DEPTH {
                return false;
            }
            (*frames)[depth] = frame;
            depth += 1;
            true
        })
    }
    .truncated;
    slot.depth.store(depth, Ordering::Relaxed);
    slot.truncated.store(truncated, Ordering::Relaxed);
    slot.state.store(state as u8, Ordering::Relaxed);
    slot.labels
        .store(crate::labels::current(), Ordering::Relaxed);
    let call = if state == ThreadState::Idle {
        // SAFETY: as for the walk: this thread's own innermost frame, while it is stopped.
        unsafe { crate::wait::current_call() }
    } else {
        RawCall::NONE
    };
    slot.call[0].store(call.receiver, Ordering::Relaxed);
    slot.call[1].store(call.callee, Ordering::Relaxed);
    slot.pause_ns
        .store(monotonic_ns().saturating_sub(start), Ordering::Relaxed);
    slot.answered.store(wanted, Ordering::Release);
}

/// One thread's stack at the time of a dump.
#[derive(Clone)]
pub struct ThreadSnapshot {
    /// The thread.
    pub entry: Arc<ThreadEntry>,
    /// Its frames, innermost first; `None` when the thread did not answer in time.
    pub frames: Option<Vec<RawFrame>>,
    /// True when the stack was deeper than [`SNAPSHOT_DEPTH`].
    pub truncated: bool,
    /// Running or idle, as the interpreter said when the stack was read (or now, when the
    /// thread did not answer).
    pub state: ThreadState,
    /// Its label set ([`crate::labels`]) when it answered.
    pub labels: crate::labels::LabelSetId,
    /// CPU time the thread has used, in nanoseconds.
    pub cpu_ns: u64,
    /// How long the thread was interrupted to read its stack.
    pub pause_ns: u64,
    /// The builtin call a blocked thread waits in (`lock.acquire`), when it was named.
    pub call: RawCall,
}

static DUMPING: Mutex<()> = Mutex::new(());
static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

/// Reads every live registered thread's current stack (see the module docs for how, and
/// what it costs), waiting at most `timeout` for the threads to answer. The handler must be
/// installed (`crate::snapshot_threads` sees to it).
pub(crate) fn collect(timeout: Duration) -> Result<Vec<ThreadSnapshot>, SamplerError> {
    let _one_at_a_time = DUMPING.lock().unwrap_or_else(|p| p.into_inner());
    let threads: Vec<Arc<ThreadEntry>> = registered_threads()
        .into_iter()
        .filter(|e| e.is_alive())
        .collect();
    let mut asked = Vec::with_capacity(threads.len());
    for entry in &threads {
        let slot = entry.snapshot.get_or_init(SnapshotSlot::new);
        let request = NEXT_REQUEST.fetch_add(1, Ordering::Relaxed);
        slot.requested.store(request, Ordering::Release);
        asked.push(send_request(entry).then_some(request));
    }
    let deadline = Instant::now() + timeout;
    let answered = |i: usize| match asked[i] {
        Some(request) => {
            let slot = threads[i].snapshot.get().expect("created above");
            slot.answered.load(Ordering::Acquire) == request
        }
        None => false,
    };
    while Instant::now() < deadline
        && !(0..threads.len()).all(|i| asked[i].is_none() || answered(i))
    {
        std::thread::sleep(Duration::from_micros(200));
    }
    Ok(threads
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let slot = entry.snapshot.get().expect("created above");
            let cpu_ns = entry.cpu_time_ns();
            if !answered(i) {
                return ThreadSnapshot {
                    entry: entry.clone(),
                    frames: None,
                    truncated: false,
                    state: entry.state(),
                    labels: crate::labels::NO_LABELS,
                    cpu_ns,
                    pause_ns: 0,
                    call: RawCall::NONE,
                };
            }
            let depth = slot.depth.load(Ordering::Relaxed);
            // SAFETY: the thread answered this request (acquire above), and no handler
            // writes the slot again until the next request, which needs DUMPING.
            let frames = unsafe { (&(*slot.frames.get()))[..depth].to_vec() };
            ThreadSnapshot {
                entry: entry.clone(),
                frames: Some(frames),
                truncated: slot.truncated.load(Ordering::Relaxed),
                state: ThreadState::from_bits(u64::from(slot.state.load(Ordering::Relaxed))),
                labels: slot.labels.load(Ordering::Relaxed),
                cpu_ns,
                pause_ns: slot.pause_ns.load(Ordering::Relaxed),
                call: RawCall {
                    receiver: slot.call[0].load(Ordering::Relaxed),
                    callee: slot.call[1].load(Ordering::Relaxed),
                },
            }
        })
        .collect())
}

/// Sends `entry`'s thread a snapshot request; false when it cannot be sent (the thread
/// has gone).
fn send_request(entry: &ThreadEntry) -> bool {
    // SAFETY: all-zero is a valid siginfo_t; the fields are then written at the kernel's
    // offsets for SI_QUEUE (see `is_request`), within the 128-byte struct.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    info.si_signo = libc::SIGPROF;
    info.si_code = libc::SI_QUEUE;
    let base = &mut info as *mut libc::siginfo_t as *mut u8;
    // SAFETY: as above; getpid and getuid have no preconditions.
    unsafe {
        *base.add(16).cast::<i32>() = libc::getpid();
        *base.add(20).cast::<u32>() = libc::getuid();
        *base.add(24).cast::<usize>() = REQUEST_MARK;
    }
    // SAFETY: rt_tgsigqueueinfo reads `info`, which lives for the call. The thread is
    // addressed by this process's id and its kernel id, so a thread that has gone is an
    // ESRCH, never another process's thread.
    let result = unsafe {
        libc::syscall(
            libc::SYS_rt_tgsigqueueinfo,
            libc::getpid(),
            entry.tid(),
            libc::SIGPROF,
            &info as *const libc::siginfo_t,
        )
    };
    result == 0
}
