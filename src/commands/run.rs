//! `rpprof run`: run a program on the embedded interpreter, without profiling.

use clap::Args;

use crate::args::ProgramArgs;
use crate::python::{native, ExitStatus, PythonRun};

/// `rpprof run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The program to run.
    #[command(flatten)]
    pub program: ProgramArgs,
}

/// Runs the program and returns how it ended.
pub fn run(args: &RunArgs) -> anyhow::Result<ExitStatus> {
    let program = args.program.program()?;
    program.check_readable()?;
    let python = PythonRun::new(program, native::add_modules);
    python
        .enter(native::install)
        .map_err(|_| anyhow::anyhow!("cannot install rpprof's module in the interpreter"))?;
    let exception = python.run_main();
    Ok(python.finish(exception))
}
