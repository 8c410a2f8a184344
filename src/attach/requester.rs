//! The requester's side of an attach: check the target from `/proc`, listen on a fresh
//! abstract socket, queue the attach signal, wait (bounded) for the target to connect,
//! check who connected, exchange hello and request; then read what the target streams.
//! Every refusal is one line (`anyhow` error) for the caller to print with status 1.

use std::os::fd::AsRawFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use crossbeam_channel::Receiver;
use flamegraph::Profile;
use serde_json::Value;
use session::TopSlice;

use super::procfs::{self, ProcError, ProcessInfo};
use super::{attach_signal_name, wire, PROTOCOL};

/// How long the target has to connect after the signal.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a step of the conversation may take (hello, a dump).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// A target that answered: the connection, its pid and its program's name.
pub struct Connection {
    /// The socket to the target.
    pub stream: UnixStream,
    /// The target's pid.
    pub pid: i32,
    /// The target's program (its profile title).
    pub title: String,
}

/// What a target streams.
pub enum Incoming {
    /// A slice of the session.
    Slice(Box<Profile>),
    /// One second of `top`.
    Top(Box<TopSlice>),
    /// The session ended: why.
    End(String),
    /// A refusal or failure: one line.
    Error(String),
    /// The connection closed without a word (the target died).
    Closed,
}

/// Checks, from `/proc` alone, that `pid` may and can be attached; says why not otherwise.
pub fn check(pid: i32) -> anyhow::Result<ProcessInfo> {
    // SAFETY: getuid and getpid have no preconditions.
    let (own, me) = unsafe { (libc::getuid(), libc::getpid()) };
    if pid <= 0 {
        bail!("{pid} is not a process id");
    }
    if pid == me {
        bail!("pid {pid} is this rpprof itself");
    }
    let uid = procfs::uid_of(pid).map_err(gone)?;
    if own != 0 && uid != own {
        bail!(
            "pid {pid} belongs to {} (uid {uid}), not to you: only the same user, or root, \
             may attach",
            procfs::user_name(uid)
        );
    }
    let info = procfs::inspect(pid).map_err(gone)?;
    let signal = attach_signal_name();
    match info.protocol {
        None => bail!(
            "pid {pid} is not an rpprof process ({}): only programs rpprof runs can be \
             attached",
            info.exe.display()
        ),
        Some(version) if version != PROTOCOL => bail!(
            "pid {pid} runs an rpprof speaking attach protocol {version}; this one speaks \
             {PROTOCOL}"
        ),
        Some(_) => {}
    }
    if info.signal_taken() {
        bail!(
            "pid {pid} cannot be attached: its program installed its own handler \
             (signal.signal) for {signal}, the signal rpprof attaches with"
        );
    }
    if info.ignored {
        bail!("pid {pid} cannot be attached: it ignores {signal}, the signal rpprof attaches with");
    }
    if !info.watcher_ready() {
        bail!(
            "pid {pid} takes no attach requests: it is starting up, a child made by os.fork() \
             without --subprocesses, or `rpprof top`"
        );
    }
    if !info.caught {
        bail!(
            "pid {pid} cannot be attached: {signal}, the signal rpprof attaches with, is not \
             handled (native code reset it)"
        );
    }
    if info.blocked_everywhere {
        bail!("pid {pid} cannot be attached: every thread blocks {signal}");
    }
    Ok(info)
}

fn gone(err: ProcError) -> anyhow::Error {
    match err {
        ProcError::Gone(pid) => anyhow!("no process with pid {pid}"),
        other => anyhow!("{other}"),
    }
}

/// Attaches to `pid` and sends `request`; the target has said hello.
pub fn connect(pid: i32, request: &Value) -> anyhow::Result<Connection> {
    // Opened before the checks: the signal goes to the process checked, or to none (a pid
    // reused meanwhile is another process, which the pidfd does not name).
    let pidfd = PidFd::open(pid);
    let info = check(pid)?;
    let nonce = random_u64()?;
    let name = wire::socket_name(std::process::id(), nonce);
    let listener = SocketAddr::from_abstract_name(name.as_bytes())
        .and_then(|address| UnixListener::bind_addr(&address))
        .map_err(|e| anyhow!("cannot listen for pid {pid}: {e}"))?;
    listener.set_nonblocking(true)?;
    if let Err(err) = pidfd.queue(pid, nonce) {
        match err.raw_os_error() {
            Some(libc::ESRCH) => bail!("pid {pid} has ended"),
            Some(libc::EPERM) => bail!("not allowed to signal pid {pid} (another user's)"),
            _ => bail!("cannot signal pid {pid}: {err}"),
        }
    }
    let stream = accept_target(&listener, &info)?;
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(STEP_TIMEOUT))?;
    stream.set_write_timeout(Some(STEP_TIMEOUT))?;
    let (kind, body) =
        wire::receive(&stream).map_err(|e| anyhow!("pid {pid} connected but said nothing: {e}"))?;
    if kind != wire::HELLO {
        bail!("pid {pid} did not say hello");
    }
    let hello: Value = serde_json::from_slice(&body)?;
    if hello["protocol"].as_u64() != Some(u64::from(PROTOCOL)) {
        bail!(
            "pid {pid} speaks attach protocol {}; this rpprof speaks {PROTOCOL}",
            hello["protocol"]
        );
    }
    wire::send(&stream, wire::REQUEST, request.to_string().as_bytes())
        .map_err(|e| anyhow!("cannot send the request to pid {pid}: {e}"))?;
    Ok(Connection {
        stream,
        pid,
        title: hello["title"].as_str().unwrap_or("python").to_owned(),
    })
}

/// Waits for the target itself to connect (pid and uid checked); others are dropped.
fn accept_target(listener: &UnixListener, info: &ProcessInfo) -> anyhow::Result<UnixStream> {
    let pid = info.pid;
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    loop {
        match listener.accept() {
            Ok((stream, _)) => match wire::peer(&stream) {
                Ok((peer_pid, peer_uid)) if peer_pid == pid && peer_uid == info.uid => {
                    return Ok(stream)
                }
                _ => continue,
            },
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => bail!("cannot wait for pid {pid}: {err}"),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            if procfs::uid_of(pid).is_err() {
                bail!("pid {pid} ended before it answered");
            }
            bail!(
                "pid {pid} did not answer within {} s: it may be stopped, or its native code \
                 took {} for itself",
                ANSWER_TIMEOUT.as_secs(),
                attach_signal_name()
            );
        }
        let mut poll = libc::pollfd {
            fd: listener.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll(2) on one descriptor we hold, described by `poll`.
        unsafe { libc::poll(&mut poll, 1, left.as_millis().min(100) as libc::c_int) };
    }
}

/// The target as a pidfd (Linux 5.3+), or, where there are none, its pid alone.
struct PidFd(Option<std::os::fd::OwnedFd>);

impl PidFd {
    fn open(pid: i32) -> PidFd {
        // SAFETY: pidfd_open(2) takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            return PidFd(None);
        }
        use std::os::fd::FromRawFd;
        // SAFETY: `fd` is a fresh descriptor owned by nothing else.
        PidFd(Some(unsafe {
            std::os::fd::OwnedFd::from_raw_fd(fd as i32)
        }))
    }

    /// Queues the attach signal with `value` (as sigqueue(3) does: SI_QUEUE, our pid
    /// and uid), through the pidfd when there is one.
    fn queue(&self, pid: i32, value: u64) -> std::io::Result<()> {
        let signal = super::attach_signal();
        let Some(fd) = &self.0 else {
            let value = libc::sigval {
                sival_ptr: value as usize as *mut libc::c_void,
            };
            // SAFETY: sigqueue(3) with a plain value; the target was checked to catch it.
            return match unsafe { libc::sigqueue(pid, signal, value) } {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            };
        };
        // SAFETY: all-zero is a valid siginfo_t; the fields are then written at the
        // kernel's offsets for SI_QUEUE (pid at 16, uid at 20, value at 24), within the
        // 128-byte struct.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        info.si_signo = signal;
        info.si_code = libc::SI_QUEUE;
        let base = &mut info as *mut libc::siginfo_t as *mut u8;
        // SAFETY: as above; getpid and getuid have no preconditions.
        unsafe {
            *base.add(16).cast::<i32>() = libc::getpid();
            *base.add(20).cast::<u32>() = libc::getuid();
            *base.add(24).cast::<u64>() = value;
        }
        // SAFETY: pidfd_send_signal(2) reads `info`, which lives for the call, and the
        // descriptor, which we hold.
        let result = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                fd.as_raw_fd(),
                signal,
                &info as *const libc::siginfo_t,
                0,
            )
        };
        match result {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        }
    }
}

fn random_u64() -> anyhow::Result<u64> {
    let mut bytes = [0u8; 8];
    // SAFETY: getrandom(2) writes at most 8 bytes into `bytes`.
    let n = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), 8, 0) };
    if n != 8 {
        bail!(
            "cannot get random bytes: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(u64::from_ne_bytes(bytes))
}

impl Connection {
    /// Reads the frames the target streams on a thread of its own, as [`Incoming`]s; the
    /// channel ends after an end, an error or a closed connection.
    pub fn incoming(&self) -> anyhow::Result<Receiver<Incoming>> {
        let stream = self.stream.try_clone()?;
        // Slices come every second: a silence this long means the target is stuck.
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let (sender, receiver) = crossbeam_channel::unbounded();
        std::thread::Builder::new()
            .name("rpprof-attached".to_owned())
            .spawn(move || loop {
                let item = match wire::receive(&stream) {
                    Ok((wire::SLICE, body)) => match flamegraph::pprof::parse(&body) {
                        Ok(profile) => Incoming::Slice(Box::new(profile)),
                        Err(err) => Incoming::Error(format!("a slice could not be read: {err}")),
                    },
                    Ok((wire::TOP, body)) => match serde_json::from_slice(&body) {
                        Ok(slice) => Incoming::Top(Box::new(slice)),
                        Err(err) => {
                            Incoming::Error(format!("a top slice could not be read: {err}"))
                        }
                    },
                    Ok((wire::END, body)) => Incoming::End(String::from_utf8_lossy(&body).into()),
                    Ok((wire::ERROR, body)) => {
                        Incoming::Error(String::from_utf8_lossy(&body).into())
                    }
                    Ok(_) => continue,
                    Err(_) => Incoming::Closed,
                };
                let last = !matches!(item, Incoming::Slice(_) | Incoming::Top(_));
                if sender.send(item).is_err() || last {
                    return;
                }
            })?;
        Ok(receiver)
    }

    /// Waits for the target to start the session asked for; its refusal is the error.
    pub fn started(&self) -> anyhow::Result<()> {
        match self.answer()? {
            (wire::STARTED, _) => Ok(()),
            _ => bail!("pid {} answered the request with something else", self.pid),
        }
    }

    /// Asks the target to finish the session and send the rest.
    pub fn stop(&self) {
        let _ = wire::send(&self.stream, wire::STOP, &[]);
    }

    /// Waits for one answer frame (a dump): its kind and body; an error frame is the
    /// target's refusal.
    pub fn answer(&self) -> anyhow::Result<(u8, Vec<u8>)> {
        let (kind, body) = wire::receive(&self.stream)
            .map_err(|e| anyhow!("pid {} did not answer: {e}", self.pid))?;
        if kind == wire::ERROR {
            bail!("{}", String::from_utf8_lossy(&body));
        }
        Ok((kind, body))
    }
}
