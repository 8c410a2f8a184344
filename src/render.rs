//! Turning a profile into the file a user asked for: choose the view (threads split or
//! merged, lines or functions, which value), then the format's writer from the format
//! table (`flamegraph::format`).

use anyhow::Context;
use clap::ValueEnum;
use flamegraph::{Profile, SvgOptions, WriteOptions};

use crate::output::{write_atomically, OutputTarget};

/// How threads appear.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ThreadsView {
    /// Each thread is a root frame of its own.
    #[default]
    Split,
    /// All threads are added together, without thread roots.
    Merged,
}

/// View and format choices.
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    /// Threads split or merged.
    pub threads: ThreadsView,
    /// One frame per function instead of per line.
    pub function: bool,
    /// The value kind shown where a format shows one (`samples` when `None`).
    pub value: Option<String>,
    /// SVG choices.
    pub svg: SvgOptions,
}

/// The profile as the options want it seen.
pub fn view(profile: &Profile, options: &RenderOptions) -> Profile {
    let mut viewed = match options.threads {
        ThreadsView::Split => profile.clone(),
        ThreadsView::Merged => profile.merged_threads(),
    };
    if options.function {
        viewed = viewed.by_function();
    }
    viewed
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
            .is_some()
            .then(|| value_index(profile, options))
            .transpose()?,
        svg: options.svg.clone(),
    };
    let viewed = view(profile, options);
    write_atomically(&target.path, |out| {
        (target.format.write)(&viewed, &write, out)
            .with_context(|| format!("cannot write {}", target.format.name))
    })
}
