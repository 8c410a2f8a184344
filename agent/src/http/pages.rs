//! The endpoints that are not profiles: the HTML index, the thread table, stack dumps,
//! `/top`'s JSON and `/metrics`.

use std::sync::atomic::Ordering;

use flamegraph::svg;

use super::answer::Answer;
use super::context::HttpContext;
use crate::metrics::{self, MetricsInputs};
use crate::process_memory;
use crate::query::Target;
use crate::AgentError;

pub(super) fn threads(target: &Target) -> Result<Answer, AgentError> {
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

pub(super) fn live_top(target: &Target, context: &HttpContext) -> Result<Answer, AgentError> {
    target.check(&[], &[])?;
    let slice = context.live_top.request();
    Ok(Answer {
        status: 200,
        content_type: "application/json",
        body: serde_json::to_vec(&*slice).expect("plain data"),
        headers: Vec::new(),
    })
}

pub(super) fn stack_dump(target: &Target) -> Result<Answer, AgentError> {
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

pub(super) fn metrics_page(target: &Target, context: &HttpContext) -> Result<Answer, AgentError> {
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
        // The profiled process's: this one's, or the target's when attached (whose heap
        // cannot be read from here).
        resident_bytes: process_memory::resident_bytes(context.attached_pid),
        malloc_in_use_bytes: match context.attached_pid {
            None => process_memory::malloc_in_use_bytes(),
            Some(_) => None,
        },
    };
    Ok(Answer {
        status: 200,
        content_type: "text/plain; version=0.0.4",
        body: metrics::render(&context.metrics, &inputs).into_bytes(),
        headers: Vec::new(),
    })
}

pub(super) fn index(target: &Target, context: &HttpContext) -> Result<Answer, AgentError> {
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
