//! `rpprof top`: a live view of a program's threads, as `py-spy top` shows one: the heaviest
//! functions (over the last second and since the start) and each thread's state and CPU,
//! refreshed every second. `rpprof top SCRIPT` runs the program (its output goes to a file,
//! so it does not tear the view); `rpprof top --agent URL` watches a running agent;
//! `rpprof top --pid PID` a running rpprof process (attached: `crate::attach`; quitting
//! ends the session there, the program goes on).

use std::ffi::OsString;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Args;
use sampler::Mode;
use session::{Session, SessionConfig, TopSlice};

use crate::agent_client::AgentClient;
use crate::args::{ProgramArgs, UsageError};
use crate::python::{native, ExitStatus, PythonRun};
use crate::top::ui::{self, Ended, Heading};

/// `rpprof top`.
#[derive(Debug, Args)]
pub struct TopArgs {
    /// Watch a running agent (`http://127.0.0.1:6060`) instead of running a program.
    #[arg(long, value_name = "URL")]
    pub agent: Option<String>,

    /// Watch a running rpprof process (see `rpprof ps`) instead of running a program.
    #[arg(long, value_name = "PID", conflicts_with_all = ["agent", "command"])]
    pub pid: Option<i32>,

    /// The bearer token the agent requires.
    #[arg(long, env = "RPPROF_AGENT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Where the program's stdout and stderr go (default: rpprof-top-PID.log in the
    /// working directory).
    #[arg(long, value_name = "FILE")]
    pub program_output: Option<PathBuf>,

    /// Samples per second per thread (1 to 20000).
    #[arg(short = 'r', long, default_value_t = sampler::DEFAULT_RATE_HZ)]
    pub rate: u32,

    /// `cpu` shows where the CPU goes; `wall` also shows where threads wait.
    #[arg(long, default_value = sampler::DEFAULT_MODE.label(), value_parser = crate::args::mode_arg)]
    pub mode: Mode,

    /// Also import the packages of this CPython interpreter (see `rpprof run --help`);
    /// `auto` is the `python3` first on PATH. Also `RPPROF_PYTHON`.
    #[arg(long, value_name = "PATH")]
    pub python: Option<OsString>,

    /// The program: `SCRIPT [ARGS...]`, `-m MODULE [ARGS...]` or `-c CODE [ARGS...]`.
    #[arg(
        value_name = "SCRIPT | -m MODULE | -c CODE",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<OsString>,
}

/// Runs the live view until the program ends or the user quits.
pub fn top(args: &TopArgs) -> anyhow::Result<ExitStatus> {
    if let Some(pid) = args.pid {
        return watch_pid(pid, args);
    }
    match (&args.agent, args.command.is_empty()) {
        (Some(_), false) => {
            return Err(UsageError::new("give either --agent URL or a program, not both").into())
        }
        (None, true) => {
            return Err(
                UsageError::new("a program to run, --agent URL or --pid PID is required").into(),
            )
        }
        _ => {}
    }
    match &args.agent {
        Some(url) => watch_agent(url, args.token.clone()),
        None => {
            need_terminal()?;
            run_program(args)
        }
    }
}

/// Fails unless stdout is a terminal.
fn need_terminal() -> anyhow::Result<()> {
    // SAFETY: isatty has no preconditions.
    if unsafe { libc::isatty(libc::STDOUT_FILENO) } != 1 {
        bail!(
            "top needs a terminal, and stdout is not one (to profile without one, use \
             `rpprof record`)"
        );
    }
    Ok(())
}

/// `rpprof top --agent URL`.
fn watch_agent(url: &str, token: Option<String>) -> anyhow::Result<ExitStatus> {
    let client = AgentClient::new(url, token)?;
    let fetch = || -> anyhow::Result<TopSlice> {
        let body = client.get("/top")?;
        serde_json::from_slice(&body).context("the agent's /top answer is not what top reads")
    };
    // One line and status 1, before the screen changes, if the agent does not answer.
    fetch()?;
    need_terminal()?;
    let heading = Heading {
        title: format!("agent at {url}"),
        note: "the agent's threads; functions of its last one-second slice".to_owned(),
    };
    let tty = terminal_file()?;
    let never = AtomicBool::new(false);
    ui::run(tty, &heading, &never, || {
        fetch().map_err(|e| format!("{e:#}"))
    })
    .context("the terminal failed")?;
    Ok(ExitStatus::Code(0))
}

/// `rpprof top --pid PID`: the target runs the session and sends each second's figures.
fn watch_pid(pid: i32, args: &TopArgs) -> anyhow::Result<ExitStatus> {
    use crate::attach::requester::{self, Incoming};
    use crossbeam_channel::RecvTimeoutError;
    need_terminal()?;
    let request = serde_json::json!({
        "kind": "top",
        "rate": args.rate,
        "mode": args.mode.label(),
    });
    let connection = requester::connect(pid, &request)?;
    connection.started()?;
    let incoming = connection.incoming()?;
    let heading = Heading {
        title: format!("pid {pid}: {}", connection.title),
        note: "attached: q ends the view, the program goes on".to_owned(),
    };
    let ended = Arc::new(AtomicBool::new(false));
    let why: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
    let (for_view, why_view) = (ended.clone(), why.clone());
    let tty = terminal_file()?;
    ui::run(tty, &heading, &ended, move || {
        let wait = ui::REFRESH + ui::REFRESH / 2;
        let reason = match incoming.recv_timeout(wait) {
            Ok(Incoming::Top(slice)) => return Ok(*slice),
            Err(RecvTimeoutError::Timeout) => return Err("no figures this second".to_owned()),
            Ok(Incoming::End(reason) | Incoming::Error(reason)) => reason,
            Ok(Incoming::Slice(_)) => return Err("unexpected answer".to_owned()),
            Ok(Incoming::Closed) | Err(RecvTimeoutError::Disconnected) => {
                "the connection closed".to_owned()
            }
        };
        *why_view.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason.clone());
        for_view.store(true, Ordering::Release);
        Err(reason)
    })
    .context("the terminal failed")?;
    connection.stop();
    if let Some(reason) = why.lock().unwrap_or_else(|p| p.into_inner()).take() {
        eprintln!("rpprof: top: pid {pid} ended the session: {reason}");
    }
    Ok(ExitStatus::Code(0))
}

/// `rpprof top SCRIPT [ARGS]`.
fn run_program(args: &TopArgs) -> anyhow::Result<ExitStatus> {
    let program = ProgramArgs {
        python: args.python.clone(),
        command: args.command.clone(),
    }
    .program()?;
    let title = program.display_name();
    let config = SessionConfig::builder(&title)
        .rate(args.rate)
        .mode(args.mode)
        .build()
        .map_err(|err| UsageError::new(err.to_string()))?;
    program.check_readable()?;
    let output = args
        .program_output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("rpprof-top-{}.log", std::process::id())));
    let log = File::create(&output)
        .with_context(|| format!("cannot write the program's output to {}", output.display()))?;
    let terminal = Arc::new(Redirected::to(&log)?);

    let python = PythonRun::new(program, native::add_modules);
    python
        .enter(native::install)
        .map_err(|_| anyhow::anyhow!("cannot install rpprof's module in the interpreter"))?;
    let session = Session::start(config).context("cannot start sampling")?;
    let slicer = session.slicer();
    let program_ended = Arc::new(AtomicBool::new(false));
    let heading = Heading {
        title,
        note: format!("program output: {}", output.display()),
    };
    let tty = terminal.tty()?;
    let ended = program_ended.clone();
    let for_view = terminal.clone();
    let log_name = output.display().to_string();
    let view = std::thread::Builder::new()
        .name("rpprof-top".to_owned())
        .spawn(move || {
            let result = ui::run(tty, &heading, &ended, || {
                let profile = slicer.slice().ok_or("the program has ended")?;
                Ok(TopSlice::new(&profile, &sampler::registered_threads()))
            });
            if let Ok((Ended::Quit, _)) = result {
                stop_program(&ended, &for_view, &log_name);
            }
            result.map(|(ended, _)| ended)
        })
        .context("cannot start the view's thread")?;

    let exception = python.run_main();
    let status = python.finish(exception);
    program_ended.store(true, Ordering::Release);
    let view = view.join();
    session.finish();
    terminal.restore();
    match view {
        Ok(Ok(_)) => {}
        Ok(Err(err)) => eprintln!("rpprof: top: the terminal failed: {err}"),
        Err(_) => eprintln!("rpprof: top: the view stopped with a panic"),
    }
    let ended = match status {
        ExitStatus::Code(code) => format!("exited with status {code}"),
        ExitStatus::Interrupted => "was interrupted".to_owned(),
    };
    eprintln!(
        "rpprof: top: the program {ended}; its output is in {}",
        output.display()
    );
    Ok(status)
}

/// After `q`: ends the program as Ctrl-C would (KeyboardInterrupt in its main thread); a
/// program that has not ended [`QUIT_GRACE`] later (threads that do not stop, a caught
/// interrupt) is ended by SIGINT, as a second Ctrl-C would.
fn stop_program(ended: &AtomicBool, terminal: &Redirected, log: &str) {
    // SAFETY: kill(2) on our own process.
    unsafe { libc::kill(libc::getpid(), libc::SIGINT) };
    let deadline = std::time::Instant::now() + QUIT_GRACE;
    while std::time::Instant::now() < deadline {
        if ended.load(Ordering::Acquire) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    terminal.restore();
    eprintln!(
        "rpprof: top: the program did not end within {} s of the interrupt, so it is stopped; \
         its output is in {log}",
        QUIT_GRACE.as_secs()
    );
    crate::signals::die_by(libc::SIGINT);
}

/// How long a program has to end after `q` before it is stopped.
const QUIT_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// The terminal, as a file the view can write to (a fresh descriptor of stdout).
fn terminal_file() -> anyhow::Result<File> {
    // SAFETY: dup of our stdout; the new descriptor is owned by the File.
    let fd = unsafe { libc::dup(libc::STDOUT_FILENO) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()).context("cannot use the terminal");
    }
    // SAFETY: `fd` is a fresh descriptor nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// stdout and stderr sent to the program's log file, with copies of the originals kept for
/// the view and put back by [`Redirected::restore`].
struct Redirected {
    stdout: File,
    stderr: File,
}

impl Redirected {
    fn to(log: &File) -> anyhow::Result<Redirected> {
        let stdout = terminal_file()?;
        // SAFETY: dup of our stderr, owned by the File.
        let fd = unsafe { libc::dup(libc::STDERR_FILENO) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error()).context("cannot keep stderr");
        }
        // SAFETY: `fd` is fresh and owned by nothing else.
        let stderr = unsafe { File::from_raw_fd(fd) };
        let _ = std::io::stdout().flush();
        for target in [libc::STDOUT_FILENO, libc::STDERR_FILENO] {
            // SAFETY: dup2 onto our own standard descriptors; `log` stays open meanwhile.
            if unsafe { libc::dup2(log.as_raw_fd(), target) } < 0 {
                return Err(std::io::Error::last_os_error())
                    .context("cannot send the program's output to its file");
            }
        }
        Ok(Redirected { stdout, stderr })
    }

    fn tty(&self) -> anyhow::Result<File> {
        self.stdout.try_clone().context("cannot use the terminal")
    }

    fn restore(&self) {
        let _ = std::io::stdout().flush();
        // SAFETY: dup2 of descriptors we own onto our standard ones.
        unsafe {
            libc::dup2(self.stdout.as_raw_fd(), libc::STDOUT_FILENO);
            libc::dup2(self.stderr.as_raw_fd(), libc::STDERR_FILENO);
        }
    }
}
