//! The sampler's process lifecycle, in one place: installing the SIGPROF handler (which
//! also starts watching for forks), noticing when the program replaces it, and what a
//! child made by `fork()` resets. Whatever the session, a snapshot or the drain thread needs
//! of the handler's installation, it asks here.
//!
//! ## The handler
//!
//! Installing the SIGPROF handler, and noticing when the program replaces it.
//!
//! The handler is installed once and never removed: a timer signal still in flight when a
//! session stops would otherwise meet SIGPROF's default action and kill the process
//! ("Profiling timer expired"). Between sessions the handler returns at once.
//!
//! ## Forks
//!
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

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use crate::flags::SESSION;
use crate::handler::on_sigprof;
use crate::registry;

/// Installs the SIGPROF handler (`SA_SIGINFO | SA_RESTART`). Install it after the
/// interpreter is built: building it re-installs handlers for every signal.
pub fn install_handler() -> io::Result<()> {
    watch_forks();
    if crate::ownership::sigprof_released() {
        return Err(io::Error::other(
            "the program has taken SIGPROF for itself; sampling is off for this process",
        ));
    }
    if handler_is_installed() {
        return Ok(());
    }
    // SAFETY: sigaction is a plain C struct for which all-zero is valid; we then fill it in.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_sigprof as *const () as usize;
    action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
    // SAFETY: `action.sa_mask` is valid for writing; sigaction copies `action`.
    let result = unsafe {
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGPROF, &action, std::ptr::null_mut())
    };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// True while SIGPROF still runs our handler, installed as we install it (false once the
/// program installed its own, or reset it). The flags matter: building another interpreter
/// re-installs every handler with plain `signal()`, which drops `SA_SIGINFO`, and our
/// handler then gets no siginfo.
pub fn handler_is_installed() -> bool {
    // SAFETY: all-zero is a valid sigaction, to be overwritten.
    let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action makes sigaction only read the current one into `current`.
    let ok = unsafe { libc::sigaction(libc::SIGPROF, std::ptr::null(), &mut current) } == 0;
    ok && current.sa_sigaction == on_sigprof as *const () as usize
        && current.sa_flags & libc::SA_SIGINFO != 0
}

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
    // No session runs here: the parent's does, in the parent.
    SESSION.running.store(false, Ordering::Release);
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
