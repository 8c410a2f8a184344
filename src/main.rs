//! The `rpprof` binary: decide whether it was started as rpprof or as a Python interpreter,
//! parse the command line, run, exit with the program's status.

use std::ffi::OsString;
use std::path::Path;

use clap::{CommandFactory, Parser};

use rpprof::args::UsageError;
use rpprof::cli::{exit_with_usage_error, Cli, Command};
use rpprof::commands;
use rpprof::python::{ExitStatus, ProgramError};

mod main_stack;
mod malloc_threshold;

/// The program's allocator: mimalloc (feature `mimalloc`, off by default) or the system's,
/// wrapped by the allocation sampler (which costs one thread-local decrement per allocation
/// while no allocation profile is recorded).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: sampler::alloc::SamplingAllocator<mimalloc::MiMalloc> =
    sampler::alloc::SamplingAllocator::new(mimalloc::MiMalloc);

/// Without the `mimalloc` feature: the system's allocator, wrapped the same way.
#[cfg(not(feature = "mimalloc"))]
#[global_allocator]
static ALLOCATOR: sampler::alloc::SamplingAllocator<std::alloc::System> =
    sampler::alloc::SamplingAllocator::new(std::alloc::System);

fn main() {
    // Before anything allocates much (see there).
    malloc_threshold::fix_malloc_mmap_threshold();
    // First, while this is the only thread: the locale decides the program's text encoding.
    rpprof::python::locale::adopt_user_locale();
    let args: Vec<OsString> = std::env::args_os().collect();
    let (subcommand, result) = if started_as_python(&args) {
        let argv0 = args
            .first()
            .map(|arg| arg.to_string_lossy().into_owned())
            .unwrap_or_else(|| "python".to_owned());
        let ran = commands::run::run_as_python(&argv0, args.get(1..).unwrap_or_default());
        ("run", ran)
    } else {
        let cli = Cli::parse_from(&args);
        let ran = match &cli.command {
            Command::Run(args) => commands::run::run(args),
            Command::Record(args) => match args.program.pid {
                Some(pid) => commands::record_pid::record_pid(args, pid),
                None => commands::record::record(args),
            },
            Command::Report(args) => commands::report::report(args),
            Command::Diff(args) => commands::diff::diff(args),
            Command::Agent(args) => match args.program.pid {
                Some(pid) => commands::agent_pid::agent_pid(args, pid),
                None => commands::agent::agent(args),
            },
            Command::Dump(args) => commands::dump::dump(args),
            Command::Top(args) => commands::top::top(args),
            Command::Ps(args) => commands::ps::ps(args),
        };
        (cli.command.name(), ran)
    };
    match result {
        Ok(status) => status.exit(),
        Err(err) => {
            if let Some(usage) = err.downcast_ref::<UsageError>() {
                exit_with_usage_error(subcommand, usage);
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

/// Whether this command line is CPython's rather than rpprof's. rpprof is `sys.executable`
/// of the programs it runs, so `subprocess`, `multiprocessing` and tools start it as they
/// would start `python`; then it behaves as `rpprof run`.
///
/// - Started through a name like `python`, `python3` or `python3.11` (a link, or a venv's
///   copy): Python entirely, `-h` and `-V` included, as anything that finds it under that
///   name expects.
/// - Otherwise rpprof keeps its own command line where it has one: no arguments (rpprof's
///   help), a subcommand (`rpprof record ...`; a script named `record` is reachable with
///   `rpprof run record`), and `-h`/`--help`/`-V`/`--version`, which ask rpprof about
///   itself: Python callers that want the interpreter's version read `sys.version_info`
///   through `-c`, and a venv reaches rpprof through a `python` link, where `-V` is
///   Python's.
/// - A bare word that is no file (`rpprof recrod x.py`) is a mistyped subcommand far more
///   often than a script without an extension: clap reports it with its suggestions.
/// - Everything else (`-c CODE`, `-m MOD`, `-`, flags like `-B -s`, `script.py`) is Python.
fn started_as_python(args: &[OsString]) -> bool {
    let name = args
        .first()
        .and_then(|arg0| Path::new(arg0).file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    if is_python_name(&name) {
        return true;
    }
    let Some(first) = args.get(1) else {
        return false;
    };
    let first = first.to_string_lossy();
    if matches!(&*first, "-h" | "--help" | "-V" | "--version") {
        return false;
    }
    let command = Cli::command();
    let is_subcommand = first == "help"
        || command
            .get_subcommands()
            .any(|sub| sub.get_name() == first || sub.get_all_aliases().any(|a| a == first));
    if is_subcommand {
        return false;
    }
    let bare_word = !first.starts_with('-') && !first.contains(['/', '.']);
    !bare_word || Path::new(&*first).exists()
}

/// `python`, `python3`, `python3.11` (and `python3.11t`-like suffixes are not accepted).
fn is_python_name(name: &str) -> bool {
    let Some(version) = name.strip_prefix("python") else {
        return false;
    };
    if version.is_empty() || version == "3" {
        return true;
    }
    version
        .strip_prefix("3.")
        .is_some_and(|minor| !minor.is_empty() && minor.bytes().all(|b| b.is_ascii_digit()))
}
