//! The text report of `rpprof report --top N`: the heaviest functions, per thread and over
//! all threads, with self and total shares.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use crate::profile::{Profile, ThreadProfile};

/// One function's figures in a [`TopTable`].
#[derive(Clone, Debug, PartialEq)]
pub struct TopRow {
    /// `function (file)`, or a marker.
    pub function: String,
    /// Samples where it was the leaf.
    pub self_samples: u64,
    /// Samples where it was anywhere on the stack.
    pub total_samples: u64,
}

/// The heaviest functions of one thread (or of all threads).
#[derive(Clone, Debug, PartialEq)]
pub struct TopTable {
    /// Whose functions: a thread's label, or "all threads".
    pub title: String,
    /// Samples in all.
    pub samples: u64,
    /// Nanoseconds in all.
    pub weight_ns: u64,
    /// Rows, heaviest self time first.
    pub rows: Vec<TopRow>,
}

impl TopTable {
    /// The table of stacks from the given threads.
    pub fn new<'a>(
        title: &str,
        profile: &Profile,
        threads: impl IntoIterator<Item = &'a ThreadProfile>,
        limit: usize,
    ) -> TopTable {
        let mut figures: HashMap<String, (u64, u64)> = HashMap::new();
        let mut samples = 0;
        let mut weight_ns = 0;
        for thread in threads {
            for (stack, counts) in &thread.stacks {
                samples = counts.samples.saturating_add(samples);
                weight_ns = counts.weight_ns.saturating_add(weight_ns);
                let names: Vec<String> = stack
                    .iter()
                    .map(|&id| profile.frames.get(id).without_line().label())
                    .collect();
                if let Some(leaf) = names.last() {
                    let own = &mut figures.entry(leaf.clone()).or_default().0;
                    *own = own.saturating_add(counts.samples);
                }
                let mut seen = HashSet::new();
                for name in names {
                    if seen.insert(name.clone()) {
                        let total = &mut figures.entry(name).or_default().1;
                        *total = total.saturating_add(counts.samples);
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
        TopTable {
            title: title.to_owned(),
            samples,
            weight_ns,
            rows,
        }
    }

    /// The table as aligned text.
    pub fn render(&self, time_label: &str) -> String {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "{}: {} samples ({:.2} s {time_label})",
            self.title,
            self.samples,
            self.weight_ns as f64 / 1e9
        );
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
                row.self_samples,
                row.total_samples,
                row.function
            );
        }
        text
    }
}

/// Tables for all threads together, then each thread.
pub fn tables(profile: &Profile, limit: usize) -> Vec<TopTable> {
    let mut tables = vec![TopTable::new(
        "all threads",
        profile,
        &profile.threads,
        limit,
    )];
    if profile.threads.len() > 1 {
        for thread in &profile.threads {
            tables.push(TopTable::new(&thread.label(), profile, [thread], limit));
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
        let all = tables(&profile, 10);
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
        let text = all[1].render("cpu");
        assert!(text.starts_with("T (tid 1): 10 samples"), "{text}");
        assert!(
            text.contains("80.0     90.0") || text.contains("80.0"),
            "{text}"
        );
    }
}
