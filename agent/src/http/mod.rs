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
//!
//! Routes and the server loop are here; the profile endpoints in [`profiles`], the others
//! in [`pages`].

use std::sync::atomic::Ordering;
use std::sync::Arc;

use flamegraph::ValueKind;
use tiny_http::{Header, Method, Request, Response, Server};

use crate::query::{Target, MAX_TARGET};

mod answer;
mod context;
mod pages;
mod profiles;

use answer::Answer;
pub use context::HttpContext;

/// Requests that wait (`/debug/pprof/profile`) allowed at once.
const MAX_WAITING: usize = 4;

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
    if let Some(pid) = context.attached_pid {
        let hint = match target.path.as_str() {
            "/threads" | "/debug/pprof/threads" => Some(format!("rpprof dump --pid {pid}")),
            "/top" => Some(format!("rpprof top --pid {pid}")),
            _ => None,
        };
        if let Some(hint) = hint {
            let message = format!(
                "this agent serves the profiles of pid {pid}, attached; for {}, use `{hint}`",
                target.path
            );
            return Answer::text(404, message);
        }
    }
    let result = match target.path.as_str() {
        "/" => pages::index(&target, context),
        "/debug/pprof/profile" => profiles::live_profile(&target, context),
        "/debug/pprof/heap" => profiles::heap_profile(&target, context, &ValueKind::INUSE_SPACE),
        "/debug/pprof/allocs" => profiles::heap_profile(&target, context, &ValueKind::ALLOC_SPACE),
        "/profile" => profiles::stored_profile(&target, context),
        "/threads" => pages::threads(&target),
        "/debug/pprof/threads" => pages::stack_dump(&target),
        "/top" => pages::live_top(&target, context),
        "/metrics" => pages::metrics_page(&target, context),
        _ => Ok(Answer::text(404, format!("no endpoint {}", target.path))),
    };
    result.unwrap_or_else(Answer::bad)
}
