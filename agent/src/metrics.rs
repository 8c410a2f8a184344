//! The agent's own counters, and `/metrics` in Prometheus text format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use sampler::StatsSnapshot;
use session::AggregatorGauges;

/// Counters shared by the agent's threads.
#[derive(Default)]
pub struct AgentMetrics {
    /// Windows written to the store.
    pub windows_stored: AtomicU64,
    /// Windows the store failed to write.
    pub store_errors: AtomicU64,
    /// Pushes the server accepted.
    pub pushes_ok: AtomicU64,
    /// Pushes that failed (unreachable, timeout, error status).
    pub pushes_failed: AtomicU64,
    /// Windows not pushed because the queue was full.
    pub pushes_dropped: AtomicU64,
    /// Label sets pushed within the series without labels, past the bound on series per
    /// window ([`crate::series::MAX_SERIES`]).
    pub push_label_sets_folded: AtomicU64,
    /// HTTP requests answered.
    pub http_requests: AtomicU64,
    /// Samples that went to `[overflow]` because a window hit the stack bound.
    pub overflowed_samples: AtomicU64,
    /// What the session's aggregator thread (which the slicer asks for slices) holds and
    /// has used, as of the last slice; none for an agent attached to another process.
    pub aggregator: Mutex<Option<AggregatorGauges>>,
    /// CPU time of the windows thread, nanoseconds.
    pub windows_cpu_ns: AtomicU64,
    /// Allocations are sampled (`--alloc`): the two allocation metrics are shown.
    pub alloc_sampling: AtomicBool,
    /// Bytes allocated by Python threads since the agent started (estimated from samples).
    pub allocated_bytes: AtomicU64,
    /// Bytes allocated by Python threads and not freed, as of the last slice (estimated).
    pub in_use_bytes: AtomicU64,
    /// The process's and the Python threads' CPU clocks when the agent started.
    pub started: CpuClocks,
    last_error: Mutex<Option<String>>,
}

/// CPU time, nanoseconds, of the whole process and of its Python threads (ended ones
/// included): what `rpprof_overhead_ratio` counts from.
#[derive(Debug, Default)]
pub struct CpuClocks {
    /// The whole process, profiler threads included.
    pub process_ns: AtomicU64,
    /// Every Python thread, the handler's time on them included.
    pub python_threads_ns: AtomicU64,
}

impl CpuClocks {
    /// Reads both clocks now.
    pub fn note_now(&self) {
        self.process_ns
            .store(sampler::timer::process_cpu_ns(), Ordering::Relaxed);
        self.python_threads_ns
            .store(sampler::python_threads_cpu_ns(), Ordering::Relaxed);
    }
}

impl AgentMetrics {
    /// Remembers the latest background error (shown on `/` and logged once per kind).
    pub fn note_error(&self, message: String) {
        let mut last = self.last_error.lock().unwrap_or_else(|p| p.into_inner());
        if last.as_deref() != Some(message.as_str()) {
            eprintln!("rpprof: agent: {message}");
        }
        *last = Some(message);
    }

    /// Notes what the session's aggregator reported after a slice.
    pub fn note_aggregator(&self, gauges: AggregatorGauges) {
        *self.aggregator.lock().unwrap_or_else(|p| p.into_inner()) = Some(gauges);
    }

    /// What the session's aggregator last reported (none when attached to a process).
    pub fn aggregator(&self) -> Option<AggregatorGauges> {
        *self.aggregator.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The latest background error, if any.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Everything `/metrics` reports besides the agent's counters.
pub struct MetricsInputs {
    /// The sampler's counters.
    pub sampler: StatsSnapshot,
    /// CPU of the sampler's background threads (drain, ticker), nanoseconds.
    pub sampler_threads_cpu_ns: u64,
    /// CPU of the Python threads since the agent started (those that ended included, the
    /// handler's time on them included), nanoseconds.
    pub python_threads_cpu_ns: u64,
    /// CPU of the whole process since the agent started, nanoseconds.
    pub process_cpu_ns: u64,
    /// Windows in the store.
    pub windows_on_disk: usize,
    /// Bytes of the store.
    pub bytes_on_disk: u64,
    /// Threads registered now.
    pub threads: usize,
    /// Resident memory of the profiled process, bytes.
    pub resident_bytes: Option<u64>,
    /// Bytes in use in the C allocator's heap of the profiled process.
    pub malloc_in_use_bytes: Option<u64>,
}

/// The Prometheus text exposition.
pub fn render(metrics: &AgentMetrics, inputs: &MetricsInputs) -> String {
    let mut out = String::new();
    // Prometheus' own name for it, as every client library's process collector exports it.
    if let Some(bytes) = inputs.resident_bytes {
        let _ = writeln!(
            out,
            "# HELP process_resident_memory_bytes Resident memory size in bytes."
        );
        let _ = writeln!(out, "# TYPE process_resident_memory_bytes gauge");
        let _ = writeln!(out, "process_resident_memory_bytes {bytes}");
    }
    let mut metric = |name: &str, kind: &str, help: &str, value: f64| {
        let _ = writeln!(out, "# HELP rpprof_{name} {help}");
        let _ = writeln!(out, "# TYPE rpprof_{name} {kind}");
        let _ = writeln!(out, "rpprof_{name} {value}");
    };
    let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed) as f64;
    let s = &inputs.sampler;
    metric(
        "samples_total",
        "counter",
        "Samples taken by the signal handler.",
        s.samples as f64,
    );
    metric(
        "samples_dropped_total",
        "counter",
        "Samples lost because a ring was full.",
        s.dropped as f64,
    );
    metric(
        "samples_overflowed_total",
        "counter",
        "Samples kept in [overflow] past the stack bound.",
        load(&metrics.overflowed_samples),
    );
    if let Some(t) = s.handler_ns {
        metric(
            "handler_seconds_median",
            "gauge",
            "Median run time of the SIGPROF handler.",
            t.median as f64 / 1e9,
        );
        metric(
            "handler_seconds_p99",
            "gauge",
            "99th percentile run time of the SIGPROF handler.",
            t.p99 as f64 / 1e9,
        );
        metric(
            "handler_seconds_max",
            "gauge",
            "Longest run of the SIGPROF handler.",
            t.max as f64 / 1e9,
        );
    }
    if metrics.alloc_sampling.load(Ordering::Relaxed) {
        metric(
            "allocated_bytes_total",
            "counter",
            "Bytes allocated by Python threads (estimated from allocation samples).",
            load(&metrics.allocated_bytes),
        );
        metric(
            "in_use_bytes",
            "gauge",
            "Bytes allocated by Python threads and not freed yet, as of the last second (estimated).",
            load(&metrics.in_use_bytes),
        );
    }
    if let Some(bytes) = inputs.malloc_in_use_bytes {
        metric(
            "malloc_in_use_bytes",
            "gauge",
            "Bytes the C allocator has handed out and not had back (glibc's mallinfo2): next to resident memory, tells memory held from fragmentation.",
            bytes as f64,
        );
    }
    metric(
        "threads",
        "gauge",
        "Python threads registered with the sampler.",
        inputs.threads as f64,
    );
    metric(
        "windows_stored_total",
        "counter",
        "Windows written to the store.",
        load(&metrics.windows_stored),
    );
    metric(
        "store_errors_total",
        "counter",
        "Windows the store failed to write.",
        load(&metrics.store_errors),
    );
    metric(
        "store_windows",
        "gauge",
        "Windows in the store.",
        inputs.windows_on_disk as f64,
    );
    metric(
        "store_bytes",
        "gauge",
        "Bytes on disk in the store.",
        inputs.bytes_on_disk as f64,
    );
    metric(
        "pushes_ok_total",
        "counter",
        "Windows the push target accepted.",
        load(&metrics.pushes_ok),
    );
    metric(
        "pushes_failed_total",
        "counter",
        "Pushes that failed.",
        load(&metrics.pushes_failed),
    );
    metric(
        "pushes_dropped_total",
        "counter",
        "Windows dropped because the push queue was full.",
        load(&metrics.pushes_dropped),
    );
    metric(
        "push_label_sets_folded_total",
        "counter",
        "Label sets pushed within the unlabelled series, past the bound on series per window.",
        load(&metrics.push_label_sets_folded),
    );
    metric(
        "http_requests_total",
        "counter",
        "HTTP requests answered.",
        load(&metrics.http_requests),
    );
    // The program's CPU is its Python threads' (those that ended too: a thread-per-request
    // server's work is mostly in threads that are gone) without the handler's share; the
    // profiler's is everything else the process used: handlers, drain, ticker, aggregator,
    // windows, HTTP and push threads.
    let handlers = s.handler_cpu_estimate_ns();
    let program = inputs.python_threads_cpu_ns.saturating_sub(handlers);
    let profiler = inputs.process_cpu_ns.saturating_sub(program);
    metric(
        "program_cpu_seconds_total",
        "counter",
        "CPU time of the program's Python threads since the agent started (ended ones too).",
        program as f64 / 1e9,
    );
    metric(
        "profiler_cpu_seconds_total",
        "counter",
        "CPU time of the profiler since the agent started: handlers and its own threads.",
        profiler as f64 / 1e9,
    );
    metric(
        "sampler_threads_cpu_seconds_total",
        "counter",
        "CPU time of the sampler's drain and ticker threads.",
        inputs.sampler_threads_cpu_ns as f64 / 1e9,
    );
    if let Some(aggregator) = metrics.aggregator() {
        metric(
            "aggregator_cpu_seconds_total",
            "counter",
            "CPU time of the session's aggregator thread.",
            aggregator.cpu_ns as f64 / 1e9,
        );
        metric(
            "aggregator_frames",
            "gauge",
            "Distinct frames the session's aggregator holds (it starts afresh past 500000).",
            aggregator.frames as f64,
        );
        metric(
            "aggregator_stacks",
            "gauge",
            "Distinct stacks the session's aggregator holds (it empties its table past half the stack bound).",
            aggregator.stacks as f64,
        );
        metric(
            "aggregator_threads",
            "gauge",
            "Threads the session's aggregator holds: live ones, ended ones still holding sampled memory, groups.",
            aggregator.threads as f64,
        );
    }
    metric(
        "windows_cpu_seconds_total",
        "counter",
        "CPU time of the thread that renders and stores windows.",
        load(&metrics.windows_cpu_ns) / 1e9,
    );
    metric(
        "overhead_ratio",
        "gauge",
        "Profiler CPU over the program's CPU, since the agent started.",
        profiler as f64 / program.max(1) as f64,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_help_type_and_values() {
        let metrics = AgentMetrics::default();
        metrics.pushes_ok.fetch_add(3, Ordering::Relaxed);
        let text = render(
            &metrics,
            &MetricsInputs {
                sampler: StatsSnapshot::default(),
                sampler_threads_cpu_ns: 1_000,
                python_threads_cpu_ns: 100_000,
                process_cpu_ns: 101_000,
                windows_on_disk: 2,
                bytes_on_disk: 4096,
                threads: 3,
                resident_bytes: Some(50 << 20),
                malloc_in_use_bytes: Some(30 << 20),
            },
        );
        assert!(text.contains("\nprocess_resident_memory_bytes 52428800\n"));
        assert!(text.contains("\nrpprof_malloc_in_use_bytes 31457280\n"));
        assert!(text.contains("# TYPE rpprof_pushes_ok_total counter\nrpprof_pushes_ok_total 3\n"));
        assert!(text.contains("rpprof_store_bytes 4096\n"));
        assert!(text.contains("rpprof_overhead_ratio 0.01\n"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (name, value) = line.split_once(' ').unwrap();
            assert!(name.starts_with("rpprof_") || name.starts_with("process_"));
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
