//! Argument groups that several subcommands share, each declared and checked once: the
//! program to run, the sampling options, the view options, the output format; and the
//! [`UsageError`] a subcommand returns for a bad combination (the binary reports it as clap
//! reports its own, with status 2).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Args;
use flamegraph::groups::ThreadsView;
use flamegraph::labels::GroupBy;
use flamegraph::{Format, SvgOptions, View};
use sampler::Mode;
use session::SessionConfig;

use crate::python::Program;

/// A command line that parsed but makes no sense: reported like clap's own errors.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UsageError {
    /// What is wrong.
    pub message: String,
}

impl UsageError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> UsageError {
        UsageError {
            message: message.into(),
        }
    }
}

/// How to sample; shared by `record` and `agent`, checked by [`SamplerConfig::validate`]
/// (as the in-script API is).
#[derive(Debug, Args)]
pub struct SamplingArgs {
    /// Samples per second per thread (1 to 20000).
    #[arg(short = 'r', long, default_value_t = sampler::DEFAULT_RATE_HZ)]
    pub rate: u32,

    /// What to measure: `cpu` samples threads in proportion to the CPU they use; `wall`
    /// samples every thread at the rate, running or blocked.
    #[arg(long, default_value = sampler::DEFAULT_MODE.label(), value_parser = mode_arg)]
    pub mode: Mode,

    /// Keep samples of blocked threads (sleeping, waiting on a lock, IO), ending in an
    /// `[idle]` frame. The default in wall mode.
    #[arg(long, overrides_with = "no_idle")]
    pub idle: bool,

    /// Drop samples of blocked threads. The default in CPU mode.
    #[arg(long, overrides_with = "idle")]
    pub no_idle: bool,

    /// Show CPU time inside a builtin (`sorted`, a big `read`, `re.match`) as a
    /// `[native] NAME` leaf under the line that called it, instead of as the line's own
    /// time.
    #[arg(long)]
    pub native: bool,

    /// Frames kept per sample (the innermost); deeper stacks get a `[truncated]` root.
    #[arg(long, default_value_t = sampler::DEFAULT_MAX_DEPTH)]
    pub max_depth: usize,

    /// Also profile Python child processes (`subprocess` and `multiprocessing` children
    /// started through `sys.executable`), at the same rate and mode: each is a root
    /// `python-child (pid N) ARGV...` above its threads.
    #[arg(long)]
    pub subprocesses: bool,

    /// Also sample allocations: the profile gains alloc_objects, alloc_space,
    /// inuse_objects and inuse_space (what was allocated, and what is still in use), by
    /// thread and stack, next to the time.
    #[arg(long)]
    pub alloc: bool,

    /// Mean bytes allocated between two allocation samples (implies --alloc): a number,
    /// optionally with K/KiB, M/MiB or G/GiB. Smaller is more precise and costs more.
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes)]
    pub alloc_interval: Option<u64>,
}

impl SamplingArgs {
    /// The session these flags ask for, checked.
    pub fn session(&self, title: &str) -> Result<SessionConfig, UsageError> {
        let alloc = (self.alloc || self.alloc_interval.is_some()).then(|| {
            self.alloc_interval
                .unwrap_or(sampler::alloc::DEFAULT_INTERVAL)
        });
        let keep_idle = match (self.idle, self.no_idle) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        };
        SessionConfig::builder(title)
            .rate(self.rate)
            .mode(self.mode)
            .max_depth(self.max_depth)
            .keep_idle(keep_idle)
            .alloc_interval(alloc)
            .native(self.native)
            .build()
            .map_err(|err| UsageError::new(err.to_string()))
    }
}

/// A byte count: `524288`, `512K`, `512KiB`, `1M`, `1MiB`, `1G` (binary units).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => {
            return Err(format!(
                "`{text}` is not a size in bytes (like 524288, 512KiB or 1M)"
            ))
        }
    };
    let value: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size in bytes (like 524288, 512KiB or 1M)"))?;
    value
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// `--mode NAME`: `cpu` or `wall`.
pub fn mode_arg(text: &str) -> Result<Mode, String> {
    text.parse::<Mode>().map_err(|err| err.to_string())
}

/// `--format NAME`: a row of the format table.
pub fn format_arg(text: &str) -> Result<&'static Format, String> {
    Format::parse(text).map_err(|err| err.to_string())
}

/// How a profile is viewed and drawn; shared by `record`, `report` and `diff`.
#[derive(Debug, Args)]
pub struct ViewArgs {
    /// Thread roots: `auto` draws threads whose names differ only in numbers as one root
    /// when there are five or more (`Thread-N (process_request_thread) ×574`), `split` one
    /// root per thread, `grouped` one root per group however small, `merged` no thread
    /// roots. pprof keeps every thread as labels and adds `thread_group`.
    #[arg(long, default_value = "auto", value_parser = str::parse::<ThreadsView>)]
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

    /// The value SVG, folded, speedscope and top tables show: `samples` (the default),
    /// `cpu` or `wall` (nanoseconds), or any kind the profile carries (pprof writes them
    /// all).
    #[arg(long, value_name = "KIND")]
    pub value: Option<String>,

    /// `label:KEY`: draw the value of label KEY (set with `rpprof.labels`) as a root under
    /// each thread (`endpoint=/cart`), in SVG, folded and speedscope; samples without it
    /// have no such root. pprof keeps every label as sample labels either way.
    #[arg(long, value_name = "label:KEY", value_parser = str::parse::<GroupBy>)]
    pub group_by: Option<GroupBy>,

    /// asyncio: a `task NAME` frame under the thread for samples taken in a task (pprof
    /// always has the `task` label). When recording in wall mode, also sample the tasks
    /// that wait, each with the coroutine chain it is suspended in.
    #[arg(long = "async")]
    pub async_tasks: bool,
}

impl ViewArgs {
    /// The view these flags ask for.
    pub fn view(&self) -> View {
        View {
            threads: self.threads,
            function: self.function,
            tasks: self.async_tasks,
            value: self.value.clone(),
            group_by: self.group_by.clone().unwrap_or_default(),
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
    /// Also import the packages of this CPython interpreter (its site-packages, with their
    /// `.pth` files and editable installs), after rpprof's standard library; `auto` is the
    /// `python3` first on PATH. Also `RPPROF_PYTHON`. Wins over `VIRTUAL_ENV`.
    #[arg(long, value_name = "PATH")]
    pub python: Option<OsString>,

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
    /// The [`Program`] these arguments name. Asks the interpreter `--python` (or
    /// `RPPROF_PYTHON`) names where its packages are: call it before any thread starts.
    pub fn program(&self) -> anyhow::Result<Program> {
        let program = self.parse().map_err(UsageError::new)?;
        crate::python::packages::choose_python(self.python.as_deref())
            .map_err(crate::python::ProgramError::NoPython)?;
        Ok(program)
    }

    fn parse(&self) -> Result<Program, String> {
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

/// The program to run, or (`--pid`) a running rpprof process to attach to instead; for
/// `record` and `agent`.
#[derive(Debug, Args)]
pub struct ProgramOrPid {
    /// Attach to this running rpprof process instead of running a program (it was started
    /// by `rpprof run`, `rpprof SCRIPT`, or a `python3` link to rpprof; `rpprof ps` lists
    /// them). Only the same user, or root, may attach.
    #[arg(long, value_name = "PID", conflicts_with = "command")]
    pub pid: Option<i32>,

    /// Also import the packages of this CPython interpreter (its site-packages, with their
    /// `.pth` files and editable installs), after rpprof's standard library; `auto` is the
    /// `python3` first on PATH. Also `RPPROF_PYTHON`. Wins over `VIRTUAL_ENV`.
    #[arg(long, value_name = "PATH")]
    pub python: Option<OsString>,

    /// The program: `SCRIPT [ARGS...]`, `-m MODULE [ARGS...]` or `-c CODE [ARGS...]`.
    #[arg(
        value_name = "SCRIPT | -m MODULE | -c CODE",
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required_unless_present = "pid"
    )]
    pub command: Vec<OsString>,
}

impl ProgramOrPid {
    /// The [`Program`] to run (see [`ProgramArgs::program`]).
    pub fn program(&self) -> anyhow::Result<Program> {
        ProgramArgs {
            python: self.python.clone(),
            command: self.command.clone(),
        }
        .program()
    }
}
