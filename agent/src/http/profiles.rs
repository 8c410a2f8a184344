//! The profile endpoints: `/debug/pprof/profile` (the next N seconds), `/debug/pprof/heap`
//! and `/debug/pprof/allocs` (allocations since the start), `/profile` (stored windows over
//! a time range). Each answers in the format `format=` names, drawn through the one
//! `flamegraph::View` every output goes through.

use std::time::{Duration, Instant};

use flamegraph::{Format, Profile, SvgOptions, TimelineUse, ValueKind, View};

use super::answer::Answer;
use super::context::HttpContext;
use crate::duration::{now_unix_ns, parse_time};
use crate::query::Target;
use crate::windows::Request as WindowRequest;
use crate::AgentError;

/// Longest `seconds` for `/debug/pprof/profile`.
pub(crate) const MAX_SECONDS: u64 = 300;
/// Longest range for `/profile`.
pub(crate) const MAX_RANGE_S: u64 = 86_400;
/// Longest a `/profile` merge may take before answering with what it has.
const MERGE_BUDGET: Duration = Duration::from_secs(10);
/// The format `format=` names (pprof by default), from the format table.
pub(super) fn format_of(target: &Target) -> Result<&'static Format, AgentError> {
    let name = target.get("format").unwrap_or("pprof");
    let format = Format::parse(name).map_err(|err| AgentError::BadValue(err.to_string()))?;
    if format.timeline == TimelineUse::Required {
        return Err(AgentError::BadValue(format!(
            "the {name} format needs samples in time order, which the agent does not keep \
             (use rpprof record)"
        )));
    }
    Ok(format)
}

/// The profile in `format`, threads as `--threads auto` draws them (a pool or a
/// thread-per-request server is one root; pprof notes `thread_group` instead), showing the
/// value kind `value` names (the format's default when `None`).
fn render(
    profile: &Profile,
    format: &'static Format,
    title: String,
    value: Option<&str>,
    tasks: bool,
) -> Answer {
    let view = View {
        tasks,
        value: value.map(str::to_owned),
        svg: SvgOptions {
            title: Some(title),
            ..SvgOptions::default()
        },
        ..View::default()
    };
    let mut body = Vec::new();
    if let Err(err) = view.write(profile, format, false, &mut body) {
        return Answer::text(500, format!("cannot write the profile: {err}"));
    }
    Answer {
        status: 200,
        content_type: format.content_type,
        body,
        headers: vec![(
            "Content-Disposition",
            format!("inline; filename=\"profile{}\"", format.extensions[0]),
        )],
    }
}

pub(super) fn live_profile(target: &Target, context: &HttpContext) -> Result<Answer, AgentError> {
    target.check(&["seconds", "format"], &[])?;
    let format = format_of(target)?;
    let seconds = match target.get("seconds") {
        None => 30,
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|s| (1..=MAX_SECONDS).contains(s))
            .ok_or_else(|| {
                AgentError::BadValue(format!("seconds must be 1 to {MAX_SECONDS}, not `{text}`"))
            })?,
    };
    let (reply, answer) = crossbeam_channel::bounded(1);
    // Slices are whole seconds on the slicer's clock. Taking the N slices whose start is
    // nearest to now (the one in progress only if it began under half a slice ago) covers
    // N seconds and answers within half a slice of N seconds from now.
    let from_ns = now_unix_ns().saturating_sub(crate::slicer::HALF_SLICE_NS);
    let until_ns = from_ns + seconds * 1_000_000_000;
    if context
        .windows
        .send(WindowRequest::Collect {
            from_ns,
            until_ns,
            reply,
        })
        .is_err()
    {
        return Ok(Answer::text(503, "the agent is shutting down"));
    }
    match answer.recv_timeout(Duration::from_secs(seconds + 10)) {
        Ok(profile) => Ok(render(
            &profile,
            format,
            format!("rpprof: {} (last {seconds} s)", context.app_name),
            None,
            context.tasks,
        )),
        Err(_) => Ok(Answer::text(503, "the profile did not arrive in time")),
    }
}

/// `/debug/pprof/heap` and `/debug/pprof/allocs`: the allocation kinds since the start,
/// shown by `shown` (Go's two endpoints serve one profile with different defaults too).
pub(super) fn heap_profile(
    target: &Target,
    context: &HttpContext,
    shown: &ValueKind,
) -> Result<Answer, AgentError> {
    target.check(&["format"], &[])?;
    let format = format_of(target)?;
    let (reply, answer) = crossbeam_channel::bounded(1);
    if context
        .windows
        .send(WindowRequest::SinceStart { reply })
        .is_err()
    {
        return Ok(Answer::text(503, "the agent is shutting down"));
    }
    let Ok(profile) = answer.recv_timeout(Duration::from_secs(10)) else {
        return Ok(Answer::text(503, "the profile did not arrive in time"));
    };
    if profile.meta.kind_index(&shown.name).is_none() {
        return Ok(Answer::text(
            404,
            "allocations are not sampled: start the agent with --alloc",
        ));
    }
    Ok(render(
        &profile,
        format,
        format!("rpprof: {} ({} since start)", context.app_name, shown.name),
        Some(&shown.name),
        context.tasks,
    ))
}

pub(super) fn stored_profile(target: &Target, context: &HttpContext) -> Result<Answer, AgentError> {
    target.check(&["from", "until", "thread", "format"], &["thread"])?;
    let format = format_of(target)?;
    let now = now_unix_ns() / 1_000_000_000;
    let from = parse_time(target.get("from").unwrap_or("now-5m"), now)?;
    let until = parse_time(target.get("until").unwrap_or("now"), now)?;
    if from >= until {
        return Err(AgentError::BadValue(format!(
            "from ({from}) must be before until ({until})"
        )));
    }
    if until - from > MAX_RANGE_S {
        return Err(AgentError::BadValue(format!(
            "the range is {} s; at most {MAX_RANGE_S} s (24 h) can be merged at once",
            until - from
        )));
    }
    let started = Instant::now();
    let mut merged = Profile::default();
    let mut partial = false;
    for window in context.store.range(from * 1000, until * 1000) {
        if started.elapsed() > MERGE_BUDGET {
            partial = true;
            break;
        }
        match context.store.read(&window) {
            Ok(profile) => {
                merged.merge_later_bounded(&profile, context.max_stacks);
            }
            Err(err) => context.metrics.note_error(err.to_string()),
        }
    }
    // The window in progress, if the range reaches into it.
    let (reply, answer) = crossbeam_channel::bounded(1);
    if context
        .windows
        .send(WindowRequest::Current { reply })
        .is_ok()
    {
        if let Ok(current) = answer.recv_timeout(Duration::from_secs(2)) {
            let start_s = current.meta.start_unix_ns / 1_000_000_000;
            if !current.is_empty() && start_s < until {
                merged.merge_later_bounded(&current, context.max_stacks);
            }
        }
    }
    let threads = target.all("thread");
    if !threads.is_empty() {
        merged.retain_threads(|t| threads.contains(&t.name));
    }
    let mut answer = render(
        &merged,
        format,
        format!("rpprof: {} ({from} to {until})", context.app_name),
        None,
        context.tasks,
    );
    if partial {
        answer
            .headers
            .push(("X-Rpprof-Partial", "merge time budget reached".to_owned()));
    }
    Ok(answer)
}
