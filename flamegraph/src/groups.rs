//! Thread groups: threads whose names differ only in their numbers (`Thread-12
//! (process_request_thread)`, `pool_3`, `ThreadPoolExecutor-0_7`, `worker-5`) belong to one
//! group, named with `N` for each number (`Thread-N (process_request_thread)`). A
//! thread-per-request server or a pool then draws as one wide tower instead of hundreds of
//! one-sample roots.

use std::collections::HashMap;
use std::str::FromStr;

use crate::profile::{Profile, ThreadProfile};

/// How threads appear in a view: the `--threads` choice, and what the agent's endpoints
/// draw ([`ThreadsView::Auto`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ThreadsView {
    /// Threads whose names differ only in numbers are one root when there are
    /// [`AUTO_MIN_GROUP`] or more of them (a pool, a thread per request); other threads are
    /// roots of their own.
    #[default]
    Auto,
    /// Each thread is a root of its own.
    Split,
    /// Threads whose names differ only in numbers are one root, however few.
    Grouped,
    /// All threads are added together, without thread roots.
    Merged,
}

impl ThreadsView {
    /// Every view, in the order help texts list them.
    pub const ALL: [ThreadsView; 4] = [
        ThreadsView::Auto,
        ThreadsView::Split,
        ThreadsView::Grouped,
        ThreadsView::Merged,
    ];

    /// `auto`, `split`, `grouped` or `merged`.
    pub fn name(self) -> &'static str {
        match self {
            ThreadsView::Auto => "auto",
            ThreadsView::Split => "split",
            ThreadsView::Grouped => "grouped",
            ThreadsView::Merged => "merged",
        }
    }
}

impl FromStr for ThreadsView {
    type Err = String;

    fn from_str(name: &str) -> Result<ThreadsView, String> {
        ThreadsView::ALL
            .into_iter()
            .find(|view| view.name() == name)
            .ok_or_else(|| format!("`{name}` is not auto, split, grouped or merged"))
    }
}

/// The group a thread name belongs to: every run of digits becomes `N`.
pub fn group_of(name: &str) -> String {
    let mut group = String::with_capacity(name.len());
    let mut in_digits = false;
    for c in name.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                group.push('N');
            }
            in_digits = true;
        } else {
            group.push(c);
            in_digits = false;
        }
    }
    group
}

/// The group a thread is counted in: its process (`None` for the profiled program's own
/// threads) and its name's group.
pub fn group_key(thread: &ThreadProfile) -> (Option<u32>, String) {
    (
        thread.process.as_ref().map(|p| p.pid),
        group_of(&thread.name),
    )
}

/// The smallest group [`Profile::grouped_threads`] draws as one when asked for groups of
/// `min_size` or more by the "auto" view: five. A handful of numbered threads are often
/// distinct roles (`worker-1` parses, `worker-2` writes) and stay apart; more are a pool.
pub const AUTO_MIN_GROUP: usize = 5;

impl Profile {
    /// The profile with its threads as `view` wants them. A format that keeps threads as
    /// labels (`Format::threads_as_labels`, pprof) gets every thread with its group noted
    /// instead of grouped threads; merged is merged for every format.
    pub fn with_threads(&self, view: ThreadsView, threads_as_labels: bool) -> Profile {
        let grouped = |min_size: usize| {
            if threads_as_labels {
                self.with_thread_groups()
            } else {
                self.grouped_threads(min_size)
            }
        };
        match view {
            ThreadsView::Auto => grouped(AUTO_MIN_GROUP),
            ThreadsView::Split => self.clone(),
            ThreadsView::Grouped => grouped(2),
            ThreadsView::Merged => self.merged_threads(),
        }
    }

    /// The same profile with each thread's group noted (`thread.group`), threads kept
    /// apart: what pprof writes for a grouped view (the `thread_group` label next to the
    /// real `thread_name` and `thread_id`).
    pub fn with_thread_groups(&self) -> Profile {
        let mut grouped = self.clone();
        for thread in &mut grouped.threads {
            thread.group = Some(group_of(&thread.name));
        }
        grouped
    }

    /// How many threads each group has, by [`group_key`]: groups are counted within a
    /// process (a child's pool is not its parent's), and a thread standing for ended
    /// threads of its group ([`ThreadProfile::members`]) counts as all of them. Counted in
    /// one pass: a day of a thread-per-request server holds many thousands.
    pub fn group_sizes(&self) -> HashMap<(Option<u32>, String), usize> {
        let mut sizes: HashMap<(Option<u32>, String), usize> = HashMap::new();
        for thread in &self.threads {
            *sizes.entry(group_key(thread)).or_default() += thread.members() as usize;
        }
        sizes
    }

    /// The same profile with the threads of every group of at least `min_size` threads
    /// added into one thread named `GROUP ×COUNT` (no tid); smaller groups keep their
    /// threads apart. Threads keep their first-seen order, a group its first thread's place.
    pub fn grouped_threads(&self, min_size: usize) -> Profile {
        let sizes = self.group_sizes();
        let mut out = Profile::new(self.meta.clone());
        out.frames = self.frames.clone();
        for thread in &self.threads {
            let key = group_key(thread);
            let count = sizes[&key];
            let group = key.1;
            let process = thread.process.as_ref();
            let target = if count >= min_size.max(2) {
                out.thread_mut_in(process, &format!("{group} ×{count}"), 0)
            } else {
                out.thread_mut_in(process, &thread.name, thread.tid)
            };
            absorb(target, thread);
            target.group = Some(group);
        }
        out
    }
}

/// Adds `thread`'s stacks and CPU time to `target`.
pub(crate) fn absorb(target: &mut ThreadProfile, thread: &ThreadProfile) {
    target.cpu_time_ns = match (target.cpu_time_ns, thread.cpu_time_ns) {
        (Some(a), Some(b)) => Some(a.saturating_add(b)),
        (a, b) => a.or(b),
    };
    for (stack, values) in &thread.stacks {
        target.add(stack, *values);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{folded, ProfileMeta};

    #[test]
    fn numbers_make_the_group() {
        assert_eq!(
            group_of("Thread-12 (process_request_thread)"),
            "Thread-N (process_request_thread)"
        );
        assert_eq!(group_of("ThreadPoolExecutor-0_7"), "ThreadPoolExecutor-N_N");
        assert_eq!(group_of("pool_3"), "pool_N");
        assert_eq!(group_of("MainThread"), "MainThread");
        assert_eq!(group_of("resize-worker"), "resize-worker");
    }

    #[test]
    fn big_groups_become_one_thread_small_ones_stay_apart() {
        let mut text = String::new();
        for i in 1..=6 {
            text.push_str(&format!(
                "Thread-{i} (handle) (tid {i});handle (a.py:3) 2\n"
            ));
        }
        text.push_str("worker-1 (tid 50);a (a.py:1) 1\nworker-2 (tid 51);b (a.py:2) 1\n");
        text.push_str("MainThread (tid 99);main (a.py:9) 4\n");
        let profile = folded::parse(text.as_bytes(), ProfileMeta::default()).unwrap();
        let grouped = profile.grouped_threads(AUTO_MIN_GROUP);
        let names: Vec<String> = grouped.threads.iter().map(|t| t.label()).collect();
        assert_eq!(
            names,
            [
                "Thread-N (handle) ×6",
                "worker-1 (tid 50)",
                "worker-2 (tid 51)",
                "MainThread (tid 99)"
            ]
        );
        assert_eq!(grouped.threads[0].total().get(0), 12);
        assert_eq!(grouped.total(), profile.total(), "nothing is lost");
        let all = profile.grouped_threads(2);
        assert_eq!(all.threads.len(), 3, "any group of two or more");
        assert_eq!(all.threads[1].name, "worker-N ×2");
        let labelled = profile.with_thread_groups();
        assert_eq!(labelled.threads.len(), profile.threads.len());
        assert_eq!(
            labelled.threads[0].group.as_deref(),
            Some("Thread-N (handle)")
        );
    }
}
