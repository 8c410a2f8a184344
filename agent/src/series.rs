//! One Pyroscope series per label set: a window whose samples carry labels
//! (`rpprof.labels`) is pushed as one profile per distinct label set, its labels added to
//! the series name (`app.cpu{env=prod,endpoint=/cart}`), so Pyroscope can select and
//! compare them as it does its own tag wrapper's.
//!
//! Bounded: at most [`MAX_SERIES`] series per window. When a window has more label sets,
//! the heaviest `MAX_SERIES - 1` keep their series and the rest join the series without
//! labels (their samples keep their labels as pprof sample labels, so nothing is lost,
//! only not indexed); how many sets were folded so is counted
//! (`rpprof_push_label_sets_folded_total`).

use std::collections::HashMap;

use flamegraph::labels::sample_labels;
use flamegraph::Profile;

/// The most series one window is pushed as.
pub const MAX_SERIES: usize = 32;

/// A label set: `(key, value)` pairs in key order.
pub type LabelPairs = Vec<(String, String)>;

/// A window split into series: each label set (the empty one first, when there) with its
/// samples; and how many label sets were folded into the empty one past the bound.
pub fn split(window: &Profile, max_series: usize) -> (Vec<(LabelPairs, Profile)>, usize) {
    let count = window.meta.count_index();
    let mut totals: HashMap<LabelPairs, u64> = HashMap::new();
    for thread in &window.threads {
        for (stack, values) in &thread.stacks {
            let total = totals.entry(labels_of(window, stack)).or_default();
            *total = total.saturating_add(values.get(count));
        }
    }
    if totals.len() <= 1 {
        let labels = totals.into_keys().next().unwrap_or_default();
        return (vec![(labels, window.clone())], 0);
    }
    let mut sets: Vec<(LabelPairs, u64)> = totals.into_iter().collect();
    sets.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let keep = max_series.max(1) - 1;
    let own: Vec<LabelPairs> = sets
        .into_iter()
        .map(|(labels, _)| labels)
        .filter(|labels| !labels.is_empty())
        .collect();
    let folded = own.len().saturating_sub(keep);
    let index: HashMap<&LabelPairs, usize> = own
        .iter()
        .take(keep)
        .enumerate()
        .map(|(i, labels)| (labels, i + 1))
        .collect();
    let mut series: Vec<Profile> = (0..=index.len())
        .map(|_| {
            let mut part = Profile::new(window.meta.clone());
            part.frames = window.frames.clone();
            part
        })
        .collect();
    for thread in &window.threads {
        let mut parts: Vec<_> = series.iter().map(|_| thread.empty_like()).collect();
        for (stack, values) in &thread.stacks {
            let at = index.get(&labels_of(window, stack)).copied().unwrap_or(0);
            parts[at].add(stack, *values);
        }
        for (part, thread) in series.iter_mut().zip(parts) {
            if !thread.stacks.is_empty() {
                part.threads.push(thread);
            }
        }
    }
    let mut labels: Vec<LabelPairs> = vec![Vec::new()];
    labels.extend(own.into_iter().take(keep));
    let out = labels
        .into_iter()
        .zip(series)
        .filter(|(_, part)| !part.is_empty())
        .map(|(labels, part)| (labels, part.compact()))
        .collect();
    (out, folded)
}

fn labels_of(profile: &Profile, stack: &[flamegraph::FrameId]) -> LabelPairs {
    sample_labels(stack, &profile.frames)
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// A label value as a series name can carry it: the characters that delimit the name's
/// labels (`{},=`) and quotes become `_`.
pub fn name_safe(value: &str) -> String {
    value
        .chars()
        .map(|c| if "{},=\"".contains(c) { '_' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use flamegraph::{Frame, ProfileMeta, Values};

    fn window(sets: usize) -> Profile {
        let mut profile = Profile::new(ProfileMeta::default());
        let f = profile.frames.intern(Frame::python("f", "a.py", 1, 1));
        profile
            .thread_mut("main", 1)
            .add(&[f], Values::from_slice(&[1, 1]));
        for n in 0..sets {
            let label = profile
                .frames
                .intern(Frame::user_label("endpoint", &format!("/{n}")));
            let values = Values::from_slice(&[10 + n as u64, 1]);
            profile.thread_mut("worker", 2).add(&[label, f], values);
        }
        profile
    }

    #[test]
    fn one_series_per_label_set_up_to_the_bound() {
        let (series, folded) = split(&window(3), MAX_SERIES);
        assert_eq!(folded, 0);
        let names: Vec<String> = series
            .iter()
            .map(|(labels, part)| format!("{labels:?}={}", part.total().get(0)))
            .collect();
        assert_eq!(
            names,
            [
                "[]=1",
                "[(\"endpoint\", \"/2\")]=12",
                "[(\"endpoint\", \"/1\")]=11",
                "[(\"endpoint\", \"/0\")]=10"
            ]
        );
        let (series, folded) = split(&window(5), 3);
        assert_eq!(
            (series.len(), folded),
            (3, 3),
            "the two heaviest and the rest"
        );
        assert_eq!(series[0].1.total().get(0), 1 + 10 + 11 + 12);
        let total: u64 = series.iter().map(|(_, p)| p.total().get(0)).sum();
        assert_eq!(total, window(5).total().get(0), "nothing is lost");
        let (series, _) = split(&window(0), MAX_SERIES);
        assert_eq!(series.len(), 1);
        assert_eq!(name_safe("a,b{c}=d"), "a_b_c__d");
    }
}
