//! What `rpprof top` shows, kept between refreshes: the latest slice, each function's
//! figures added up since the start, each thread's CPU use over the last refresh, the sort
//! order and the thread filter. No terminal here: [`super::ui`] draws it.

use std::collections::{HashMap, HashSet};

use session::{TopSlice, TopThread};

/// The thread the figures of threads that have ended are kept under (no tid is negative).
const ENDED: i32 = -1;

/// The column rows are sorted by (keys 1 to 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortBy {
    /// Self samples in the last slice.
    SelfNow,
    /// Total samples in the last slice.
    TotalNow,
    /// Self time since the start.
    SelfAll,
    /// Total time since the start.
    TotalAll,
}

/// One function row.
#[derive(Clone, Debug, PartialEq)]
pub struct FunctionRow {
    /// `function (file)`.
    pub function: String,
    /// Share of the last slice's samples where it was the leaf, in percent.
    pub self_pct: f64,
    /// Share of the last slice's samples where it was on the stack, in percent.
    pub total_pct: f64,
    /// Seconds as the leaf since the start.
    pub self_s: f64,
    /// Seconds on the stack since the start.
    pub total_s: f64,
}

/// One thread row.
#[derive(Clone, Debug, PartialEq)]
pub struct ThreadRow {
    /// `name (tid N)`.
    pub label: String,
    /// `running`, `idle` or `exited`.
    pub state: String,
    /// CPU used over the last refresh, in percent of one core.
    pub cpu_pct: f64,
    /// CPU seconds since it started.
    pub cpu_s: f64,
    /// True when the function table shows only this thread.
    pub selected: bool,
}

/// The view's state.
#[derive(Debug)]
pub struct TopModel {
    latest: TopSlice,
    /// Per (tid, function): self and total samples since the start.
    cumulative: HashMap<(i32, String), (u64, u64)>,
    cpu_before: HashMap<i32, u64>,
    cpu_pct: HashMap<i32, f64>,
    /// Thread labels by tid, including threads that have gone.
    names: Vec<(i32, String)>,
    /// Samples in all since the start.
    pub samples: u64,
    /// Slices seen.
    pub slices: u64,
    /// The sort column.
    pub sort: SortBy,
    /// Only this thread's functions, when set.
    pub filter: Option<i32>,
}

impl Default for TopModel {
    fn default() -> Self {
        TopModel::new()
    }
}

impl TopModel {
    /// An empty view, sorted by self samples now, all threads.
    pub fn new() -> TopModel {
        TopModel {
            latest: TopSlice::default(),
            cumulative: HashMap::new(),
            cpu_before: HashMap::new(),
            cpu_pct: HashMap::new(),
            names: Vec::new(),
            samples: 0,
            slices: 0,
            sort: SortBy::SelfNow,
            filter: None,
        }
    }

    /// Takes a slice in; `wall_ns` is the time since the previous update. A slice seen
    /// already (an agent asked twice within its second) updates states and CPU only.
    pub fn update(&mut self, slice: TopSlice, wall_ns: u64) {
        let new = slice.start_unix_ns != self.latest.start_unix_ns || self.slices == 0;
        for thread in &slice.threads {
            let before = self.cpu_before.insert(thread.tid, thread.cpu_ns);
            let used = before.map_or(0, |b| thread.cpu_ns.saturating_sub(b));
            self.cpu_pct
                .insert(thread.tid, 100.0 * used as f64 / wall_ns.max(1) as f64);
            let label = label(thread);
            match self.names.iter_mut().find(|(tid, _)| *tid == thread.tid) {
                Some(entry) => entry.1 = label,
                None => self.names.push((thread.tid, label)),
            }
            if new {
                for f in &thread.functions {
                    let sums = self
                        .cumulative
                        .entry((thread.tid, f.function.clone()))
                        .or_default();
                    sums.0 += f.self_samples;
                    sums.1 += f.total_samples;
                }
            }
        }
        if new {
            self.forget_threads_not_in(&slice);
            self.slices += 1;
            self.samples += slice
                .threads
                .iter()
                .flat_map(|t| &t.functions)
                .map(|f| f.self_samples)
                .sum::<u64>();
        }
        self.latest = slice;
    }

    /// Lets go of the threads `slice` no longer lists (a thread per request is a new
    /// thread a request: kept, they grew the view for as long as it ran). Their figures
    /// stay in the all-threads sums, under [`ENDED`].
    fn forget_threads_not_in(&mut self, slice: &TopSlice) {
        let listed: HashSet<i32> = slice.threads.iter().map(|t| t.tid).collect();
        let keep = |tid: &i32| listed.contains(tid);
        self.cpu_before.retain(|tid, _| keep(tid));
        self.cpu_pct.retain(|tid, _| keep(tid));
        let filter = self.filter;
        self.names
            .retain(|(tid, _)| keep(tid) || filter == Some(*tid));
        let gone: Vec<(i32, String)> = self
            .cumulative
            .keys()
            .filter(|(tid, _)| *tid != ENDED && !keep(tid))
            .cloned()
            .collect();
        for key in gone {
            let (own, total) = self.cumulative.remove(&key).unwrap_or_default();
            let sums = self.cumulative.entry((ENDED, key.1)).or_default();
            sums.0 += own;
            sums.1 += total;
        }
    }

    /// The latest slice.
    pub fn latest(&self) -> &TopSlice {
        &self.latest
    }

    /// Shows the next thread's functions alone (after the last, all threads again).
    pub fn next_filter(&mut self) {
        let tids: Vec<i32> = self.latest.threads.iter().map(|t| t.tid).collect();
        self.filter = match self.filter {
            None => tids.first().copied(),
            Some(current) => match tids.iter().position(|&t| t == current) {
                Some(i) => tids.get(i + 1).copied(),
                None => tids.first().copied(),
            },
        };
    }

    /// The label of the thread the filter shows, if any.
    pub fn filter_label(&self) -> Option<&str> {
        let tid = self.filter?;
        self.names
            .iter()
            .find(|(t, _)| *t == tid)
            .map(|(_, name)| name.as_str())
    }

    /// The thread rows, in the order the slice lists them.
    pub fn threads(&self) -> Vec<ThreadRow> {
        self.latest
            .threads
            .iter()
            .map(|t| ThreadRow {
                label: label(t),
                state: t.state.clone(),
                cpu_pct: self.cpu_pct.get(&t.tid).copied().unwrap_or(0.0),
                cpu_s: t.cpu_ns as f64 / 1e9,
                selected: self.filter == Some(t.tid),
            })
            .collect()
    }

    /// The function rows of the shown threads, sorted.
    pub fn functions(&self) -> Vec<FunctionRow> {
        let shown = |tid: i32| self.filter.is_none_or(|f| f == tid);
        let period_s = match self.latest.rate_hz {
            0 => 0.01,
            hz => 1.0 / f64::from(hz),
        };
        let mut now: HashMap<&str, (u64, u64)> = HashMap::new();
        let mut slice_samples = 0u64;
        for thread in self.latest.threads.iter().filter(|t| shown(t.tid)) {
            for f in &thread.functions {
                let sums = now.entry(f.function.as_str()).or_default();
                sums.0 += f.self_samples;
                sums.1 += f.total_samples;
                slice_samples += f.self_samples;
            }
        }
        let mut all: HashMap<&str, (u64, u64)> = HashMap::new();
        for ((tid, function), (own, total)) in &self.cumulative {
            if shown(*tid) {
                let sums = all.entry(function.as_str()).or_default();
                sums.0 += own;
                sums.1 += total;
            }
        }
        let pct = |n: u64| 100.0 * n as f64 / slice_samples.max(1) as f64;
        let mut rows: Vec<FunctionRow> = all
            .iter()
            .map(|(&function, &(own, total))| {
                let (own_now, total_now) = now.get(function).copied().unwrap_or((0, 0));
                FunctionRow {
                    function: function.to_owned(),
                    self_pct: pct(own_now),
                    total_pct: pct(total_now),
                    self_s: own as f64 * period_s,
                    total_s: total as f64 * period_s,
                }
            })
            .collect();
        let key = |r: &FunctionRow| match self.sort {
            SortBy::SelfNow => (r.self_pct, r.self_s),
            SortBy::TotalNow => (r.total_pct, r.total_s),
            SortBy::SelfAll => (r.self_s, r.self_pct),
            SortBy::TotalAll => (r.total_s, r.total_pct),
        };
        rows.sort_by(|a, b| {
            key(b)
                .partial_cmp(&key(a))
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| a.function.cmp(&b.function))
        });
        rows
    }
}

fn label(thread: &TopThread) -> String {
    format!("{} (tid {})", thread.name, thread.tid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use session::TopFunction;

    fn slice(start: u64, spin_cpu: u64, spin: u64) -> TopSlice {
        let f = |name: &str, own, total| TopFunction {
            function: name.to_owned(),
            self_samples: own,
            total_samples: total,
        };
        TopSlice {
            start_unix_ns: start,
            duration_ns: 1_000_000_000,
            rate_hz: 100,
            mode: "cpu".into(),
            threads: vec![
                TopThread {
                    name: "MainThread".into(),
                    tid: 1,
                    state: "idle".into(),
                    cpu_ns: 0,
                    functions: vec![f("main (a.py)", 0, 10), f("work (a.py)", 10, 10)],
                },
                TopThread {
                    name: "spinner".into(),
                    tid: 2,
                    state: "running".into(),
                    cpu_ns: spin_cpu,
                    functions: vec![f("spin (a.py)", spin, spin)],
                },
            ],
        }
    }

    #[test]
    fn slices_add_up_and_sort_and_filter() {
        let mut model = TopModel::new();
        model.update(slice(1, 0, 30), 1_000_000_000);
        model.update(slice(2, 500_000_000, 90), 1_000_000_000);
        // The same slice again (an agent asked twice): not counted twice.
        model.update(slice(2, 500_000_000, 90), 1_000_000_000);
        let rows = model.functions();
        assert_eq!(rows[0].function, "spin (a.py)");
        assert!((rows[0].self_pct - 90.0).abs() < 1e-9, "{rows:?}");
        assert!((rows[0].self_s - 1.2).abs() < 1e-9, "{rows:?}");
        model.sort = SortBy::TotalAll;
        assert_eq!(model.functions()[0].function, "spin (a.py)");
        let threads = model.threads();
        assert_eq!(threads[1].label, "spinner (tid 2)");
        assert_eq!(
            threads[1].cpu_pct, 0.0,
            "no CPU used since the last refresh"
        );

        model.next_filter();
        assert_eq!(model.filter_label(), Some("MainThread (tid 1)"));
        let rows = model.functions();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].function, "main (a.py)",
            "sorted by total since the start"
        );
        model.next_filter();
        model.next_filter();
        assert_eq!(
            model.filter, None,
            "after the last thread, all threads again"
        );
    }

    #[test]
    fn threads_that_end_leave_their_figures_but_not_themselves() {
        let mut model = TopModel::new();
        for start in 1..=1_000u64 {
            let mut next = slice(start, 0, 3);
            // A new request thread each slice, gone by the next.
            next.threads[1].tid = start as i32 + 1;
            model.update(next, 1_000_000_000);
        }
        assert!(model.cumulative.len() <= 5, "{:?}", model.cumulative.len());
        assert!(model.cpu_before.len() <= 2 && model.names.len() <= 2);
        let spin = model.functions();
        let spin = spin.iter().find(|r| r.function == "spin (a.py)").unwrap();
        assert!(
            (spin.self_s - 30.0).abs() < 1e-9,
            "every slice's samples: {spin:?}"
        );
    }
}
