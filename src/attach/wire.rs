//! The attach conversation on the wire: frames over an abstract Unix stream socket, the
//! socket's name, and the peer's credentials.
//!
//! A frame is one kind byte, a little-endian `u32` length and that many bytes. Requests and
//! answers are JSON; slices are gzipped pprof. Writes use `MSG_NOSIGNAL` (a closed peer is
//! an error, never a SIGPIPE), and both sides set timeouts on their sockets, so no read or
//! write waits without bound.

use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

/// The requester's request (JSON): `{"kind":"dump"}` or a session's settings.
pub const REQUEST: u8 = b'Q';
/// The requester asks the target to finish the session and send what is left.
pub const STOP: u8 = b'Z';
/// The target's first frame (JSON): protocol, pid, title, whether a session runs.
pub const HELLO: u8 = b'H';
/// The session asked for has started (empty).
pub const STARTED: u8 = b'A';
/// A stack dump (JSON, `session::StackDump`).
pub const DUMP: u8 = b'D';
/// One slice of a session, gzipped pprof.
pub const SLICE: u8 = b'S';
/// One second of `top` (JSON, `session::TopSlice`).
pub const TOP: u8 = b'T';
/// A refusal or failure, as one line of text.
pub const ERROR: u8 = b'E';
/// The last frame of a session: why it ended (text).
pub const END: u8 = b'X';

/// The largest frame accepted (a slice of a huge profile stays far below).
const MAX_FRAME: usize = 512 << 20;

/// The abstract socket name of a requester: its pid and a random nonce.
pub fn socket_name(requester_pid: u32, nonce: u64) -> String {
    format!("rpprof-attach-{requester_pid}-{nonce:016x}")
}

/// Sends one frame, all of it (or fails: a closed peer, a timeout).
pub fn send(stream: &UnixStream, kind: u8, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    let mut head = [0u8; 5];
    head[0] = kind;
    head[1..].copy_from_slice(&len.to_le_bytes());
    send_all(stream, &head)?;
    send_all(stream, payload)
}

fn send_all(stream: &UnixStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        // SAFETY: send(2) on a socket we hold, from a live buffer of `bytes.len()` bytes.
        let n = unsafe {
            libc::send(
                stream.as_raw_fd(),
                bytes.as_ptr().cast(),
                bytes.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        bytes = &bytes[n as usize..];
    }
    Ok(())
}

/// Reads one frame: its kind and payload. End of stream is `UnexpectedEof`.
pub fn receive(mut stream: &UnixStream) -> io::Result<(u8, Vec<u8>)> {
    let mut head = [0u8; 5];
    stream.read_exact(&mut head)?;
    let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame too large",
        ));
    }
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload)?;
    Ok((head[0], payload))
}

/// The peer's pid and uid (`SO_PEERCRED`): for a connected socket, the process that made
/// the other end (the listener's creator, or the connecting process).
pub fn peer(stream: &UnixStream) -> io::Result<(i32, u32)> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `cred`, which lives for the call.
    let result = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if result != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((cred.pid, cred.uid))
}

/// Whether a peer of uid `peer` may talk to a process of uid `own`: the same user, or root.
pub fn uid_allowed(own: u32, peer: u32) -> bool {
    own == peer || peer == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_peers_are_known() {
        let (a, b) = UnixStream::pair().unwrap();
        send(&a, SLICE, b"some bytes").unwrap();
        send(&a, END, b"").unwrap();
        assert_eq!(receive(&b).unwrap(), (SLICE, b"some bytes".to_vec()));
        assert_eq!(receive(&b).unwrap(), (END, Vec::new()));
        drop(a);
        assert_eq!(
            receive(&b).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        let (c, _d) = UnixStream::pair().unwrap();
        assert_eq!(peer(&c).unwrap().0, std::process::id() as i32);
        assert!(uid_allowed(1000, 1000) && uid_allowed(1000, 0) && !uid_allowed(1000, 1001));
    }
}
