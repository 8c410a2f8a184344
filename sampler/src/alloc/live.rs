//! The table of sampled blocks still allocated: which sampled allocations are live, so a
//! profile can say what is in use. The allocator hook inserts a block when it samples it and
//! removes it when the block is freed (from any thread); the aggregator reads the ids of
//! what is in it ([`for_each_live`]).
//!
//! Lock-free and bounded: [`SLOTS`] slots in buckets of eight, one 64-byte cache line of
//! keys per bucket, chosen by a hash of the address. A block goes into a free slot of its
//! bucket or, when the bucket is full, is not tracked (counted: it then never shows as
//! live). Every free looks its address up while allocation sampling runs, and nearly all
//! of them are of blocks that were not sampled: so each bucket also has a count of its
//! entries, in an 8 KiB array that stays in the first-level cache, and a free whose bucket
//! counts zero stops there, without touching the 512 KiB of keys (measured: looking in the
//! keys on every free cost an allocation-heavy program 8%). The count goes up before a key
//! is published and down after it is withdrawn, so a bucket holding a key never counts
//! zero.
//!
//! A slot's key is `EMPTY`, `BUSY` (being filled or emptied) or a block's address; its id
//! is 0 or the sample's id. Only `compare_exchange` from `EMPTY` or from the block's address
//! claims a slot, so two threads never write one slot's id at once. An address is in the
//! table at most once: the hook inserts a block after the allocator returned it and removes
//! it before the allocator gets it back, so the allocator cannot hand the same address to
//! another thread while it is in the table.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

/// Slots in the table: at most this many sampled blocks are tracked as live at once.
pub const SLOTS: usize = 1 << 16;
const BUCKET_SLOTS: usize = 8;
const BUCKETS: usize = SLOTS / BUCKET_SLOTS;
const BUCKET_BITS: u32 = BUCKETS.trailing_zeros();

const EMPTY: u64 = 0;
const BUSY: u64 = 1;

/// Eight keys in one cache line.
#[repr(align(64))]
struct Bucket([AtomicU64; BUCKET_SLOTS]);

/// Entries per bucket (at most [`BUCKET_SLOTS`]).
static COUNTS: [AtomicU8; BUCKETS] = [const { AtomicU8::new(0) }; BUCKETS];
static KEYS: [Bucket; BUCKETS] =
    [const { Bucket([const { AtomicU64::new(EMPTY) }; BUCKET_SLOTS]) }; BUCKETS];
static IDS: [Bucket; BUCKETS] =
    [const { Bucket([const { AtomicU64::new(0) }; BUCKET_SLOTS]) }; BUCKETS];

#[inline]
fn bucket_of(address: usize) -> usize {
    // Blocks are at least 8-aligned: drop the low bits, then a Fibonacci hash.
    ((address as u64 >> 3).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - BUCKET_BITS)) as usize
}

/// Puts a sampled block in the table under `id` (nonzero); false when its bucket is full.
#[inline]
pub(crate) fn insert(address: usize, id: u64) -> bool {
    let bucket = bucket_of(address);
    for (slot, key) in KEYS[bucket].0.iter().enumerate() {
        if key.load(Ordering::Relaxed) == EMPTY
            && key
                .compare_exchange(EMPTY, BUSY, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            COUNTS[bucket].fetch_add(1, Ordering::AcqRel);
            IDS[bucket].0[slot].store(id, Ordering::Release);
            key.store(address as u64, Ordering::Release);
            return true;
        }
    }
    false
}

/// Takes a block out of the table if it is there (the block is being freed).
#[inline]
pub(crate) fn remove(address: usize) {
    let bucket = bucket_of(address);
    if COUNTS[bucket].load(Ordering::Acquire) == 0 {
        return;
    }
    for (slot, key) in KEYS[bucket].0.iter().enumerate() {
        if key.load(Ordering::Relaxed) == address as u64 {
            if key
                .compare_exchange(address as u64, BUSY, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                IDS[bucket].0[slot].store(0, Ordering::Release);
                key.store(EMPTY, Ordering::Release);
                COUNTS[bucket].fetch_sub(1, Ordering::AcqRel);
            }
            return;
        }
    }
}

/// Empties the table (a new session starts). A hook of the previous session still running
/// may leave a stale entry behind; its id is unknown to the new session, which ignores it.
pub(crate) fn clear() {
    for ((keys, ids), count) in KEYS.iter().zip(&IDS).zip(&COUNTS) {
        for (key, id) in keys.0.iter().zip(&ids.0) {
            id.store(0, Ordering::Relaxed);
            key.store(EMPTY, Ordering::Release);
        }
        count.store(0, Ordering::Release);
    }
}

/// Calls `visit` with the id of every block in the table. Reads only; runs beside inserts
/// and removals and sees each entry as it was at some moment of the scan.
pub fn for_each_live(mut visit: impl FnMut(u64)) {
    for ids in &IDS {
        for id in &ids.0 {
            let id = id.load(Ordering::Acquire);
            if id != 0 {
                visit(id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live() -> Vec<u64> {
        let mut ids = Vec::new();
        for_each_live(|id| ids.push(id));
        ids.sort_unstable();
        ids
    }

    #[test]
    fn insert_remove_and_a_full_bucket() {
        clear();
        // Addresses that share a bucket: the hash's top bits depend on address >> 3 only
        // through the multiplication, so search for nine of them.
        let base = 0x10_0000usize;
        let target = bucket_of(base);
        let same: Vec<usize> = (0..)
            .map(|k| base + 16 * k)
            .filter(|&a| bucket_of(a) == target)
            .take(BUCKET_SLOTS + 1)
            .collect();
        for (k, &address) in same.iter().enumerate().take(BUCKET_SLOTS) {
            assert!(insert(address, 100 + k as u64));
        }
        assert!(!insert(same[BUCKET_SLOTS], 999), "the bucket is full");
        remove(same[3]);
        remove(0xdead_0000); // not there: nothing happens
        assert_eq!(live().len(), BUCKET_SLOTS - 1);
        assert!(!live().contains(&103));
        assert!(insert(same[BUCKET_SLOTS], 999), "a freed slot is reused");
        assert!(live().contains(&999));
        clear();
        assert!(live().is_empty());
    }
}
