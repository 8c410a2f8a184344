//! Stack dumps, as `py-spy dump` prints them: every Python thread's current stack with
//! file:line, its name, state (running / idle) and CPU seconds. `rpprof dump --agent`, the
//! agent's `/debug/pprof/threads` and SIGQUIT under `run`, `record` and `agent` all show a
//! [`StackDump`].
//!
//! The stacks are read by each thread itself, in its signal handler, without stopping the
//! program: see `sampler::snapshot_threads` for how, and what it costs each thread.

use std::fmt::Write as _;
use std::time::Duration;

use flamegraph::IDLE;
use serde::{Deserialize, Serialize};
use symbolizer::Symbolizer;

use crate::now_unix_ns;

/// How long a dump waits for threads to answer.
pub const DUMP_TIMEOUT: Duration = Duration::from_millis(500);

/// Every Python thread's stack at one moment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StackDump {
    /// The process.
    pub pid: u32,
    /// When the stacks were read, in nanoseconds since the Unix epoch.
    pub time_unix_ns: u64,
    /// The threads, in the order they registered (the main thread first).
    pub threads: Vec<ThreadStack>,
}

/// One thread's stack.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThreadStack {
    /// The name the program gave it.
    pub name: String,
    /// Its kernel thread id.
    pub tid: i32,
    /// Python's `threading.get_ident()`.
    pub ident: u64,
    /// `running`, `idle` or `unknown`.
    pub state: String,
    /// Its labels (`rpprof.labels`) when its stack was read, in key order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<(String, String)>,
    /// CPU time it has used, in seconds.
    pub cpu_seconds: f64,
    /// Its frames, innermost first; `None` when it did not answer in time.
    pub frames: Option<Vec<StackFrame>>,
    /// True when only the innermost frames were kept.
    pub truncated: bool,
    /// How long the thread was interrupted for its stack to be read, in nanoseconds.
    pub pause_ns: u64,
    /// The builtin call a blocked thread waits in (`lock.acquire`, `time.sleep`), when it
    /// was named; the text dump shows it as an `[idle] NAME` line above the frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_in: Option<String>,
}

/// One frame of a dump.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackFrame {
    /// The function's qualified name.
    pub function: String,
    /// Its source file.
    pub file: String,
    /// The line executing.
    pub line: u32,
}

/// Why a dump could not be taken.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the threads' stacks: {0}")]
pub struct DumpError(#[from] sampler::SamplerError);

impl StackDump {
    /// Reads every registered Python thread's stack now, without stopping the program.
    pub fn take() -> Result<StackDump, DumpError> {
        let snapshots = sampler::snapshot_threads(DUMP_TIMEOUT)?;
        let mut symbolizer = Symbolizer::new(std::env::current_dir().ok());
        let threads = snapshots
            .into_iter()
            .map(|snapshot| ThreadStack {
                name: snapshot.entry.name(),
                tid: snapshot.entry.tid(),
                ident: snapshot.entry.ident(),
                state: snapshot.state.label().to_owned(),
                labels: sampler::labels::label_set(snapshot.labels).to_vec(),
                cpu_seconds: snapshot.cpu_ns as f64 / 1e9,
                frames: snapshot.frames.map(|frames| {
                    frames
                        .iter()
                        .map(|raw| {
                            let frame = symbolizer.resolve(raw);
                            StackFrame {
                                function: frame.function,
                                file: frame.file,
                                line: frame.line,
                            }
                        })
                        .collect()
                }),
                truncated: snapshot.truncated,
                pause_ns: snapshot.pause_ns,
                waiting_in: symbolizer.call_name(snapshot.call),
            })
            .collect();
        Ok(StackDump {
            pid: std::process::id(),
            time_unix_ns: now_unix_ns(),
            threads,
        })
    }

    /// The longest any thread was interrupted.
    pub fn max_pause_ns(&self) -> u64 {
        self.threads.iter().map(|t| t.pause_ns).max().unwrap_or(0)
    }

    /// The dump as text, as `py-spy dump` prints it: a heading per thread, then its frames,
    /// innermost first.
    ///
    /// ```text
    /// Process 4242: 3 Python threads
    ///
    /// Thread 4245 "cruncher" (running, 2.00 s cpu)
    ///     crunch (examples/mixed.py:23)
    ///     Thread.run (threading.py:1012)
    ///
    /// Thread 4246 "waiter" (idle, 0.01 s cpu)
    ///     [idle] lock.acquire
    ///     wait_for (examples/mixed.py:38)
    /// ```
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Process {}: {} Python thread{}",
            self.pid,
            self.threads.len(),
            if self.threads.len() == 1 { "" } else { "s" }
        );
        for thread in &self.threads {
            let labels: String = thread
                .labels
                .iter()
                .map(|(k, v)| format!(" {k}={v}"))
                .collect();
            let _ = writeln!(
                out,
                "\nThread {} \"{}\" ({}, {:.2} s cpu){}",
                thread.tid,
                thread.name,
                thread.state,
                thread.cpu_seconds,
                if labels.is_empty() {
                    String::new()
                } else {
                    format!(" [labels:{labels}]")
                }
            );
            match &thread.frames {
                None => out.push_str("    (did not answer in time: the thread may be exiting)\n"),
                Some(frames) if frames.is_empty() => {
                    out.push_str("    (no Python frame: interpreter start-up or shutdown)\n")
                }
                Some(frames) => {
                    if let Some(call) = &thread.waiting_in {
                        let _ = writeln!(out, "    {IDLE} {call}");
                    }
                    for frame in frames {
                        let _ = writeln!(
                            out,
                            "    {} ({}:{})",
                            frame.function, frame.file, frame.line
                        );
                    }
                    if thread.truncated {
                        out.push_str("    ... (outer frames cut)\n");
                    }
                }
            }
        }
        out
    }

    /// The dump as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a dump is plain data")
    }

    /// Reads a dump written by [`StackDump::to_json`].
    pub fn from_json(text: &[u8]) -> Result<StackDump, serde_json::Error> {
        serde_json::from_slice(text)
    }
}
