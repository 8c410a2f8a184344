//! `rpprof run`: run a program on the embedded interpreter, without profiling.

use crate::cli::{program_or_usage_error, RunArgs};
use crate::python::{ExitStatus, PythonRun};

/// Runs the program and returns how it ended.
pub fn run(args: &RunArgs) -> anyhow::Result<ExitStatus> {
    let program = program_or_usage_error(&args.program, "run");
    program.check_readable()?;
    let python = PythonRun::new(program, |builder| builder);
    let exception = python.run_main();
    Ok(python.finish(exception))
}
