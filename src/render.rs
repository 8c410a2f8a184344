//! Turning a profile into the file a user asked for: choose the view (threads split or
//! merged, lines or functions, asyncio tasks or not, which value), then the format's writer from the format
//! table (`flamegraph::format`).

use anyhow::Context;
use flamegraph::groups::ThreadsView;
use flamegraph::labels::GroupBy;
use flamegraph::{Profile, SvgOptions, WriteOptions};

use crate::output::{write_atomically, OutputTarget};

/// View and format choices.
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    /// Threads split or merged.
    pub threads: ThreadsView,
    /// One frame per function instead of per line.
    pub function: bool,
    /// A `task NAME` frame under the thread for samples taken in an asyncio task (`--async`);
    /// formats that keep tasks as labels (pprof) have them either way.
    pub tasks: bool,
    /// The value kind shown where a format shows one (`samples` when `None`).
    pub value: Option<String>,
    /// Which labels views other than pprof show (none by default).
    pub group_by: GroupBy,
    /// SVG choices.
    pub svg: SvgOptions,
}

/// The profile as the options want it seen. `threads_as_labels` is the format's
/// (`Format::threads_as_labels`): such a format gets every thread with its group noted
/// instead of grouped threads, and every sample's labels; the others get the labels
/// `--group-by` asks for, or none.
pub fn view(profile: &Profile, options: &RenderOptions, threads_as_labels: bool) -> Profile {
    let labelled = profile.with_labels(&options.group_by, threads_as_labels);
    let mut viewed = if options.tasks || threads_as_labels {
        labelled.with_threads(options.threads, threads_as_labels)
    } else {
        labelled
            .without_tasks()
            .with_threads(options.threads, threads_as_labels)
    };
    if options.function {
        viewed = viewed.by_function();
    }
    // The samples in time order stay as recorded, one track per thread.
    viewed.timeline = profile.timeline.clone();
    viewed
}

/// The profile as the per-thread summary table shows it: thread groups as the view has
/// them, but never all threads merged into one row.
pub fn table_view(profile: &Profile, options: &RenderOptions) -> Profile {
    match options.threads {
        ThreadsView::Merged | ThreadsView::Split => {
            profile.with_labels(&GroupBy::Nothing, false).into_owned()
        }
        ThreadsView::Auto | ThreadsView::Grouped => view(
            profile,
            &RenderOptions {
                function: false,
                ..options.clone()
            },
            false,
        ),
    }
}

/// The index of the value kind the options ask for, in `profile`; an error names the kinds
/// there are.
pub fn value_index(profile: &Profile, options: &RenderOptions) -> anyhow::Result<usize> {
    Ok(profile.value_index(options.value.as_deref())?)
}

/// Writes the profile to one target, atomically.
pub fn write_target(
    profile: &Profile,
    target: &OutputTarget,
    options: &RenderOptions,
) -> anyhow::Result<()> {
    let write = WriteOptions {
        value: options
            .value
            .as_deref()
            .map(|name| profile.value_index(Some(name)))
            .transpose()?,
        svg: options.svg.clone(),
    };
    let viewed = view(profile, options, target.format.threads_as_labels);
    let gzip = target.format.gzip_for(&target.path);
    write_atomically(&target.path, |out| {
        let written = if gzip {
            let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
            (target.format.write)(&viewed, &write, &mut gz)
                .and_then(|()| Ok(gz.finish().map(drop)?))
        } else {
            (target.format.write)(&viewed, &write, out)
        };
        written.with_context(|| format!("cannot write {}", target.format.name))
    })
}
