//! Per-sample labels (`endpoint=/cart`, `tenant=acme`) in a profile, and the views of them.
//!
//! A sample's labels travel as label frames ([`FrameKind::Label`]) at the root of its
//! stack, sorted by key, before any other frame: so stacks with different labels stay
//! apart through every merge, map and bound the profile knows, with nothing else to carry.
//! What each output does with them is decided here, in one place:
//! - pprof writes them as sample labels ([`sample_labels`]; `go tool pprof -tagfocus
//!   endpoint=/cart`) and reads string labels that are not rpprof's own back as label
//!   frames (also from other tools' profiles);
//! - every other view shows none of them ([`Profile::with_labels`]), unless grouped by one
//!   key (`--group-by label:endpoint`): then that key's frame stays, a root under the
//!   thread (`MainThread;endpoint=/cart;handle (app.py:9)`), and samples without the key
//!   have no such frame;
//! - [`Profile::only_label`] keeps the samples with one value (`report --label KEY=VALUE`),
//!   [`Profile::label_values`] lists a key's values with their totals
//!   (`report --label KEY`).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::str::FromStr;

use crate::frame::{Frame, FrameId, FrameKind, FrameTable};
use crate::profile::Profile;
use crate::value::Values;

impl Frame {
    /// The label frame of `key=value`.
    pub fn user_label(key: &str, value: &str) -> Frame {
        Frame {
            function: key.to_owned(),
            file: value.to_owned(),
            line: 0,
            start_line: 0,
            kind: FrameKind::Label,
        }
    }

    /// `(key, value)` when this is a label frame.
    pub fn as_label(&self) -> Option<(&str, &str)> {
        (self.kind == FrameKind::Label).then_some((self.function.as_str(), self.file.as_str()))
    }
}

/// How many of a stack's first frames are label frames.
pub fn label_prefix(stack: &[FrameId], frames: &FrameTable) -> usize {
    stack
        .iter()
        .take_while(|&&id| frames.get(id).kind == FrameKind::Label)
        .count()
}

/// A stack's labels as `(key, value)` pairs, in key order.
pub fn sample_labels<'a>(
    stack: &[FrameId],
    frames: &'a FrameTable,
) -> impl Iterator<Item = (&'a str, &'a str)> {
    stack[..label_prefix(stack, frames)]
        .iter()
        .filter_map(|&id| frames.get(id).as_label())
        .collect::<Vec<_>>()
        .into_iter()
}

/// Which labels a view shows: none (the default), or one key's as a root under each
/// thread (`--group-by label:KEY`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum GroupBy {
    /// No label frames.
    #[default]
    Nothing,
    /// The frame of this key's label.
    Label(String),
}

impl FromStr for GroupBy {
    type Err = String;

    fn from_str(text: &str) -> Result<GroupBy, String> {
        match text.strip_prefix("label:") {
            Some(key) if !key.is_empty() => Ok(GroupBy::Label(key.to_owned())),
            _ => Err(format!(
                "`{text}` is not a grouping: use label:KEY (e.g. label:endpoint)"
            )),
        }
    }
}

impl Profile {
    /// True when some stack carries labels.
    pub fn has_labels(&self) -> bool {
        self.frames.iter().any(|(_, f)| f.kind == FrameKind::Label)
    }

    /// The profile as a view shows labels: every label frame kept for a format that keeps
    /// labels (`labels_as_labels`: pprof), else only those of the grouped key (none by
    /// default). Borrowed when there is nothing to change.
    pub fn with_labels(&self, group_by: &GroupBy, labels_as_labels: bool) -> Cow<'_, Profile> {
        if labels_as_labels || !self.has_labels() {
            return Cow::Borrowed(self);
        }
        let key = match group_by {
            GroupBy::Nothing => None,
            GroupBy::Label(key) => Some(key.as_str()),
        };
        Cow::Owned(self.filter_stacks(|stack, frames| {
            let prefix = label_prefix(stack, frames);
            let kept = stack[..prefix]
                .iter()
                .filter(|&&id| frames.get(id).as_label().map(|(k, _)| k) == key && key.is_some());
            Some(kept.chain(&stack[prefix..]).copied().collect())
        }))
    }

    /// Only the samples whose label `key` is `value` (`None`: that have no label `key`).
    pub fn only_label(&self, key: &str, value: Option<&str>) -> Profile {
        self.filter_stacks(|stack, frames| {
            let found = sample_labels(stack, frames).find(|(k, _)| *k == key);
            (found.map(|(_, v)| v) == value).then(|| stack.to_vec())
        })
    }

    /// The values label `key` takes, with their totals, heaviest first by value kind
    /// `index`; samples without the key are under `None`.
    pub fn label_values(&self, key: &str, index: usize) -> Vec<(Option<String>, Values)> {
        let mut totals: BTreeMap<Option<String>, Values> = BTreeMap::new();
        for thread in &self.threads {
            for (stack, values) in &thread.stacks {
                let value = sample_labels(stack, &self.frames)
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v.to_owned());
                totals.entry(value).or_default().add(values);
            }
        }
        let mut list: Vec<_> = totals.into_iter().collect();
        list.sort_by(|a, b| b.1.get(index).cmp(&a.1.get(index)).then(a.0.cmp(&b.0)));
        list
    }

    /// The same profile with each stack replaced by `map(stack)` (`None` drops it); stacks
    /// that become equal merge. Frames are kept as they are.
    fn filter_stacks(
        &self,
        map: impl Fn(&[FrameId], &FrameTable) -> Option<Vec<FrameId>>,
    ) -> Profile {
        let mut out = Profile::new(self.meta.clone());
        out.frames = self.frames.clone();
        out.timeline = self.timeline.clone();
        for thread in &self.threads {
            let mut target = thread.empty_like();
            for (stack, values) in &thread.stacks {
                if let Some(stack) = map(stack, &self.frames) {
                    target.add(&stack, *values);
                }
            }
            out.threads.push(target);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ProfileMeta;

    fn labelled() -> Profile {
        let mut profile = Profile::new(ProfileMeta::default());
        let cart = profile
            .frames
            .intern(Frame::user_label("endpoint", "/cart"));
        let home = profile.frames.intern(Frame::user_label("endpoint", "/"));
        let acme = profile.frames.intern(Frame::user_label("tenant", "acme"));
        let handle = profile
            .frames
            .intern(Frame::python("handle", "app.py", 9, 1));
        let thread = profile.thread_mut("worker", 7);
        thread.add(&[cart, acme, handle], Values::from_slice(&[3, 30]));
        thread.add(&[home, acme, handle], Values::from_slice(&[1, 10]));
        thread.add(&[handle], Values::from_slice(&[2, 20]));
        profile
    }

    fn stacks(profile: &Profile) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = profile.threads[0]
            .stacks
            .iter()
            .map(|(stack, values)| {
                let labels: Vec<String> = stack
                    .iter()
                    .map(|&id| profile.frames.get(id).label())
                    .collect();
                (labels.join(";"), values.get(0))
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn views_show_no_labels_or_the_grouped_key() {
        let profile = labelled();
        assert_eq!(
            stacks(&profile.with_labels(&GroupBy::Nothing, false)),
            [("handle (app.py:9)".to_owned(), 6)]
        );
        let grouped = profile.with_labels(&"label:endpoint".parse().unwrap(), false);
        assert_eq!(
            stacks(&grouped),
            [
                ("endpoint=/;handle (app.py:9)".to_owned(), 1),
                ("endpoint=/cart;handle (app.py:9)".to_owned(), 3),
                ("handle (app.py:9)".to_owned(), 2),
            ]
        );
        assert_eq!(
            stacks(&profile.with_labels(&GroupBy::Nothing, true)).len(),
            3
        );
        assert!("endpoint".parse::<GroupBy>().is_err());
    }

    #[test]
    fn filters_and_values() {
        let profile = labelled();
        assert_eq!(
            profile.only_label("endpoint", Some("/cart")).total().get(0),
            3
        );
        assert_eq!(profile.only_label("tenant", None).total().get(0), 2);
        let values = profile.label_values("endpoint", 0);
        let shares: Vec<(Option<&str>, u64)> = values
            .iter()
            .map(|(v, t)| (v.as_deref(), t.get(0)))
            .collect();
        assert_eq!(shares, [(Some("/cart"), 3), (None, 2), (Some("/"), 1)]);
    }
}
