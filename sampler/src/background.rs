//! CPU clocks of the sampler's own background threads (drain, ticker), so a session can say
//! what sampling cost. Each thread notes its clock when it starts.

use std::sync::atomic::Ordering;

/// CPU time of the sampler's background threads (drain, ticker) of the running session.
pub fn background_cpu_ns() -> u64 {
    BACKGROUND_CLOCKS
        .iter()
        .filter_map(|clock| {
            let id = clock.load(Ordering::Relaxed);
            (id != NO_CLOCK).then(|| crate::timer::clock_ns(id).unwrap_or(0))
        })
        .sum()
}

const NO_CLOCK: libc::clockid_t = libc::clockid_t::MIN;
/// CPU clocks of the drain and ticker threads, set by each when it starts.
static BACKGROUND_CLOCKS: [std::sync::atomic::AtomicI32; 2] = [
    std::sync::atomic::AtomicI32::new(NO_CLOCK),
    std::sync::atomic::AtomicI32::new(NO_CLOCK),
];

/// Records the calling thread's CPU clock as background thread `slot` (0 drain, 1 ticker).
pub(crate) fn note_background_thread(slot: usize) {
    let mut clock: libc::clockid_t = 0;
    // SAFETY: pthread_self is the live calling thread; `clock` is valid for writing.
    if unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) } == 0 {
        BACKGROUND_CLOCKS[slot].store(clock, Ordering::Relaxed);
    }
}
