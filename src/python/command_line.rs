//! CPython's command line, `python [option] ... [-c cmd | -m mod | file | -] [arg] ...`,
//! parsed into [`InterpreterOptions`] and the [`Program`] to run.
//!
//! rpprof is `sys.executable` of the programs it runs, so `subprocess`, `multiprocessing`
//! (spawn, forkserver, its resource tracker) and tools start it with this command line.
//! The parser follows CPython's `getopt`: short flags may be combined (`-Bs`), `-c`, `-m`,
//! `-W` and `-X` take their value attached (`-Wignore`) or as the next argument, `-c` and
//! `-m` end the options, and everything after the program belongs to the program. Errors
//! carry CPython 3.11's wording; [`CommandLineError::print_python_usage`] prints them as CPython
//! does.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

use super::Program;

/// The interpreter flags of a CPython command line. Each is honoured where RustPython has
/// the setting (see [`super::settings::for_command_line`]) and accepted otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterpreterOptions {
    /// `-b`, counted: warn (`-b`) or raise (`-bb`) on bytes/str comparisons.
    pub bytes_warning: u8,
    /// `-B`: do not write `.pyc` files.
    pub dont_write_bytecode: bool,
    /// `-d`, counted: parser debugging (accepted; only `sys.flags.debug` shows it).
    pub debug: u8,
    /// `-E`: ignore `PYTHON*` environment variables.
    pub ignore_environment: bool,
    /// `-i`: the interactive prompt after the program.
    pub inspect: bool,
    /// `-I`: isolated mode (implies `-E`, `-P` and `-s`).
    pub isolated: bool,
    /// `-O`, counted: `-O` drops asserts, `-OO` docstrings too.
    pub optimize: u8,
    /// `-P`: no potentially unsafe path (script directory, cwd) in front of `sys.path`.
    pub safe_path: bool,
    /// `-q`: no banner at the interactive prompt.
    pub quiet: bool,
    /// `-R`: a random hash seed whatever `PYTHONHASHSEED` says.
    pub random_hash_seed: bool,
    /// `-s`: no user site directory.
    pub no_user_site: bool,
    /// `-S`: no `import site`.
    pub no_site: bool,
    /// `-u`: unbuffered stdout and stderr.
    pub unbuffered: bool,
    /// `-v`, counted: trace imports.
    pub verbose: u8,
    /// `-x`: skip the script's first line (accepted, not honoured).
    pub skip_first_line: bool,
    /// `-W ARG`, in order.
    pub warnings: Vec<String>,
    /// `-X OPT`, in order, as typed (`name` or `name=value`).
    pub xoptions: Vec<String>,
    /// `--check-hash-based-pycs default|always|never`.
    pub check_hash_based_pycs: Option<String>,
    /// `--python PATH` (rpprof's, not CPython's): also import that CPython interpreter's
    /// packages (see [`super::packages::choose_python`]).
    pub python: Option<OsString>,
}

/// What a CPython command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PythonRequest {
    /// Run a program with these options.
    Run {
        /// The interpreter flags.
        options: InterpreterOptions,
        /// The program ([`Program::Interactive`] when none was named and stdin is a
        /// terminal; [`Program::Stdin`] when none was named and stdin is not one).
        program: Program,
    },
    /// `-h`, `-?`, `--help`, `--help-all`, `--help-env`, `--help-xoptions`.
    Help,
    /// `-V` or `--version`; `-VV` asks for more.
    Version(u8),
}

/// A command line CPython would refuse with status 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandLineError {
    /// An unknown short flag.
    #[error("Unknown option: -{0}")]
    UnknownShort(char),
    /// An unknown long option (as typed).
    #[error("unknown option {0}")]
    UnknownLong(String),
    /// `-c`, `-m`, `-W` or `-X` at the end of the line.
    #[error("Argument expected for the -{0} option")]
    MissingValue(char),
    /// `--check-hash-based-pycs` at the end of the line (CPython's own plural).
    #[error("Argument expected for the --check-hash-based-pycs options")]
    MissingHashPycsMode,
    /// `--python` at the end of the line.
    #[error("Argument expected for the --python option")]
    MissingPython,
    /// `--check-hash-based-pycs` with another value.
    #[error("--check-hash-based-pycs must be one of 'default', 'always', or 'never'")]
    BadHashPycsMode,
    /// `-X` with a value CPython refuses at start-up.
    #[error("{0}")]
    BadXOption(String),
}

impl CommandLineError {
    /// Prints the error the way CPython does on stderr: the message, the usage line with
    /// the program name as invoked, and where to read more.
    pub fn print_python_usage(&self, argv0: &str) {
        eprintln!("{self}");
        eprintln!("{}", usage_line(argv0));
        eprintln!("Try `python -h' for more information.");
    }
}

/// CPython's one-line usage, with `argv0` as the program name.
pub fn usage_line(argv0: &str) -> String {
    format!("usage: {argv0} [option] ... [-c cmd | -m mod | file | -] [arg] ...")
}

/// Parses `args` (the command line without the program name), as CPython does.
pub fn parse(args: &[OsString]) -> Result<PythonRequest, CommandLineError> {
    let mut options = InterpreterOptions::default();
    let mut help = false;
    let mut version = 0u8;
    let mut index = 0;
    let mut program = None;
    while index < args.len() {
        let arg = args[index].to_string_lossy().into_owned();
        if arg == "--" {
            // Ends the options; what follows is the script and its arguments.
            program = args.get(index + 1).map(|_| script(&args[index + 1..]));
            break;
        }
        if arg == "-" || !arg.starts_with('-') {
            program = Some(script(&args[index..]));
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            match long {
                "help" | "help-all" | "help-env" | "help-xoptions" => help = true,
                "version" => version = version.saturating_add(1),
                "check-hash-based-pycs" => {
                    index += 1;
                    let mode = args
                        .get(index)
                        .ok_or(CommandLineError::MissingHashPycsMode)?
                        .to_string_lossy();
                    if !matches!(&*mode, "default" | "always" | "never") {
                        return Err(CommandLineError::BadHashPycsMode);
                    }
                    options.check_hash_based_pycs = Some(mode.into_owned());
                }
                "python" => {
                    index += 1;
                    let path = args.get(index).ok_or(CommandLineError::MissingPython)?;
                    options.python = Some(path.clone());
                }
                _ if long.starts_with("python=") => {
                    let path = &args[index].as_encoded_bytes()["--python=".len()..];
                    // SAFETY: split right after an ASCII `=` of an OsString's own bytes.
                    let path = unsafe { OsStr::from_encoded_bytes_unchecked(path) };
                    options.python = Some(path.to_owned());
                }
                _ => return Err(CommandLineError::UnknownLong(arg)),
            }
            index += 1;
            continue;
        }
        let cluster = &arg[1..];
        for (at, flag) in cluster.char_indices() {
            if matches!(flag, 'c' | 'm' | 'W' | 'X') {
                // The value is the rest of this argument, or else the next one.
                let attached = &cluster[at + flag.len_utf8()..];
                let value = if attached.is_empty() {
                    index += 1;
                    args.get(index)
                        .ok_or(CommandLineError::MissingValue(flag))?
                        .to_string_lossy()
                        .into_owned()
                } else {
                    attached.to_owned()
                };
                let rest = || lossy(args.get(index + 1..).unwrap_or_default());
                match flag {
                    'c' => {
                        program = Some(Program::Code {
                            source: value,
                            args: rest(),
                        })
                    }
                    'm' => {
                        program = Some(Program::Module {
                            name: value,
                            args: rest(),
                        })
                    }
                    'W' => options.warnings.push(value),
                    _ => {
                        check_xoption(&value)?;
                        options.xoptions.push(value);
                    }
                }
                break;
            }
            match flag {
                'b' => options.bytes_warning = options.bytes_warning.saturating_add(1),
                'B' => options.dont_write_bytecode = true,
                'd' => options.debug = options.debug.saturating_add(1),
                'E' => options.ignore_environment = true,
                'h' | '?' => help = true,
                'i' => options.inspect = true,
                'I' => options.isolated = true,
                'O' => options.optimize = options.optimize.saturating_add(1),
                'P' => options.safe_path = true,
                'q' => options.quiet = true,
                'R' => options.random_hash_seed = true,
                's' => options.no_user_site = true,
                'S' => options.no_site = true,
                'u' => options.unbuffered = true,
                'v' => options.verbose = options.verbose.saturating_add(1),
                'V' => version = version.saturating_add(1),
                'x' => options.skip_first_line = true,
                other => return Err(CommandLineError::UnknownShort(other)),
            }
        }
        if program.is_some() {
            break;
        }
        index += 1;
    }
    // Like CPython, help wins over the version, and both over running anything.
    if help {
        return Ok(PythonRequest::Help);
    }
    if version > 0 {
        return Ok(PythonRequest::Version(version));
    }
    let program = program.unwrap_or_else(|| {
        use std::io::IsTerminal;
        // `python` with no program: the prompt on a terminal, else stdin is the program.
        if std::io::stdin().is_terminal() {
            Program::Interactive
        } else {
            Program::Stdin { args: vec![] }
        }
    });
    Ok(PythonRequest::Run { options, program })
}

/// `SCRIPT [ARGS...]` or `- [ARGS...]`; `args` is not empty.
fn script(args: &[OsString]) -> Program {
    let rest = lossy(&args[1..]);
    if args[0] == "-" {
        Program::Stdin { args: rest }
    } else {
        Program::Script {
            path: PathBuf::from(&args[0]),
            args: rest,
        }
    }
}

fn lossy(args: &[OsString]) -> Vec<String> {
    args.iter()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect()
}

/// Refuses the `-X` values CPython refuses at start-up (it exits there; the message is
/// CPython's).
fn check_xoption(option: &str) -> Result<(), CommandLineError> {
    let (name, value) = match option.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (option, None),
    };
    let bad = |text: &str| Err(CommandLineError::BadXOption(text.to_owned()));
    match name {
        "int_max_str_digits" => match value.and_then(|v| v.parse::<i64>().ok()) {
            Some(0) => Ok(()),
            Some(digits) if digits >= 640 => Ok(()),
            _ => bad("-X int_max_str_digits: invalid limit; must be >= 640 or 0 for unlimited."),
        },
        "utf8" => match value {
            None | Some("0" | "1") => Ok(()),
            _ => bad("-X utf8=n: n is missing or invalid"),
        },
        "cpu_count" => match value {
            Some("default") => Ok(()),
            Some(n) if n.parse::<i32>().is_ok_and(|n| n > 0) => Ok(()),
            _ => bad("-X cpu_count=n option: n is missing or an invalid number, n must be greater than 0"),
        },
        _ => Ok(()),
    }
}

/// What `python -V` prints: `Python X.Y.Z`; with `-VV`, which interpreter this is.
pub fn version_text(verbosity: u8) -> String {
    use rustpython_vm::version::{MAJOR, MICRO, MINOR};
    let short = format!("Python {MAJOR}.{MINOR}.{MICRO}");
    if verbosity < 2 {
        return short;
    }
    format!(
        "{short} (RustPython {}.{}.{} embedded in rpprof {})",
        rustpython_vm::version::MAJOR_IMPL,
        rustpython_vm::version::MINOR_IMPL,
        rustpython_vm::version::MICRO_IMPL,
        env!("CARGO_PKG_VERSION")
    )
}

/// What `python -h` prints: the options this interpreter takes and what each does here.
pub fn help_text(argv0: &str) -> String {
    format!(
        "{usage}
rpprof, started as a Python interpreter: RustPython {major}.{minor} runs the program
without profiling (as `rpprof run` does). Options:
-b, -bb  : warn about (-b) or refuse (-bb) comparing bytes with str
-B       : don't write .pyc files; also PYTHONDONTWRITEBYTECODE
-c cmd   : run the program in the string cmd (ends the options)
-d       : parser debugging (accepted, no effect)
-E       : ignore PYTHON* environment variables
-h, -?   : print this help and exit (also --help)
-i       : the interactive prompt after running the program
-I       : isolated: implies -E, -P and -s
-m mod   : run a library module as a script (ends the options)
-O, -OO  : remove asserts (and docstrings with -OO); also PYTHONOPTIMIZE
-P       : don't put the script's directory or the cwd first on sys.path; also PYTHONSAFEPATH
-q       : no banner at the interactive prompt
-R       : random hash seed, whatever PYTHONHASHSEED says
-s       : don't add the user site directory to sys.path; also PYTHONNOUSERSITE
-S       : don't import site on start-up
-u       : unbuffered stdout and stderr; also PYTHONUNBUFFERED
-v       : trace imports (repeat for more); also PYTHONVERBOSE
-V       : print the Python version and exit (also --version; -VV says more)
-W arg   : warning control (action:message:category:module:lineno); also PYTHONWARNINGS
-x       : skip the first line of the script (accepted, not honoured)
-X opt   : implementation option, in sys._xoptions (dev, faulthandler, utf8,
           int_max_str_digits=N, warn_default_encoding, no_debug_ranges, cpu_count=N)
--check-hash-based-pycs always|default|never : how hash-based .pyc files are checked
--python PATH : rpprof's: also import this CPython's packages (site-packages, .pth files);
         `auto` is the python3 first on PATH; also RPPROF_PYTHON
file     : run the program in this file (or a directory or zip with __main__.py)
-        : run the program read from stdin
arg ...  : the program's arguments, sys.argv[1:]",
        usage = usage_line(argv0),
        major = rustpython_vm::version::MAJOR_IMPL,
        minor = rustpython_vm::version::MINOR_IMPL,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<PythonRequest, CommandLineError> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        parse(&args)
    }

    fn run_of(args: &[&str]) -> (InterpreterOptions, Program) {
        match parse_strs(args) {
            Ok(PythonRequest::Run { options, program }) => (options, program),
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn multiprocessing_spawn_line() {
        let (options, program) = run_of(&[
            "-B",
            "-s",
            "-c",
            "from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=5, pipe_handle=7)",
            "--multiprocessing-fork",
        ]);
        assert!(options.dont_write_bytecode && options.no_user_site);
        assert_eq!(
            program,
            Program::Code {
                source: "from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=5, pipe_handle=7)".into(),
                args: vec!["--multiprocessing-fork".into()],
            }
        );
    }

    #[test]
    fn combined_flags_and_attached_values() {
        let (options, program) = run_of(&[
            "-BsOO", "-Wignore", "-X", "dev", "-Xutf8=1", "-uc", "pass", "-x",
        ]);
        assert!(options.dont_write_bytecode && options.no_user_site && options.unbuffered);
        assert_eq!(options.optimize, 2);
        assert_eq!(options.warnings, ["ignore"]);
        assert_eq!(options.xoptions, ["dev", "utf8=1"]);
        assert_eq!(
            program,
            Program::Code {
                source: "pass".into(),
                args: vec!["-x".into()]
            }
        );
        let (_, program) = run_of(&["-mjson.tool", "-h"]);
        assert_eq!(
            program,
            Program::Module {
                name: "json.tool".into(),
                args: vec!["-h".into()]
            }
        );
    }

    #[test]
    fn script_stdin_and_double_dash() {
        let (_, program) = run_of(&["-I", "app.py", "-c", "x"]);
        assert_eq!(
            program,
            Program::Script {
                path: "app.py".into(),
                args: vec!["-c".into(), "x".into()]
            }
        );
        let (_, program) = run_of(&["-", "a"]);
        assert_eq!(
            program,
            Program::Stdin {
                args: vec!["a".into()]
            }
        );
        let (_, program) = run_of(&["--", "-weird.py"]);
        assert_eq!(
            program,
            Program::Script {
                path: "-weird.py".into(),
                args: vec![]
            }
        );
    }

    #[test]
    fn errors_use_cpython_wording() {
        let message = |args: &[&str]| parse_strs(args).unwrap_err().to_string();
        assert_eq!(message(&["-Z"]), "Unknown option: -Z");
        assert_eq!(message(&["-BZ"]), "Unknown option: -Z");
        assert_eq!(message(&["--foo"]), "unknown option --foo");
        assert_eq!(message(&["-W"]), "Argument expected for the -W option");
        assert_eq!(message(&["-Bc"]), "Argument expected for the -c option");
        assert_eq!(
            message(&["--check-hash-based-pycs"]),
            "Argument expected for the --check-hash-based-pycs options"
        );
        assert!(message(&["-X", "int_max_str_digits=5"]).contains("must be >= 640"));
    }

    #[test]
    fn rpprof_python_option() {
        let (options, program) = run_of(&["-B", "--python", "auto", "app.py"]);
        assert_eq!(options.python, Some("auto".into()));
        assert!(matches!(program, Program::Script { .. }));
        let (options, _) = run_of(&["--python=/usr/bin/python3", "-c", "pass"]);
        assert_eq!(options.python, Some("/usr/bin/python3".into()));
        assert_eq!(
            parse_strs(&["--python"]).unwrap_err().to_string(),
            "Argument expected for the --python option"
        );
    }

    #[test]
    fn help_and_version() {
        assert_eq!(parse_strs(&["-h"]), Ok(PythonRequest::Help));
        assert_eq!(parse_strs(&["-B", "--help"]), Ok(PythonRequest::Help));
        assert_eq!(parse_strs(&["-V"]), Ok(PythonRequest::Version(1)));
        assert_eq!(parse_strs(&["-VV"]), Ok(PythonRequest::Version(2)));
        assert!(version_text(1).starts_with("Python 3."));
    }
}
