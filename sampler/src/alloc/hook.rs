//! The allocator hook: [`SamplingAllocator`] wraps the allocator that does the work (the
//! system allocator, or any other `GlobalAlloc`) and, on average once every N bytes
//! allocated, records the allocating thread's Python stack.
//!
//! # Cost
//! Every allocation, sampling on or off, decrements a thread-local byte counter
//! (`UNTIL_SAMPLE`); only when it goes below zero does the hook do more (the slow path). With
//! sampling off the slow path only re-arms the counter, once per [`OFF_RECHECK_BYTES`], so a
//! session that starts later is noticed within that many bytes of each thread's
//! allocations. Frees cost one load of a global flag with sampling off; with it on, one
//! look-up in the live table (one cache line).
//!
//! # Safety of the hook
//! The hook runs inside every allocation and free of every thread: RustPython's start-up,
//! the sampler's own threads, threads that are not Python's, and inside the allocations of
//! code that holds any lock. So it:
//! - **never allocates**: it writes into a ring the thread already has (made when a session
//!   armed it) and into a static table; a sample that finds no room is a counted drop;
//! - **takes no lock**, not even a `try_lock`: only atomics and `const` thread-locals
//!   without destructors (which need no lazy initialisation and never allocate), so no
//!   allocating thread can hold anything the hook waits for;
//! - **is not re-entered**: a thread-local flag is set while the slow path runs; an
//!   allocation made by a signal handler that interrupts it (none of rpprof's does) is not
//!   sampled;
//! - **walks only its own thread's frame chain**, synchronously, between two instructions of
//!   that thread. The chain is changed only by its own thread, and the interpreter links a
//!   frame in only once it is complete and unlinks it before tearing it down, so every frame
//!   reachable from the published top frame is alive at *every* instruction: that is what
//!   makes the SIGPROF handler's walk safe ([`crate::handler`]), and an allocation is just
//!   one of those instructions. Allocations made while a frame is being built or torn down
//!   see the chain without it (attributed to the caller);
//! - **coexists with the SIGPROF handler**: the handler may interrupt the hook at any
//!   instruction; it reads the same frame chain (read-only) and writes only the thread's
//!   sample ring and counters, never the allocation ring, the live table or the hook's
//!   thread-locals, so the hook's half-written record is not disturbed and the ring keeps
//!   one producer;
//! - **leaves `errno` alone**: it calls only `clock_gettime(CLOCK_MONOTONIC)`, which cannot
//!   fail, and `f64::ln` on a number in (0, 1], which sets no error.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::Ordering;

use crate::flags::SESSION;
use crate::registry::CURRENT;
use crate::timer::monotonic_ns;
use crate::walk::walk_current_stack;

use super::live;
use super::record::AllocHeader;
use super::{ALLOC_STATS, EPOCH, HOOK_INSTALLED, INTERVAL, NEXT_ID, TRACKING_FREES};

/// With sampling off, how many bytes a thread allocates between two looks at whether a
/// session has started.
pub const OFF_RECHECK_BYTES: isize = 256 * 1024;

thread_local! {
    /// Bytes this thread may still allocate before its next sample. Starts at 0, so a
    /// thread's first allocation takes the slow path and finds out whether sampling is on.
    static UNTIL_SAMPLE: Cell<isize> = const { Cell::new(0) };
    /// True while this thread runs the slow path.
    static IN_HOOK: Cell<bool> = const { Cell::new(false) };
    /// The session whose intervals `UNTIL_SAMPLE` counts down (0: none).
    static SEEN_EPOCH: Cell<u64> = const { Cell::new(0) };
    /// This thread's random state (xorshift64*), seeded when it joins a session.
    static RANDOM: Cell<u64> = const { Cell::new(0) };
}

/// True while the calling thread runs the hook's slow path (a test wraps an allocator of
/// its own in [`SamplingAllocator`] and checks this on every call to prove the hook never
/// allocates).
pub fn in_hook() -> bool {
    IN_HOOK.with(Cell::get)
}

/// A `GlobalAlloc` that samples allocations of the allocator it wraps. Declare it as the
/// program's global allocator around the allocator that should do the work:
///
/// ```ignore
/// #[global_allocator]
/// static ALLOCATOR: SamplingAllocator<std::alloc::System> = SamplingAllocator::new(std::alloc::System);
/// ```
pub struct SamplingAllocator<A> {
    inner: A,
}

impl<A> SamplingAllocator<A> {
    /// Wraps `inner`.
    pub const fn new(inner: A) -> SamplingAllocator<A> {
        SamplingAllocator { inner }
    }
}

// SAFETY: every block comes from and goes back to `inner` with the caller's layout
// unchanged; the hook only reads the block's address, never its memory, and upholds the
// rules in the module docs (no allocation, no lock, no re-entry).
unsafe impl<A: GlobalAlloc> GlobalAlloc for SamplingAllocator<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if count_down(layout.size()) {
            // SAFETY: forwarded with the caller's guarantees.
            return unsafe { self.inner.alloc(layout) };
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { self.alloc_then_look(layout, false) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if count_down(layout.size()) {
            // SAFETY: forwarded with the caller's guarantees.
            return unsafe { self.inner.alloc_zeroed(layout) };
        }
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { self.alloc_then_look(layout, true) }
    }

    #[inline]
    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // Out of the table before the allocator can hand the address out again.
        before_free(block);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { self.inner.dealloc(block, layout) }
    }

    /// A reallocation counts as freeing the old block and allocating the new one (as
    /// memray counts it). Should it fail, the old block stays allocated but is no longer
    /// tracked as live.
    #[inline]
    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        before_free(block);
        let sample = !count_down(new_size);
        // SAFETY: forwarded with the caller's guarantees.
        let moved = unsafe { self.inner.realloc(block, layout, new_size) };
        if sample && !moved.is_null() {
            slow_path(moved as usize, new_size);
        }
        moved
    }
}

impl<A: GlobalAlloc> SamplingAllocator<A> {
    /// An allocation whose countdown ran out: allocate, then take the slow path. Out of
    /// line, so that the fast path stays a decrement and a jump to the wrapped allocator.
    ///
    /// # Safety
    /// As `GlobalAlloc::alloc`.
    #[cold]
    #[inline(never)]
    unsafe fn alloc_then_look(&self, layout: Layout, zeroed: bool) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let block = unsafe {
            match zeroed {
                true => self.inner.alloc_zeroed(layout),
                false => self.inner.alloc(layout),
            }
        };
        if !block.is_null() {
            slow_path(block as usize, layout.size());
        }
        block
    }
}

/// The fast path: one thread-local decrement and a branch, before the allocation, so that
/// an allocation that is not sampled goes straight on to the wrapped allocator (a tail
/// call, no stack frame of ours). True when this allocation is not sampled.
#[inline(always)]
fn count_down(size: usize) -> bool {
    UNTIL_SAMPLE.with(|until| {
        // Never wraps: the counter is at least 0 before (the slow path sets it so) and a
        // layout's size is at most isize::MAX.
        let left = until.get().wrapping_sub(size as isize);
        until.set(left);
        left >= 0
    })
}

#[inline(always)]
fn before_free(block: *mut u8) {
    if TRACKING_FREES.load(Ordering::Relaxed) {
        live::remove(block as usize);
    }
}

/// Sets `IN_HOOK` until dropped.
struct InHook;

impl InHook {
    fn enter() -> Option<InHook> {
        IN_HOOK.with(|flag| (!flag.replace(true)).then_some(InHook))
    }
}

impl Drop for InHook {
    fn drop(&mut self) {
        IN_HOOK.with(|flag| flag.set(false));
    }
}

#[cold]
#[inline(never)]
fn slow_path(address: usize, size: usize) {
    let Some(_inside) = InHook::enter() else {
        UNTIL_SAMPLE.with(|until| until.set(OFF_RECHECK_BYTES));
        return;
    };
    if !HOOK_INSTALLED.load(Ordering::Relaxed) {
        HOOK_INSTALLED.store(true, Ordering::Relaxed);
    }
    let interval = INTERVAL.load(Ordering::Acquire);
    // 0 also in a child made by fork() until it starts a session of its own.
    if interval == 0 {
        UNTIL_SAMPLE.with(|until| until.set(OFF_RECHECK_BYTES));
        return;
    }
    let epoch = EPOCH.load(Ordering::Acquire);
    if SEEN_EPOCH.with(|seen| seen.replace(epoch)) != epoch {
        // The thread's first look since the session started: the bytes counted down so far
        // were the "off" allowance, not an interval. Draw a real one and start counting.
        RANDOM.with(|random| random.set(seed(address as u64 ^ epoch.rotate_left(40))));
    } else {
        take_sample(address, size);
    }
    let next = next_interval(interval);
    UNTIL_SAMPLE.with(|until| until.set(next));
}

/// Records the allocation of `size` bytes at `address` on the calling thread.
fn take_sample(address: usize, size: usize) {
    let entry = CURRENT.with(Cell::get);
    if entry.is_null() {
        // Not a Python thread (or one exiting): its allocations belong to no Python stack.
        ALLOC_STATS.unregistered.fetch_add(1, Ordering::Relaxed);
        return;
    }
    // SAFETY: CURRENT is non-null only between the thread's registration and its exit guard,
    // which clears it before letting go of the entry; the registry holds the entry (an Arc)
    // at least as long. We are on that thread, so the exit guard is not running.
    let entry = unsafe { &*entry };
    let Some(ring) = entry.alloc_ring.get() else {
        // Registering right now (its ring comes next): not yet one of the sampled threads.
        ALLOC_STATS.unregistered.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let max_depth = SESSION.max_depth.load(Ordering::Relaxed);
    // SAFETY: this thread's hook is the ring's only producer: only this thread's CURRENT
    // points at the entry, the hook is not re-entered (`InHook`), and the signal handler
    // never writes this ring.
    let Some(mut record) = (unsafe { ring.reserve(max_depth) }) else {
        ALLOC_STATS.dropped.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let tracked = live::insert(address, id);
    if !tracked {
        ALLOC_STATS.untracked.fetch_add(1, Ordering::Relaxed);
    }
    // SAFETY: we are on the thread whose stack is read, between two of its instructions
    // (see "Safety of the hook" above).
    let truncated = unsafe { walk_current_stack(|frame| record.push(frame)) }.truncated;
    record.commit(AllocHeader {
        time_ns: monotonic_ns(),
        size: size as u64,
        id,
        tracked,
        truncated,
    });
    ALLOC_STATS.samples.fetch_add(1, Ordering::Relaxed);
}

/// A seed for a thread's random state (splitmix64; never 0).
fn seed(value: u64) -> u64 {
    let mut z = value
        .wrapping_add(monotonic_ns())
        .wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) | 1
}

/// Bytes until the next sample: exponentially distributed with mean `mean`, as Go's
/// `MemProfileRate` and tcmalloc draw them, so that every byte is equally likely to be
/// sampled whatever the sizes around it (a Poisson process over the bytes allocated).
fn next_interval(mean: u64) -> isize {
    let x = RANDOM.with(|random| {
        let mut x = random.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        random.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    });
    // Uniform in (0, 1]: 53 random bits, never 0.
    let uniform = ((x >> 11) + 1) as f64 / (1u64 << 53) as f64;
    let draw = -uniform.ln() * mean as f64;
    draw.min((isize::MAX / 2) as f64) as isize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_average_the_mean() {
        RANDOM.with(|random| random.set(seed(7)));
        let n = 200_000;
        let mean = 512.0 * 1024.0;
        let sum: f64 = (0..n).map(|_| next_interval(mean as u64) as f64).sum();
        let average = sum / n as f64;
        // Standard error of the mean of an exponential: mean / sqrt(n) = 0.22%.
        assert!((average / mean - 1.0).abs() < 0.01, "average {average}");
    }
}
