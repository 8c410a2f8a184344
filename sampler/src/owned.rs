//! [`Owned`]: a value a registered thread's entry holds, made once and taken back by the
//! registry when the thread has ended and been drained, whoever still holds the entry.
//!
//! A thread's ring buffers are the bulk of what the sampler keeps per thread (hundreds of
//! KiB). The entry itself is shared (`Arc`) by batches, the aggregator and the timeline,
//! which only need its name and clocks; tying the buffers to the last of those holders
//! kept them long after the thread ended. So the registry takes them back itself
//! ([`crate::registry`] says when that is safe) and they go to [`crate::ring_pool`].

use std::sync::atomic::{AtomicPtr, Ordering};

/// A value made at most once, readable through `&self`, taken back with [`Owned::take`].
pub(crate) struct Owned<T> {
    ptr: AtomicPtr<T>,
}

impl<T> Owned<T> {
    /// Nothing yet.
    pub(crate) const fn new() -> Owned<T> {
        Owned {
            ptr: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// The value, if made and not taken (async-signal-safe: one atomic load).
    #[inline]
    pub(crate) fn get(&self) -> Option<&T> {
        let ptr = self.ptr.load(Ordering::Acquire);
        // SAFETY: a non-null pointer came from Box::into_raw in `get_or_init` and is freed
        // only by `take`, whose callers guarantee no reference from here is in use.
        (!ptr.is_null()).then(|| unsafe { &*ptr })
    }

    /// The value, made by `make` if there is none. Call it where nothing else makes or
    /// takes the value at the same time (the registry's lock, or a test's own entry).
    pub(crate) fn get_or_init(&self, make: impl FnOnce() -> T) -> &T {
        if self.ptr.load(Ordering::Acquire).is_null() {
            self.ptr
                .store(Box::into_raw(Box::new(make())), Ordering::Release);
        }
        self.get().expect("just made")
    }

    /// Takes the value out.
    ///
    /// # Safety
    /// No reference returned by [`Owned::get`] may be in use, and none may be taken after
    /// this call until the value is made again.
    pub(crate) unsafe fn take(&self) -> Option<Box<T>> {
        let ptr = self.ptr.swap(std::ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: the pointer came from Box::into_raw and is taken once (the swap).
        (!ptr.is_null()).then(|| unsafe { Box::from_raw(ptr) })
    }
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: nothing else can hold a reference from `get`.
        drop(unsafe { self.take() });
    }
}
