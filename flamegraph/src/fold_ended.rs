//! Bounding the threads of a profile that is added to for as long as a program runs (the
//! agent's allocations since it started): a thread-per-request server shows hundreds of
//! new threads a second, and each kept apart is a name and a table that never go away.
//! Past a bound, the threads the latest slice no longer shows (they have ended) are added
//! into one thread per group, `Thread-N (process_request_thread) ×COUNT ended`, as the
//! aggregator does for a long recording. Totals are unchanged.

use crate::hash::{FastMap, FastSet};

use crate::groups::{absorb, group_key};
use crate::profile::{Profile, ThreadProfile};

/// Threads kept apart, at most, in a profile that slices are added to for as long as a
/// program runs, by those that call [`Profile::fold_threads_not_in`].
pub const MAX_THREADS_APART: usize = 1_000;

/// A thread's identity in a profile: its process, name and tid.
type ThreadKey<'a> = (Option<u32>, &'a str, i32);

fn key(thread: &ThreadProfile) -> ThreadKey<'_> {
    (
        thread.process.as_ref().map(|p| p.pid),
        thread.name.as_str(),
        thread.tid,
    )
}

impl Profile {
    /// Once there are more than `max_threads` threads, adds every thread of its own that
    /// `latest` (the slice just merged in, which lists every thread its session still
    /// holds) does not show into its group's thread of ended ones.
    pub fn fold_threads_not_in(&mut self, latest: &Profile, max_threads: usize) {
        if self.threads.len() <= max_threads {
            return;
        }
        let present: FastSet<ThreadKey> = latest.threads.iter().map(key).collect();
        let (kept, gone): (Vec<ThreadProfile>, Vec<ThreadProfile>) =
            std::mem::take(&mut self.threads)
                .into_iter()
                .partition(|t| t.ended_members > 0 || present.contains(&key(t)));
        self.threads = kept;
        let mut groups: FastMap<(Option<u32>, String), usize> = self
            .threads
            .iter()
            .enumerate()
            .filter(|(_, t)| t.ended_members > 0)
            .map(|(i, t)| (group_key(t), i))
            .collect();
        for thread in gone {
            let index = *groups
                .entry(group_key(&thread))
                .or_insert_with_key(|(_, name)| {
                    let mut ended = ThreadProfile::new(name, 0);
                    ended.process = thread.process.clone();
                    ended.group = Some(name.clone());
                    self.threads.push(ended);
                    self.threads.len() - 1
                });
            let target = &mut self.threads[index];
            target.ended_members += thread.members();
            absorb(target, &thread);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{folded, Profile, ProfileMeta};

    fn profile(text: &str) -> Profile {
        folded::parse(text.as_bytes(), ProfileMeta::default()).unwrap()
    }

    #[test]
    fn threads_gone_from_the_latest_slice_join_their_group_past_the_bound() {
        let mut text = String::from("MainThread (tid 1);serve (a.py:1) 5\n");
        for i in 2..=9 {
            text.push_str(&format!(
                "Thread-{i} (process_request_thread) (tid {i});handle (a.py:3) 2\n"
            ));
        }
        let mut since_start = profile(&text);
        let total = since_start.total();
        let latest = profile(
            "MainThread (tid 1);serve (a.py:1) 1\n\
             Thread-9 (process_request_thread) (tid 9);handle (a.py:3) 1\n",
        );
        since_start.fold_threads_not_in(&latest, 20);
        assert_eq!(
            since_start.threads.len(),
            9,
            "under the bound: nothing folds"
        );
        since_start.fold_threads_not_in(&latest, 4);
        let labels: Vec<String> = since_start.threads.iter().map(|t| t.label()).collect();
        assert_eq!(
            labels,
            [
                "MainThread (tid 1)",
                "Thread-9 (process_request_thread) (tid 9)",
                "Thread-N (process_request_thread) ×7 ended"
            ]
        );
        assert_eq!(since_start.total(), total, "nothing is lost");
        // Later threads join the same group.
        since_start.merge(&profile(
            "Thread-10 (process_request_thread) (tid 10);handle (a.py:3) 2\n\
             Thread-11 (process_request_thread) (tid 11);handle (a.py:3) 2\n",
        ));
        since_start.fold_threads_not_in(&profile("MainThread (tid 1);serve (a.py:1) 1\n"), 2);
        let labels: Vec<String> = since_start.threads.iter().map(|t| t.label()).collect();
        assert_eq!(
            labels,
            [
                "MainThread (tid 1)",
                "Thread-N (process_request_thread) ×10 ended"
            ]
        );
    }
}
