//! `pthread_getattr_np` for the main thread, answered from a cache.
//!
//! RustPython 0.6.0 measures the stack of the thread that *starts* a Python thread (it
//! builds the new thread's VM there, and the VM asks `pthread_getattr_np` for its stack
//! bounds). For the process's initial thread, glibc answers that by reading and parsing
//! `/proc/self/maps` every time, so every `Thread.start()` on the main thread reads the
//! whole memory map: in a thread-per-request server, whose accept loop is the main thread,
//! that is once a request, and it grows with the number of mappings (perf on a thread
//! start/join loop: the kernel's maps formatting and glibc's `sscanf` were a fifth of the
//! time).
//!
//! The binary defines the symbol itself, so the interpreter's calls land here: the first
//! call for a thread asks glibc (found with `dlsym(RTLD_NEXT)`) and, when that thread is the
//! process's initial one, keeps the stack address, size and guard size it reported; later
//! calls for that thread, in that process, are answered from them. Every other thread, and
//! the first call after a fork, goes to glibc. What is not reproduced from the cache: the
//! CPU affinity glibc also copies into the attributes (the interpreter reads only the stack).
//! The cache stays right while the main thread's stack limit does not change
//! (`setrlimit(RLIMIT_STACK)` at run time, which glibc itself reads only at start-up).

use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Mutex;

type GetAttr = unsafe extern "C" fn(libc::pthread_t, *mut libc::pthread_attr_t) -> libc::c_int;

/// The initial thread's stack as glibc reported it, in the process that asked.
#[derive(Clone, Copy)]
struct MainStack {
    pid: libc::pid_t,
    thread: libc::pthread_t,
    address: *mut libc::c_void,
    size: libc::size_t,
    guard: libc::size_t,
}

// SAFETY: `address` is only an address, handed back to pthread_attr_setstack; nothing
// dereferences it here.
unsafe impl Send for MainStack {}

static CACHE: Mutex<Option<MainStack>> = Mutex::new(None);
static GLIBC: AtomicPtr<libc::c_void> = AtomicPtr::new(std::ptr::null_mut());

/// glibc's own `pthread_getattr_np`.
fn glibc() -> Option<GetAttr> {
    let mut found = GLIBC.load(Ordering::Acquire);
    if found.is_null() {
        // SAFETY: dlsym with RTLD_NEXT and a NUL-terminated name; it returns the next
        // definition after this object's, glibc's.
        found = unsafe { libc::dlsym(libc::RTLD_NEXT, c"pthread_getattr_np".as_ptr()) };
        GLIBC.store(found, Ordering::Release);
    }
    // SAFETY: a non-null result is the address of glibc's pthread_getattr_np, whose type
    // is `GetAttr`.
    (!found.is_null()).then(|| unsafe { std::mem::transmute::<*mut libc::c_void, GetAttr>(found) })
}

/// The cached answer for `thread` in this process, if there is one. Never waits: a cache
/// that another thread is filling is treated as empty.
fn cached(pid: libc::pid_t, thread: libc::pthread_t) -> Option<MainStack> {
    let cache = CACHE.try_lock().ok()?;
    cache.filter(|c| c.pid == pid && c.thread == thread)
}

/// Replaces glibc's `pthread_getattr_np` in this binary (see the module docs).
///
/// # Safety
/// As glibc's: `attr` points to a `pthread_attr_t` the caller owns and later destroys.
#[no_mangle]
pub unsafe extern "C" fn pthread_getattr_np(
    thread: libc::pthread_t,
    attr: *mut libc::pthread_attr_t,
) -> libc::c_int {
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    if let Some(c) = cached(pid, thread) {
        // SAFETY: `attr` is the caller's, as glibc's contract says; init then set it.
        unsafe {
            let err = libc::pthread_attr_init(attr);
            if err != 0 {
                return err;
            }
            libc::pthread_attr_setstack(attr, c.address, c.size);
            libc::pthread_attr_setguardsize(attr, c.guard);
        }
        return 0;
    }
    let Some(real) = glibc() else {
        return libc::ENOSYS;
    };
    // SAFETY: glibc's function with the caller's arguments.
    let err = unsafe { real(thread, attr) };
    // SAFETY: gettid has no preconditions; the initial thread's tid is the pid.
    if err == 0 && unsafe { libc::gettid() } == pid && thread == unsafe { libc::pthread_self() } {
        let mut stack = MainStack {
            pid,
            thread,
            address: std::ptr::null_mut(),
            size: 0,
            guard: 0,
        };
        // SAFETY: glibc just filled `attr`; these read it into our locals.
        let read = unsafe {
            libc::pthread_attr_getstack(attr, &mut stack.address, &mut stack.size) == 0
                && libc::pthread_attr_getguardsize(attr, &mut stack.guard) == 0
        };
        if read {
            if let Ok(mut cache) = CACHE.try_lock() {
                *cache = Some(stack);
            }
        }
    }
    err
}
