//! The command line: every subcommand and its flags, as clap parses them.

use clap::{Args, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;

use crate::python::Program;
use crate::render::{RenderOptions, ThreadsView};
use flamegraph::SvgOptions;

/// A signal-driven, thread-aware sampling profiler for Python.
#[derive(Debug, Parser)]
#[command(name = "rpprof", version, about, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a Python program on the embedded interpreter, as `python` would.
    ///
    /// Takes CPython's command line: `[option] ... [-c cmd | -m mod | file | -] [arg] ...`
    /// (`rpprof run -h` lists nothing more; `rpprof -h` under a `python3` link does).
    /// `rpprof ARGS` and a link named `python3` do the same when ARGS do not start with a
    /// subcommand.
    Run(RunArgs),
    /// Run a Python program and record where each of its threads spends its time.
    Record(crate::commands::record::RecordArgs),
    /// Read profiles (pprof or folded), merge them, pick threads, print the heaviest
    /// functions or write any format.
    Report(crate::commands::report::ReportArgs),
    /// Run a long-lived program under always-on, low-rate sampling: rolling windows in a
    /// store, HTTP endpoints (/debug/pprof/profile, /profile, /threads, /metrics), Pyroscope push.
    Agent(crate::commands::agent::AgentArgs),
    /// Draw a differential flamegraph: AFTER's shape, red where it grew since BEFORE, blue
    /// where it shrank.
    Diff(crate::commands::diff::DiffArgs),
}

/// `rpprof run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The program to run.
    #[command(flatten)]
    pub program: ProgramArgs,
}

/// How a profile is viewed and drawn; shared by `record`, `report` and `diff`.
#[derive(Debug, Args)]
pub struct ViewArgs {
    /// One flamegraph root per thread (split), or all threads added together (merged).
    #[arg(long, value_enum, default_value_t = ThreadsView::Split)]
    pub threads: ThreadsView,

    /// One frame per function instead of one per line.
    #[arg(long)]
    pub function: bool,

    /// SVG title (default: "rpprof: " and the program's name).
    #[arg(long)]
    pub title: Option<String>,

    /// SVG: draw an icicle graph (roots at the top) instead of a flame graph.
    #[arg(long)]
    pub icicle: bool,

    /// SVG: image width in pixels.
    #[arg(long, value_name = "PIXELS", value_parser = clap::value_parser!(u32).range(100..=100_000))]
    pub width: Option<u32>,

    /// SVG: leave out frames narrower than this many pixels.
    #[arg(long, value_name = "PIXELS", default_value_t = 1.2, value_parser = parse_min_width)]
    pub min_width: f64,
}

impl ViewArgs {
    /// The render options these flags ask for.
    pub fn render_options(&self) -> RenderOptions {
        RenderOptions {
            threads: self.threads,
            function: self.function,
            svg: SvgOptions {
                title: self.title.clone(),
                icicle: self.icicle,
                width: self.width.map(|w| w as usize),
                min_width: self.min_width,
            },
        }
    }
}

fn parse_min_width(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && (0.0..=1000.0).contains(&value) => Ok(value),
        _ => Err(format!("`{text}` is not a width between 0 and 1000 pixels")),
    }
}

/// The program part of a command line: `SCRIPT [ARGS...]`, `-m MODULE [ARGS...]` or
/// `-c CODE [ARGS...]`, exactly as `python` takes it. Everything after the script, module or
/// code belongs to the program, flags included.
#[derive(Debug, Args)]
pub struct ProgramArgs {
    /// The program: `SCRIPT [ARGS...]`, `-m MODULE [ARGS...]` or `-c CODE [ARGS...]`.
    #[arg(
        value_name = "SCRIPT | -m MODULE | -c CODE",
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required = true
    )]
    pub command: Vec<OsString>,
}

impl ProgramArgs {
    /// The [`Program`] these arguments name, or a message saying what is wrong with them.
    pub fn program(&self) -> Result<Program, String> {
        let (first_os, rest_os) = self
            .command
            .split_first()
            .ok_or_else(|| "a script, -m MODULE or -c CODE is required".to_owned())?;
        // The script's path may be any bytes; everything else becomes Python str.
        let first = first_os.to_string_lossy().into_owned();
        let rest: Vec<String> = rest_os
            .iter()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect();
        let attached_or_next = |flag: &str| -> Result<(String, Vec<String>), String> {
            match first.strip_prefix(flag).filter(|v| !v.is_empty()) {
                Some(value) => Ok((value.to_owned(), rest.to_vec())),
                None => rest
                    .split_first()
                    .map(|(value, args)| (value.clone(), args.to_vec()))
                    .ok_or_else(|| format!("argument expected for the {flag} option")),
            }
        };
        if first.starts_with("-m") {
            let (name, args) = attached_or_next("-m")?;
            Ok(Program::Module { name, args })
        } else if first.starts_with("-c") {
            let (source, args) = attached_or_next("-c")?;
            Ok(Program::Code { source, args })
        } else if first == "-" {
            Ok(Program::Stdin { args: rest })
        } else if first.starts_with('-') {
            Err(format!("unknown option {first}"))
        } else {
            Ok(Program::Script {
                path: PathBuf::from(first_os),
                args: rest,
            })
        }
    }
}

/// The program `args` name; a problem with them ends the process with clap's usage error
/// for `subcommand` (exit status 2), as clap reports its own.
pub fn program_or_usage_error(args: &ProgramArgs, subcommand: &str) -> Program {
    args.program().unwrap_or_else(|message| {
        usage_error(subcommand, clap::error::ErrorKind::ValueValidation, message)
    })
}

/// Ends the process with a usage error for `subcommand`, the way clap reports its own.
pub fn usage_error(
    subcommand: &str,
    kind: clap::error::ErrorKind,
    message: impl std::fmt::Display,
) -> ! {
    use clap::CommandFactory;
    let mut command = Cli::command();
    command.build();
    match command.find_subcommand_mut(subcommand) {
        Some(sub) => sub.error(kind, message).exit(),
        None => command.error(kind, message).exit(),
    }
}
