//! Turning process signals (SIGTERM, SIGHUP) into calls on an ordinary thread.
//!
//! The handler only writes the signal's number to a pipe (`write` is async-signal-safe)
//! and restores `errno`; a watcher thread reads the pipe and runs the callback, where it may
//! lock, allocate and write files. A program that installs its own handler for the same
//! signal (`signal.signal(SIGTERM, ...)`) replaces ours and keeps full control.
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

extern "C" fn on_signal(signal: libc::c_int) {
    // SAFETY: getpid(2) is async-signal-safe.
    if unsafe { libc::getpid() } != WATCHER_PID.load(Ordering::Relaxed) {
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
        let byte = signal as u8;
        // SAFETY: write(2) is async-signal-safe; `byte` lives for the call. A full pipe
        // (signals arriving faster than they are handled) drops the byte, which is fine.
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = saved };
}

/// Runs `callback(signal)` on a watcher thread whenever one of `signals` arrives. Call it
/// once per process, after the interpreter is built (building it installs its own
/// handlers); a forked child that needs it calls it again (its parent's watcher thread is
/// not there).
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
    std::thread::Builder::new()
        .name("rpprof-signals".to_owned())
        .spawn(move || loop {
            let mut byte = 0u8;
            // SAFETY: reads one byte into `byte`, which lives for the call.
            let n = unsafe { libc::read(read_fd, (&mut byte as *mut u8).cast(), 1) };
            if n == 1 {
                callback(libc::c_int::from(byte));
            } else if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            } else {
                return;
            }
        })?;
    for &signal in signals {
        // SAFETY: a zeroed sigaction is valid to fill in; the handler is a plain
        // extern "C" fn that only does async-signal-safe work.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = on_signal as *const () as usize;
        action.sa_flags = libc::SA_RESTART;
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
    // SAFETY: restoring the default disposition and raising a signal are plain libc calls.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
    std::process::exit(128 + signal)
}
