//! Works around RustPython 0.6.0 keeping memory of every Python thread that ends: its
//! free lists' contents, its thread-handle registry and `threading`'s two thread tables
//! (see each function). Every thread started through
//! `_thread.start_joinable_thread` (so every `threading.Thread`) runs its function inside
//! a [`ThreadBody`] (`_rpprof` puts one around it), which calls [`thread_starting`] first
//! and [`thread_ending`] last. A native object, so that no frame of ours shows in the
//! thread's stacks, and one that owns no dict (a `functools.partial` would: its keyword
//! dict, dropped after the thread's end, lost 128 bytes a thread to the very free list
//! this module empties).
//!
//! # Free lists
//!
//! RustPython keeps per-thread free lists of dead objects for reuse (80 dicts, 100 ints,
//! 6 ranges, ...). When a thread ends, the free lists' destructor frees each cached
//! object's block but not what its payload still owns: a dict keeps its hash index and
//! entry storage after it is cleared, an int its digits, a range its three ints. A thread
//! that built a few dicts of 200 entries left about 36 KB behind, one that called
//! `range(100)` about 190 bytes: a thread-per-request server, that much per request.
//!
//! RustPython frees a cached object's old payload properly when it hands the object out
//! again. So, as a Python thread finishes ([`thread_ending`]), rpprof takes every dict, int
//! and range the thread's free lists hold, by making new ones: each takes a cached object,
//! whose old storage is freed, and carries a fresh, small payload. They are not dropped on
//! the ending thread (that would cache them there again) but left for the next Python
//! threads that start ([`thread_starting`]), each of which drops one thread's worth into
//! its own free lists, where they are reused. What is handed on is bounded
//! ([`MAX_HANDED_ON`]); past it an ending thread keeps its own, as before.

use std::sync::Mutex;

use rustpython_vm::builtins::PyDict;
use rustpython_vm::class::PyClassImpl;
use rustpython_vm::common::lock::PyMutex;
use rustpython_vm::types::Callable;
use rustpython_vm::{pyclass, AsObject, Py, PyObjectRef, PyPayload, PyResult, VirtualMachine};

/// Dicts a thread's free list holds at most (RustPython 0.6.0's `PyDict::MAX_FREELIST`).
const DICTS: usize = 80;
/// Ints a thread's free list holds at most (RustPython 0.6.0's `PyInt::MAX_FREELIST`).
const INTS: usize = 100;
/// Ranges a thread's free list holds at most (RustPython 0.6.0's `PyRange::MAX_FREELIST`);
/// a cached range keeps its three ints (about 190 bytes for `range(100)`).
const RANGES: usize = 6;
/// One thread's worth: what an ending thread hands on and a starting one takes.
const ONE_THREAD: usize = DICTS + INTS + RANGES;
/// Objects waiting for the next threads, at most: 64 threads' worth (a server ends many
/// threads at once), about 1 MB.
const MAX_HANDED_ON: usize = 64 * ONE_THREAD;

/// Takes the lock on what is handed on, trying a while rather than waiting: a lock held
/// across a fork (never released in the child) or poisoned only means not handing on.
fn handed_on() -> Option<std::sync::MutexGuard<'static, Vec<PyObjectRef>>> {
    for _ in 0..64 {
        if let Ok(guard) = HANDED_ON.try_lock() {
            return Some(guard);
        }
        std::thread::yield_now();
    }
    None
}

/// Objects taken from ended threads' free lists, for the next thread that starts.
static HANDED_ON: Mutex<Vec<PyObjectRef>> = Mutex::new(Vec::new());

/// What a Python thread started through `_thread.start_joinable_thread` runs: its
/// function, between [`thread_starting`] and [`thread_ending`].
#[pyclass(module = "_rpprof", name = "thread_body")]
#[derive(Debug, PyPayload)]
pub struct ThreadBody {
    /// Taken by the call (a thread body runs once), so that it is dropped before
    /// [`thread_ending`] rather than with the body, after it.
    function: PyMutex<Option<PyObjectRef>>,
}

#[pyclass(with(Callable))]
impl ThreadBody {}

impl Callable for ThreadBody {
    type Args = ();

    fn call(zelf: &Py<Self>, _args: (), vm: &VirtualMachine) -> PyResult {
        let Some(function) = zelf.function.lock().take() else {
            return Ok(vm.ctx.none());
        };
        thread_starting(vm);
        let result = function.call((), vm);
        // The function is `Thread._bootstrap` bound to its `Thread`, and once the thread has
        // left `threading._active`, often the last reference to it (a server's request
        // thread: the accepting thread dropped its own long before). Dropped after
        // `thread_ending`, the `Thread`'s instance dict, its `Event`'s and its
        // `Condition`'s went into this thread's emptied free list, which kept their
        // storage at the thread's end: about 1.2 KB a request on a thread-per-request
        // server. Dropped here, they are taken with the rest.
        drop(function);
        thread_ending(vm);
        result
    }
}

/// `function` inside a [`ThreadBody`].
pub fn thread_body(function: PyObjectRef, vm: &VirtualMachine) -> PyObjectRef {
    let _class = ThreadBody::make_static_type();
    ThreadBody {
        function: PyMutex::new(Some(function)),
    }
    .into_ref(&vm.ctx)
    .into()
}

/// On a Python thread about to end: takes the dicts, ints and ranges its free lists cache
/// (their old storage is freed) and leaves them for the next threads.
pub fn thread_ending(vm: &VirtualMachine) {
    let Some(mut handed_on) = handed_on() else {
        return;
    };
    if handed_on.len() + ONE_THREAD > MAX_HANDED_ON {
        // Enough waits already (many threads ended at once): this one keeps its own.
        return;
    }
    let mut taken: Vec<PyObjectRef> = Vec::with_capacity(ONE_THREAD);
    taken.extend((0..DICTS).map(|_| vm.ctx.new_dict().into()));
    // Not a small int (those are shared, never cached): each takes a cached int.
    taken.extend((0..INTS).map(|_| vm.ctx.new_int(1_000_000).into()));
    // `range(0)`: its ints are the shared small ones.
    if let Ok(range) = vm.builtins.get_attr("range", vm) {
        taken.extend((0..RANGES).filter_map(|_| range.call((0,), vm).ok()));
    }
    handed_on.append(&mut taken);
}

/// On a Python thread that starts: drops one thread's worth of what ended threads handed
/// on, into this thread's free lists (where its own work reuses them).
pub fn thread_starting(vm: &VirtualMachine) {
    sweep_every_256_threads(vm);
    let objects: Vec<PyObjectRef> = match handed_on() {
        Some(mut handed_on) => {
            let keep = handed_on.len().saturating_sub(ONE_THREAD);
            handed_on.split_off(keep)
        }
        None => return,
    };
    drop(objects);
}

/// Threads started since [`sweep_every_256_threads`] last swept.
static STARTED_SINCE_SWEEP: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Every 256 thread starts: [`forget_gone_thread_handles`] and [`compact_thread_tables`].
fn sweep_every_256_threads(vm: &VirtualMachine) {
    use std::sync::atomic::Ordering;
    if STARTED_SINCE_SWEEP.fetch_add(1, Ordering::Relaxed) < 256 {
        return;
    }
    STARTED_SINCE_SWEEP.store(0, Ordering::Relaxed);
    forget_gone_thread_handles(vm);
    if let Err(err) = compact_thread_tables(vm) {
        vm.print_exception(&err);
    }
}

/// RustPython 0.6.0 keeps something of every thread ever made: each
/// `_thread._ThreadHandle` (one per `threading.Thread`) adds a pair of weak pointers to
/// `vm.state.thread_handles`, for its fork handling, and nothing removes them except a
/// fork. Each pair keeps about 140 bytes allocated (its own and what the weak pointers
/// hold), a thread-per-request server's worth per request. The pairs whose handle is gone
/// are dropped: the fork handling only visits live handles.
fn forget_gone_thread_handles(vm: &VirtualMachine) {
    vm.state
        .thread_handles
        .lock()
        .retain(|(handle, _)| handle.strong_count() > 0);
}

/// RustPython 0.6.0's dict counts a deleted slot reused by a new key as no new fill, so it
/// never resizes, while every insertion appends to its entry storage: a dict or set whose
/// keys come and go grows for ever (a set: 24 bytes per key that came and went).
/// `threading._active` (keyed by thread idents), `threading._limbo` (keyed by `Thread`
/// objects) and the set under the `threading._dangling` WeakSet (a weak reference to every
/// `Thread`) are such tables: about 120 bytes a thread, for ever. Rebuilding `_active` and
/// `_limbo` in place (under `threading`'s own lock, as `threading` changes them) and putting
/// a copy of the set under `_dangling` drops the dead entries. (A weak reference whose
/// thread dies during the copy stays in the copy, dead: WeakSet skips those.) The same
/// growth hits a program's own dicts and sets; that is the interpreter's to fix.
fn compact_thread_tables(vm: &VirtualMachine) -> PyResult<()> {
    let modules = vm.sys_module.get_attr("modules", vm)?;
    let Ok(threading) = modules.get_item("threading", vm) else {
        return Ok(());
    };
    if vm.is_none(&threading) {
        return Ok(());
    }
    let lock = threading.get_attr("_active_limbo_lock", vm)?;
    vm.call_method(&lock, "acquire", ())?;
    let compacted = ["_active", "_limbo"].into_iter().try_for_each(|name| {
        let table = threading.get_attr(name, vm)?;
        if let Some(dict) = table.downcast_ref::<PyDict>() {
            let items: Vec<(PyObjectRef, PyObjectRef)> = dict.into_iter().collect();
            dict.clear();
            for (key, value) in items {
                dict.set_item(&*key, value, vm)?;
            }
        }
        Ok(())
    });
    vm.call_method(&lock, "release", ())?;
    compacted?;
    let dangling = threading.get_attr("_dangling", vm)?;
    if let Ok(refs) = dangling.get_attr("data", vm) {
        let copy = vm.ctx.types.set_type.as_object().call((refs,), vm)?;
        dangling.set_attr("data", copy, vm)?;
    }
    Ok(())
}
