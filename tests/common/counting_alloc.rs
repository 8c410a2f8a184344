//! A global allocator for the "allocates nothing" proofs: the system's, counting every call
//! made while a condition holds (inside the SIGPROF handler, inside the allocation hook).
//! Included by the test files that install it (`#[path]`), not by `common`: a global
//! allocator is one per test binary.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

/// The system allocator, counting into `calls` each call made while `when()` is true.
pub struct CountingAllocator {
    when: fn() -> bool,
    calls: &'static AtomicU64,
}

impl CountingAllocator {
    /// Counts into `calls` while `when()` holds. `when` must not allocate.
    pub const fn new(when: fn() -> bool, calls: &'static AtomicU64) -> CountingAllocator {
        CountingAllocator { when, calls }
    }

    fn note(&self) {
        if (self.when)() {
            self.calls.fetch_add(1, Ordering::Relaxed);
        }
    }
}

// SAFETY: every method forwards to the system allocator unchanged; the check calls `when`
// (which must not allocate: a const thread-local read) and bumps an atomic.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
