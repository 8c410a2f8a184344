//! asyncio tasks, the interpreter's side: where a task's name is in an `_asyncio.Task` (for
//! the handler, see `sampler::task`), and the samples of waiting tasks (`--async` in wall
//! mode).
//!
//! # Waiting tasks: recorded by the event loop's own thread, between steps
//! A task that is not running is a suspended coroutine chain on the heap: the task's
//! coroutine, what it awaits (`cr_await`), what that awaits, down to a future. Nothing
//! but the loop's own thread may walk it safely (no GIL protects it from another thread),
//! and the handler may not walk it at all (it allocates nothing and cannot call Python). So
//! rpprof wraps `asyncio.BaseEventLoop._run_once` (rpprof.py `_hook_event_loops`), which every
//! loop runs between two batches of task steps, when no task runs: there the loop thread
//! asks [`due`] (one native call, a clock read) whether a sampling period has passed since it
//! last recorded. If so, it records ([`record_waiting`]) every unfinished task of the loop
//! with its chain, weighted by the time since. A task's chain changes only while the task
//! runs, and a loop that waited (in `select`) for that time ran no task meanwhile, so the
//! chains it finds are the ones that held through the wait; a busy loop records every
//! period, and a chain is then wrong by at most the steps of one period.
//!
//! A loop that waits in `select` runs no iteration until it wakes; so that its tasks' waits
//! are recorded as they go (for the agent's slices too), the hook gives each loop a
//! heartbeat while a wall-mode session samples: a timer that wakes it every 100 ms.
//!
//! Cost: a Python-level call around each loop iteration, ten wake-ups a second of an idle
//! loop, and, once per sampling period per loop, a walk over the loop's tasks
//! (`asyncio.all_tasks`). A loop with so many tasks that the walk is slow walks less often:
//! at least 20 times the last walk's duration apart (about 5% of its time at most); each
//! walk credits the whole time since the previous one. BENCHMARKS.md measures it.

use std::cell::Cell;

use rustpython_vm::builtins::PyStrRef;
use rustpython_vm::frame::FrameObject;
use rustpython_vm::{PyObject, PyObjectRef, PyResult, VirtualMachine};
use sampler::task::TaskName;
use sampler::{RawFrame, SampleHeader, ThreadState};

/// The environment variable that, when set, leaves samples unnamed by task (the handler
/// then skips the task lookup): a way out, and the "off" half of the handler benchmark.
pub const OFF_SWITCH: &str = "RPPROF_NO_TASK_NAMES";

/// Wraps every asyncio event loop's `_run_once` so that loops record their waiting tasks
/// (rpprof.py `_hook_event_loops`; imports asyncio).
pub fn hook_event_loops(vm: &VirtualMachine) -> PyResult<()> {
    vm.import("rpprof", 0)?
        .get_attr("_hook_event_loops", vm)?
        .call((), vm)
        .map(drop)
}

/// Bytes of a task object searched for its name (the object is about 300 bytes).
const SEARCH_BYTES: usize = 1024;

/// Finds where `_asyncio.Task` objects keep their name and tells the sampler
/// (`sampler::task::set_task_layout`): a task made without `__init__` is named, its words
/// are read from the start up to the first that holds the name's address, and a second name
/// must then appear in that same word. Without `_asyncio`, or when that fails, samples are
/// not named by task.
pub fn discover_layout(vm: &VirtualMachine) -> PyResult<()> {
    let task_type = vm.import("_asyncio", 0)?.get_attr("Task", vm)?;
    let probe = vm.call_method(&task_type, "__new__", (task_type.clone(),))?;
    // A task made this way has no loop: its finaliser has nothing to report to.
    probe.set_attr("_log_destroy_pending", vm.ctx.false_value.clone(), vm)?;
    let name_probe = |text: &str| -> PyResult<usize> {
        let name: PyObjectRef = vm.ctx.new_str(text).into();
        vm.call_method(&probe, "set_name", (name.clone(),))?;
        // The task holds the name from here on, so its address stays its own.
        Ok(&*name as *const PyObject as usize)
    };
    let first = name_probe("rpprof-probe-a")?;
    let Some(offset) = (8..SEARCH_BYTES)
        .step_by(8)
        .find(|&offset| word_at(&probe, offset) == first)
    else {
        return Ok(());
    };
    let second = name_probe("rpprof-probe-b")?;
    if word_at(&probe, offset) == second {
        sampler::task::set_task_layout(&task_type, offset);
    }
    Ok(())
}

/// The pointer-sized word `offset` bytes into `object`.
fn word_at(object: &PyObject, offset: usize) -> usize {
    // SAFETY: `object` is a live `_asyncio.Task`; its words are read in order from its start
    // up to the first that holds its name, which lies within the object (its `task_name`
    // field), so every word read is the object's own. Only if the field were missing would
    // the search read on, at most SEARCH_BYTES of the heap behind it (aligned words, mapped).
    unsafe {
        (object as *const PyObject)
            .cast::<u8>()
            .add(offset)
            .cast::<usize>()
            .read_volatile()
    }
}

thread_local! {
    /// The event loop the calling thread last recorded the tasks of.
    static LAST_LOOP: Cell<usize> = const { Cell::new(0) };
    /// How long the calling thread's last recording took.
    static LAST_COST_NS: Cell<u64> = const { Cell::new(0) };
}

/// Recordings are spaced by at least this many times what the last one took, so that they
/// cost the loop at most about 1/COST_SHARE (5%) of its time however many tasks it has.
const COST_SHARE: u64 = 20;

/// Whether the calling event-loop thread should record its waiting tasks now, and for how
/// many nanoseconds (`sampler::task::waiting_due`): every sampling period, or less often
/// when recording is slow (many tasks).
pub fn due() -> Option<u64> {
    sampler::task::waiting_due(LAST_COST_NS.with(Cell::get).saturating_mul(COST_SHARE))
}

/// Records the tasks of `event_loop` (`tasks`, an iterable of its tasks; none runs), each
/// with its coroutine chain, as waiting for `weight_ns`: the time since the thread last
/// recorded, during which (a loop records between steps) their chains were these.
pub fn record_waiting(
    event_loop: &PyObject,
    tasks: PyObjectRef,
    weight_ns: u64,
    vm: &VirtualMachine,
) -> PyResult<()> {
    let loop_id = event_loop as *const PyObject as usize;
    // The time since the thread's last recording belongs to that loop, not to this one.
    if LAST_LOOP.with(|last| last.replace(loop_id)) != loop_id || weight_ns == 0 {
        return Ok(());
    }
    let now = sampler::timer::monotonic_ns();
    let recorded = record_tasks(tasks, now, weight_ns, vm);
    LAST_COST_NS.with(|cost| cost.set(sampler::timer::monotonic_ns().saturating_sub(now)));
    sampler::task::record_waiting(recorded?);
    Ok(())
}

/// Each unfinished task's sample: its name, its chain, `weight_ns` at `now`.
fn record_tasks(
    tasks: PyObjectRef,
    now: u64,
    weight_ns: u64,
    vm: &VirtualMachine,
) -> PyResult<Vec<(SampleHeader, Vec<RawFrame>)>> {
    let mut samples = Vec::new();
    for task in tasks.try_to_value::<Vec<PyObjectRef>>(vm)? {
        if vm.call_method(&task, "done", ())?.try_to_bool(vm)? {
            continue;
        }
        let name: PyStrRef = vm.call_method(&task, "get_name", ())?.str(vm)?;
        let chain = coroutine_chain(vm.call_method(&task, "get_coro", ())?, vm)?;
        let header = SampleHeader {
            time_ns: now,
            weight_ns,
            state: ThreadState::Awaiting,
            truncated: false,
            task: TaskName::from_bytes(name.as_bytes()),
            labels: sampler::labels::NO_LABELS,
            call: sampler::RawCall::NONE,
        };
        samples.push((header, chain));
    }
    Ok(samples)
}

/// The most frames of a chain kept (the outermost).
const MAX_CHAIN: usize = 128;

/// The frames a suspended coroutine (or generator) chain waits in, innermost first: the
/// coroutine's frame, then what it awaits (`cr_await`, `gi_yieldfrom`), down to the first
/// object that is not a coroutine (the future it waits on).
fn coroutine_chain(coro: PyObjectRef, vm: &VirtualMachine) -> PyResult<Vec<RawFrame>> {
    let mut chain = Vec::new();
    let mut current = coro;
    while chain.len() < MAX_CHAIN {
        let Some(frame) = attr(&current, "cr_frame", "gi_frame", vm)? else {
            break;
        };
        let Ok(frame) = frame.downcast::<FrameObject>() else {
            break;
        };
        chain.push(sampler::raw_frame(frame.iframe()));
        match attr(&current, "cr_await", "gi_yieldfrom", vm)? {
            Some(next) => current = next,
            None => break,
        }
    }
    chain.reverse();
    Ok(chain)
}

/// `object.first`, else `object.second`, when present and not None.
fn attr(
    object: &PyObject,
    first: &'static str,
    second: &'static str,
    vm: &VirtualMachine,
) -> PyResult<Option<PyObjectRef>> {
    for name in [first, second] {
        if let Some(value) = vm.get_attribute_opt(object, name)? {
            return Ok((!vm.is_none(&value)).then_some(value));
        }
    }
    Ok(None)
}
