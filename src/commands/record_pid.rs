//! `rpprof record --pid PID`: record a running rpprof process. The target runs the session
//! (see `crate::attach::target`) and sends a slice every second; this side adds them up
//! and writes the files, also when the target ends first (what it sent, then a line saying
//! so) or when Ctrl-C ends the recording (the target sends the rest first).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use flamegraph::{Profile, TimelineUse};
use serde_json::{json, Value};

use crate::args::{SamplingArgs, UsageError};
use crate::attach::requester::{self, Connection, Incoming};
use crate::commands::record::{thread_table, RecordArgs};
use crate::output::OutputTarget;
use crate::python::ExitStatus;
use crate::{render, signals};

/// How long the target has to send the rest after it was asked to stop.
const REST_TIMEOUT: Duration = Duration::from_secs(5);

/// The session request these sampling flags make (checked here first, as `record` checks
/// them, so a bad flag is a usage error before the target is asked).
pub fn session_request(kind: &str, sampling: &SamplingArgs) -> Result<Value, UsageError> {
    if sampling.subprocesses {
        return Err(UsageError::new(
            "--subprocesses cannot be asked of a running program: only children started \
             after it is set are profiled",
        ));
    }
    let config = sampling.session("attached")?;
    Ok(json!({
        "kind": kind,
        "rate": config.sampler.rate_hz,
        "mode": config.sampler.mode.label(),
        "idle": config.keep_idle,
        "max_depth": config.sampler.max_depth,
        "alloc_interval": config.alloc_interval,
        "native": config.native,
    }))
}

/// Ctrl-C and SIGTERM end the recording (and are then ours, not the shell's).
pub fn stop_on_interrupt() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    signals::watch(&[libc::SIGINT, libc::SIGTERM], move |_| {
        flag.store(true, Ordering::Release);
    })
    .context("cannot watch for Ctrl-C")?;
    Ok(stop)
}

/// `record --pid PID`.
pub fn record_pid(args: &RecordArgs, pid: i32) -> anyhow::Result<ExitStatus> {
    let request = session_request("record", &args.sampling)?;
    let targets = OutputTarget::all(&args.outputs, args.format)?;
    if let Some(target) = targets
        .iter()
        .find(|t| t.format.timeline == TimelineUse::Required)
    {
        return Err(UsageError::new(format!(
            "{} needs the samples in time order, which an attached recording does not carry \
             (yet); use pprof, speedscope, folded or svg",
            target.format.name
        ))
        .into());
    }
    let connection = requester::connect(pid, &request)?;
    connection.started()?;
    let stop = stop_on_interrupt()?;
    eprintln!(
        "rpprof: attached to pid {pid} ({}); recording {}",
        connection.title,
        match args.duration {
            Some(d) => format!("for {} s", d.as_secs_f64()),
            None => "until Ctrl-C".to_owned(),
        }
    );
    let (profile, ended) = collect(&connection, args.duration, &stop)?;
    let Some(profile) = profile else {
        bail!(
            "pid {pid} sent nothing before {}",
            ended.unwrap_or_else(|| "the connection closed".to_owned())
        );
    };
    let view = args.view.view();
    for target in &targets {
        render::write_target(&profile, target, &view)?;
    }
    let files: Vec<String> = targets
        .iter()
        .map(|t| t.path.display().to_string())
        .collect();
    let total = profile.total();
    eprintln!(
        "rpprof: {} samples ({:.2} s {}) from {} threads of pid {pid}, {} dropped; wrote {}",
        total.get(symbolizer::SAMPLES_VALUE),
        total.get(symbolizer::TIME_VALUE) as f64 / 1e9,
        profile.meta.time_kind().map_or("cpu", |k| k.name.as_ref()),
        profile.threads.len(),
        profile.meta.dropped,
        files.join(", ")
    );
    if profile.meta.kind_index("alloc_space").is_some() {
        eprintln!(
            "rpprof: allocations: {} allocated since the attach, {} of it still in use at the \
             end (estimated)",
            flamegraph::format_bytes(profile.total_of(&flamegraph::ValueKind::ALLOC_SPACE)),
            flamegraph::format_bytes(profile.total_of(&flamegraph::ValueKind::INUSE_SPACE))
        );
    }
    eprint!("{}", thread_table(&view.table(&profile)));
    if let Some(reason) = ended {
        eprintln!(
            "rpprof: the target ended before the recording did: {reason}; wrote what it sent"
        );
    }
    Ok(ExitStatus::Code(0))
}

/// Adds up the target's slices until the duration is over, Ctrl-C, or the target ends;
/// returns the profile (`None`: not one slice came) and, when the target ended first, why.
pub fn collect(
    connection: &Connection,
    duration: Option<Duration>,
    stop: &AtomicBool,
) -> anyhow::Result<(Option<Profile>, Option<String>)> {
    let incoming = connection.incoming()?;
    let deadline = duration.map(|d| Instant::now() + d);
    let mut profile: Option<Profile> = None;
    let mut asked_at: Option<Instant> = None;
    let ended = loop {
        let now = Instant::now();
        let due = deadline.is_some_and(|d| now >= d) || stop.load(Ordering::Acquire);
        if due && asked_at.is_none() {
            connection.stop();
            asked_at = Some(now);
        }
        if asked_at.is_some_and(|at| now >= at + REST_TIMEOUT) {
            break None;
        }
        match incoming.recv_timeout(Duration::from_millis(100)) {
            Ok(Incoming::Slice(slice)) => match &mut profile {
                Some(all) => {
                    all.merge_later_bounded(&slice, usize::MAX);
                    // A thread per request: ended threads join their group.
                    all.fold_threads_not_in(&slice, flamegraph::MAX_THREADS_APART);
                }
                None => profile = Some(*slice),
            },
            Ok(Incoming::End(reason)) => {
                break (asked_at.is_none() || !reason.starts_with("stopped")).then_some(reason)
            }
            Ok(Incoming::Error(line)) => bail!("{line}"),
            Ok(Incoming::Closed) | Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                break Some("the connection closed (the target was killed?)".to_owned())
            }
            Ok(Incoming::Top(_)) | Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
        }
    };
    Ok((profile, ended))
}
