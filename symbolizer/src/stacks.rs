//! Stack interning for the aggregator: every distinct resolved stack gets a small number
//! ([`StackTable`]), and a fixed-size cache maps raw stacks straight to those numbers
//! ([`RawStackCache`]), so that a repeated stack costs one hash of its raw frames instead of
//! one map lookup per frame.

use std::hash::{Hash, Hasher};

use flamegraph::hash::FastHasher;
use flamegraph::FrameId;
use hashbrown::HashTable;
use sampler::{RawCall, RawFrame};

/// Index of a stack in a [`StackTable`].
pub type StackId = u32;

/// Distinct resolved stacks (root first), numbered in order of first appearance, up to a
/// bound. Each stack is stored once, in one flat arena of frame ids; the index only holds
/// stack ids (about 130 bytes per stack at depth 30).
pub struct StackTable {
    arena: Vec<FrameId>,
    spans: Vec<(u32, u32)>,
    index: HashTable<StackId>,
    limit: usize,
}

impl StackTable {
    /// An empty table that holds at most `limit` stacks.
    pub fn new(limit: usize) -> StackTable {
        StackTable {
            arena: Vec::new(),
            spans: Vec::new(),
            index: HashTable::new(),
            limit,
        }
    }

    fn hash(stack: &[FrameId]) -> u64 {
        let mut hasher = FastHasher::default();
        stack.hash(&mut hasher);
        hasher.finish()
    }

    /// The id of `stack`, adding it if there is room; `None` when it is new and the table is
    /// full.
    pub fn intern(&mut self, stack: &[FrameId]) -> Option<StackId> {
        let hash = Self::hash(stack);
        let (arena, spans) = (&self.arena, &self.spans);
        if let Some(&id) = self.index.find(hash, |&id| span(arena, spans, id) == stack) {
            return Some(id);
        }
        if self.spans.len() >= self.limit {
            return None;
        }
        let id = self.spans.len() as StackId;
        self.spans
            .push((self.arena.len() as u32, stack.len() as u32));
        self.arena.extend_from_slice(stack);
        let (arena, spans) = (&self.arena, &self.spans);
        self.index
            .insert_unique(hash, id, |&other| Self::hash(span(arena, spans, other)));
        Some(id)
    }

    /// Stacks held.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when no new stack can be added.
    pub fn is_full(&self) -> bool {
        self.spans.len() >= self.limit
    }

    /// The stack with this id.
    pub fn get(&self, id: StackId) -> &[FrameId] {
        span(&self.arena, &self.spans, id)
    }

    /// Forgets every stack.
    pub fn clear(&mut self) {
        self.arena.clear();
        self.spans.clear();
        self.index.clear();
    }
}

/// The frames of stack `id`: its span of the arena. A free function, so that `intern` can
/// read the table while its index is borrowed mutably.
fn span<'a>(arena: &'a [FrameId], spans: &[(u32, u32)], id: StackId) -> &'a [FrameId] {
    let (start, len) = spans[id as usize];
    &arena[start as usize..(start + len) as usize]
}

/// What, besides its frames, makes a sample's stack: the markers the aggregator adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackFlags {
    /// Deeper than the depth limit: a `[truncated]` root.
    pub truncated: bool,
    /// Blocked: an `[idle]` leaf.
    pub idle: bool,
    /// A waiting asyncio task: an `[awaiting]` leaf.
    pub awaiting: bool,
    /// Taken in an asyncio task: this `task NAME` frame under the labels.
    pub task: Option<FrameId>,
    /// The sample's label set (`sampler::labels`): label frames at the root.
    pub labels: sampler::labels::LabelSetId,
    /// The builtin call the innermost frame was in: the leaf names it (`[idle] NAME`,
    /// `[native] NAME`).
    pub call: RawCall,
}

/// A 128-bit fingerprint of a raw stack and its flags: two independent multiply-xorshift
/// chains over every frame word. Two different stacks share one with a chance near 2^-128,
/// so the cache takes a matching fingerprint for the same stack instead of keeping and
/// comparing a copy of its frames: that copy would be 720 bytes at depth 30, cold in memory
/// on every lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Fingerprint(u64, u64);

impl Fingerprint {
    /// The fingerprint of a raw stack with these flags.
    pub fn of(raw: &[RawFrame], flags: StackFlags) -> Fingerprint {
        let seed = u64::from(flags.truncated)
            | (u64::from(flags.idle) << 1)
            | (u64::from(flags.awaiting) << 2)
            | (raw.len() as u64) << 3
            | u64::from(flags.labels) << 40;
        let task = flags.task.map_or(0, |id| u64::from(id) + 1);
        let (mut a, mut b) = (
            seed ^ 0x243f_6a88_85a3_08d3 ^ mix(task, 0x9e37_79b9_7f4a_7c15),
            seed ^ 0x1319_8a2e_0370_7344 ^ task.rotate_left(32),
        );
        if !flags.call.is_none() {
            a = mix(a ^ flags.call.callee as u64, 0x9e37_79b9_7f4a_7c15);
            b = mix(
                b ^ (flags.call.receiver as u64).rotate_left(29),
                0xbf58_476d_1ce4_e5b9,
            );
        }
        for frame in raw {
            let lines = (u64::from(frame.line) << 32) | u64::from(frame.first_line);
            a = mix(a ^ frame.qualname as u64, 0x9e37_79b9_7f4a_7c15);
            a = mix(
                a ^ frame.filename as u64 ^ lines.rotate_left(17),
                0xbf58_476d_1ce4_e5b9,
            );
            b = mix(b ^ lines, 0x94d0_49bb_1331_11eb);
            b = mix(
                b ^ (frame.qualname as u64).rotate_left(23) ^ frame.filename as u64,
                0xd6e8_feb8_6659_fd93,
            );
        }
        Fingerprint(a, b)
    }
}

#[inline(always)]
fn mix(x: u64, k: u64) -> u64 {
    let x = x.wrapping_mul(k);
    x ^ (x >> 31)
}

/// A direct-mapped cache from raw-stack fingerprints to stack ids: `SLOTS` entries of 24
/// bytes, each replaced by the latest stack that maps to it.
pub struct RawStackCache {
    slots: Vec<(Fingerprint, StackId)>,
}

const SLOTS: usize = 16_384;
/// Marks an empty slot (no stack has this id: the table's bound is far below).
const EMPTY: StackId = StackId::MAX;

impl RawStackCache {
    /// An empty cache.
    pub fn new() -> RawStackCache {
        RawStackCache {
            slots: vec![(Fingerprint::default(), EMPTY); SLOTS],
        }
    }

    /// The cached id of the stack with this fingerprint, if any.
    pub fn get(&self, print: Fingerprint) -> Option<StackId> {
        let (cached, id) = self.slots[print.0 as usize % SLOTS];
        (id != EMPTY && cached == print).then_some(id)
    }

    /// Caches an id for the stack with this fingerprint.
    pub fn insert(&mut self, print: Fingerprint, id: StackId) {
        self.slots[print.0 as usize % SLOTS] = (print, id);
    }

    /// Forgets everything (the ids it holds are about to mean something else).
    pub fn clear(&mut self) {
        self.slots.fill((Fingerprint::default(), EMPTY));
    }
}

impl Default for RawStackCache {
    fn default() -> Self {
        RawStackCache::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(line: u32) -> RawFrame {
        RawFrame {
            qualname: 1,
            filename: 2,
            line,
            first_line: 1,
        }
    }

    #[test]
    fn table_numbers_stacks_up_to_its_limit() {
        let mut table = StackTable::new(2);
        assert_eq!(table.intern(&[1, 2]), Some(0));
        assert_eq!(table.intern(&[1, 3]), Some(1));
        assert_eq!(table.intern(&[1, 2]), Some(0));
        assert_eq!(table.intern(&[9]), None, "full");
        assert_eq!(table.get(1), &[1, 3]);
    }

    #[test]
    fn cache_hits_only_on_the_same_stack_and_flags() {
        let mut cache = RawStackCache::new();
        let stack = [raw(1), raw(2)];
        let plain = StackFlags {
            truncated: false,
            idle: false,
            awaiting: false,
            task: None,
            labels: 0,
            call: RawCall::NONE,
        };
        let idle = StackFlags {
            truncated: false,
            idle: true,
            awaiting: false,
            task: None,
            labels: 0,
            call: RawCall::NONE,
        };
        let print = Fingerprint::of(&stack, plain);
        assert_eq!(cache.get(print), None);
        cache.insert(print, 7);
        assert_eq!(cache.get(Fingerprint::of(&stack, plain)), Some(7));
        assert_eq!(cache.get(Fingerprint::of(&stack, idle)), None);
        let in_task = |id| StackFlags {
            task: Some(id),
            ..plain
        };
        assert_eq!(cache.get(Fingerprint::of(&stack, in_task(0))), None);
        cache.insert(Fingerprint::of(&stack, in_task(0)), 8);
        assert_eq!(cache.get(Fingerprint::of(&stack, in_task(0))), Some(8));
        assert_eq!(cache.get(Fingerprint::of(&stack, in_task(1))), None);
        assert_eq!(cache.get(Fingerprint::of(&[raw(1), raw(3)], plain)), None);
        assert_eq!(
            cache.get(Fingerprint::of(&[raw(2), raw(1)], plain)),
            None,
            "order counts"
        );
        assert_eq!(cache.get(Fingerprint::of(&stack[..1], plain)), None);
    }

    #[test]
    fn fingerprints_of_many_similar_stacks_differ() {
        let mut seen = std::collections::HashSet::new();
        let key = |p: Fingerprint| (p.0, p.1);
        for a in 0..200u32 {
            for b in 0..200u32 {
                let stack = [raw(a), raw(b), raw(7)];
                let flags = StackFlags {
                    truncated: false,
                    idle: false,
                    awaiting: false,
                    task: None,
                    labels: 0,
                    call: RawCall::NONE,
                };
                assert!(seen.insert(key(Fingerprint::of(&stack, flags))));
            }
        }
    }
}
