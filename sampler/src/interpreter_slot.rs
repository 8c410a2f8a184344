//! A registered thread's hold on RustPython's slot for it (`ThreadSlot`), given up the
//! moment the thread ends.
//!
//! The slot's `state` says whether the thread runs bytecode and its `top_iframe` where its
//! stack is; the handler, the ticker, stack dumps and `top` read both. Holding the slot for
//! as long as the registry lists a thread (a session keeps an ended thread listed until its
//! last samples are drained) looks harmless but is not: the slot owns the thread's QSBR
//! registration, and RustPython 0.6.0 frees the memory of objects published to its
//! lock-free caches only once every registered thread has passed a checkpoint. A thread
//! that ended while running bytecode never passes one again, so while anything keeps its
//! slot alive nothing retired is freed, the retire queue grows, and its pending bit trips
//! every thread's eval breaker on every instruction (measured on a thread-per-request
//! server under `record`: `eval_breaker_work` 5% of CPU under `run`, 8% under `record`).
//! So the thread's exit guard [`release`](InterpreterSlot::release)s the slot, and readers
//! get `None` from then on.
//!
//! Readers on other threads (the ticker, dumps, `top`) may be reading while the thread
//! ends, so a reader announces itself in `readers` before loading the pointer, and the
//! release waits for announced readers to finish before dropping the slot: each read is two
//! atomic loads, so the wait is a few nanoseconds. Reading allocates nothing and takes no
//! lock: the handler reads it too.

use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use std::sync::Arc;

use rustpython_vm::vm::thread::ThreadSlot;

/// One thread's `ThreadSlot` (any `T` in unit tests), held until
/// [`InterpreterSlot::release`].
pub(crate) struct InterpreterSlot<T = ThreadSlot> {
    /// From `Arc::into_raw`; null once released (or when the thread had none).
    slot: AtomicPtr<T>,
    /// Readers between announcing themselves and finishing their read.
    readers: AtomicU32,
}

impl<T> InterpreterSlot<T> {
    pub(crate) fn new(slot: Option<Arc<T>>) -> InterpreterSlot<T> {
        let raw = slot.map_or(std::ptr::null_mut(), |s| Arc::into_raw(s).cast_mut());
        InterpreterSlot {
            slot: AtomicPtr::new(raw),
            readers: AtomicU32::new(0),
        }
    }

    /// `read(slot)` while the slot is held; `None` once released. Async-signal-safe.
    #[inline]
    pub(crate) fn read<R>(&self, read: impl FnOnce(&T) -> R) -> Option<R> {
        self.readers.fetch_add(1, Ordering::SeqCst);
        let slot = self.slot.load(Ordering::SeqCst);
        // SAFETY: a non-null pointer came from `Arc::into_raw` and its Arc is dropped only
        // by `release`, after it swapped the pointer to null and saw `readers` at zero: a
        // reader that loaded it non-null announced itself first (both SeqCst), so the
        // release waits for it.
        let value = (!slot.is_null()).then(|| read(unsafe { &*slot }));
        self.readers.fetch_sub(1, Ordering::SeqCst);
        value
    }

    /// Gives the slot up, once no reader is using it. Call once the thread has ended (or
    /// from the entry's drop); later calls do nothing.
    pub(crate) fn release(&self) {
        let slot = self.slot.swap(std::ptr::null_mut(), Ordering::SeqCst);
        if slot.is_null() {
            return;
        }
        // A reader preempted mid-read could keep us waiting for a time slice: yield.
        while self.readers.load(Ordering::SeqCst) != 0 {
            std::thread::yield_now();
        }
        // SAFETY: from `Arc::into_raw` in `new`, taken once (the swap above), and no reader
        // holds it (see `read`).
        drop(unsafe { Arc::from_raw(slot) });
    }
}

impl<T> Drop for InterpreterSlot<T> {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    #[test]
    fn release_gives_the_slot_up_and_reads_then_find_none() {
        let slot = Arc::new(7u32);
        let held = InterpreterSlot::new(Some(slot.clone()));
        assert_eq!(held.read(|v| *v), Some(7));
        assert_eq!(Arc::strong_count(&slot), 2);
        held.release();
        assert_eq!(Arc::strong_count(&slot), 1, "the slot outlived its release");
        assert_eq!(held.read(|v| *v), None);
        held.release(); // a second release does nothing
        assert_eq!(InterpreterSlot::<u32>::new(None).read(|v| *v), None);
    }

    #[test]
    fn release_waits_for_readers_on_other_threads() {
        // Readers hammer the slot while it is released: a read either sees the value whole
        // or sees none (under Miri or a sanitizer a use after free would show here).
        for _ in 0..50 {
            let slot = Arc::new(vec![1u64; 64]);
            let weak = Arc::downgrade(&slot);
            let held = Arc::new(InterpreterSlot::new(Some(slot)));
            let stop = Arc::new(AtomicBool::new(false));
            let readers: Vec<_> = (0..3)
                .map(|_| {
                    let (held, stop) = (held.clone(), stop.clone());
                    std::thread::spawn(move || {
                        let mut seen = 0u64;
                        while !stop.load(Ordering::Relaxed) {
                            if let Some(sum) = held.read(|v| v.iter().sum::<u64>()) {
                                assert_eq!(sum, 64);
                                seen += 1;
                            }
                        }
                        seen
                    })
                })
                .collect();
            std::thread::yield_now();
            held.release();
            assert!(weak.upgrade().is_none());
            stop.store(true, Ordering::Relaxed);
            for reader in readers {
                reader.join().unwrap();
            }
        }
    }
}
