//! The one place a recording (or the agent) is finished, whichever way the program ends
//! first: at its normal end, on SIGTERM, or inside `os._exit()`. The finishing work is
//! registered once; the first caller runs it while the others wait, then find it done.
//!
//! The work belongs to the process that registered it. A child made by `os.fork()` inherits
//! it but none of the threads it would stop and join: there it never runs, and a forked
//! child that profiles itself ([`crate::children`]) first forgets it
//! ([`forget_inherited`]), then registers its own.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, TryLockError};

type Finish = Box<dyn FnOnce() -> anyhow::Result<()> + Send>;

static FINISH: Mutex<Option<Finish>> = Mutex::new(None);

/// The process whose work [`FINISH`] holds (0: none). Read without the lock, which a
/// thread that did not survive a fork may hold forever.
static OWNER: AtomicU32 = AtomicU32::new(0);

/// Registers what finishing means for this run.
pub fn on_end(finish: impl FnOnce() -> anyhow::Result<()> + Send + 'static) {
    *FINISH.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(finish));
    OWNER.store(std::process::id(), Ordering::Release);
}

/// Finishes now, if nobody has: `Some(result)` when this call did the work.
pub fn end_now() -> Option<anyhow::Result<()>> {
    if OWNER.load(Ordering::Acquire) != std::process::id() {
        return None;
    }
    // Held while finishing: a second caller waits until the first is done.
    let mut slot = FINISH.lock().unwrap_or_else(|p| p.into_inner());
    slot.take().map(|finish| finish())
}

/// Finishes now and reports a failure on stderr (for endings that cannot return an error:
/// SIGTERM, `os._exit`).
pub fn end_now_reporting() {
    if let Some(Err(err)) = end_now() {
        eprintln!("rpprof: {err:#}");
    }
}

/// In a child made by `os.fork()`: forgets the parent's finishing work without running or
/// dropping it (dropping it would stop and join threads that are not here). False when the
/// parent was finishing as it forked (its lock is held by a thread that is gone): then
/// nothing can be registered here.
pub fn forget_inherited() -> bool {
    let mut slot = match FINISH.try_lock() {
        Ok(slot) => slot,
        Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(TryLockError::WouldBlock) => return false,
    };
    std::mem::forget(slot.take());
    OWNER.store(0, Ordering::Release);
    true
}
