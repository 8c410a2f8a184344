//! The text report of `rpprof report --top N`: the heaviest functions, per thread and over
//! all threads, with self and total shares of one kind of value (samples by default).

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use crate::frame::FrameKind;
use crate::profile::{Profile, ThreadProfile};
use crate::value::{ValueKind, Values};

/// One function's figures in a [`TopTable`], in the table's kind of value.
#[derive(Clone, Debug, PartialEq)]
pub struct TopRow {
    /// `function (file)`, or a marker.
    pub function: String,
    /// Where it was the leaf.
    pub self_samples: u64,
    /// Where it was anywhere on the stack.
    pub total_samples: u64,
}

/// The heaviest functions of one thread (or of all threads).
#[derive(Clone, Debug, PartialEq)]
pub struct TopTable {
    /// Whose functions: a thread's label, or "all threads".
    pub title: String,
    /// The kind of value the rows count.
    pub kind: ValueKind,
    /// The kind measured in time, when the profile has one (its total is shown too).
    pub time: Option<ValueKind>,
    /// The rows' kind in all.
    pub samples: u64,
    /// The time kind in all (0 without one), waiting asyncio tasks' time left out.
    pub weight_ns: u64,
    /// Of `samples`, those of waiting asyncio tasks (`--async` in wall mode), and their time:
    /// task-seconds, shown apart from the threads' time.
    pub awaiting: (u64, u64),
    /// Rows, heaviest self first.
    pub rows: Vec<TopRow>,
}

impl TopTable {
    /// The table of stacks from the given threads, counting the kind at `value`.
    pub fn new<'a>(
        title: &str,
        profile: &Profile,
        threads: impl IntoIterator<Item = &'a ThreadProfile>,
        value: usize,
        limit: usize,
    ) -> TopTable {
        let mut figures: HashMap<String, (u64, u64)> = HashMap::new();
        let mut all = Values::default();
        let mut awaiting = Values::default();
        for thread in threads {
            for (stack, values) in &thread.stacks {
                all.add(values);
                if profile.is_awaiting(stack) {
                    awaiting.add(values);
                }
                let count = values.get(value);
                // Labels are not functions (`rpprof top` reads stacks with them).
                let names: Vec<String> = stack
                    .iter()
                    .map(|&id| profile.frames.get(id))
                    .filter(|frame| frame.kind != FrameKind::Label)
                    .map(|frame| frame.without_line().label())
                    .collect();
                if let Some(leaf) = names.last() {
                    let own = &mut figures.entry(leaf.clone()).or_default().0;
                    *own = own.saturating_add(count);
                }
                let mut seen = HashSet::new();
                for name in names {
                    if seen.insert(name.clone()) {
                        let total = &mut figures.entry(name).or_default().1;
                        *total = total.saturating_add(count);
                    }
                }
            }
        }
        let mut rows: Vec<TopRow> = figures
            .into_iter()
            .map(|(function, (self_samples, total_samples))| TopRow {
                function,
                self_samples,
                total_samples,
            })
            .collect();
        rows.sort_by(|a, b| {
            b.self_samples
                .cmp(&a.self_samples)
                .then(b.total_samples.cmp(&a.total_samples))
                .then(a.function.cmp(&b.function))
        });
        rows.truncate(limit);
        let time_index = profile.meta.time_index();
        TopTable {
            title: title.to_owned(),
            kind: profile
                .meta
                .kinds
                .get(value)
                .cloned()
                .unwrap_or(ValueKind::SAMPLES),
            time: time_index.map(|i| profile.meta.kinds[i].clone()),
            samples: all.get(value),
            weight_ns: time_index.map_or(0, |i| all.get(i).saturating_sub(awaiting.get(i))),
            awaiting: (
                awaiting.get(value),
                time_index.map_or(0, |i| awaiting.get(i)),
            ),
            rows,
        }
    }

    /// The table as aligned text: `T: 38 samples (0.38 s cpu)` above the rows.
    pub fn render(&self) -> String {
        let mut text = String::new();
        let total = format!("{} {}", self.kind.format(self.samples), self.kind.name);
        let shows_time = self.time.as_ref().is_some_and(|time| *time != self.kind);
        let tasks = match self.awaiting {
            (0, _) => String::new(),
            (n, ns) if shows_time => format!(
                "; {} {} of waiting asyncio tasks, {:.2} task-s",
                self.kind.format(n),
                self.kind.name,
                ns as f64 / 1e9
            ),
            (n, _) => format!(
                "; {} {} of waiting asyncio tasks",
                self.kind.format(n),
                self.kind.name
            ),
        };
        let _ = match &self.time {
            Some(time) if shows_time => writeln!(
                text,
                "{}: {total} ({} {}{tasks})",
                self.title,
                time.format(self.weight_ns),
                time.name
            ),
            _ if !tasks.is_empty() => writeln!(text, "{}: {total} ({})", self.title, &tasks[2..]),
            _ => writeln!(text, "{}: {total}", self.title),
        };
        let _ = writeln!(
            text,
            "  {:>6}  {:>6}  {:>8}  {:>8}  function",
            "self%", "total%", "self", "total"
        );
        for row in &self.rows {
            let pct = |n: u64| 100.0 * n as f64 / self.samples.max(1) as f64;
            let _ = writeln!(
                text,
                "  {:>6.1}  {:>6.1}  {:>8}  {:>8}  {}",
                pct(row.self_samples),
                pct(row.total_samples),
                self.kind.format(row.self_samples),
                self.kind.format(row.total_samples),
                row.function
            );
        }
        text
    }
}

/// Tables for all threads together, then each thread, counting the kind at `value`.
pub fn tables(profile: &Profile, value: usize, limit: usize) -> Vec<TopTable> {
    let mut tables = vec![TopTable::new(
        "all threads",
        profile,
        &profile.threads,
        value,
        limit,
    )];
    if profile.threads.len() > 1 {
        for thread in &profile.threads {
            tables.push(TopTable::new(
                &thread.label(),
                profile,
                [thread],
                value,
                limit,
            ));
        }
    }
    tables
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{folded, ProfileMeta};

    #[test]
    fn self_and_total_per_function() {
        let profile = folded::parse(
            "T (tid 1);main (a.py:1);work (a.py:5) 6\n\
             T (tid 1);main (a.py:1);work (a.py:6) 2\n\
             T (tid 1);main (a.py:2) 2\n\
             U (tid 2);main (a.py:1);rec (a.py:9);rec (a.py:9) 10\n"
                .as_bytes(),
            ProfileMeta::default(),
        )
        .unwrap();
        let all = tables(&profile, 0, 10);
        assert_eq!(all.len(), 3);
        let overall = &all[0];
        assert_eq!(overall.samples, 20);
        let row = |name: &str| {
            overall
                .rows
                .iter()
                .find(|r| r.function == name)
                .unwrap()
                .clone()
        };
        assert_eq!(row("rec (a.py)").self_samples, 10);
        assert_eq!(
            row("rec (a.py)").total_samples,
            10,
            "recursion counts once per stack"
        );
        assert_eq!(row("work (a.py)").self_samples, 8);
        assert_eq!(row("main (a.py)").self_samples, 2);
        assert_eq!(row("main (a.py)").total_samples, 20);
        assert_eq!(overall.rows[0].function, "rec (a.py)");
        let text = all[1].render();
        assert!(text.starts_with("T (tid 1): 10 samples"), "{text}");
        assert!(
            text.contains("80.0     90.0") || text.contains("80.0"),
            "{text}"
        );
    }
}
