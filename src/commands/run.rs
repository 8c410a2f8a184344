//! `rpprof run`: run a program on the embedded interpreter, without profiling.

use crate::cli::{program_or_usage_error, RunArgs};
use crate::python::{native, ExitStatus, PythonRun};

/// Runs the program and returns how it ended.
pub fn run(args: &RunArgs) -> anyhow::Result<ExitStatus> {
    let program = program_or_usage_error(&args.program, "run");
    program.check_readable()?;
    let python = PythonRun::new(program, native::add_modules);
    python
        .enter(native::install)
        .map_err(|_| anyhow::anyhow!("cannot install rpprof's module in the interpreter"))?;
    let exception = python.run_main();
    Ok(python.finish(exception))
}
