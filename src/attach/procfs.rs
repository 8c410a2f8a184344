//! What `/proc` says about a process, before anything is sent to it: who owns it, whether
//! its executable is an rpprof binary (and which attach protocol it speaks), whether its
//! watcher thread is there, whether a session runs in it, and what it does with the attach
//! signal. `rpprof ps` lists the same facts.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use crate::signals::WATCHER_NAME;

/// What the watcher thread's name says (`rpprof-signals`, or renamed when the program
/// took the attach signal: [`TAKEN_NAME`]).
pub const TAKEN_NAME: &str = "rpprof-sig-took";

/// One process, as `/proc` shows it.
#[derive(Clone, Debug)]
pub struct ProcessInfo {
    /// Its pid.
    pub pid: i32,
    /// Its real uid.
    pub uid: u32,
    /// Its command line.
    pub command: Vec<String>,
    /// Seconds since it started.
    pub uptime_s: f64,
    /// The attach protocol of its executable, if that is an rpprof binary.
    pub protocol: Option<u32>,
    /// Its executable's path.
    pub exe: PathBuf,
    /// The names of its threads.
    pub threads: Vec<String>,
    /// Its signal masks, for the attach signal: caught, ignored, blocked in every thread.
    pub caught: bool,
    /// See [`ProcessInfo::caught`].
    pub ignored: bool,
    /// See [`ProcessInfo::caught`].
    pub blocked_everywhere: bool,
}

/// Why `/proc` could not tell.
#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    /// No such process (or it ended).
    #[error("no process with pid {0}")]
    Gone(i32),
    /// Its files cannot be read by this user.
    #[error("cannot read /proc/{0}: {1}")]
    Unreadable(i32, std::io::Error),
}

impl ProcessInfo {
    /// Whether a session (a sampler's drain thread) runs in it.
    pub fn session_running(&self) -> bool {
        self.threads.iter().any(|t| t == sampler::DRAIN_THREAD_NAME)
    }

    /// Whether its watcher thread is there, ready for an attach request.
    pub fn watcher_ready(&self) -> bool {
        self.threads.iter().any(|t| t == WATCHER_NAME)
    }

    /// Whether the program took the attach signal for itself (`signal.signal`).
    pub fn signal_taken(&self) -> bool {
        self.threads.iter().any(|t| t == TAKEN_NAME)
    }
}

/// Reads the uid of `pid` alone (readable for any user's process).
pub fn uid_of(pid: i32) -> Result<u32, ProcError> {
    let status = read_to_string(pid, "status")?;
    field(&status, "Uid:")
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or(ProcError::Gone(pid))
}

/// Everything about `pid`; the executable and threads need the same user (or root).
pub fn inspect(pid: i32) -> Result<ProcessInfo, ProcError> {
    let status = read_to_string(pid, "status")?;
    let uid = uid_of(pid)?;
    let signal = crate::attach::attach_signal();
    let bit = |name: &str, text: &str| -> bool {
        field(text, name)
            .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
            .is_some_and(|mask| mask & (1u64 << (signal - 1)) != 0)
    };
    let command: Vec<String> = read_to_string(pid, "cmdline")?
        .split('\0')
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect();
    let exe_link = proc_path(pid, "exe");
    let exe = std::fs::read_link(&exe_link).unwrap_or_default();
    let protocol = File::open(&exe_link)
        .ok()
        .and_then(|mut f| marker_protocol(&mut f));
    let mut threads = Vec::new();
    let mut blocked_everywhere = true;
    if let Ok(tasks) = std::fs::read_dir(proc_path(pid, "task")) {
        for task in tasks.flatten() {
            let dir = task.path();
            if let Ok(name) = std::fs::read_to_string(dir.join("comm")) {
                threads.push(name.trim_end().to_owned());
            }
            let blocked = std::fs::read_to_string(dir.join("status"))
                .map(|s| bit("SigBlk:", &s))
                .unwrap_or(true);
            blocked_everywhere &= blocked;
        }
    }
    Ok(ProcessInfo {
        pid,
        uid,
        command,
        uptime_s: uptime(pid).unwrap_or(0.0),
        protocol,
        exe,
        caught: bit("SigCgt:", &status),
        ignored: bit("SigIgn:", &status),
        blocked_everywhere: blocked_everywhere && !threads.is_empty(),
        threads,
    })
}

/// Every process's pid, in order.
pub fn all_pids() -> Vec<i32> {
    let mut pids: Vec<i32> = std::fs::read_dir("/proc")
        .map(|dir| {
            dir.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    pids.sort_unstable();
    pids
}

/// The user name of `uid` (from /etc/passwd), or the number.
pub fn user_name(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let mut parts = line.split(':');
                let name = parts.next()?;
                (parts.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
            })
        })
        .unwrap_or_else(|| uid.to_string())
}

fn proc_path(pid: i32, file: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/{file}"))
}

fn read_to_string(pid: i32, file: &str) -> Result<String, ProcError> {
    std::fs::read(proc_path(pid, file))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|err| match err.kind() {
            std::io::ErrorKind::NotFound => ProcError::Gone(pid),
            _ if err.raw_os_error() == Some(libc::ESRCH) => ProcError::Gone(pid),
            _ => ProcError::Unreadable(pid, err),
        })
}

fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines().find_map(|line| line.strip_prefix(name))
}

/// Seconds since `pid` started (`/proc/PID/stat` field 22, in clock ticks since boot).
fn uptime(pid: i32) -> Option<f64> {
    let stat = read_to_string(pid, "stat").ok()?;
    // The command (field 2) may hold spaces and parentheses: count from the last `)`.
    let after = &stat[stat.rfind(')')? + 2..];
    let start_ticks: f64 = after.split_whitespace().nth(19)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let boot: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some((boot - start_ticks / ticks.max(1.0)).max(0.0))
}

/// The attach protocol in an executable's marker section, if it has one (a 64-bit
/// little-endian ELF file, as every rpprof binary is).
pub fn marker_protocol(file: &mut File) -> Option<u32> {
    let mut header = [0u8; 64];
    file.read_exact(&mut header).ok()?;
    if &header[..4] != b"\x7fELF" || header[4] != 2 || header[5] != 1 {
        return None;
    }
    let u16_at = |b: &[u8], at: usize| u16::from_le_bytes([b[at], b[at + 1]]) as u64;
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let u64_at = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    let (shoff, shentsize, shnum, shstrndx) = (
        u64_at(&header, 0x28),
        u16_at(&header, 0x3a),
        u16_at(&header, 0x3c),
        u16_at(&header, 0x3e),
    );
    if shentsize != 64 || shnum == 0 || shnum > 4096 || shstrndx >= shnum {
        return None;
    }
    let mut table = vec![0u8; (shentsize * shnum) as usize];
    file.seek(SeekFrom::Start(shoff)).ok()?;
    file.read_exact(&mut table).ok()?;
    let section = |i: usize| &table[i * 64..(i + 1) * 64];
    let names = section(shstrndx as usize);
    let (names_off, names_size) = (u64_at(names, 0x18), u64_at(names, 0x20));
    let mut strings = vec![0u8; names_size.min(1 << 20) as usize];
    file.seek(SeekFrom::Start(names_off)).ok()?;
    file.read_exact(&mut strings).ok()?;
    let wanted = crate::attach::MARKER_SECTION.as_bytes();
    for i in 0..shnum as usize {
        let entry = section(i);
        let name_at = u32_at(entry, 0) as usize;
        let name = strings.get(name_at..)?;
        let end = name.iter().position(|&b| b == 0)?;
        if &name[..end] != wanted {
            continue;
        }
        let (offset, size) = (u64_at(entry, 0x18), u64_at(entry, 0x20));
        if size < 28 {
            return None;
        }
        let mut marker = [0u8; 28];
        file.seek(SeekFrom::Start(offset)).ok()?;
        file.read_exact(&mut marker).ok()?;
        if &marker[..24] != crate::attach::MARKER_TEXT {
            return None;
        }
        return Some(u32::from_le_bytes(marker[24..].try_into().ok()?));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_binary_carries_the_marker_and_a_shell_does_not() {
        crate::attach::mark_binary();
        let mut own = File::open("/proc/self/exe").unwrap();
        assert_eq!(marker_protocol(&mut own), Some(crate::attach::PROTOCOL));
        let mut shell = File::open("/bin/sh").unwrap();
        assert_eq!(marker_protocol(&mut shell), None);
    }

    #[test]
    fn this_process_is_described() {
        let info = inspect(std::process::id() as i32).unwrap();
        // SAFETY: getuid has no preconditions.
        assert_eq!(info.uid, unsafe { libc::getuid() });
        assert!(!info.threads.is_empty());
        assert!(!info.session_running());
        assert!(matches!(inspect(-5), Err(ProcError::Gone(-5))));
    }
}
