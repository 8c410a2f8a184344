//! What an aggregator keeps of threads that have ended.
//!
//! A thread-per-request server starts hundreds of threads a second. Kept one by one, a
//! long recording of it grows without bound, and every slice of the agent walks every
//! thread ever seen. So, every [`SETTLE_EVERY`] new threads:
//! - an ended thread's sampler entry is let go of ([`ThreadRef::settle`]);
//! - past [`MAX_ENDED_THREADS`] ended threads kept apart, the oldest are added into one
//!   thread per group (`Thread-N (process_request_thread)`, see `flamegraph::groups`),
//!   which the views draw as `GROUP ×COUNT` like any group. Totals are unchanged; what is
//!   lost is only which of those old, ended threads had which samples.
//!
//! The agent, which starts every slice from zero, forgets ended threads at each slice
//! ([`Aggregator::forget_ended_threads`]) unless a live sampled allocation still names them.

use flamegraph::groups::group_of;
use flamegraph::hash::{FastMap, FastSet};

use super::{Aggregator, ThreadTotals};
use crate::thread_ref::{EndedThread, ThreadRef, SETTLE_EVERY};

/// Ended threads kept apart, at most, before the oldest are added into their groups.
pub const MAX_ENDED_THREADS: usize = 1_000;
/// An ended thread is added into its group only this long after it ended, when its last
/// records have long been drained (the drain thread runs every 100 ms at most).
const FOLD_AFTER_NS: u64 = 2_000_000_000;

/// What becomes of a thread when the list is rebuilt.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Keep,
    /// Added into its group's thread.
    Fold,
    /// Forgotten (it holds no values).
    Forget,
}

impl Aggregator {
    /// Called before a new thread is added.
    pub(super) fn after_new_thread(&mut self) {
        self.new_threads += 1;
        if self.new_threads < SETTLE_EVERY {
            return;
        }
        self.new_threads = 0;
        for thread in &mut self.threads {
            thread.thread.settle();
        }
        self.fold_oldest_ended(MAX_ENDED_THREADS, sampler::timer::monotonic_ns());
    }

    /// Adds the oldest ended threads into their groups until at most `max / 2` ended ones
    /// are kept apart (once more than `max` are).
    fn fold_oldest_ended(&mut self, max: usize, now_ns: u64) {
        let mut ended: Vec<(u64, usize)> = self
            .threads
            .iter()
            .enumerate()
            .filter(|(_, t)| t.ended_members == 0)
            .filter_map(|(i, t)| match &t.thread {
                ThreadRef::Ended(e) => Some((e.exited_ns.unwrap_or(0), i)),
                ThreadRef::Live(_) => None,
            })
            .collect();
        if ended.len() <= max {
            return;
        }
        ended.sort_unstable();
        let excess = ended.len() - max / 2;
        let fold: FastSet<usize> = ended
            .into_iter()
            .take(excess)
            .filter(|&(exited, _)| exited.saturating_add(FOLD_AFTER_NS) <= now_ns)
            .map(|(_, i)| i)
            .collect();
        self.rebuild_threads(|i, _| {
            if fold.contains(&i) {
                Fate::Fold
            } else {
                Fate::Keep
            }
        });
    }

    /// Forgets the threads that have ended and hold no values (called after a slice's
    /// counts were cleared); live sampled blocks keep their thread.
    pub(super) fn forget_ended_threads(&mut self) {
        for thread in &mut self.threads {
            thread.thread.settle();
        }
        let holding: FastSet<usize> = self.allocs.live.values().map(|b| b.thread).collect();
        if !self
            .threads
            .iter()
            .enumerate()
            .any(|(i, t)| t.thread.has_ended() && !holding.contains(&i))
        {
            return;
        }
        self.rebuild_threads(|i, t| {
            if t.thread.has_ended() && t.counts.is_empty() && !holding.contains(&i) {
                Fate::Forget
            } else {
                Fate::Keep
            }
        });
    }

    /// The slot in this aggregator for a thread of another one (same key, or same group).
    pub(super) fn slot_like(&mut self, other: &ThreadTotals) -> usize {
        if other.ended_members == 0 {
            if let Some(&index) = self.thread_index.get(&other.thread.key()) {
                return index;
            }
        } else if let Some(index) = self
            .threads
            .iter()
            .position(|t| t.ended_members > 0 && t.thread.name() == other.thread.name())
        {
            return index;
        }
        let thread = match &other.thread {
            ThreadRef::Live(entry) => ThreadRef::Live(entry.clone()),
            ThreadRef::Ended(ended) => ThreadRef::Ended(ended.clone()),
        };
        self.push_thread(thread, other.ended_members)
    }

    /// Rebuilds the thread list, each thread kept, added into its group's thread or
    /// forgotten as `fate` says (groups' threads themselves are kept, and merged where a
    /// group has two), with indices, allocation totals and live blocks renumbered.
    fn rebuild_threads(&mut self, fate: impl Fn(usize, &ThreadTotals) -> Fate) {
        let old = std::mem::take(&mut self.threads);
        let mut new_index: Vec<Option<usize>> = Vec::with_capacity(old.len());
        let mut groups: FastMap<String, usize> = FastMap::default();
        for (i, thread) in old.into_iter().enumerate() {
            let fate = match fate(i, &thread) {
                Fate::Keep if thread.ended_members > 0 => Fate::Fold,
                other => other,
            };
            match fate {
                Fate::Forget => new_index.push(None),
                Fate::Keep => {
                    new_index.push(Some(self.threads.len()));
                    self.threads.push(thread);
                }
                Fate::Fold => {
                    let group = group_of(&thread.thread.name());
                    let at = *groups.entry(group.clone()).or_insert_with(|| {
                        self.threads.push(ThreadTotals {
                            thread: ThreadRef::Ended(EndedThread::group(group)),
                            ended_members: 0,
                            carry_ns: 0,
                            counts: FastMap::default(),
                        });
                        self.threads.len() - 1
                    });
                    absorb(&mut self.threads[at], thread);
                    new_index.push(Some(at));
                }
            }
        }
        self.thread_index = self
            .threads
            .iter()
            .enumerate()
            .filter(|(_, t)| t.ended_members == 0)
            .map(|(i, t)| (t.thread.key(), i))
            .collect();
        self.allocs.renumber_threads(&new_index, self.threads.len());
    }
}

/// Adds an ended thread (or a group's thread) into its group's thread.
fn absorb(group: &mut ThreadTotals, thread: ThreadTotals) {
    group.ended_members += thread.ended_members.max(1);
    group.carry_ns += thread.carry_ns;
    for (id, [samples, time]) in thread.counts {
        let counts = group.counts.entry(id).or_default();
        counts[0] = counts[0].saturating_add(samples);
        counts[1] = counts[1].saturating_add(time);
    }
    if let ThreadRef::Ended(into) = &mut group.thread {
        into.cpu_since_armed_ns = into
            .cpu_since_armed_ns
            .saturating_add(thread.thread.cpu_time_since_armed_ns());
        into.started_ns = into.started_ns.min(thread.thread.started_ns());
        into.exited_ns = into.exited_ns.max(thread.thread.exited_ns());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use flamegraph::ProfileMeta;
    use rustpython_vm::Context;
    use sampler::{
        RawCall, RawFrame, SampleBatch, SampleHeader, TaskName, ThreadEntry, ThreadState,
    };

    use super::*;
    use crate::aggregate::AggregateOptions;
    use crate::names::Symbolizer;
    use crate::values::SAMPLES_VALUE;

    fn ended_thread(name: String) -> Arc<ThreadEntry> {
        std::thread::spawn(move || sampler::register_current_thread(&name, None))
            .join()
            .unwrap()
    }

    /// An aggregator that has one sample from each of `count` ended threads `req-I`.
    fn with_ended_threads(count: usize) -> Aggregator {
        let ctx = Context::genesis();
        let frame = RawFrame {
            qualname: ctx.intern_str("handle") as *const _ as usize,
            filename: ctx.intern_str("app.py") as *const _ as usize,
            line: 3,
            first_line: 1,
        };
        let mut aggregator = Aggregator::new(
            AggregateOptions {
                period_ns: 10,
                keep_idle: true,
                max_stacks: 100,
            },
            Symbolizer::new(None),
        );
        for i in 0..count {
            let mut batch = SampleBatch::new(ended_thread(format!("req-{i}")));
            let header = SampleHeader {
                time_ns: 0,
                weight_ns: 10,
                state: ThreadState::Running,
                truncated: false,
                task: TaskName::NONE,
                labels: 0,
                call: RawCall::NONE,
            };
            batch.push(header, [frame].into_iter());
            aggregator.add(&batch, None);
        }
        aggregator
    }

    #[test]
    fn old_ended_threads_past_the_bound_are_added_into_their_group() {
        let total = MAX_ENDED_THREADS + 300;
        let mut aggregator = with_ended_threads(total);
        for thread in &mut aggregator.threads {
            thread.thread.settle();
        }
        assert!(
            aggregator
                .threads
                .iter()
                .all(|t| matches!(t.thread, ThreadRef::Ended(_))),
            "ended threads' entries are let go of"
        );
        // As if looked at once they all ended long ago.
        let later = sampler::timer::monotonic_ns() + 2 * FOLD_AFTER_NS;
        aggregator.fold_oldest_ended(MAX_ENDED_THREADS, later);
        let profile = aggregator.profile(ProfileMeta::default());
        assert_eq!(profile.threads.len(), MAX_ENDED_THREADS / 2 + 1);
        let group = &profile.threads[0];
        assert_eq!(group.name, "req-N");
        assert_eq!(group.ended_members as usize, total - MAX_ENDED_THREADS / 2);
        assert_eq!(
            group.label(),
            format!("req-N ×{} ended", group.ended_members)
        );
        assert_eq!(
            profile.total().get(SAMPLES_VALUE),
            total as u64,
            "no sample is lost"
        );
        let grouped = profile.grouped_threads(flamegraph::groups::AUTO_MIN_GROUP);
        assert_eq!(grouped.threads.len(), 1);
        assert_eq!(grouped.threads[0].name, format!("req-N ×{total}"));
    }

    #[test]
    fn recently_ended_threads_are_kept_apart() {
        let mut aggregator = with_ended_threads(MAX_ENDED_THREADS + 10);
        for thread in &mut aggregator.threads {
            thread.thread.settle();
        }
        aggregator.fold_oldest_ended(MAX_ENDED_THREADS, sampler::timer::monotonic_ns());
        let profile = aggregator.profile(ProfileMeta::default());
        assert_eq!(profile.threads.len(), MAX_ENDED_THREADS + 10);
    }

    #[test]
    fn a_new_slice_forgets_ended_threads() {
        let mut aggregator = with_ended_threads(10);
        assert_eq!(aggregator.profile(ProfileMeta::default()).threads.len(), 10);
        aggregator.clear_stacks();
        assert!(aggregator.threads.is_empty());
        assert!(aggregator.thread_index.is_empty());
        assert!(aggregator
            .profile(ProfileMeta::default())
            .threads
            .is_empty());
    }
}
