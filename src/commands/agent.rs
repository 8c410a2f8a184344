//! `rpprof agent`: run a long-lived program under low-rate sampling for as long as it
//! lives, keeping rolling windows in a store, serving them over HTTP, pushing them to
//! Pyroscope.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agent::slicer::AddToSlice;
use agent::{
    duration::parse_duration, parse_label, Agent, AgentConfig, PushTarget, Running, DEFAULT_LISTEN,
    DEFAULT_MAX_STACKS, DEFAULT_MAX_STORE_BYTES,
};
use anyhow::Context;
use clap::Args;
use flamegraph::Profile;
use session::SessionConfig;

use crate::args::{ProgramOrPid, SamplingArgs};
use crate::children::ChildProfiles;
use crate::python::{native, ExitStatus, PythonRun};
use crate::{ending, signals};

/// `rpprof agent`.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// Address of the HTTP endpoints. Anything but loopback needs a token.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,

    /// Bearer token the endpoints require (also RPPROF_AGENT_TOKEN).
    #[arg(long, env = "RPPROF_AGENT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// How to sample.
    #[command(flatten)]
    pub sampling: SamplingArgs,

    /// Length of a stored window (like 10s, 1m).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration_arg)]
    pub window: Duration,

    /// Directory of the store.
    #[arg(long, value_name = "DIR", default_value = "rpprof-store")]
    pub store: PathBuf,

    /// How long windows are kept (like 24h, 7d).
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = duration_arg)]
    pub retain: Duration,

    /// Most megabytes the store may take; the oldest windows go first.
    #[arg(long, value_name = "MB", default_value_t = DEFAULT_MAX_STORE_BYTES >> 20)]
    pub max_store_mb: u64,

    /// Push each window to this Grafana Pyroscope server (http://host:port).
    #[arg(long, value_name = "URL", value_parser = push_arg)]
    pub push: Option<PushTarget>,

    /// Application name in pushes and titles (default: the script's name).
    #[arg(long, value_name = "NAME")]
    pub app_name: Option<String>,

    /// A label for pushes; repeat for several.
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = label_arg)]
    pub labels: Vec<(String, String)>,

    /// asyncio: draw a `task NAME` frame under the thread for samples taken in a task
    /// (pprof always has the `task` label); in wall mode also sample waiting tasks with
    /// their coroutine chains.
    #[arg(long = "async")]
    pub async_tasks: bool,

    /// The program to run.
    #[command(flatten)]
    pub program: ProgramOrPid,
}

fn duration_arg(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| e.to_string())
}

fn push_arg(text: &str) -> Result<PushTarget, String> {
    PushTarget::parse(text).map_err(|e| e.to_string())
}

fn label_arg(text: &str) -> Result<(String, String), String> {
    parse_label(text).map_err(|e| e.to_string())
}

/// Runs the program under the agent; returns how the program ended.
impl AgentArgs {
    /// `--app-name`, or the program's name without `.py`.
    pub(crate) fn app_name_or(&self, program_name: &str) -> String {
        self.app_name.clone().unwrap_or_else(|| {
            program_name
                .strip_suffix(".py")
                .unwrap_or(program_name)
                .to_owned()
        })
    }

    /// The agent's settings from these arguments, around `session` (whose own settings
    /// come from the sampling arguments).
    pub(crate) fn config(&self, session: SessionConfig, app_name: String) -> AgentConfig {
        AgentConfig {
            listen: self.listen,
            token: self.token.clone().filter(|t| !t.is_empty()),
            session,
            window: self.window,
            store_dir: self.store.clone(),
            retain: self.retain,
            max_store_bytes: self.max_store_mb.saturating_mul(1 << 20),
            push: self.push.clone(),
            app_name,
            labels: self.labels.clone(),
            tasks: self.async_tasks,
        }
    }
}

pub fn agent(args: &AgentArgs) -> anyhow::Result<ExitStatus> {
    let program = args.program.program()?;
    let app_name = args.app_name_or(&program.display_name());
    let mut session = args.sampling.session(&app_name)?;
    session.max_stacks = DEFAULT_MAX_STACKS;
    program.check_readable()?;
    let config = args.config(session, app_name);
    let window = config.window;
    // Before the interpreter copies the environment, and before any thread starts.
    let children = match args.sampling.subprocesses {
        true => Some(Arc::new(ChildProfiles::prepare(&config.session)?)),
        false => None,
    };
    // Settings, store and port are checked before the program starts.
    let ready = Agent::new(config).context("cannot start the agent")?;
    let python = PythonRun::new(program, native::add_modules);
    python
        .enter(native::install)
        .map_err(|_| anyhow::anyhow!("cannot install rpprof's module in the interpreter"))?;
    if args.async_tasks && args.sampling.mode.samples_waiting() {
        python
            .enter(crate::python::tasks::hook_event_loops)
            .map_err(|_| anyhow::anyhow!("cannot hook asyncio's event loops"))?;
    }
    let add_children = children.map(|children| -> AddToSlice {
        Arc::new(move |profile: &mut Profile| {
            children.add_to(profile);
        })
    });
    let running = ready
        .start_adding(add_children)
        .context("cannot start the agent")?;
    eprintln!(
        "rpprof: agent on http://{} (windows of {} s in {})",
        running.address(),
        window.as_secs(),
        args.store.display()
    );
    let shared: Arc<Mutex<Option<Agent<Running>>>> = Arc::new(Mutex::new(Some(running)));
    // However the program ends (normally, SIGTERM, os._exit), the window in progress is
    // flushed once.
    let for_ending = shared.clone();
    ending::on_end(move || {
        if let Some(agent) = lock(&for_ending).take() {
            report(agent);
        }
        Ok(())
    });
    let for_signals = shared.clone();
    signals::watch(
        &[libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT],
        move |signal| {
            if signal == libc::SIGQUIT {
                return crate::commands::dump::print_to_stderr();
            }
            if signal == libc::SIGHUP {
                if let Some(agent) = lock(&for_signals).as_ref() {
                    match agent.reopen_store() {
                        Ok(()) => eprintln!("rpprof: agent: store reopened"),
                        Err(err) => eprintln!("rpprof: agent: cannot reopen the store: {err}"),
                    }
                }
                return;
            }
            ending::end_now_reporting();
            signals::die_by(signal);
        },
    )
    .context("cannot watch for SIGTERM and SIGHUP")?;

    let exception = python.run_main();
    let status = python.finish(exception);
    ending::end_now_reporting();
    if sampler::in_forked_child() {
        // The child of a fork has none of the agent's threads: leave them be.
        std::mem::forget(shared);
    }
    Ok(status)
}

fn lock(
    shared: &Mutex<Option<Agent<Running>>>,
) -> std::sync::MutexGuard<'_, Option<Agent<Running>>> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

fn report(agent: Agent<Running>) {
    let report = agent.stop();
    let (ok, failed, dropped) = report.pushes;
    eprintln!(
        "rpprof: agent stored {} windows ({} samples); pushes: {ok} ok, {failed} failed, {dropped} dropped",
        report.windows_stored, report.samples
    );
}
