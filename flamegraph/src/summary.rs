//! Per-thread summaries: how many samples each thread got, how many of them found it
//! running or idle (blocked), the CPU time its own clock reported, its heaviest
//! function, and, when the profile has allocation kinds, the bytes it allocated and still
//! holds.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::frame::FrameKind;
use crate::profile::{Profile, ThreadProfile};
use crate::value::{format_bytes, ValueKind};

/// One thread's line in the summary.
#[derive(Clone, Debug, PartialEq)]
pub struct ThreadSummary {
    /// `name (tid N)`.
    pub thread: String,
    /// Samples in all.
    pub samples: u64,
    /// Samples taken while it ran.
    pub running: u64,
    /// Samples taken while it was blocked (stacks ending in `[idle]`).
    pub idle: u64,
    /// CPU time from its own CPU clock, when known.
    pub cpu_time_ns: Option<u64>,
    /// The Python frame with the most samples at the top of the stack (the frame a blocked
    /// thread waits in counts for it), as `function (file:line)`.
    pub heaviest: Option<String>,
    /// Bytes it allocated (`alloc_space`), when the profile has them.
    pub allocated: Option<u64>,
    /// Bytes it allocated and had not freed (`inuse_space`), when the profile has them.
    pub in_use: Option<u64>,
}

impl ThreadSummary {
    /// The summary of one thread of `profile`.
    pub fn of(profile: &Profile, thread: &ThreadProfile) -> ThreadSummary {
        let mut running = 0;
        let mut idle = 0;
        let mut by_frame: HashMap<u32, u64> = HashMap::new();
        let count = profile.meta.count_index();
        for (stack, values) in &thread.stacks {
            let samples = values.get(count);
            // A waiting asyncio task's samples are not its thread's time.
            if profile.is_awaiting(stack) {
                continue;
            }
            let is_idle = stack
                .last()
                .is_some_and(|&id| profile.frames.get(id).is_idle());
            if is_idle {
                idle = samples.saturating_add(idle);
            } else {
                running = samples.saturating_add(running);
            }
            let top_python = stack
                .iter()
                .rev()
                .find(|&&id| profile.frames.get(id).kind == FrameKind::Python);
            if let Some(&id) = top_python {
                let total = by_frame.entry(id).or_default();
                *total = total.saturating_add(samples);
            }
        }
        let heaviest = by_frame
            .into_iter()
            .filter(|(_, samples)| *samples > 0)
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(id, _)| profile.frames.get(id).label());
        let total = thread.total();
        let kind_total = |kind: &ValueKind| {
            profile
                .meta
                .kind_index(&kind.name)
                .map(|index| total.get(index))
        };
        ThreadSummary {
            allocated: kind_total(&ValueKind::ALLOC_SPACE),
            in_use: kind_total(&ValueKind::INUSE_SPACE),
            thread: thread.qualified_label(),
            samples: running.saturating_add(idle),
            running,
            idle,
            cpu_time_ns: thread.cpu_time_ns,
            heaviest,
        }
    }
}

/// Summaries of every thread, busiest first.
pub fn summaries(profile: &Profile) -> Vec<ThreadSummary> {
    let mut all: Vec<ThreadSummary> = profile
        .threads
        .iter()
        .map(|t| ThreadSummary::of(profile, t))
        .collect();
    all.sort_by(|a, b| b.samples.cmp(&a.samples).then(a.thread.cmp(&b.thread)));
    all
}

/// The summaries as an aligned table, at most `limit` threads (then a line saying how many
/// more there were).
pub fn render(summaries: &[ThreadSummary], limit: usize) -> String {
    let width = summaries
        .iter()
        .take(limit)
        .map(|s| s.thread.chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut text = String::new();
    let memory = summaries.iter().any(|s| s.allocated.is_some());
    let _ = writeln!(
        text,
        "{:<width$}  {:>8}  {:>8}  {:>6}  {:>7}  {}heaviest function",
        "thread",
        "samples",
        "running",
        "idle",
        "cpu s",
        if memory {
            format!("{:>10}  {:>10}  ", "allocated", "in use")
        } else {
            String::new()
        }
    );
    for s in summaries.iter().take(limit) {
        let bytes = |n: Option<u64>| n.map_or_else(|| "-".to_owned(), format_bytes);
        let memory_columns = if memory {
            format!("{:>10}  {:>10}  ", bytes(s.allocated), bytes(s.in_use))
        } else {
            String::new()
        };
        let pct = |n: u64| 100.0 * n as f64 / s.samples.max(1) as f64;
        let cpu = s
            .cpu_time_ns
            .map_or_else(|| "-".to_owned(), |ns| format!("{:.2}", ns as f64 / 1e9));
        let _ = writeln!(
            text,
            "{:<width$}  {:>8}  {:>7.1}%  {:>5.1}%  {:>7}  {memory_columns}{}",
            s.thread,
            s.samples,
            pct(s.running),
            pct(s.idle),
            cpu,
            s.heaviest.as_deref().unwrap_or("-")
        );
    }
    if summaries.len() > limit {
        let _ = writeln!(text, "... and {} more threads", summaries.len() - limit);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{folded, ProfileMeta};

    #[test]
    fn running_idle_and_heaviest() {
        let mut profile = folded::parse(
            "waiter (tid 2);main (a.py:1);wait (a.py:7);[idle] 9\n\
             waiter (tid 2);main (a.py:1);prepare (a.py:3) 1\n\
             busy (tid 3);main (a.py:1);spin (a.py:12) 20\n"
                .as_bytes(),
            ProfileMeta::default(),
        )
        .unwrap();
        profile.threads[1].cpu_time_ns = Some(1_500_000_000);
        let all = summaries(&profile);
        assert_eq!(all[0].thread, "busy (tid 3)");
        assert_eq!((all[0].running, all[0].idle), (20, 0));
        assert_eq!(all[0].heaviest.as_deref(), Some("spin (a.py:12)"));
        assert_eq!(all[0].cpu_time_ns, Some(1_500_000_000));
        assert_eq!((all[1].running, all[1].idle), (1, 9));
        assert_eq!(all[1].heaviest.as_deref(), Some("wait (a.py:7)"));
        let text = render(&all, 1);
        assert!(
            text.contains("busy (tid 3)        20    100.0%    0.0%     1.50  spin (a.py:12)"),
            "{text}"
        );
        assert!(text.ends_with("... and 1 more threads\n"), "{text}");
    }
}
