//! A stop signal a background thread can sleep on until a deadline: a mutex and a condition
//! variable (futex-based, no spinning, which matters for threads that wake hundreds of times
//! a second).

use std::sync::{Condvar, Mutex};
use std::time::Instant;

/// Set once, waited on by one background thread.
#[derive(Default)]
pub(crate) struct Stopper {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl Stopper {
    /// Asks the waiting thread to stop (it returns from [`Stopper::sleep_until`] at once).
    pub fn stop(&self) {
        *self.stopped.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.wake.notify_all();
    }

    /// Sleeps until `deadline`; true if asked to stop.
    pub fn sleep_until(&self, deadline: Instant) -> bool {
        let mut stopped = self.stopped.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if *stopped {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            stopped = self
                .wake
                .wait_timeout(stopped, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}
