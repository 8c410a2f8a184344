//! `rpprof ps`: the rpprof processes the caller may attach to (the caller's own, or every
//! one for root), from `/proc` alone: pid, user, uptime, whether a session runs, whether
//! an attach would be taken, and the command line.

use clap::Args;

use crate::attach::procfs;
use crate::attach::requester;
use crate::output;
use crate::python::ExitStatus;

/// `rpprof ps`.
#[derive(Debug, Args)]
pub struct PsArgs {}

/// Lists the processes.
pub fn ps(_: &PsArgs) -> anyhow::Result<ExitStatus> {
    // SAFETY: getuid and getpid have no preconditions.
    let (own, me) = unsafe { (libc::getuid(), libc::getpid()) };
    let mut text = format!(
        "{:>8}  {:<10} {:>9}  {:<8} {:<12} COMMAND\n",
        "PID", "USER", "UPTIME", "SESSION", "ATTACH"
    );
    for pid in procfs::all_pids() {
        if pid == me {
            continue;
        }
        let Ok(uid) = procfs::uid_of(pid) else {
            continue;
        };
        if own != 0 && uid != own {
            continue;
        }
        let Ok(info) = procfs::inspect(pid) else {
            continue;
        };
        if info.protocol.is_none() {
            continue;
        }
        let attach = match requester::check(pid) {
            Ok(_) => "ready".to_owned(),
            Err(_) if info.signal_taken() || info.ignored => "signal-taken".to_owned(),
            Err(_) if !info.watcher_ready() => "no".to_owned(),
            Err(_) => "refused".to_owned(),
        };
        text.push_str(&format!(
            "{:>8}  {:<10} {:>9}  {:<8} {:<12} {}\n",
            pid,
            procfs::user_name(uid),
            uptime(info.uptime_s),
            if info.session_running() { "yes" } else { "no" },
            attach,
            info.command.join(" ")
        ));
    }
    output::print_stdout(&text)?;
    Ok(ExitStatus::Code(0))
}

/// `12s`, `5m03s`, `2h05m`, `3d04h`.
fn uptime(seconds: f64) -> String {
    let s = seconds as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}
