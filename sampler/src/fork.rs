//! Which process this is, across `fork()`.
//!
//! A child made by `fork()` has one thread (the one that forked), none of the sampler's
//! threads and none of its timers (POSIX timers are not inherited): [`in_forked_child`]
//! says so, sampling stops there, and the registry is left alone until
//! [`reset_after_fork`] makes the child a process that can start a session of its own
//! (`--subprocesses` profiles forked children that way).
//!
//! So that the child finds the registry's lock free, the forking thread takes it before the
//! fork (`pthread_atfork`'s prepare handler) and releases it on both sides after; no thread
//! that holds the lock waits for anything, so taking it only waits for the holder to finish
//! its few instructions.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use crate::flags::SESSION;
use crate::registry;

static FORKED_CHILD: AtomicBool = AtomicBool::new(false);

/// True in a child process made by `fork()` after the sampler started (it stays true after
/// [`reset_after_fork`]: what the parent left in this process still belongs to the parent).
pub fn in_forked_child() -> bool {
    FORKED_CHILD.load(Ordering::Acquire)
}

/// In a forked child, before it starts a session of its own: forgets the parent's threads
/// (without touching their timers, whose ids mean nothing here or, worse, another timer
/// this process creates later), unregisters the calling thread (the one that forked, whose
/// TID, CPU clock and interpreter slot changed with the fork) and marks no session
/// running. Returns the calling thread's name, to register it again under. Does nothing
/// (`None`) in a process that was not forked from a sampling one.
pub fn reset_after_fork() -> Option<String> {
    if !in_forked_child() {
        return None;
    }
    let name = registry::reset_in_forked_child();
    crate::session::reset_in_forked_child();
    crate::alloc::reset_in_forked_child();
    Some(name.unwrap_or_else(|| "MainThread".to_owned()))
}

extern "C" fn before_fork() {
    registry::hold_for_fork();
}

extern "C" fn after_fork_in_parent() {
    registry::release_after_fork(false);
}

extern "C" fn after_fork_in_child() {
    // Atomic stores and the release of the lock this thread took before the fork.
    FORKED_CHILD.store(true, Ordering::Release);
    SESSION.sampling.store(false, Ordering::Release);
    crate::alloc::stop_in_forked_child();
    registry::release_after_fork(true);
}

/// Remembers this process and watches for forks (once per process).
pub(crate) fn watch_forks() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: registers plain extern "C" functions; the prepare handler takes the
        // registry lock, and the others release it on the thread that took it.
        unsafe {
            libc::pthread_atfork(
                Some(before_fork),
                Some(after_fork_in_parent),
                Some(after_fork_in_child),
            )
        };
    });
}
