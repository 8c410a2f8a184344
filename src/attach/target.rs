//! The target's side of an attach: woken by the attach signal on the watcher thread
//! ([`requested`]), it connects out to the requester, checks who that is, reads one
//! request and serves it on a thread of its own, `rpprof-attach`.
//!
//! - A dump is taken and sent at once (`session::StackDump`); any number may come.
//! - A session (`record`, `top`, `agent` asked with `--pid`) is one at a time: the session
//!   runs here, where the interpreter's memory is, and every second its slice goes to the
//!   requester (gzipped pprof, or `top`'s figures). A second requester, or a process that
//!   is recording already (`rpprof record`, `agent`, `rpprof.start()`), gets a one-line
//!   refusal. The session ends when the requester asks ([`wire::STOP`]: the rest is sent),
//!   when it goes away (a closed socket, a send that times out: nothing more is sent), or
//!   when the program ends ([`program_ending`]: the rest is sent, then why). Then the
//!   process can be attached again.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use session::{Session, SessionConfig, Slicer, StackDump, TopSlice};

use super::wire;

/// How long the target waits for the requester at each step (connect, request, a send).
const STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// How often a session's slice is sent.
pub const SLICE_PERIOD: Duration = Duration::from_secs(1);

/// The session being served, if any.
struct Attached {
    stream: UnixStream,
    session: Session,
    slicer: Slicer,
    top: bool,
    requester: i32,
}

static ACTIVE: Mutex<Option<Attached>> = Mutex::new(None);

/// The process [`ACTIVE`] belongs to (a forked child inherits it, never its thread).
static OWNER: AtomicU32 = AtomicU32::new(0);

static TITLE: Mutex<String> = Mutex::new(String::new());

fn active() -> MutexGuard<'static, Option<Attached>> {
    ACTIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// The program's name, for the requester's titles.
pub fn set_title(title: &str) {
    *TITLE.lock().unwrap_or_else(|p| p.into_inner()) = title.to_owned();
}

/// On the watcher thread: the attach signal arrived from process `pid` of user `uid`, with
/// `value` queued (the requester's nonce). A sender that is neither this user nor root is
/// ignored (the kernel lets no one else signal us anyway).
pub fn requested(pid: i32, uid: u32, value: u64) {
    let received = Request { pid, uid, value };
    // SAFETY: getuid has no preconditions.
    let own = unsafe { libc::getuid() };
    if !wire::uid_allowed(own, received.uid) || received.pid <= 0 {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("rpprof-attach".to_owned())
        .spawn(move || {
            if let Err(err) = serve(received) {
                eprintln!("rpprof: attach from pid {}: {err}", received.pid);
            }
        });
    if let Err(err) = spawned {
        eprintln!("rpprof: attach: cannot start a thread: {err}");
    }
}

/// Who asked, as the signal said.
#[derive(Clone, Copy)]
struct Request {
    pid: i32,
    uid: u32,
    value: u64,
}

/// Connects to the requester, checks it, reads its request and serves it.
fn serve(received: Request) -> Result<(), String> {
    let name = wire::socket_name(received.pid as u32, received.value);
    let address = SocketAddr::from_abstract_name(name.as_bytes()).map_err(|e| e.to_string())?;
    let stream = UnixStream::connect_addr(&address)
        .map_err(|e| format!("cannot connect back to the requester: {e}"))?;
    stream
        .set_read_timeout(Some(STEP_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(STEP_TIMEOUT)))
        .map_err(|e| e.to_string())?;
    let (pid, uid) = wire::peer(&stream).map_err(|e| e.to_string())?;
    // SAFETY: getuid has no preconditions.
    let own = unsafe { libc::getuid() };
    if pid != received.pid || !wire::uid_allowed(own, uid) {
        // Not who signalled: say nothing to it.
        return Err(format!(
            "the socket belongs to pid {pid} (uid {uid}); refused"
        ));
    }
    let title = TITLE.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let hello = json!({
        "protocol": super::PROTOCOL,
        "pid": std::process::id(),
        "title": title,
    });
    send_json(&stream, wire::HELLO, &hello)?;
    let (kind, body) = wire::receive(&stream).map_err(|e| format!("no request: {e}"))?;
    if kind != wire::REQUEST {
        return Err("the requester sent no request".to_owned());
    }
    let request: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    match request["kind"].as_str() {
        Some("dump") => {
            let frame = match StackDump::take() {
                Ok(dump) => (wire::DUMP, dump.to_json()),
                Err(err) => (wire::ERROR, err.to_string()),
            };
            wire::send(&stream, frame.0, frame.1.as_bytes()).map_err(|e| e.to_string())
        }
        Some(kind @ ("record" | "top")) => {
            start_session(stream, &request, kind == "top", received.pid, &title)
        }
        _ => refuse(&stream, "unknown request"),
    }
}

fn send_json(stream: &UnixStream, kind: u8, value: &Value) -> Result<(), String> {
    wire::send(stream, kind, value.to_string().as_bytes()).map_err(|e| e.to_string())
}

fn refuse(stream: &UnixStream, message: &str) -> Result<(), String> {
    let _ = wire::send(stream, wire::ERROR, message.as_bytes());
    Ok(())
}

/// The session a request asks for, built and checked as the command line's are.
fn config_of(request: &Value, title: &str) -> Result<SessionConfig, String> {
    let mut builder = SessionConfig::builder(title);
    if let Some(rate) = request["rate"].as_u64() {
        builder = builder.rate(u32::try_from(rate).unwrap_or(u32::MAX));
    }
    if let Some(mode) = request["mode"].as_str() {
        builder = builder.mode(mode.parse().map_err(|e| format!("{e}"))?);
    }
    if let Some(depth) = request["max_depth"].as_u64() {
        builder = builder.max_depth(usize::try_from(depth).unwrap_or(usize::MAX));
    }
    builder = builder
        .keep_idle(request["idle"].as_bool())
        .alloc_interval(request["alloc_interval"].as_u64())
        .native(request["native"].as_bool().unwrap_or(false));
    builder.build().map_err(|e| e.to_string())
}

/// Starts the session asked for, unless one runs, then sends its slices until it ends.
fn start_session(
    stream: UnixStream,
    request: &Value,
    top: bool,
    requester: i32,
    title: &str,
) -> Result<(), String> {
    let config = match config_of(request, title) {
        Ok(config) => config,
        Err(err) => return refuse(&stream, &err),
    };
    let listener = stream.try_clone().map_err(|e| e.to_string())?;
    {
        let mut slot = active();
        if let Some(other) = slot.as_ref() {
            let line = format!(
                "pid {} is already attached by pid {}: one session at a time (dump --pid \
                 still works)",
                std::process::id(),
                other.requester
            );
            return refuse(&stream, &line);
        }
        let session = match Session::start(config) {
            Ok(session) => session,
            Err(session::SessionError::Sampler(sampler::SamplerError::AlreadyRunning)) => {
                let line = format!(
                    "pid {} is already recording (rpprof record, agent or rpprof.start()): \
                     attach joins no running session (dump --pid still works)",
                    std::process::id()
                );
                return refuse(&stream, &line);
            }
            Err(err) => return refuse(&stream, &format!("cannot start sampling: {err}")),
        };
        let slicer = session.slicer();
        if wire::send(&stream, wire::STARTED, &[]).is_err() {
            session.finish();
            return Ok(());
        }
        OWNER.store(std::process::id(), Ordering::Release);
        *slot = Some(Attached {
            stream,
            session,
            slicer,
            top,
            requester,
        });
    }
    stream_slices(&listener);
    Ok(())
}

/// Every [`SLICE_PERIOD`], sends the session's slice; stops when the requester asks or
/// leaves, or when [`program_ending`] took the session.
fn stream_slices(listener: &UnixStream) {
    use std::os::fd::AsRawFd;
    let mut next = Instant::now() + SLICE_PERIOD;
    loop {
        let wait = next.saturating_duration_since(Instant::now());
        let mut poll = libc::pollfd {
            fd: listener.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll(2) on one descriptor we hold, described by `poll`.
        let ready = unsafe { libc::poll(&mut poll, 1, wait.as_millis() as libc::c_int) };
        if ready > 0 {
            // A stop, or the requester gone (end of stream, an error).
            let stop = matches!(wire::receive(listener), Ok((wire::STOP, _)));
            finish(stop.then_some("stopped by the requester"));
            return;
        }
        if ready < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            finish(None);
            return;
        }
        if Instant::now() < next {
            continue;
        }
        next += SLICE_PERIOD;
        let mut slot = active();
        let Some(attached) = slot.as_ref() else {
            return; // The program ended and sent the rest.
        };
        let Some(profile) = attached.slicer.slice() else {
            return;
        };
        if send_profile(&attached.stream, attached.top, &profile).is_err() {
            // The requester is gone (killed, or not reading): stop the session.
            if let Some(attached) = slot.take() {
                drop(slot);
                attached.session.finish();
            }
            return;
        }
    }
}

/// Sends one slice as the requester asked for it.
fn send_profile(
    stream: &UnixStream,
    top: bool,
    profile: &flamegraph::Profile,
) -> Result<(), String> {
    if top {
        let slice = TopSlice::new(profile, &sampler::registered_threads());
        let text = serde_json::to_string(&slice).map_err(|e| e.to_string())?;
        return wire::send(stream, wire::TOP, text.as_bytes()).map_err(|e| e.to_string());
    }
    let mut bytes = Vec::new();
    flamegraph::pprof::write(profile, &flamegraph::WriteOptions::default(), &mut bytes)
        .map_err(|e| e.to_string())?;
    wire::send(stream, wire::SLICE, &bytes).map_err(|e| e.to_string())
}

/// Ends the session: with `reason`, the rest is sent and then why; without, the requester
/// is gone and nothing is sent.
fn finish(reason: Option<&str>) {
    let Some(attached) = active().take() else {
        return;
    };
    let stream = attached.stream.try_clone();
    let top = attached.top;
    let recorded = attached.session.finish();
    if let (Some(reason), Ok(stream)) = (reason, stream) {
        let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
        if !top {
            let _ = send_profile(&stream, top, &recorded.profile);
        }
        let _ = wire::send(&stream, wire::END, reason.as_bytes());
    }
}

/// Called as the program ends (its end, `sys.exit`, SIGTERM, `os._exit`): a session being
/// served sends the rest and says the program ended; a requester then writes what it got.
pub fn program_ending(how: &str) {
    if OWNER.load(Ordering::Acquire) != std::process::id() {
        return; // Nothing attached here (or a forked child's inherited copy).
    }
    finish(Some(&format!("the program ended ({how})")));
}
