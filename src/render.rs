//! Turning a profile into the file a user asked for: choose the view (threads split or
//! merged, lines or functions), then the format's writer.

use clap::ValueEnum;
use flamegraph::{folded, pprof, speedscope, svg, Profile, SvgOptions};

use crate::output::{write_atomically, Format, OutputTarget};

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

/// Writes the profile to one target, atomically.
pub fn write_target(
    profile: &Profile,
    target: &OutputTarget,
    options: &RenderOptions,
) -> anyhow::Result<()> {
    let viewed = view(profile, options);
    write_atomically(&target.path, |out| {
        match target.format {
            Format::Svg => svg::write(&viewed, &options.svg, out)?,
            Format::Folded => folded::write(&viewed, out)?,
            Format::Pprof => pprof::write(&viewed, out)?,
            Format::Speedscope => speedscope::write(&viewed, out)?,
        }
        Ok(())
    })
}
