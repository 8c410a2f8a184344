//! Who owns SIGPROF, and which process this is.
//!
//! - A program may take SIGPROF for itself (`signal.signal(SIGPROF, ...)`, or native code
//!   calling `sigaction`). Before that happens (the embedding hooks Python's
//!   `signal.signal`), or as soon as the drain thread notices, [`release_sigprof`] stops
//!   every timer, so that none of our signals reaches the program's handler; sampling ends
//!   for the process, and the handler is never installed again.
//! - SIGPROF the program sends itself some other way (`setitimer(ITIMER_PROF)`, `kill`) is
//!   not ours: the handler only samples on signals from our timers (`SI_TIMER`) and our
//!   ticker (`SI_TKILL`), and ignores, and counts, the rest.
//! - After `fork()`, the child has none of the sampler's threads and none of its timers
//!   (POSIX timers are not inherited): [`in_forked_child`] says so, and sampling stays off
//!   there. Only the parent is profiled.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;
use std::time::Duration;

use crate::handler::SESSION;
use crate::registry;

static RELEASED: AtomicBool = AtomicBool::new(false);
static FORKED_CHILD: AtomicBool = AtomicBool::new(false);

/// True once SIGPROF was given up to the program.
pub fn sigprof_released() -> bool {
    RELEASED.load(Ordering::Acquire)
}

/// Gives SIGPROF up to the program: stops every timer and sampling, and waits a moment for
/// signals already in flight to land in our handler (which ignores them) rather than in
/// the program's. Returns false if it had already been given up.
pub fn release_sigprof() -> bool {
    if RELEASED.swap(true, Ordering::AcqRel) {
        return false;
    }
    registry::disarm_all();
    SESSION.sampling.store(false, Ordering::Release);
    std::thread::sleep(Duration::from_millis(10));
    true
}

/// True in a child process made by `fork()` after the sampler started.
pub fn in_forked_child() -> bool {
    FORKED_CHILD.load(Ordering::Acquire)
}

extern "C" fn after_fork_in_child() {
    // Only atomic stores: the child has one thread, and any lock may be held forever.
    FORKED_CHILD.store(true, Ordering::Release);
    SESSION.sampling.store(false, Ordering::Release);
}

/// Remembers this process and watches for forks (once per process).
pub(crate) fn watch_forks() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: registers a plain extern "C" function that only stores atomics.
        unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
    });
}
