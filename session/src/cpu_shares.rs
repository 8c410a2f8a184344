//! Each profile's share of every thread's CPU time. The aggregator reports a thread's CPU
//! since the session armed it; a session taken in slices (the agent) reports, in each
//! slice, only what was used since the thread's previous slice.
//!
//! What was reported is kept per thread only while the thread is still in the profiles:
//! a thread-per-request server shows hundreds of new threads a second, and a table of
//! every thread ever seen grew the agent by about 95 bytes a request for as long as it ran.
//! A thread is remembered one slice past the last that showed it, so that a late batch
//! from a thread that has just ended (the aggregator forgets such a thread after a slice,
//! and sees it again if its last records arrive after that) is not counted twice.

use flamegraph::hash::FastMap;
use flamegraph::Profile;

/// A thread as profiles name it: its name and its tid.
type ThreadKey = (String, i32);

/// CPU already reported, per thread, for the last two slices.
#[derive(Default)]
pub(crate) struct CpuShares {
    /// Threads in the latest slice: their CPU since armed, as reported.
    latest: FastMap<ThreadKey, u64>,
    /// Threads in the slice before it.
    before: FastMap<ThreadKey, u64>,
}

impl CpuShares {
    /// Turns each thread's CPU time since armed into its share since the last slice.
    pub(crate) fn take_shares(&mut self, profile: &mut Profile) {
        let mut now: FastMap<ThreadKey, u64> = FastMap::default();
        for thread in &mut profile.threads {
            let Some(total) = thread.cpu_time_ns else {
                continue;
            };
            let key = (thread.name.clone(), thread.tid);
            let seen = self
                .latest
                .get(&key)
                .or_else(|| self.before.get(&key))
                .copied()
                .unwrap_or(0);
            thread.cpu_time_ns = Some(total.saturating_sub(seen));
            now.insert(key, total.max(seen));
        }
        self.before = std::mem::replace(&mut self.latest, now);
    }

    /// Threads remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.latest.len() + self.before.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flamegraph::{ProfileMeta, ThreadProfile};

    fn slice(threads: &[(&str, i32, u64)]) -> Profile {
        let mut profile = Profile::new(ProfileMeta::default());
        for &(name, tid, cpu) in threads {
            let mut thread = ThreadProfile::new(name, tid);
            thread.cpu_time_ns = Some(cpu);
            profile.threads.push(thread);
        }
        profile
    }

    fn shares(profile: &Profile) -> Vec<u64> {
        profile
            .threads
            .iter()
            .map(|t| t.cpu_time_ns.unwrap())
            .collect()
    }

    #[test]
    fn each_slice_reports_what_was_used_since_the_last() {
        let mut cpu = CpuShares::default();
        let mut first = slice(&[("MainThread", 1, 100), ("worker", 2, 40)]);
        cpu.take_shares(&mut first);
        assert_eq!(shares(&first), [100, 40]);
        let mut second = slice(&[("MainThread", 1, 130), ("worker", 2, 40)]);
        cpu.take_shares(&mut second);
        assert_eq!(shares(&second), [30, 0]);
    }

    #[test]
    fn a_thread_back_one_slice_after_it_left_is_not_counted_twice() {
        let mut cpu = CpuShares::default();
        let mut first = slice(&[("Thread-7", 7, 50)]);
        cpu.take_shares(&mut first);
        cpu.take_shares(&mut slice(&[]));
        let mut late = slice(&[("Thread-7", 7, 55)]);
        cpu.take_shares(&mut late);
        assert_eq!(shares(&late), [5]);
    }

    #[test]
    fn threads_that_ended_are_forgotten() {
        let mut cpu = CpuShares::default();
        for request in 0..10_000 {
            let name = format!("Thread-{request} (process_request_thread)");
            cpu.take_shares(&mut slice(&[
                ("MainThread", 1, request),
                (&name, request as i32 + 2, 3),
            ]));
        }
        assert_eq!(cpu.len(), 4, "two slices of two threads each");
    }
}
