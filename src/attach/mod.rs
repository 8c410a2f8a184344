//! Attaching to a running rpprof process by PID (`record --pid`, `dump --pid`, `top --pid`,
//! `agent --pid`, `ps`), with no ptrace and no reading of the target's memory: the target
//! already holds the sampler, so the requester asks it to run a session and send the
//! results, and writes the files itself.
//!
//! How a request travels:
//! 1. The requester checks the target from `/proc` ([`procfs`]): same uid (or root), an
//!    rpprof binary (its executable carries the [`MARKER`] section with the protocol
//!    version), a watcher thread ([`crate::signals::WATCHER_NAME`]) ready, and the attach
//!    signal caught, not ignored, not blocked everywhere. Any other process never gets the
//!    signal, whose default action would end it.
//! 2. It listens on an abstract Unix socket named by its pid and a random nonce
//!    ([`wire::socket_name`]), and queues the attach signal ([`attach_signal`]) to the
//!    target with the nonce as its value (`sigqueue`).
//! 3. The target's handler writes the sender's pid, uid and the value to the watcher's pipe
//!    ([`crate::signals`]); the watcher starts a thread that connects out to that socket
//!    ([`target`]). Both sides check the other's `SO_PEERCRED` (uid equal, or root; pid as
//!    expected); every wait is bounded.
//! 4. The target says hello (protocol version, pid, title), reads one request, and serves
//!    it: a stack dump, or a session whose slices (one a second, gzipped pprof) or `top`
//!    figures it streams until the requester stops, disconnects or the program ends.
//!
//! Nothing runs or listens in the target until then: the cost of being attachable is the
//! watcher thread blocked in read(2) (which `run`, `record` and `agent` had for SIGTERM and
//! SIGQUIT already; the python command line now starts it too) and one signal handler.

pub mod procfs;
pub mod requester;
pub mod target;
pub mod wire;

use std::sync::atomic::{AtomicBool, Ordering};

/// The version of the conversation; a requester refuses a target speaking another.
pub const PROTOCOL: u32 = 1;

/// The section of the executable that marks an rpprof binary and its protocol version;
/// a requester reads it from `/proc/PID/exe` before it sends anything.
pub const MARKER_SECTION: &str = ".rpprof_attach";

/// What the marker section holds: a fixed text, then the protocol version.
pub const MARKER_TEXT: &[u8; 24] = b"rpprof attach protocol \0";

/// The marker itself (the text and the protocol as 4 little-endian bytes).
#[used]
#[link_section = ".rpprof_attach"]
pub static MARKER: [u8; 28] = marker();

const fn marker() -> [u8; 28] {
    let mut out = [0u8; 28];
    let mut i = 0;
    while i < MARKER_TEXT.len() {
        out[i] = MARKER_TEXT[i];
        i += 1;
    }
    let version = PROTOCOL.to_le_bytes();
    out[24] = version[0];
    out[25] = version[1];
    out[26] = version[2];
    out[27] = version[3];
    out
}

static MARKED: AtomicBool = AtomicBool::new(false);

/// Keeps the marker section in the binary (a section nothing reads could be dropped by the
/// linker): called where the watcher starts.
pub fn mark_binary() {
    if !MARKED.swap(true, Ordering::Relaxed) {
        std::hint::black_box(&MARKER);
    }
}

/// The signal a requester sends: `SIGRTMIN+6` (40 with glibc, whose own threads use 32 and
/// 33; RustPython and rpprof use no other real-time signal). Its default action ends a
/// process, hence the checks before it is sent.
pub fn attach_signal() -> libc::c_int {
    libc::SIGRTMIN() + 6
}

/// The signal as a user reads it: `SIGRTMIN+6 (40)`.
pub fn attach_signal_name() -> String {
    format!("SIGRTMIN+6 ({})", attach_signal())
}
