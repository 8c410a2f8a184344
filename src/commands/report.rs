//! `rpprof report`: read profiles, merge them, pick threads, and print the heaviest
//! functions or write any output format.

use std::path::PathBuf;

use clap::Args;
use flamegraph::{summary, top, Format, View};

use crate::args::{format_arg, ViewArgs};
use crate::input::{keep_threads, read_merged};
use crate::output::{self, OutputTarget};
use crate::python::ExitStatus;
use crate::render;
use flamegraph::labels::GroupBy;

use super::report_labels::{split_report, LabelChoice};

/// Functions shown by `--top` when neither `--top` nor `-o` is given.
const DEFAULT_TOP: usize = 20;

/// `rpprof report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Profiles to read: pprof (gzipped or not) or folded stacks, ours or other tools'.
    /// Several are merged (threads with the same name and id add up).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Write the (merged, filtered) profile here; repeat for several outputs.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub outputs: Vec<PathBuf>,

    /// Output format, whatever the file extension.
    #[arg(short = 'f', long, value_parser = format_arg)]
    pub format: Option<&'static Format>,

    /// Keep only this thread (by name); repeat for several.
    #[arg(long = "thread", value_name = "NAME")]
    pub thread_names: Vec<String>,

    /// Print the N heaviest functions (self %, total %, samples), over all threads and per
    /// thread. The default when no -o is given (20).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub top: Option<u32>,

    /// Labels (set with `rpprof.labels`): `KEY=VALUE` keeps only the samples whose label
    /// KEY is VALUE (repeat: all must hold); `KEY` splits the report by the label's values
    /// (each value's share and heaviest functions; `-o` outputs get the value as a root
    /// under each thread, as `--group-by label:KEY`).
    #[arg(long = "label", value_name = "KEY[=VALUE]")]
    pub labels: Vec<String>,

    /// How to view and draw the profile.
    #[command(flatten)]
    pub view: ViewArgs,
}

/// Runs the report.
pub fn report(args: &ReportArgs) -> anyhow::Result<ExitStatus> {
    let targets = OutputTarget::all(&args.outputs, args.format)?;
    let mut profile = read_merged(&args.inputs)?;
    keep_threads(&mut profile, &args.thread_names)?;
    let labels = LabelChoice::parse(&args.labels)?;
    let profile = labels.filter(profile)?;
    let mut view = args.view.view();
    view.group_by = labels.group_by(&view.group_by);
    for target in &targets {
        render::write_target(&profile, target, &view)?;
        eprintln!("rpprof: wrote {}", target.path.display());
    }
    let top = args
        .top
        .map(|n| n as usize)
        .or_else(|| targets.is_empty().then_some(DEFAULT_TOP));
    if let (Some(limit), Some(key)) = (top, &labels.split) {
        let value = view.value_index(&profile)?;
        let plain = View {
            group_by: GroupBy::Nothing,
            ..view.clone()
        };
        let text = split_report(&profile, key, value, limit, |part| plain.apply(part, false))?;
        output::print_stdout(&text)?;
    } else if let Some(limit) = top {
        let viewed = view.apply(&profile, false);
        let value = view.value_index(&viewed)?;
        let text: Vec<String> = top::tables(&viewed, value, limit)
            .iter()
            .map(top::TopTable::render)
            .collect();
        let table = view.table(&profile);
        output::print_stdout(&format!(
            "{}\n{}",
            text.join("\n"),
            summary::render(&summary::summaries(&table), limit)
        ))?;
    }
    Ok(ExitStatus::Code(0))
}
