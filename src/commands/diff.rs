//! `rpprof diff`: a differential flamegraph of two profiles.

use std::path::PathBuf;

use clap::Args;
use flamegraph::diff;

use flamegraph::Format;

use crate::args::ViewArgs;
use crate::input::{keep_threads, read_merged};
use crate::output::{write_atomically, OutputTarget};
use crate::python::ExitStatus;

/// `rpprof diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier profile (pprof or folded).
    pub before: PathBuf,

    /// The later profile; the graph has its shape.
    pub after: PathBuf,

    /// Where to write the SVG.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        default_value = "diff.svg"
    )]
    pub output: PathBuf,

    /// Scale BEFORE to AFTER's total first, so that a longer or busier run does not make
    /// everything look grown.
    #[arg(long)]
    pub normalize: bool,

    /// Keep only this thread (by name); repeat for several.
    #[arg(long = "thread", value_name = "NAME")]
    pub thread_names: Vec<String>,

    /// How to view and draw the profiles.
    #[command(flatten)]
    pub view: ViewArgs,
}

/// Writes the differential flamegraph.
pub fn diff(args: &DiffArgs) -> anyhow::Result<ExitStatus> {
    let target = OutputTarget::new(&args.output, Format::named("svg"))?;
    target.check_writable()?;
    let view = args.view.view();
    let mut before = read_merged(std::slice::from_ref(&args.before))?;
    let mut after = read_merged(std::slice::from_ref(&args.after))?;
    keep_threads(&mut before, &args.thread_names)?;
    keep_threads(&mut after, &args.thread_names)?;
    let before = view.apply(&before, false);
    let after = view.apply(&after, false);
    write_atomically(&target.path, |out| {
        diff::write(
            &before,
            &after,
            args.normalize,
            view.value.as_deref(),
            &view.svg,
            out,
        )?;
        Ok(())
    })?;
    eprintln!(
        "rpprof: wrote {} ({} samples before, {} after)",
        target.path.display(),
        before.total().get(before.value_index(None)?),
        after.total().get(after.value_index(None)?)
    );
    Ok(ExitStatus::Code(0))
}
