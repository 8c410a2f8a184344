//! The one place a recording (or the agent) is finished, whichever way the program ends
//! first: at its normal end, on SIGTERM, or inside `os._exit()`. The finishing work is
//! registered once; the first caller runs it while the others wait, then find it done. In
//! a child made by `os.fork()` it never runs: the child has none of the sampler's threads,
//! and its parent writes the profile.

use std::sync::Mutex;

type Finish = Box<dyn FnOnce() -> anyhow::Result<()> + Send>;

static FINISH: Mutex<Option<Finish>> = Mutex::new(None);

/// Registers what finishing means for this run.
pub fn on_end(finish: impl FnOnce() -> anyhow::Result<()> + Send + 'static) {
    *FINISH.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(finish));
}

/// Finishes now, if nobody has: `Some(result)` when this call did the work.
pub fn end_now() -> Option<anyhow::Result<()>> {
    if sampler::in_forked_child() {
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
