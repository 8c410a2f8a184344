//! Who owns SIGPROF.
//!
//! - A program may take SIGPROF for itself (`signal.signal(SIGPROF, ...)`, or native code
//!   calling `sigaction`). Before that happens (the embedding hooks Python's
//!   `signal.signal`), or as soon as the drain thread notices, [`release_sigprof`] stops
//!   every timer, so that none of our signals reaches the program's handler; sampling ends
//!   for the process, and the handler is never installed again.
//! - SIGPROF the program sends itself some other way (`setitimer(ITIMER_PROF)`, `kill`) is
//!   not ours: the handler only samples on signals from our timers (`SI_TIMER`) and our
//!   ticker (`SI_TKILL`), and ignores, and counts, the rest.
//! - After `fork()`, see [`crate::lifecycle`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::flags::SESSION;
use crate::registry;

static RELEASED: AtomicBool = AtomicBool::new(false);

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
