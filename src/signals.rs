//! Turning process signals (SIGTERM, SIGHUP, the attach signal) into calls on an ordinary
//! thread.
//!
//! The handler only writes one fixed-size record (the signal's number and, from its
//! `siginfo_t`, the sender's pid, uid and queued value) to a pipe (`write` is
//! async-signal-safe, and a record under `PIPE_BUF` arrives whole) and restores `errno`; a
//! watcher thread, `rpprof-signals`, reads the pipe and runs the callback, where it may
//! lock, allocate and write files. A program that installs its own handler for the same
//! signal (`signal.signal(SIGTERM, ...)`) replaces ours and keeps full control.
//!
//! Every [`watch`] also takes the attach signal ([`crate::attach::attach_signal`]) and hands
//! it, with its sender, to [`crate::attach::target::requested`]: the watcher thread blocked
//! in read(2) is the dormant control path `--pid` wakes, and its name is what a requester
//! looks for before it sends anything (see [`crate::attach`]).
//!
//! A child made by `os.fork()` (multiprocessing's `fork` start method) inherits the handler
//! and the pipe but not the watcher thread: there the handler acts as if it were not
//! installed (the signal's default action), so that `Pool.terminate()` ends the child
//! instead of the byte reaching the parent's watcher, which would end the parent.

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};

static WRITE_FD: AtomicI32 = AtomicI32::new(-1);

/// The process whose watcher thread reads the pipe.
static WATCHER_PID: AtomicI32 = AtomicI32::new(0);

/// Name of the watcher thread (what `rpprof ps` and a requester look for).
pub const WATCHER_NAME: &str = "rpprof-signals";

/// The pthread of the watcher thread (0: none), to rename it when the program takes the
/// attach signal for itself.
static WATCHER_THREAD: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The attach signal, as [`watch`] found it (the handler reads it here: glibc's
/// `SIGRTMIN()` is a function call, not on the async-signal-safe list).
static ATTACH_SIGNAL: AtomicI32 = AtomicI32::new(-1);

/// One record on the pipe: signal, sender pid, sender uid, queued value.
const RECORD: usize = 1 + 4 + 4 + 8;

/// A signal as the watcher thread hands it on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// The signal's number.
    pub signal: libc::c_int,
    /// Who sent it (`si_pid`; 0 from the kernel).
    pub pid: i32,
    /// The sender's real uid (`si_uid`).
    pub uid: u32,
    /// The value queued with it (`sigqueue`), 0 for a plain `kill`.
    pub value: u64,
}

extern "C" fn on_signal(signal: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: getpid(2) is async-signal-safe.
    if unsafe { libc::getpid() } != WATCHER_PID.load(Ordering::Relaxed) {
        if signal == ATTACH_SIGNAL.load(Ordering::Relaxed) {
            // A forked child has no watcher to serve an attach: ignore it (a requester
            // sees no watcher thread and does not send it).
            return;
        }
        // A forked child: nobody watches for it; the default action applies.
        // SAFETY: signal(2) and raise(3) are async-signal-safe. The signal is blocked
        // while its handler runs, so it is delivered (and ends the process) on return.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
        return;
    }
    // SAFETY: __errno_location is this thread's errno slot; reading and restoring it
    // around the write keeps the interrupted code's errno intact.
    let saved = unsafe { *libc::__errno_location() };
    let fd = WRITE_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        let mut record = [0u8; RECORD];
        record[0] = signal as u8;
        if !info.is_null() {
            // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler; the
            // accessors read plain fields of it (sender pid, uid, and the queued value).
            let (pid, uid, value) =
                unsafe { ((*info).si_pid(), (*info).si_uid(), (*info).si_value()) };
            record[1..5].copy_from_slice(&pid.to_ne_bytes());
            record[5..9].copy_from_slice(&uid.to_ne_bytes());
            record[9..].copy_from_slice(&(value.sival_ptr as u64).to_ne_bytes());
        }
        // SAFETY: write(2) is async-signal-safe; `record` lives for the call. A full pipe
        // (signals arriving faster than they are handled) drops the record, which is fine.
        unsafe { libc::write(fd, record.as_ptr().cast(), RECORD) };
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = saved };
}

/// Runs `callback(signal)` on a watcher thread whenever one of `signals` arrives, and
/// serves attach requests (the attach signal) there. Call it once per process, after the
/// interpreter is built (building it installs its own handlers); a forked child that needs
/// it calls it again (its parent's watcher thread is not there).
pub fn watch(
    signals: &[libc::c_int],
    callback: impl Fn(libc::c_int) + Send + 'static,
) -> io::Result<()> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let (read_fd, write_fd) = (fds[0], fds[1]);
    // The reading end blocks; only the writing end (the handler's) must not.
    // SAFETY: fcntl on a descriptor we own.
    unsafe { libc::fcntl(read_fd, libc::F_SETFL, 0) };
    WRITE_FD.store(write_fd, Ordering::Relaxed);
    // SAFETY: getpid(2) has no preconditions.
    WATCHER_PID.store(unsafe { libc::getpid() }, Ordering::Relaxed);
    let attach = crate::attach::attach_signal();
    ATTACH_SIGNAL.store(attach, Ordering::Relaxed);
    let watcher = std::thread::Builder::new()
        .name(WATCHER_NAME.to_owned())
        .spawn(move || loop {
            let mut record = [0u8; RECORD];
            // SAFETY: reads one record into `record`, which lives for the call.
            let n = unsafe { libc::read(read_fd, record.as_mut_ptr().cast(), RECORD) };
            if n == RECORD as isize {
                let received = Received {
                    signal: libc::c_int::from(record[0]),
                    pid: i32::from_ne_bytes(record[1..5].try_into().unwrap_or_default()),
                    uid: u32::from_ne_bytes(record[5..9].try_into().unwrap_or_default()),
                    value: u64::from_ne_bytes(record[9..].try_into().unwrap_or_default()),
                };
                if received.signal == attach {
                    crate::attach::target::requested(received.pid, received.uid, received.value);
                } else {
                    callback(received.signal);
                }
            } else if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            } else {
                return;
            }
        })?;
    {
        use std::os::unix::thread::JoinHandleExt;
        WATCHER_THREAD.store(watcher.as_pthread_t(), Ordering::Relaxed);
    }
    crate::attach::mark_binary();
    for &signal in signals.iter().chain([&attach]) {
        // SAFETY: a zeroed sigaction is valid to fill in; the handler is a plain
        // extern "C" fn that only does async-signal-safe work.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = on_signal as *const () as usize;
        action.sa_flags = libc::SA_RESTART | libc::SA_SIGINFO;
        // SAFETY: `action.sa_mask` is valid to write; sigaction copies `action`.
        let result = unsafe {
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if result != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Renames the watcher thread to `name` (at most 15 bytes): how a program that took the
/// attach signal for itself tells requesters so, before they send it.
pub fn rename_watcher(name: &str) {
    let thread = WATCHER_THREAD.load(Ordering::Relaxed);
    let Ok(name) = std::ffi::CString::new(name) else {
        return;
    };
    if thread != 0 {
        // SAFETY: `thread` is the watcher's pthread, which lives as long as the process
        // (it never returns while the pipe is open); `name` is NUL-terminated.
        unsafe { libc::pthread_setname_np(thread, name.as_ptr()) };
    }
}

/// Whether `signal` would end the process untouched (its default action) or reach our
/// handler: in a forked child, whether [`watch`] may take it over without replacing a
/// handler the program installed.
pub fn default_or_ours(signal: libc::c_int) -> bool {
    // SAFETY: a zeroed sigaction is valid for sigaction(2) to fill in; a null new action
    // only reads the current one.
    let current = unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(signal, std::ptr::null(), &mut current) != 0 {
            return false;
        }
        current.sa_sigaction
    };
    current == libc::SIG_DFL || current == on_signal as *const () as usize
}

/// Whether `signal` is ignored (SIG_IGN), as `nohup` and `trap '' INT` leave SIGINT for the
/// program they start.
pub fn ignored(signal: libc::c_int) -> bool {
    // SAFETY: a zeroed sigaction is valid for sigaction(2) to fill in; a null new action
    // only reads the current one.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut current) == 0
            && current.sa_sigaction == libc::SIG_IGN
    }
}

/// Ends the process as `signal` would have, had nothing caught it (status 128 + signal in
/// a shell): default disposition, then raise it.
pub fn die_by(signal: libc::c_int) -> ! {
    crate::attach::target::program_ending(&format!("signal {signal}"));
    // SAFETY: restoring the default disposition and raising a signal are plain libc calls.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
    std::process::exit(128 + signal)
}
