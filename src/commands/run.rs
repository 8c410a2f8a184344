//! `rpprof run`, and rpprof started as `python`: run a program on the embedded interpreter,
//! without profiling, from CPython's command line (`[option] ... [-c cmd | -m mod | file |
//! -] [arg] ...`).

use std::ffi::OsString;

use anyhow::Context;
use clap::Args;

use crate::args::{ProgramArgs, UsageError};
use crate::children::ChildDelivery;
use crate::python::command_line::{self, CommandLineError, InterpreterOptions, PythonRequest};
use crate::python::{native, packages, ExitStatus, Program, ProgramError, PythonRun};
use crate::{ending, signals};

/// `rpprof run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The program to run.
    #[command(flatten)]
    pub program: ProgramArgs,
}

/// `rpprof run ARGS`: ARGS is a CPython command line; a mistake in it is reported as clap
/// reports its own (status 2).
pub fn run(args: &RunArgs) -> anyhow::Result<ExitStatus> {
    match command_line::parse(&args.program.command) {
        Ok(mut request) => {
            if let PythonRequest::Run { options, .. } = &mut request {
                options.python = options.python.take().or(args.program.python.clone());
            }
            answer(request, "rpprof run", true)
        }
        Err(err) => Err(UsageError::new(err.to_string()).into()),
    }
}

/// rpprof started with CPython's command line (`rpprof -c CODE`, `rpprof SCRIPT`, or
/// through a link named `python3`): `args` follow the program name `argv0`; a mistake in
/// them is reported with CPython's wording and status 2.
pub fn run_as_python(argv0: &str, args: &[OsString]) -> anyhow::Result<ExitStatus> {
    match command_line::parse(args) {
        Ok(request) => answer(request, argv0, false),
        // CPython refuses these at start-up, without the usage, with status 1.
        Err(err @ CommandLineError::BadXOption(_)) => {
            eprintln!("rpprof: {err}");
            Ok(ExitStatus::Code(1))
        }
        Err(err) => {
            err.print_python_usage(argv0);
            Ok(ExitStatus::Code(2))
        }
    }
}

/// Prints help or the version, or runs the program; `dump_on_sigquit` under `rpprof run`
/// (as Python, SIGQUIT keeps its default meaning).
fn answer(
    request: PythonRequest,
    argv0: &str,
    dump_on_sigquit: bool,
) -> anyhow::Result<ExitStatus> {
    match request {
        PythonRequest::Help => Ok(print_stdout(&command_line::help_text(argv0))),
        PythonRequest::Version(verbosity) => {
            Ok(print_stdout(&command_line::version_text(verbosity)))
        }
        PythonRequest::Run { options, program } => {
            // Like a script that cannot be opened: one line, status 2.
            packages::choose_python(options.python.as_deref()).map_err(ProgramError::NoPython)?;
            run_program(program, &options, dump_on_sigquit)
        }
    }
}

/// Prints `text` and a newline; status 0, or 1 when stdout is closed (`rpprof -h | head`
/// must not panic).
fn print_stdout(text: &str) -> ExitStatus {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => ExitStatus::Code(0),
        Err(_) => ExitStatus::Code(1),
    }
}

/// Runs `program` with `options` and returns how it ended. A child of `record
/// --subprocesses` or `agent --subprocesses` (see [`crate::children`]) profiles itself and
/// delivers its samples, however it ends (normally, SIGTERM, `os._exit`). With
/// `dump_on_sigquit`, SIGQUIT prints every thread's stack and the program goes on.
fn run_program(
    program: Program,
    options: &InterpreterOptions,
    dump_on_sigquit: bool,
) -> anyhow::Result<ExitStatus> {
    program.check_readable()?;
    let title = program.display_name();
    let python = PythonRun::with_options(program, options, native::add_modules);
    python
        .enter(native::install)
        .map_err(|_| anyhow::anyhow!("cannot install rpprof's module in the interpreter"))?;
    let mut watched = Vec::new();
    if let Some(delivery) = ChildDelivery::start_if_asked() {
        ending::on_end(move || {
            delivery.finish();
            Ok(())
        });
        watched.push(libc::SIGTERM);
    }
    if dump_on_sigquit {
        watched.push(libc::SIGQUIT);
    }
    // Always: the watcher also serves attach requests (`--pid`), dormant until one comes.
    crate::attach::target::set_title(&title);
    signals::watch(&watched, |signal| {
        if signal == libc::SIGQUIT {
            return crate::commands::dump::print_to_stderr();
        }
        ending::end_now_reporting();
        signals::die_by(signal);
    })
    .context("cannot watch for signals")?;
    let exception = python.run_main();
    let status = python.finish(exception);
    ending::end_now_reporting();
    Ok(status)
}
