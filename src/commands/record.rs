//! `rpprof record`: run a program under the sampler and write its profile.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use flamegraph::summary;
use sampler::{Mode, SamplerConfig, MAX_DEPTH_LIMIT, MAX_RATE_HZ};

use crate::cli::{program_or_usage_error, ProgramArgs, ViewArgs};
use crate::output::{Format, OutputTarget};
use crate::python::{native, ExitStatus, PythonRun};
use crate::recording::{RecordSettings, Recorded, Recording};
use crate::render::{self, RenderOptions};
use crate::{ending, signals};

/// `rpprof record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Where to write the profile; repeat for several outputs. The format follows the
    /// extension (.svg, .folded/.txt, .pb.gz/.pprof, .speedscope.json) unless --format
    /// says otherwise.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        default_value = "profile.svg"
    )]
    pub outputs: Vec<PathBuf>,

    /// Output format, whatever the file extension.
    #[arg(short = 'f', long, value_enum)]
    pub format: Option<Format>,

    /// Samples per second per thread.
    #[arg(short = 'r', long, default_value_t = 99, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_RATE_HZ)))]
    pub rate: u32,

    /// What to measure: `cpu` samples threads in proportion to the CPU they use; `wall`
    /// samples every thread at the rate, running or blocked.
    #[arg(short = 'm', long, value_enum, default_value_t = ModeArg::Cpu)]
    pub mode: ModeArg,

    /// Keep samples of blocked threads (sleeping, waiting on a lock, IO), ending in an
    /// `[idle]` frame. The default in wall mode.
    #[arg(long, overrides_with = "no_idle")]
    pub idle: bool,

    /// Drop samples of blocked threads. The default in CPU mode.
    #[arg(long, overrides_with = "idle")]
    pub no_idle: bool,

    /// Frames kept per sample (the innermost); deeper stacks get a `[truncated]` root.
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..=MAX_DEPTH_LIMIT as i64))]
    pub max_depth: u32,

    /// Also print the sampler's own telemetry: handler time, skipped and stray signals,
    /// which timers ran.
    #[arg(short = 'v', long)]
    pub verbose: bool,

    /// How to view and draw the profile.
    #[command(flatten)]
    pub view: ViewArgs,

    /// The program to profile.
    #[command(flatten)]
    pub program: ProgramArgs,
}

/// Runs the program under the sampler, writes the profile, returns how the program ended.
pub fn record(args: &RecordArgs) -> anyhow::Result<ExitStatus> {
    let program = program_or_usage_error(&args.program, "record");
    let targets = OutputTarget::all(&args.outputs, args.format)?;
    program.check_readable()?;

    let title = program.display_name();
    let python = PythonRun::new(program, native::add_modules);
    python
        .enter(native::install)
        .map_err(|_| anyhow::anyhow!("cannot install rpprof's module in the interpreter"))?;
    let mode = args.mode.into();
    let settings = RecordSettings {
        sampler: SamplerConfig {
            rate_hz: args.rate,
            mode,
            max_depth: args.max_depth as usize,
        },
        keep_idle: keep_idle(mode, args.idle, args.no_idle),
        title,
    };
    let recording = Recording::start(settings)?;
    let options = args.view.render_options();
    let verbose = args.verbose;
    // However the program ends (normally, SIGTERM, os._exit), the profile is written once.
    ending::on_end(move || write_recording(recording.finish(), &targets, &options, verbose));
    signals::watch(&[libc::SIGTERM], |signal| {
        ending::end_now_reporting();
        signals::die_by(signal);
    })
    .context("cannot watch for SIGTERM")?;

    let exception = python.run_main();
    let status = python.finish(exception);
    if let Some(written) = ending::end_now() {
        written?;
    }
    Ok(status)
}

/// Writes every output and the closing report on stderr.
fn write_recording(
    recorded: Recorded,
    targets: &[OutputTarget],
    options: &RenderOptions,
    verbose: bool,
) -> anyhow::Result<()> {
    for target in targets {
        render::write_target(&recorded.profile, target, options)?;
    }
    eprintln!("rpprof: {}", summary(&recorded, targets));
    if recorded.profile.is_empty() {
        eprintln!(
            "rpprof: warning: no samples were recorded: the program ended before its first \
             sample (one every {:.1} ms of CPU at {} Hz); a higher --rate samples sooner",
            recorded.profile.meta.period_ns() as f64 / 1e6,
            recorded.profile.meta.rate_hz
        );
    }
    if recorded.profile.meta.overflowed > 0 {
        eprintln!(
            "rpprof: warning: {} samples of stacks beyond the first {} distinct ones went to \
             [overflow]",
            recorded.profile.meta.overflowed,
            symbolizer::DEFAULT_MAX_STACKS
        );
    }
    eprint!("{}", thread_table(&recorded.profile));
    if verbose {
        eprintln!("rpprof: {}", telemetry(&recorded));
    }
    Ok(())
}

/// The sampler's account of itself, for `--verbose`.
pub fn telemetry(recorded: &Recorded) -> String {
    let report = &recorded.report;
    let stats = &report.stats;
    let handler = match stats.handler_ns {
        Some(t) => format!(
            "handler time min {} / median {} / p99 {} / max {} ns",
            t.min, t.median, t.p99, t.max
        ),
        None => "handler never ran".to_owned(),
    };
    let timers = report.driver.describe();
    let program_cpu: u64 = recorded
        .profile
        .threads
        .iter()
        .filter_map(|t| t.cpu_time_ns)
        .sum();
    let handler_total = stats.handler_cpu_estimate_ns();
    let profiler_cpu =
        handler_total + report.drain_cpu_ns + report.ticker_cpu_ns + recorded.aggregate_cpu_ns;
    format!(
        "{handler} over {} samples; {} skipped (thread idle), {} on unregistered threads, \
         {} not ours; \
         {timers}; profiler CPU {:.1} ms (handlers {:.1}, ticker {:.1}, drain {:.1}, \
         aggregation {:.1}) = {:.2}% of the program's {:.2} s",
        stats.samples,
        stats.skipped_idle,
        stats.unregistered,
        stats.foreign,
        profiler_cpu as f64 / 1e6,
        handler_total as f64 / 1e6,
        report.ticker_cpu_ns as f64 / 1e6,
        report.drain_cpu_ns as f64 / 1e6,
        recorded.aggregate_cpu_ns as f64 / 1e6,
        100.0 * profiler_cpu as f64 / program_cpu.max(1) as f64,
        program_cpu as f64 / 1e9
    )
}

/// Whether samples of blocked threads are kept: `--idle`/`--no-idle`, else yes in wall
/// mode and no in CPU mode.
fn keep_idle(mode: Mode, idle: bool, no_idle: bool) -> bool {
    if idle {
        true
    } else if no_idle {
        false
    } else {
        mode == Mode::Wall
    }
}

/// The per-thread table printed after a recording (at most 20 threads).
pub fn thread_table(profile: &flamegraph::Profile) -> String {
    summary::render(&summary::summaries(profile), 20)
}

/// `--mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// CPU time.
    Cpu,
    /// Wall-clock time.
    Wall,
}

impl From<ModeArg> for Mode {
    fn from(mode: ModeArg) -> Mode {
        match mode {
            ModeArg::Cpu => Mode::Cpu,
            ModeArg::Wall => Mode::Wall,
        }
    }
}

/// The closing line: samples, time, threads, drops, where the files went.
fn summary(recorded: &Recorded, targets: &[OutputTarget]) -> String {
    let total = recorded.profile.total();
    let files: Vec<String> = targets
        .iter()
        .map(|t| t.path.display().to_string())
        .collect();
    format!(
        "{} samples ({:.2} s {}) from {} threads, {} dropped; wrote {}",
        total.samples,
        total.weight_ns as f64 / 1e9,
        recorded.profile.meta.time.label(),
        recorded.profile.threads.len(),
        recorded.report.stats.dropped,
        files.join(", ")
    )
}
