//! Sampled allocations, added up: per thread and stack, the estimated objects and bytes
//! allocated (since the last slice), and the sampled blocks still live (across slices),
//! whose stacks make the in-use values.
//!
//! Weights: with samples taken on average every `interval` bytes (a Poisson process over
//! the bytes allocated), an allocation of `s` bytes is sampled with probability
//! `p = 1 - exp(-s / interval)`, so each sample stands for `1 / p` allocations and `s / p`
//! bytes: totals are unbiased estimates (what Go's pprof does when it scales heap samples).

use flamegraph::hash::{FastMap, FastSet};
use flamegraph::Values;
use sampler::alloc::AllocHeader;

use crate::stacks::StackId;
use crate::values::{
    ALLOC_OBJECTS_VALUE, ALLOC_SPACE_VALUE, INUSE_OBJECTS_VALUE, INUSE_SPACE_VALUE,
};

/// A sampled block still allocated.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LiveBlock {
    pub thread: usize,
    pub stack: StackId,
    pub objects: f64,
    pub bytes: f64,
}

/// The aggregator's allocation totals.
#[derive(Default)]
pub(crate) struct AllocTotals {
    /// Mean bytes between samples (0: allocations are not sampled).
    pub interval: u64,
    /// Per thread (by the aggregator's thread index): stack -> [objects, bytes] allocated.
    allocated: Vec<FastMap<StackId, [f64; 2]>>,
    /// Sampled blocks not known to be freed, by sample id.
    pub live: FastMap<u64, LiveBlock>,
}

/// The objects and bytes one sample of `size` bytes stands for.
pub fn sample_weights(size: u64, interval: u64) -> (f64, f64) {
    let size = size.max(1) as f64;
    let probability = -(-size / interval.max(1) as f64).exp_m1();
    (1.0 / probability, size / probability)
}

impl AllocTotals {
    /// Adds one sample of thread `thread` with stack `stack`.
    pub fn add(&mut self, thread: usize, stack: StackId, header: &AllocHeader) {
        let (objects, bytes) = sample_weights(header.size, self.interval);
        if self.allocated.len() <= thread {
            self.allocated.resize_with(thread + 1, FastMap::default);
        }
        let totals = self.allocated[thread].entry(stack).or_default();
        totals[0] += objects;
        totals[1] += bytes;
        if header.tracked {
            self.live.insert(
                header.id,
                LiveBlock {
                    thread,
                    stack,
                    objects,
                    bytes,
                },
            );
        }
    }

    /// Forgets the blocks the live table no longer holds (they were freed). Blocks sampled
    /// but not yet received are in the table and not here: they count from the next call.
    pub fn sweep_freed(&mut self) {
        if self.live.is_empty() {
            return;
        }
        let mut in_table = FastSet::default();
        sampler::alloc::for_each_live(|id| {
            in_table.insert(id);
        });
        self.live.retain(|id, _| in_table.contains(id));
    }

    /// Per thread index: stack -> values of the allocation kinds (allocated since the last
    /// [`AllocTotals::clear_allocated`], live now).
    pub fn values(&self, threads: usize) -> Vec<FastMap<StackId, Values>> {
        let mut out: Vec<FastMap<StackId, Values>> = vec![FastMap::default(); threads];
        for (thread, stacks) in self.allocated.iter().enumerate().take(threads) {
            for (&stack, &[objects, bytes]) in stacks {
                let values = out[thread].entry(stack).or_default();
                values.add_at(ALLOC_OBJECTS_VALUE, objects.round() as u64);
                values.add_at(ALLOC_SPACE_VALUE, bytes.round() as u64);
            }
        }
        let mut live: FastMap<(usize, StackId), [f64; 2]> = FastMap::default();
        for block in self.live.values() {
            let totals = live.entry((block.thread, block.stack)).or_default();
            totals[0] += block.objects;
            totals[1] += block.bytes;
        }
        for ((thread, stack), [objects, bytes]) in live {
            if let Some(stacks) = out.get_mut(thread) {
                let values = stacks.entry(stack).or_default();
                values.add_at(INUSE_OBJECTS_VALUE, objects.round() as u64);
                values.add_at(INUSE_SPACE_VALUE, bytes.round() as u64);
            }
        }
        out
    }

    /// After the aggregator renumbered its threads: thread `i` is now `new_index[i]`
    /// (`None`: forgotten; it has no live block), of `threads` in all.
    pub fn renumber_threads(&mut self, new_index: &[Option<usize>], threads: usize) {
        let old = std::mem::take(&mut self.allocated);
        self.allocated
            .resize_with(threads.min(old.len().max(threads)), FastMap::default);
        for (thread, stacks) in old.into_iter().enumerate() {
            let Some(Some(to)) = new_index.get(thread) else {
                continue;
            };
            if self.allocated.len() <= *to {
                self.allocated.resize_with(to + 1, FastMap::default);
            }
            for (stack, [objects, bytes]) in stacks {
                let totals = self.allocated[*to].entry(stack).or_default();
                totals[0] += objects;
                totals[1] += bytes;
            }
        }
        self.live
            .retain(|_, block| match new_index.get(block.thread) {
                Some(Some(to)) => {
                    block.thread = *to;
                    true
                }
                _ => false,
            });
    }

    /// A new slice: allocated totals start from zero (live blocks stay).
    pub fn clear_allocated(&mut self) {
        for stacks in &mut self.allocated {
            stacks.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_unbiased_for_small_and_large_blocks() {
        // Much larger than the interval: sampled for sure, counted once at its size.
        let (objects, bytes) = sample_weights(64 << 20, 512 << 10);
        assert!((objects - 1.0).abs() < 1e-9 && (bytes - (64 << 20) as f64).abs() < 1.0);
        // Much smaller: one sample stands for about interval / size blocks, interval bytes.
        let (objects, bytes) = sample_weights(64, 512 << 10);
        assert!((objects - 8192.5).abs() < 1.0, "{objects}");
        assert!((bytes - (512 << 10) as f64).abs() < 64.0, "{bytes}");
    }
}
