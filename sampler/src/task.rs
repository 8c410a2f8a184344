//! Which asyncio task a sample belongs to.
//!
//! # The mechanism: RustPython's per-thread running-task slot
//! RustPython 0.6.0's asyncio runs on the native `_asyncio` module (rustpython-stdlib's
//! `_asyncio.rs`; `asyncio.tasks` imports `Task`, `_enter_task`, `_leave_task` and
//! `current_task` from it). A task step (`task_step_impl`) calls the Rust `_enter_task`
//! directly, which stores the task in the stepping thread's `VirtualMachine::asyncio_running_task`
//! (CPython's `ts->asyncio_running_task`, the slot CPython's async-aware profilers read),
//! runs the coroutine, and calls `_leave_task`, which empties it. The module-level Python
//! names are not involved, so a Python-level hook would miss every native task step; the slot
//! sees them all, eager tasks included, at no cost to the program.
//!
//! Each thread that registers hands over the address of its VM's slot
//! ([`set_running_task_slot`]). The handler ([`running_task`]) reads it on the interrupted
//! thread: the slot holds the task while a step runs, and the step holds a reference to the
//! task for as long, so the task is alive whenever the handler sees it. The VM (and with it
//! the slot) outlives every Python frame of its thread, so the handler reads the slot only
//! while the thread has a current frame.
//!
//! The task's name lives in a private field of `_asyncio.Task` (`task_name`, a
//! `PyRwLock<Option<PyObjectRef>>`). Its offset in the object is found once at start-up by the
//! embedding (a probe task is named twice and its memory searched for the name's address,
//! [`set_task_layout`]); RustPython is pinned to one version, so the layout is that of this
//! build. The handler then copies at most [`TASK_NAME_BYTES`] bytes of the name, a `str`
//! checked by its payload type, into the sample. Subclasses of `_asyncio.Task` share its
//! layout and are named too; the pure-Python `_PyTask` is not.
//!
//! # Waiting tasks
//! Tasks that are not running are not on any thread's stack. In wall mode with `--async`
//! the event-loop thread itself records them (see the embedding's `tasks` module) and hands
//! the samples over with [`record_waiting`]; the drain thread adds them to the thread's
//! batch ([`drain_waiting`]). They never pass through the signal handler.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use rustpython_vm::builtins::{PyStr, PyType};
use rustpython_vm::{Py, PyObject, PyObjectRef};

use crate::batch::SampleBatch;
use crate::raw::{RawFrame, SampleHeader};
use crate::registry::ThreadEntry;
pub use crate::task_name::{TaskName, TASK_NAME_BYTES};

/// Address of the `_asyncio.Task` type object (0 until [`set_task_layout`]).
static TASK_TYPE: AtomicUsize = AtomicUsize::new(0);
/// Byte offset of a task's name pointer from the start of the task object (0: unknown).
static NAME_OFFSET: AtomicUsize = AtomicUsize::new(0);

/// Says where a task's name is: `task_type` is the `_asyncio.Task` type object, and a
/// task's name (`Option<PyObjectRef>`) sits `name_offset` bytes into each of its objects.
/// Until this is called no sample is named.
pub fn set_task_layout(task_type: &PyObject, name_offset: usize) {
    TASK_TYPE.store(task_type as *const PyObject as usize, Ordering::Relaxed);
    NAME_OFFSET.store(name_offset, Ordering::Release);
}

thread_local! {
    /// The calling thread's `VirtualMachine::asyncio_running_task` contents (null until the
    /// thread registers). A `const` thread-local without destructor: safe in the handler.
    static RUNNING_TASK_SLOT: Cell<*const Option<PyObjectRef>> =
        const { Cell::new(std::ptr::null()) };
}

/// Records where the calling thread's VM keeps its running task
/// (`vm.asyncio_running_task.as_ptr()`); call it on the thread, from its own VM.
pub fn set_running_task_slot(slot: *const Option<PyObjectRef>) {
    RUNNING_TASK_SLOT.with(|cell| cell.set(slot));
}

/// The task the calling thread is stepping, if any: for the signal handler (no allocation,
/// no lock, reads only).
#[inline]
pub(crate) fn running_task() -> TaskName {
    let offset = NAME_OFFSET.load(Ordering::Acquire);
    if offset == 0 {
        return TaskName::NONE;
    }
    let slot = RUNNING_TASK_SLOT.with(Cell::get);
    // Without a current frame the thread may be past the end of its VM's life.
    if slot.is_null() || rustpython_vm::vm::thread::get_current_frame().is_null() {
        return TaskName::NONE;
    }
    // SAFETY: the slot is a field of this thread's VM, alive while the thread has a frame
    // (checked above); we are on that thread, stopped, so nothing writes it meanwhile (a
    // write in progress leaves the old or the new pointer, both alive: the step holds the
    // task).
    let Some(task) = (unsafe { &*slot }).as_deref() else {
        return TaskName::NONE;
    };
    if !is_task_class(task.class(), TASK_TYPE.load(Ordering::Relaxed)) {
        return TaskName::NONE;
    }
    // SAFETY: `task` is an `_asyncio.Task` or of a subclass (its class checked above: its
    // payload is the same `PyTask`), whose name field
    // (`Option<PyObjectRef>`, a nullable pointer) sits `offset` bytes in, as measured at
    // start-up on an object of the same type.
    let name = unsafe {
        (task as *const PyObject)
            .cast::<u8>()
            .add(offset)
            .cast::<*const PyObject>()
            .read()
    };
    if name.is_null() {
        return TaskName::NONE;
    }
    // SAFETY: the task holds its name; the pointer is alive while the task is.
    let name = unsafe { &*name };
    match name.downcast_ref::<PyStr>() {
        Some(text) => TaskName::from_bytes(text.as_bytes()),
        None => TaskName::NONE,
    }
}

/// True when `class` is `_asyncio.Task` (at address `task_type`) or a subclass of it (a few
/// levels of `__base__`, which RustPython reads lock-free), whose objects share its layout.
#[inline]
fn is_task_class(class: &Py<PyType>, task_type: usize) -> bool {
    let mut class = class;
    for _ in 0..MAX_SUBCLASS_DEPTH {
        if class as *const Py<PyType> as usize == task_type {
            return true;
        }
        match class.base.deref() {
            Some(base) => class = base,
            None => return false,
        }
    }
    false
}

/// How many `__base__` links [`is_task_class`] follows.
const MAX_SUBCLASS_DEPTH: usize = 8;

/// One waiting task's sample, recorded off the handler by its event-loop thread.
struct Waiting {
    header: SampleHeader,
    /// Innermost first.
    frames: Vec<RawFrame>,
}

/// The most waiting-task samples held between two drains; more are dropped and counted.
const MAX_WAITING: usize = 100_000;

/// Waiting-task samples per thread key, until the drain thread takes them.
static WAITING: Mutex<Option<HashMap<u32, Vec<Waiting>>>> = Mutex::new(None);
/// Waiting-task samples dropped because [`MAX_WAITING`] were queued.
static WAITING_DROPPED: AtomicU64 = AtomicU64::new(0);
/// Waiting-task samples queued and not drained yet.
static WAITING_QUEUED: AtomicUsize = AtomicUsize::new(0);

/// Queues samples of the calling thread's waiting tasks (each a header, with its task's
/// name and the `Awaiting` state, and its coroutine chain, innermost first) for the drain thread.
/// Does nothing on a thread that did not register.
pub fn record_waiting(samples: impl IntoIterator<Item = (SampleHeader, Vec<RawFrame>)>) {
    let Some(entry) = crate::registry::current_entry() else {
        return;
    };
    let mut waiting = WAITING.lock().unwrap_or_else(|e| e.into_inner());
    let queue = waiting
        .get_or_insert_with(HashMap::new)
        .entry(entry.key())
        .or_default();
    for (header, frames) in samples {
        if WAITING_QUEUED.load(Ordering::Relaxed) >= MAX_WAITING {
            WAITING_DROPPED.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        WAITING_QUEUED.fetch_add(1, Ordering::Relaxed);
        queue.push(Waiting { header, frames });
    }
}

/// Waiting-task samples dropped so far because too many were queued between drains.
pub fn waiting_dropped() -> u64 {
    WAITING_DROPPED.load(Ordering::Relaxed)
}

/// True when waiting-task samples of `thread` wait to be drained.
pub(crate) fn has_waiting(thread: &ThreadEntry) -> bool {
    WAITING_QUEUED.load(Ordering::Relaxed) > 0
        && WAITING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|w| w.get(&thread.key()).is_some_and(|q| !q.is_empty()))
}

/// Moves `thread`'s waiting-task samples into its batch.
pub(crate) fn drain_waiting(thread: &ThreadEntry, batch: &mut SampleBatch) {
    if WAITING_QUEUED.load(Ordering::Relaxed) == 0 {
        return;
    }
    let taken = WAITING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_mut()
        .and_then(|w| w.remove(&thread.key()));
    for sample in taken.into_iter().flatten() {
        WAITING_QUEUED.fetch_sub(1, Ordering::Relaxed);
        batch.push(sample.header, sample.frames.into_iter());
    }
}

thread_local! {
    /// When the calling thread last recorded its waiting tasks (0: never).
    static LAST_WAITING_NS: Cell<u64> = const { Cell::new(0) };
}

/// True while a wall-mode session samples (waiting tasks are recorded only then).
pub fn waiting_sampled() -> bool {
    use crate::flags::{session_mode, SESSION};
    SESSION.sampling.load(Ordering::Acquire) && session_mode().samples_waiting()
}

/// For an event-loop thread between two task steps: `Some(ns)` when a wall-mode session
/// samples and a sampling period, and at least `min_gap_ns`, have passed (`ns`) since the
/// thread last recorded its waiting tasks (the clock then restarts), `None` otherwise. A
/// thread's first call starts its clock and gives `Some(0)`.
pub fn waiting_due(min_gap_ns: u64) -> Option<u64> {
    use crate::flags::SESSION;
    if !waiting_sampled() {
        LAST_WAITING_NS.with(|last| last.set(0));
        return None;
    }
    let now = crate::timer::monotonic_ns();
    let period = SESSION.period_ns.load(Ordering::Relaxed);
    LAST_WAITING_NS.with(|last| {
        let before = last.get();
        if before == 0 {
            last.set(now);
            return Some(0);
        }
        let elapsed = now.saturating_sub(before);
        (elapsed >= period.max(min_gap_ns)).then(|| {
            last.set(now);
            elapsed
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_words() {
        for text in ["", "worker-1", "Task-12", "ünïcode ✓", &"x".repeat(60)] {
            let name = TaskName::from_bytes(text.as_bytes());
            assert_eq!(TaskName::from_words(name.to_words()), name);
            let kept = text.len().min(TASK_NAME_BYTES);
            assert_eq!(name.text(), text[..kept]);
        }
    }

    #[test]
    fn long_names_are_cut_at_a_character() {
        let text = format!("{}é", "a".repeat(TASK_NAME_BYTES - 1));
        let name = TaskName::from_bytes(text.as_bytes());
        assert_eq!(name.text(), "a".repeat(TASK_NAME_BYTES - 1));
    }
}
