//! `rpprof record`: run a program under the sampler and write its profile.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use flamegraph::{summary, Format, Profile, ProfileMeta, TimelineUse, View};
use session::{Recorded, Session};

use crate::args::{format_arg, ProgramOrPid, SamplingArgs, UsageError, ViewArgs};
use crate::children::ChildProfiles;
use crate::output::OutputTarget;
use crate::python::{native, ExitStatus, PythonRun};
use crate::render;
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

    /// Output format, whatever the file extension: svg, folded, pprof, speedscope or
    /// firefox.
    #[arg(short = 'f', long, value_parser = format_arg)]
    pub format: Option<&'static Format>,

    /// How to sample.
    #[command(flatten)]
    pub sampling: SamplingArgs,

    /// For formats that show time (firefox, speedscope): samples kept in time order at
    /// most (24 bytes each); past it, neighbouring samples are merged pairwise and the
    /// file says so.
    #[arg(long, value_name = "N", default_value_t = symbolizer::DEFAULT_TIMELINE_SAMPLES as u64,
          value_parser = clap::value_parser!(u64).range(1000..))]
    pub timeline_samples: u64,

    /// With --pid: stop after this long (like 10, 30s, 5m); without it, Ctrl-C stops.
    #[arg(long, value_name = "DURATION", requires = "pid",
          value_parser = |t: &str| agent::duration::parse_duration(t).map_err(|e| e.to_string()))]
    pub duration: Option<std::time::Duration>,

    /// Also print the sampler's own telemetry: handler time, skipped and stray signals,
    /// which timers ran.
    #[arg(short = 'v', long)]
    pub verbose: bool,

    /// How to view and draw the profile.
    #[command(flatten)]
    pub view: ViewArgs,

    /// The program to profile.
    #[command(flatten)]
    pub program: ProgramOrPid,
}

/// Runs the program under the sampler, writes the profile, returns how the program ended.
pub fn record(args: &RecordArgs) -> anyhow::Result<ExitStatus> {
    let program = args.program.program()?;
    let mut config = args.sampling.session(&program.display_name())?;
    // `--value` is checked against the kinds this recording will carry, before it runs.
    let kinds = ProfileMeta {
        kinds: config.value_kinds(),
        ..ProfileMeta::default()
    };
    Profile::new(kinds)
        .value_index(args.view.value.as_deref())
        .map_err(|err| UsageError::new(err.to_string()))?;
    let targets = OutputTarget::all(&args.outputs, args.format)?;
    // Samples are kept in time order only for the formats that show it.
    if targets
        .iter()
        .any(|t| t.format.timeline != TimelineUse::Ignored)
    {
        config.timeline_samples = usize::try_from(args.timeline_samples).unwrap_or(usize::MAX);
    }
    program.check_readable()?;
    // Before the interpreter copies the environment, and before any thread starts.
    let children = match args.sampling.subprocesses {
        true => Some(ChildProfiles::prepare(&config)?),
        false => None,
    };

    let python = PythonRun::new(program, native::add_modules);
    python
        .enter(native::install)
        .map_err(|_| anyhow::anyhow!("cannot install rpprof's module in the interpreter"))?;
    if args.view.async_tasks && args.sampling.mode.samples_waiting() {
        python
            .enter(crate::python::tasks::hook_event_loops)
            .map_err(|_| anyhow::anyhow!("cannot hook asyncio's event loops"))?;
    }
    let recording = Session::start(config).context("cannot start sampling")?;
    let view = args.view.view();
    let verbose = args.verbose;
    // However the program ends (normally, SIGTERM, os._exit), the profile is written once.
    ending::on_end(move || {
        let mut recorded = recording.finish();
        // Whatever children delivered until now; those still running are not waited for.
        if let Some(children) = children {
            children.add_to(&mut recorded.profile);
        }
        write_recording(recorded, &targets, &view, verbose)
    });
    signals::watch(&[libc::SIGTERM, libc::SIGQUIT], |signal| {
        if signal == libc::SIGQUIT {
            return crate::commands::dump::print_to_stderr();
        }
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
    view: &View,
    verbose: bool,
) -> anyhow::Result<()> {
    for target in targets {
        render::write_target(&recorded.profile, target, view)?;
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
    if let Some(line) = alloc_summary(&recorded) {
        eprintln!("rpprof: {line}");
    }
    eprint!("{}", thread_table(&view.table(&recorded.profile)));
    if let Some(line) = cpu_coverage(&recorded) {
        eprintln!("rpprof: {line}");
    }
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
    let program_cpu = report.python_threads_cpu_ns;
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
    ) + &recorded.allocs.map_or_else(String::new, |a| {
        format!(
            "; allocation hook: {} samples, {} lost (rings full), {} not tracked as live, \
             {} on threads that are not Python's",
            a.samples, a.dropped, a.untracked, a.unregistered
        )
    })
}

/// Below this share of the program's CPU time, a CPU-mode recording says how much its
/// samples miss.
const COVERAGE_NOTE_BELOW: f64 = 0.9;

/// In CPU mode, a line saying what share of the program's CPU time the samples account
/// for, when that is well under all of it. A thread's CPU timer fires only at the kernel's
/// tick, so threads that live less than a sampling period (a thread per request) mostly
/// end unsampled, and the flame graph shows less than they used.
fn cpu_coverage(recorded: &Recorded) -> Option<String> {
    let sampled = recorded
        .profile
        .meta
        .kind_index(flamegraph::ValueKind::CPU.name.as_ref())
        .map(|_| recorded.profile.total_of(&flamegraph::ValueKind::CPU))?;
    let program = recorded.report.python_threads_cpu_ns;
    let share = sampled as f64 / program.max(1) as f64;
    (program >= 100_000_000 && share < COVERAGE_NOTE_BELOW).then(|| {
        format!(
            "the samples account for {:.0}% of the {:.2} s of CPU the program's threads used: \
             in CPU mode, threads that end within a sampling period ({:.1} ms) are seldom \
             sampled (--mode wall samples them)",
            100.0 * share,
            program as f64 / 1e9,
            recorded.profile.meta.period_ns() as f64 / 1e6
        )
    })
}

/// The per-thread table printed after a recording (at most 20 threads).
pub fn thread_table(profile: &flamegraph::Profile) -> String {
    summary::render(&summary::summaries(profile), 20)
}

/// With allocation sampling: the estimated bytes allocated and still in use, the samples
/// behind them, and a warning for samples lost.
fn alloc_summary(recorded: &Recorded) -> Option<String> {
    let stats = recorded.allocs?;
    let profile = &recorded.profile;
    let allocated = profile.total_of(&flamegraph::ValueKind::ALLOC_SPACE);
    let in_use = profile.total_of(&flamegraph::ValueKind::INUSE_SPACE);
    let mut line = format!(
        "allocations: {} allocated, {} still in use at the end (estimated from {} samples)",
        flamegraph::format_bytes(allocated),
        flamegraph::format_bytes(in_use),
        stats.samples
    );
    if stats.dropped > 0 || stats.untracked > 0 {
        line.push_str(&format!(
            "; warning: {} allocation samples lost (buffers full), {} not tracked as live \
             (live table full): a larger --alloc-interval takes fewer",
            stats.dropped, stats.untracked
        ));
    }
    Some(line)
}

/// The closing line: samples, time, threads, drops, where the files went.
fn summary(recorded: &Recorded, targets: &[OutputTarget]) -> String {
    let total = recorded.profile.total();
    let files: Vec<String> = targets
        .iter()
        .map(|t| t.path.display().to_string())
        .collect();
    let time = recorded.profile.meta.time_kind();
    // Waiting asyncio tasks' samples are task-seconds, not the threads' time: apart.
    let profile = &recorded.profile;
    let awaiting = profile.awaiting_total(&profile.threads);
    let (samples, time_ns) = (symbolizer::SAMPLES_VALUE, symbolizer::TIME_VALUE);
    let tasks = match awaiting.get(samples) {
        0 => String::new(),
        n => format!(
            " and {n} of waiting asyncio tasks ({:.2} task-s)",
            awaiting.get(time_ns) as f64 / 1e9
        ),
    };
    format!(
        "{} samples ({:.2} s {}){tasks} from {} threads, {} dropped; wrote {}",
        total.get(samples).saturating_sub(awaiting.get(samples)),
        total.get(time_ns).saturating_sub(awaiting.get(time_ns)) as f64 / 1e9,
        time.map_or("cpu", |kind| kind.name.as_ref()),
        recorded.profile.threads.len(),
        recorded.report.stats.dropped,
        files.join(", ")
    )
}
