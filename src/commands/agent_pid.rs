//! `rpprof agent --pid PID --listen ADDR`: always-on profiling turned on in a running rpprof
//! process, for as long as this agent runs. The target runs the session and sends a slice
//! every second; this process keeps the windows, the store, the HTTP endpoints (under the
//! agent's token and loopback rules) and the pushes. Stopping it (Ctrl-C, SIGTERM) ends
//! the session in the target; a target that ends ends the agent, its last window stored.

use std::sync::atomic::Ordering;

use agent::{Agent, DEFAULT_MAX_STACKS};
use anyhow::Context;

use crate::attach::requester::{self, Incoming};
use crate::commands::agent::AgentArgs;
use crate::commands::record_pid::{session_request, stop_on_interrupt};
use crate::python::ExitStatus;

/// `agent --pid PID`.
pub fn agent_pid(args: &AgentArgs, pid: i32) -> anyhow::Result<ExitStatus> {
    let request = session_request("record", &args.sampling)?;
    let mut session = args.sampling.session("attached")?;
    session.max_stacks = DEFAULT_MAX_STACKS;
    let connection = requester::connect(pid, &request)?;
    let app_name = args.app_name_or(&connection.title);
    session.title = app_name.clone();
    let config = args.config(session, app_name);
    // Settings, store and port are checked before the target is asked to start.
    let ready = Agent::new(config).context("cannot start the agent")?;
    connection.started()?;
    let stop = stop_on_interrupt()?;
    let incoming = connection.incoming()?;
    let (fed, slices) = crossbeam_channel::bounded(64);
    let running = ready
        .start_fed(slices, pid)
        .context("cannot start the agent")?;
    eprintln!(
        "rpprof: agent on http://{} for pid {pid} ({}), attached (windows of {} s in {})",
        running.address(),
        connection.title,
        args.window.as_secs(),
        args.store.display()
    );
    let ended = loop {
        if stop.load(Ordering::Acquire) {
            connection.stop();
            break None;
        }
        match incoming.recv_timeout(std::time::Duration::from_millis(100)) {
            Ok(Incoming::Slice(profile)) => {
                let _ = fed.try_send(*profile);
            }
            Ok(Incoming::End(reason) | Incoming::Error(reason)) => break Some(reason),
            Ok(Incoming::Closed) | Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                break Some("the connection closed (the target was killed?)".to_owned())
            }
            Ok(Incoming::Top(_)) | Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
        }
    };
    if ended.is_none() {
        // The rest the target sends after the stop: the last slice.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while let Ok(Incoming::Slice(profile)) = incoming.recv_deadline(deadline) {
            let _ = fed.try_send(*profile);
        }
    }
    drop(fed);
    let report = running.stop();
    let (ok, failed, dropped) = report.pushes;
    eprintln!(
        "rpprof: agent for pid {pid} stored {} windows; pushes: {ok} ok, {failed} failed, \
         {dropped} dropped",
        report.windows_stored
    );
    if let Some(reason) = ended {
        eprintln!("rpprof: the target ended the session: {reason}");
    }
    Ok(ExitStatus::Code(0))
}
