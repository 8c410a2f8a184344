//! The HTTP endpoints, on their own threads (never a Python thread):
//!
//! - `GET /` — a short HTML index;
//! - `GET /debug/pprof/profile?seconds=N[&format=F]` — like Go's net/http/pprof: waits N
//!   seconds and returns what was sampled meanwhile (pprof by default);
//! - `GET /profile?from=&until=&thread=&format=` — stored windows (and the one in
//!   progress) merged over a time range, optionally one or more threads by name;
//! - `GET /debug/pprof/heap[?format=F]` and `GET /debug/pprof/allocs` — with `--alloc`, as
//!   Go's: allocations since the agent started and what is in use now (as of the last
//!   second), one profile with all four kinds; `heap` shows `inuse_space` by default,
//!   `allocs` `alloc_space`;
//! - `GET /threads` — the live thread table with states, as JSON;
//! - `GET /debug/pprof/threads[?format=json]` — every Python thread's current stack, as
//!   `py-spy dump` prints it (read by each thread in its signal handler: nothing stops);
//! - `GET /top` — what `rpprof top --agent` shows: the last second's heaviest functions per
//!   thread, thread states and CPU, as compact JSON;
//! - `GET /metrics` — Prometheus text.
//!
//! With a token configured, every request needs `Authorization: Bearer TOKEN`. Requests
//! are bounded: a short target, known parameters only, at most 300 s of waiting and 24 h
//! of merging, at most four waiting requests at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use flamegraph::{svg, Format, Profile, SvgOptions, TimelineUse, ValueKind, View};
use tiny_http::{Header, Method, Request, Response, Server};

use crate::duration::{now_unix_ns, parse_time};
use crate::metrics::{self, AgentMetrics, MetricsInputs};
use crate::query::{Target, MAX_TARGET};
use crate::store::Store;
use crate::top::LiveTop;
use crate::windows::Request as WindowRequest;
use crate::AgentError;

/// Longest `seconds` for `/debug/pprof/profile`.
pub const MAX_SECONDS: u64 = 300;
/// Longest range for `/profile`.
pub const MAX_RANGE_S: u64 = 86_400;
/// Longest a `/profile` merge may take before answering with what it has.
const MERGE_BUDGET: Duration = Duration::from_secs(10);
/// Requests that wait (`/debug/pprof/profile`) allowed at once.
const MAX_WAITING: usize = 4;

/// What the request handlers share.
pub struct HttpContext {
    /// The store.
    pub store: Arc<Store>,
    /// The windows thread's request queue.
    pub windows: Sender<WindowRequest>,
    /// Counters.
    pub metrics: Arc<AgentMetrics>,
    /// The bearer token, if one is required.
    pub token: Option<String>,
    /// Distinct stacks kept in a merged answer.
    pub max_stacks: usize,
    /// The application's name, for titles.
    pub app_name: String,
    /// What `/top` serves.
    pub live_top: Arc<LiveTop>,
    /// Draw asyncio tasks as `task NAME` frames (`--async`); pprof has them as labels
    /// either way.
    pub tasks: bool,
    /// Requests waiting now.
    waiting: AtomicUsize,
}

impl HttpContext {
    /// The shared state for the handlers.
    pub fn new(
        store: Arc<Store>,
        windows: Sender<WindowRequest>,
        metrics: Arc<AgentMetrics>,
        token: Option<String>,
        max_stacks: usize,
        app_name: String,
    ) -> HttpContext {
        HttpContext {
            store,
            windows,
            metrics,
            token,
            max_stacks,
            app_name,
            live_top: Arc::default(),
            tasks: false,
            waiting: AtomicUsize::new(0),
        }
    }
}

/// An answer.
struct Answer {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

impl Answer {
    fn text(status: u16, text: impl Into<String>) -> Answer {
        let mut body = text.into().into_bytes();
        body.push(b'\n');
        Answer {
            status,
            content_type: "text/plain; charset=utf-8",
            body,
            headers: Vec::new(),
        }
    }

    fn bad(err: AgentError) -> Answer {
        Answer::text(400, err.to_string())
    }
}

/// Answers requests until the server is unblocked.
pub fn serve(server: &Server, context: &Arc<HttpContext>) {
    for request in server.incoming_requests() {
        context
            .metrics
            .http_requests
            .fetch_add(1, Ordering::Relaxed);
        let waits = request.url().starts_with("/debug/pprof/profile");
        if waits {
            if context.waiting.fetch_add(1, Ordering::AcqRel) >= MAX_WAITING {
                context.waiting.fetch_sub(1, Ordering::AcqRel);
                respond(
                    request,
                    Answer::text(429, "too many profile requests at once; try again later"),
                );
                continue;
            }
            let shared = context.clone();
            let spawned = std::thread::Builder::new()
                .name("rpprof-http-wait".to_owned())
                .spawn(move || {
                    let answer = handle(&request, &shared);
                    respond(request, answer);
                    shared.waiting.fetch_sub(1, Ordering::AcqRel);
                });
            if spawned.is_err() {
                context.waiting.fetch_sub(1, Ordering::AcqRel);
            }
        } else {
            let answer = handle(&request, context);
            respond(request, answer);
        }
    }
}

fn respond(request: Request, answer: Answer) {
    let mut response = Response::from_data(answer.body)
        .with_status_code(answer.status)
        .with_header(header("Content-Type", answer.content_type));
    for (name, value) in &answer.headers {
        response = response.with_header(header(name, value));
    }
    let _ = request.respond(response);
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("ASCII header")
}

fn handle(request: &Request, context: &HttpContext) -> Answer {
    if request.url().len() > MAX_TARGET {
        return Answer::text(
            414,
            format!("request target longer than {MAX_TARGET} bytes"),
        );
    }
    if *request.method() != Method::Get {
        return Answer::text(405, "only GET is supported");
    }
    if let Some(token) = &context.token {
        let expected = format!("Bearer {token}");
        let given = request
            .headers()
            .iter()
            .find(|h| h.field.equiv("Authorization"))
            .map(|h| h.value.as_str());
        if given != Some(expected.as_str()) {
            let mut answer = Answer::text(401, "a bearer token is required");
            answer
                .headers
                .push(("WWW-Authenticate", "Bearer".to_owned()));
            return answer;
        }
    }
    let target = match Target::parse(request.url()) {
        Ok(target) => target,
        Err(err) => return Answer::bad(err),
    };
    let result = match target.path.as_str() {
        "/" => index(&target, context),
        "/debug/pprof/profile" => live_profile(&target, context),
        "/debug/pprof/heap" => heap_profile(&target, context, &ValueKind::INUSE_SPACE),
        "/debug/pprof/allocs" => heap_profile(&target, context, &ValueKind::ALLOC_SPACE),
        "/profile" => stored_profile(&target, context),
        "/threads" => threads(&target),
        "/debug/pprof/threads" => stack_dump(&target),
        "/top" => live_top(&target, context),
        "/metrics" => metrics_page(&target, context),
        _ => Ok(Answer::text(404, format!("no endpoint {}", target.path))),
    };
    result.unwrap_or_else(Answer::bad)
}

/// The format `format=` names (pprof by default), from the format table.
fn format_of(target: &Target) -> Result<&'static Format, AgentError> {
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

fn live_profile(target: &Target, context: &HttpContext) -> Result<Answer, AgentError> {
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
fn heap_profile(
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

fn stored_profile(target: &Target, context: &HttpContext) -> Result<Answer, AgentError> {
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

fn threads(target: &Target) -> Result<Answer, AgentError> {
    target.check(&[], &[])?;
    let rows: Vec<serde_json::Value> = sampler::registered_threads()
        .iter()
        .filter(|t| t.is_alive())
        .map(|t| {
            serde_json::json!({
                "name": t.name(),
                "tid": t.tid(),
                "ident": t.ident(),
                "state": t.state().label(),
                "cpu_seconds": t.cpu_time_ns() as f64 / 1e9,
            })
        })
        .collect();
    let mut body = serde_json::to_vec_pretty(&rows).expect("JSON of plain values");
    body.push(b'\n');
    Ok(Answer {
        status: 200,
        content_type: "application/json",
        body,
        headers: Vec::new(),
    })
}

fn live_top(target: &Target, context: &HttpContext) -> Result<Answer, AgentError> {
    target.check(&[], &[])?;
    let slice = context.live_top.request();
    Ok(Answer {
        status: 200,
        content_type: "application/json",
        body: serde_json::to_vec(&*slice).expect("plain data"),
        headers: Vec::new(),
    })
}

fn stack_dump(target: &Target) -> Result<Answer, AgentError> {
    target.check(&["format"], &[])?;
    let json = match target.get("format").unwrap_or("text") {
        "text" => false,
        "json" => true,
        other => {
            return Err(AgentError::BadValue(format!(
                "unknown format `{other}` (expected text or json)"
            )))
        }
    };
    let dump = match session::StackDump::take() {
        Ok(dump) => dump,
        Err(err) => return Ok(Answer::text(503, err.to_string())),
    };
    Ok(match json {
        true => Answer {
            status: 200,
            content_type: "application/json",
            body: (dump.to_json() + "\n").into_bytes(),
            headers: Vec::new(),
        },
        false => Answer::text(200, dump.to_text().trim_end()),
    })
}

fn metrics_page(target: &Target, context: &HttpContext) -> Result<Answer, AgentError> {
    target.check(&[], &[])?;
    let threads = sampler::registered_threads();
    let started = &context.metrics.started;
    let inputs = MetricsInputs {
        sampler: sampler::current_stats(),
        sampler_threads_cpu_ns: sampler::background_cpu_ns(),
        python_threads_cpu_ns: sampler::python_threads_cpu_ns()
            .saturating_sub(started.python_threads_ns.load(Ordering::Relaxed)),
        process_cpu_ns: sampler::timer::process_cpu_ns()
            .saturating_sub(started.process_ns.load(Ordering::Relaxed)),
        windows_on_disk: context.store.len(),
        bytes_on_disk: context.store.bytes(),
        threads: threads.iter().filter(|t| t.is_alive()).count(),
    };
    Ok(Answer {
        status: 200,
        content_type: "text/plain; version=0.0.4",
        body: metrics::render(&context.metrics, &inputs).into_bytes(),
        headers: Vec::new(),
    })
}

fn index(target: &Target, context: &HttpContext) -> Result<Answer, AgentError> {
    target.check(&[], &[])?;
    let error = context
        .metrics
        .last_error()
        .map(|e| format!("<p>Last problem: {}</p>", svg::xml_escape(&e)))
        .unwrap_or_default();
    let html = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>rpprof agent: {app}</title></head><body>\n\
         <h1>rpprof agent: {app}</h1>\n<ul>\n\
         <li><a href=\"/profile?from=now-5m&amp;format=svg\">Flamegraph of the last 5 minutes</a> \
         (<a href=\"/profile?from=now-5m\">pprof</a>)</li>\n\
         <li><a href=\"/debug/pprof/profile?seconds=30\">Profile the next 30 seconds</a> (pprof)</li>\n\
         {heap}<li><a href=\"/threads\">Threads</a> (<a href=\"/debug/pprof/threads\">their stacks now</a>)</li>\n<li><a href=\"/metrics\">Metrics</a></li>\n</ul>\n\
         <p>{windows} windows stored ({bytes} bytes).</p>\n{error}</body></html>\n",
        heap = if context.metrics.alloc_sampling.load(Ordering::Relaxed) {
            "<li><a href=\"/debug/pprof/heap?format=svg\">Memory in use now</a> \
             (<a href=\"/debug/pprof/heap\">pprof</a>, \
             <a href=\"/debug/pprof/allocs?format=svg\">allocated since start</a>)</li>\n"
        } else {
            ""
        },
        app = svg::xml_escape(&context.app_name),
        windows = context.store.len(),
        bytes = context.store.bytes(),
    );
    Ok(Answer {
        status: 200,
        content_type: "text/html; charset=utf-8",
        body: html.into_bytes(),
        headers: Vec::new(),
    })
}
