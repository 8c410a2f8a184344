//! The command line: every subcommand, as clap parses it. Each subcommand's flags live with
//! the subcommand (`commands::*`); groups several share live in [`crate::args`].

use clap::{Parser, Subcommand};

use crate::commands::{agent::AgentArgs, diff::DiffArgs, dump::DumpArgs, record::RecordArgs};
use crate::commands::{ps::PsArgs, report::ReportArgs, run::RunArgs, top::TopArgs};

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
    Record(RecordArgs),
    /// Read profiles (pprof or folded), merge them, pick threads, print the heaviest
    /// functions or write any format.
    Report(ReportArgs),
    /// Run a long-lived program under always-on, low-rate sampling: rolling windows in a
    /// store, HTTP endpoints (/debug/pprof/profile, /profile, /threads, /metrics), Pyroscope push;
    /// with --pid, for a program already running under rpprof.
    Agent(AgentArgs),
    /// Draw a differential flamegraph: AFTER's shape, red where it grew since BEFORE, blue
    /// where it shrank.
    Diff(DiffArgs),
    /// Print every Python thread's current stack in a running agent or rpprof process
    /// (--pid) (file:line, state, CPU seconds), as `py-spy dump` does. Ctrl-\ (SIGQUIT) prints the same under run, record
    /// and agent.
    Dump(DumpArgs),
    /// Run a program (or watch a running agent, or a running rpprof process with --pid) and
    /// show, refreshed every second, its heaviest functions and each thread's state and
    /// CPU, as `py-spy top` does.
    Top(TopArgs),
    /// List the running rpprof processes you may attach to with --pid (record, dump, top,
    /// agent): pid, user, uptime, whether a session runs, the command line.
    Ps(PsArgs),
}

impl Command {
    /// The subcommand's name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Run(_) => "run",
            Command::Record(_) => "record",
            Command::Report(_) => "report",
            Command::Agent(_) => "agent",
            Command::Diff(_) => "diff",
            Command::Dump(_) => "dump",
            Command::Top(_) => "top",
            Command::Ps(_) => "ps",
        }
    }
}

/// Ends the process with a usage error for `subcommand`, the way clap reports its own
/// (`error: ...`, the usage line, status 2).
pub fn exit_with_usage_error(subcommand: &str, message: impl std::fmt::Display) -> ! {
    use clap::CommandFactory;
    let kind = clap::error::ErrorKind::ValueValidation;
    let mut command = Cli::command();
    command.build();
    match command.find_subcommand_mut(subcommand) {
        Some(sub) => sub.error(kind, message).exit(),
        None => command.error(kind, message).exit(),
    }
}
