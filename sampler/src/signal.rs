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

/// True while SIGPROF still runs our handler (false once the program installed its own,
/// or reset it).
pub fn handler_is_installed() -> bool {
    // SAFETY: all-zero is a valid sigaction, to be overwritten.
    let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action makes sigaction only read the current one into `current`.
    let ok = unsafe { libc::sigaction(libc::SIGPROF, std::ptr::null(), &mut current) } == 0;
    ok && current.sa_sigaction == on_sigprof as *const () as usize
}
