//! Ring buffers handed from threads that ended to threads that start.
//!
//! Every sampled thread gets a sample ring (about 128 KiB at 99 Hz), a repeat ring and, under
//! allocation sampling, an allocation ring (256 KiB). A thread-per-request server starts
//! hundreds of threads a second; allocating and freeing those buffers for each one churned
//! gigabytes through malloc, whose arenas kept much of it as resident memory. Instead, the
//! registry gives a thread's buffers back to this pool once the thread has ended and its
//! records were drained, and the next thread takes them.
//!
//! A ring's pages go back to the kernel as it enters the pool (the next owner faults in
//! only what it writes), so the pool holds address space, not resident memory. The pool is
//! bounded ([`MAX_POOLED_BYTES`]): past that, buffers are freed. It is only
//! used from ordinary threads, never from the signal handler or the allocator hook, and
//! only with `try_lock`: a lock held across a `fork()` (or a rare contention) means a
//! fresh allocation or a plain free, never a wait.

use std::sync::Mutex;

use crate::ring::WordRing;

/// The most memory the pool keeps: enough for a few dozen threads' buffers, so that a
/// server's usual concurrency starts no new allocation.
pub const MAX_POOLED_BYTES: usize = 32 << 20;

struct Pool {
    rings: Vec<WordRing>,
    bytes: usize,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    rings: Vec::new(),
    bytes: 0,
});

/// A ring of at least `min_words` words: one from the pool when one of that size waits,
/// otherwise a new one.
pub(crate) fn take(min_words: usize) -> WordRing {
    let capacity = WordRing::capacity_for(min_words);
    if let Ok(mut pool) = POOL.try_lock() {
        if let Some(at) = pool
            .rings
            .iter()
            .position(|ring| ring.capacity_words() == capacity)
        {
            let ring = pool.rings.swap_remove(at);
            pool.bytes -= ring.capacity_bytes();
            return ring;
        }
    }
    WordRing::new(min_words)
}

/// Gives a ring nobody uses any more back to the pool (emptied), or frees it when the pool
/// is full.
pub(crate) fn give(mut ring: WordRing) {
    ring.clear();
    if let Ok(mut pool) = POOL.try_lock() {
        if pool.bytes + ring.capacity_bytes() <= MAX_POOLED_BYTES {
            // Pooled rings were written through by their threads: without this, the pool
            // kept 32 MiB resident once a backlog of ended threads had filled it (a
            // thread-per-request server under `record --alloc`; BENCHMARKS.md, "Soak").
            ring.release_pages();
            pool.bytes += ring.capacity_bytes();
            pool.rings.push(ring);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes of ring buffers waiting in the pool.
    fn pooled_bytes() -> usize {
        POOL.lock().map_or(0, |pool| pool.bytes)
    }

    #[test]
    fn a_given_ring_is_taken_again_empty() {
        let ring = take(5000);
        let capacity = ring.capacity_words();
        // SAFETY: the test is the only producer.
        let mut reservation = unsafe { ring.reserve(3) }.unwrap();
        reservation.set(0, 7);
        reservation.commit(3);
        assert!(!ring.is_empty());
        give(ring);
        let again = take(5000);
        assert_eq!(again.capacity_words(), capacity);
        assert!(again.is_empty(), "a recycled ring starts empty");
        assert_eq!(again.dropped(), 0);
    }

    #[test]
    fn the_pool_is_bounded() {
        for _ in 0..(MAX_POOLED_BYTES / (1 << 20) + 8) {
            give(WordRing::new(1 << 17));
        }
        assert!(pooled_bytes() <= MAX_POOLED_BYTES);
    }
}
