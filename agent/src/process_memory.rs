//! The process's memory, as `/metrics` reports it: resident set size (the figure the OOM
//! killer and a service owner's dashboard go by) and the bytes the C allocator has handed
//! out and not had back. Together they tell a holder (in use grows) from fragmentation
//! (resident grows, in use does not).

/// Resident memory of process `pid` (this one when none), bytes, from `/proc/PID/statm`;
/// none where it cannot be read.
pub fn resident_bytes(pid: Option<i32>) -> Option<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/statm"),
        None => "/proc/self/statm".to_owned(),
    };
    let statm = std::fs::read_to_string(path).ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * page_size())
}

/// Bytes in use in glibc's heap (in-use chunks of every arena plus blocks it mapped for
/// large requests); none under another C library.
pub fn malloc_in_use_bytes() -> Option<u64> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 takes no arguments and returns a plain struct by value; it
        // locks each arena in turn, which is fine off the signal handler (an HTTP thread).
        let info = unsafe { libc::mallinfo2() };
        Some((info.uordblks + info.hblkhd) as u64)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf only reads a system constant.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_process_has_resident_and_heap_memory() {
        let resident = resident_bytes(None).expect("statm is readable");
        assert!(resident > 1 << 20, "{resident}");
        let by_pid = resident_bytes(Some(std::process::id() as i32)).unwrap();
        assert!(
            by_pid.abs_diff(resident) < 64 << 20,
            "{resident} vs {by_pid}"
        );
        assert_eq!(resident_bytes(Some(i32::MAX)), None);
        let before = malloc_in_use_bytes().expect("glibc");
        let block = vec![1u8; 4 << 20];
        let during = malloc_in_use_bytes().expect("glibc");
        assert!(during >= before + (4 << 20), "{before} -> {during}");
        drop(block);
    }
}
