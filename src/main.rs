//! The `rpprof` binary: parse the command line, run the subcommand, exit with its status.

use clap::Parser;

use rpprof::args::UsageError;
use rpprof::cli::{exit_with_usage_error, Cli, Command};
use rpprof::commands;
use rpprof::python::{ExitStatus, ProgramError};

fn main() {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Run(args) => commands::run::run(args),
        Command::Record(args) => commands::record::record(args),
        Command::Report(args) => commands::report::report(args),
        Command::Diff(args) => commands::diff::diff(args),
        Command::Agent(args) => commands::agent::agent(args),
    };
    match result {
        Ok(status) => status.exit(),
        Err(err) => {
            if let Some(usage) = err.downcast_ref::<UsageError>() {
                exit_with_usage_error(cli.command.name(), usage);
            }
            eprintln!("rpprof: {err:#}");
            // `python` exits 2 when it cannot open the script; other failures are 1.
            let code = if err.downcast_ref::<ProgramError>().is_some() {
                2
            } else {
                1
            };
            ExitStatus::Code(code).exit()
        }
    }
}
