//! Threads' CPU times in a pprof file's comments (pprof has no field for them).
//!
//! A thread of its own: `rpprof thread cpu: LABEL NANOSECONDS`. The threads of a group of
//! [`AUTO_MIN_GROUP`] or more (a pool, a thread per request; see [`crate::groups`]) share
//! one line, `rpprof group cpu: GROUP ×COUNT NANOSECONDS`: a day of a thread-per-request
//! server would otherwise write a line for each of millions of threads. Read back, each
//! member of such a group gets the group's mean, so every grouped view (the default) shows
//! the group's exact total.

use std::collections::HashMap;

use crate::groups::{group_key, AUTO_MIN_GROUP};
use crate::profile::{Profile, ThreadProfile};

const THREAD_CPU: &str = "rpprof thread cpu: ";
const GROUP_CPU: &str = "rpprof group cpu: ";

/// The group line's label: `GROUP ×COUNT`, after `[pid N] ` in a child process.
fn group_label(thread: &ThreadProfile, group: &str, members: u64) -> String {
    match &thread.process {
        Some(process) => format!("[pid {}] {group} ×{members}", process.pid),
        None => format!("{group} ×{members}"),
    }
}

/// The comment lines for `profile`'s threads, in first-seen order.
pub(crate) fn comments(profile: &Profile) -> Vec<String> {
    let sizes = profile.group_sizes();
    let mut group_cpu: HashMap<(Option<u32>, String), u64> = HashMap::new();
    for thread in &profile.threads {
        let ns = group_cpu.entry(group_key(thread)).or_default();
        *ns = ns.saturating_add(thread.cpu_time_ns.unwrap_or(0));
    }
    let mut out = Vec::new();
    for thread in &profile.threads {
        let key = group_key(thread);
        let members = sizes[&key];
        if members < AUTO_MIN_GROUP {
            if let Some(ns) = thread.cpu_time_ns {
                out.push(format!("{THREAD_CPU}{} {ns}", thread.qualified_label()));
            }
        } else if let Some(ns) = group_cpu.remove(&key) {
            // The group's line, where its first thread is.
            out.push(format!(
                "{GROUP_CPU}{} {ns}",
                group_label(thread, &key.1, members as u64)
            ));
        }
    }
    out
}

/// Gives `profile`'s threads the CPU time a comment line carries (other lines are ignored).
pub(crate) fn apply(profile: &mut Profile, comment: &str) {
    if let Some((label, ns)) = comment
        .strip_prefix(THREAD_CPU)
        .and_then(|rest| rest.rsplit_once(' '))
    {
        let Ok(ns) = ns.parse::<u64>() else { return };
        if let Some(thread) = profile
            .threads
            .iter_mut()
            .find(|t| t.qualified_label() == label)
        {
            thread.cpu_time_ns = Some(ns);
        }
    } else if let Some((label, ns)) = comment
        .strip_prefix(GROUP_CPU)
        .and_then(|rest| rest.rsplit_once(' '))
    {
        let Ok(ns) = ns.parse::<u64>() else { return };
        let Some((_, members)) = label.rsplit_once(" ×") else {
            return;
        };
        let Ok(members) = members.parse::<u64>() else {
            return;
        };
        let mean = ns / members.max(1);
        for thread in &mut profile.threads {
            let key = group_key(thread);
            if group_label(thread, &key.1, members) == label {
                thread.cpu_time_ns = Some(mean * thread.members());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{folded, ProfileMeta};

    #[test]
    fn a_group_shares_one_line_and_reads_back_as_its_total() {
        let mut text = String::new();
        for i in 1..=6 {
            text.push_str(&format!(
                "Thread-{i} (handle) (tid {i});handle (a.py:3) 2\n"
            ));
        }
        text.push_str("MainThread (tid 99);main (a.py:9) 4\n");
        let mut profile = folded::parse(text.as_bytes(), ProfileMeta::default()).unwrap();
        for thread in &mut profile.threads {
            thread.cpu_time_ns = Some(1_000);
        }
        let lines = comments(&profile);
        assert_eq!(
            lines,
            [
                "rpprof group cpu: Thread-N (handle) ×6 6000",
                "rpprof thread cpu: MainThread (tid 99) 1000"
            ]
        );
        let mut back = profile.clone();
        for thread in &mut back.threads {
            thread.cpu_time_ns = None;
        }
        for line in &lines {
            apply(&mut back, line);
        }
        let grouped = back.grouped_threads(AUTO_MIN_GROUP);
        assert_eq!(grouped.threads[0].cpu_time_ns, Some(6_000));
        assert_eq!(grouped.threads[1].cpu_time_ns, Some(1_000));
    }
}
