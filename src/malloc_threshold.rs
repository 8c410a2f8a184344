//! glibc's mmap threshold, fixed at start-up so that big transient buffers are given back
//! to the kernel instead of staying in every thread's arena (see
//! [`fix_malloc_mmap_threshold`]).

/// Blocks at least this large are mapped on their own and unmapped when freed.
#[cfg(all(target_os = "linux", target_env = "gnu", not(feature = "mimalloc")))]
const MMAP_THRESHOLD: libc::c_int = 1024 * 1024;

/// Fixes glibc's mmap threshold at [`MMAP_THRESHOLD`] (1 MiB), unless the user tuned malloc
/// through its environment variables.
///
/// glibc maps a block of 128 KiB or more on its own, but raises that threshold to the size
/// of each such block freed (up to 32 MiB), and its trim threshold to twice that. A
/// program that allocates and frees a 10 MB buffer (werkzeug's server ends every request
/// with `rfile.read(10_000_000)`: RustPython allocates a zeroed 10 MB buffer and a 10 MB
/// scratch for the socket read) has such blocks carved out of the arena of each thread that
/// runs a request from then on, zeroed by `calloc` page by page, and kept: up to 20 MB per
/// arena, and glibc makes up to 8 arenas a core. Measured (BENCHMARKS.md, "Soak"): the
/// Flask service's RSS swung between 140 and 170 MB under `run` and climbed as arenas
/// filled; with the threshold fixed, 111 MB and flat, and 8.8 instead of 10.9 ms of CPU a
/// request (a mapped block is zero already: no 10 MB `memset` a request). A fixed
/// threshold also keeps the trim threshold at 128 KiB. What it costs: a `mmap` and a
/// `munmap` for each block of 1 MiB or more.
#[cfg(all(target_os = "linux", target_env = "gnu", not(feature = "mimalloc")))]
pub fn fix_malloc_mmap_threshold() {
    const USER_SETTINGS: [&str; 4] = [
        "MALLOC_MMAP_THRESHOLD_",
        "MALLOC_TRIM_THRESHOLD_",
        "MALLOC_TOP_PAD_",
        "MALLOC_MMAP_MAX_",
    ];
    let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    if USER_SETTINGS
        .iter()
        .any(|name| std::env::var_os(name).is_some())
        || tunables.contains("threshold")
    {
        return;
    }
    // SAFETY: `mallopt` only changes malloc's parameters, under malloc's own lock.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu", not(feature = "mimalloc"))))]
pub fn fix_malloc_mmap_threshold() {}
