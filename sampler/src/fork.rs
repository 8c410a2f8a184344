//! Which process this is: after `fork()`, the child has none of the sampler's threads and
//! none of its timers (POSIX timers are not inherited): [`in_forked_child`] says so, and
//! sampling stays off there. Only the parent is profiled.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use crate::flags::SESSION;

static FORKED_CHILD: AtomicBool = AtomicBool::new(false);

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
