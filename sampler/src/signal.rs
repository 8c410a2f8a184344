//! Installing the SIGPROF handler, and noticing when the program replaces it.
//!
//! The handler is installed once and never removed: a timer signal still in flight when a
//! session stops would otherwise meet SIGPROF's default action and kill the process
//! ("Profiling timer expired"). Between sessions the handler returns at once.

use std::io;

use crate::handler::on_sigprof;

/// Installs the SIGPROF handler (`SA_SIGINFO | SA_RESTART`). Install it after the
/// interpreter is built: building it re-installs handlers for every signal.
pub fn install_handler() -> io::Result<()> {
    crate::fork::watch_forks();
    if crate::ownership::sigprof_released() {
        return Err(io::Error::other(
            "the program has taken SIGPROF for itself; sampling is off for this process",
        ));
    }
    if handler_is_installed() {
        return Ok(());
    }
    // SAFETY: sigaction is a plain C struct for which all-zero is valid; we then fill it in.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_sigprof as *const () as usize;
    action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
    // SAFETY: `action.sa_mask` is valid for writing; sigaction copies `action`.
    let result = unsafe {
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGPROF, &action, std::ptr::null_mut())
    };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// True while SIGPROF still runs our handler, installed as we install it (false once the
/// program installed its own, or reset it). The flags matter: building another interpreter
/// re-installs every handler with plain `signal()`, which drops `SA_SIGINFO`, and our
/// handler then gets no siginfo.
pub fn handler_is_installed() -> bool {
    // SAFETY: all-zero is a valid sigaction, to be overwritten.
    let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action makes sigaction only read the current one into `current`.
    let ok = unsafe { libc::sigaction(libc::SIGPROF, std::ptr::null(), &mut current) } == 0;
    ok && current.sa_sigaction == on_sigprof as *const () as usize
        && current.sa_flags & libc::SA_SIGINFO != 0
}
