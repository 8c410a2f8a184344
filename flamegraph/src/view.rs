//! What a profile looks like in one output: the [`View`]. Threads split, grouped or merged,
//! a label's values as roots, asyncio tasks as frames or not, lines or functions, the value
//! kind shown, the SVG's looks, and gzip. The command line (`record`, `report`, `diff`),
//! `rpprof.write()` and every agent endpoint fill one in and write through it, so a profile
//! looks the same whichever way it is asked for.

use std::io::Write;

use crate::format::Format;
use crate::groups::ThreadsView;
use crate::labels::GroupBy;
use crate::options::{SvgOptions, WriteOptions};
use crate::profile::Profile;
use crate::ProfileError;

/// View choices; the default is what `--threads auto` and no other flag draw.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct View {
    /// Threads split, grouped or merged.
    pub threads: ThreadsView,
    /// One frame per function instead of per line.
    pub function: bool,
    /// A `task NAME` frame under the thread for samples taken in an asyncio task; formats
    /// that keep tasks as labels (pprof) have them either way.
    pub tasks: bool,
    /// The value kind shown where a format shows one, by name (each format's own default
    /// when `None`: the time, or `samples`).
    pub value: Option<String>,
    /// Which labels formats other than pprof show (none by default).
    pub group_by: GroupBy,
    /// SVG choices.
    pub svg: SvgOptions,
}

impl View {
    /// The profile as this view shows it in a format. A format with
    /// `threads_as_labels` (pprof) gets every thread with its group noted instead of grouped
    /// threads, and every sample's labels and tasks; the others get the labels `group_by`
    /// asks for, or none. The samples in time order stay as recorded, one track per thread.
    pub fn apply(&self, profile: &Profile, threads_as_labels: bool) -> Profile {
        let labelled = profile.with_labels(&self.group_by, threads_as_labels);
        let mut viewed = if self.tasks || threads_as_labels {
            labelled.with_threads(self.threads, threads_as_labels)
        } else {
            labelled
                .without_tasks()
                .with_threads(self.threads, threads_as_labels)
        };
        if self.function {
            viewed = viewed.by_function();
        }
        viewed.timeline = profile.timeline.clone();
        viewed
    }

    /// The profile as the per-thread summary table shows it: thread groups as the view has
    /// them, but never all threads merged into one row, and always per line.
    pub fn table(&self, profile: &Profile) -> Profile {
        match self.threads {
            ThreadsView::Merged | ThreadsView::Split => {
                profile.with_labels(&GroupBy::Nothing, false).into_owned()
            }
            ThreadsView::Auto | ThreadsView::Grouped => View {
                function: false,
                ..self.clone()
            }
            .apply(profile, false),
        }
    }

    /// The index of the value kind the view shows in `profile` (`samples` when it names
    /// none); an error names the kinds there are.
    pub fn value_index(&self, profile: &Profile) -> Result<usize, ProfileError> {
        profile.value_index(self.value.as_deref())
    }

    /// Writes `profile` in `format` as this view shows it, gzipped when `gzip`.
    pub fn write(
        &self,
        profile: &Profile,
        format: &Format,
        gzip: bool,
        out: &mut dyn Write,
    ) -> Result<(), ProfileError> {
        let options = WriteOptions {
            value: self
                .value
                .as_deref()
                .map(|name| profile.value_index(Some(name)))
                .transpose()?,
            svg: self.svg.clone(),
        };
        let viewed = self.apply(profile, format.threads_as_labels);
        if gzip {
            let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
            (format.write)(&viewed, &options, &mut gz)?;
            gz.finish()?;
            Ok(())
        } else {
            (format.write)(&viewed, &options, out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{folded, ProfileMeta};

    fn pool() -> Profile {
        let mut text = String::new();
        for i in 0..5 {
            text.push_str(&format!(
                "pool_{i} (tid {});task (a.py:{}) 3\n",
                10 + i,
                i + 1
            ));
        }
        text.push_str("MainThread (tid 1);main (a.py:3) 1\n");
        folded::parse(text.as_bytes(), ProfileMeta::default()).unwrap()
    }

    #[test]
    fn threads_group_in_flamegraphs_and_stay_labels_in_pprof() {
        let view = View::default();
        let drawn = view.apply(&pool(), false);
        assert_eq!(drawn.threads.len(), 2, "the pool is one root");
        let labelled = view.apply(&pool(), true);
        assert_eq!(labelled.threads.len(), 6, "pprof keeps every thread");
        let by_function = View {
            function: true,
            ..View::default()
        };
        let table = by_function.table(&pool());
        assert_eq!(table.frames.iter().filter(|(_, f)| f.line > 0).count(), 6);
    }

    #[test]
    fn a_named_value_must_exist_and_gzip_is_gzip() {
        let view = View {
            value: Some("inuse_space".into()),
            ..View::default()
        };
        let svg = Format::parse("svg").unwrap();
        let err = view
            .write(&pool(), svg, false, &mut Vec::new())
            .unwrap_err();
        assert!(err.to_string().contains("--alloc"), "{err}");
        let mut out = Vec::new();
        View::default()
            .write(&pool(), Format::parse("folded").unwrap(), true, &mut out)
            .unwrap();
        assert!(out.starts_with(&[0x1f, 0x8b]));
    }
}
