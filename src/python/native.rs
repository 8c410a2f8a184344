//! `_rpprof`, the native module behind thread registration and the in-script API.
//!
//! Thread registration: `threading.Thread` calls `_thread.set_name(name)` on every new
//! thread, on that thread, before the thread's target runs (`Thread._bootstrap_inner` ->
//! `_set_os_name`). [`install`] puts `_rpprof.set_thread_name` in its place before the
//! program can import `threading`, which gives us a call on each new Python thread at the
//! right moment: it registers the thread with the sampler (its TID, CPU clock and
//! interpreter state), then does what the original did (name the OS thread). Renaming a
//! thread later through the same call renames it in the profile too.
//!
//! The in-script API: `start`, `stop`, `write` and `is_running`, wrapped by the frozen
//! Python module `rpprof` (`rpprof.py`), run [`crate::api`]; `labels` and
//! `current_labels` are [`crate::python::labels`]'s.
//!
//! Stand-ins for `_signal.signal`, `_signal.setitimer` and `os._exit` let rpprof step
//! aside before a program takes SIGPROF, warn about ITIMER_PROF, and write the profile
//! before `os._exit()` ends the process.

use rustpython_vm::{InterpreterBuilder, PyResult, VirtualMachine};

/// Name of the native module.
pub const MODULE: &str = "_rpprof";

#[rustpython_vm::pymodule(name = "_rpprof")]
mod rpprof_native {
    use rustpython_vm::builtins::PyStrRef;
    use rustpython_vm::{PyResult, VirtualMachine};

    use crate::api;

    /// Registers the calling thread with the profiler under `name`, then names the OS thread
    /// as `_thread.set_name` does.
    #[pyfunction]
    fn set_thread_name(name: PyStrRef, vm: &VirtualMachine) -> PyResult<()> {
        super::register_current_thread(&name.to_string_lossy(), vm);
        let module = vm.import(super::MODULE, 0)?;
        let original = module.get_attr("_original_set_name", vm)?;
        if vm.is_none(&original) {
            return Ok(());
        }
        original.call((name,), vm).map(drop)
    }

    /// Stands in for `_thread.start_joinable_thread` (what `threading.Thread.start` calls):
    /// the new thread runs its function inside a
    /// [`ThreadBody`](crate::python::leftovers::ThreadBody), so that rpprof sees it start
    /// and end.
    #[pyfunction]
    fn start_joinable_thread_hook(
        mut args: rustpython_vm::function::FuncArgs,
        vm: &VirtualMachine,
    ) -> PyResult {
        if let Some(function) = args.args.first().cloned() {
            args.args[0] = crate::python::leftovers::thread_body(function, vm);
        }
        super::original(vm, "_original_start_joinable_thread")?.call(args, vm)
    }

    /// Stands in for `_signal.signal`: before the program takes SIGPROF for itself, stop
    /// sampling (so that none of our signals reaches its handler) and say so once.
    #[pyfunction]
    fn signal_hook(
        signalnum: i32,
        handler: rustpython_vm::PyObjectRef,
        vm: &VirtualMachine,
    ) -> PyResult {
        if signalnum == crate::attach::attach_signal() {
            // The program takes the attach signal: requesters read this name and refuse.
            crate::signals::rename_watcher(crate::attach::procfs::TAKEN_NAME);
        }
        if signalnum == libc::SIGPROF && sampler::release_sigprof() {
            eprintln!(
                "rpprof: warning: the program installs its own SIGPROF handler; sampling \
                 stopped so that it gets only its own signals (the profile holds the samples \
                 taken before)"
            );
        }
        super::original(vm, "_original_signal")?.call((signalnum, handler), vm)
    }

    /// Stands in for `_signal.setitimer`: an ITIMER_PROF timer sends SIGPROF that is not
    /// ours; the handler ignores those signals and keeps sampling. Say so once.
    #[pyfunction]
    fn setitimer_hook(args: rustpython_vm::function::FuncArgs, vm: &VirtualMachine) -> PyResult {
        let which: Option<i32> = args
            .args
            .first()
            .and_then(|w| w.try_to_value::<i32>(vm).ok());
        if which == Some(libc::ITIMER_PROF)
            && !sampler::sigprof_released()
            && !super::SETITIMER_WARNED.swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            eprintln!(
                "rpprof: warning: the program arms ITIMER_PROF; rpprof ignores the SIGPROF \
                 signals it sends and keeps sampling with its own timers"
            );
        }
        super::original(vm, "_original_setitimer")?.call(args, vm)
    }

    /// Stands in for `os._exit`: write what was recorded, then exit at once as asked.
    #[pyfunction]
    fn exit_hook(status: rustpython_vm::PyObjectRef, vm: &VirtualMachine) -> PyResult {
        crate::ending::end_now_reporting();
        crate::attach::target::program_ending("os._exit");
        super::original(vm, "_original_exit")?.call((status,), vm)
    }

    /// Registered with `os.register_at_fork(after_in_child=...)` where children are
    /// profiled (`--subprocesses`): the forked child profiles itself.
    #[pyfunction]
    fn after_fork_in_child(vm: &VirtualMachine) {
        let argv = super::sys_argv(vm);
        crate::children::profile_forked_child(&argv, |name| {
            super::register_current_thread(name, vm)
        });
    }

    /// `rpprof.start(async_=...)`: whether `write` shows `task NAME` frames.
    #[pyfunction]
    fn set_async_view(on: bool) {
        api::set_tasks_view(on);
    }

    /// For rpprof.py's event-loop hook (`--async` in wall mode): the nanoseconds the calling
    /// loop thread's waiting tasks should be recorded for now, or None when it is not time.
    #[pyfunction]
    fn async_due() -> Option<u64> {
        crate::python::tasks::due()
    }

    /// For rpprof.py's event-loop heartbeat: true while a wall-mode session samples.
    #[pyfunction]
    fn async_sampling() -> bool {
        sampler::task::waiting_sampled()
    }

    /// For rpprof.py's event-loop hook: records the waiting tasks of `event_loop` for
    /// `weight_ns` nanoseconds.
    #[pyfunction]
    fn async_record(
        event_loop: rustpython_vm::PyObjectRef,
        tasks: rustpython_vm::PyObjectRef,
        weight_ns: u64,
        vm: &VirtualMachine,
    ) -> PyResult<()> {
        crate::python::tasks::record_waiting(&event_loop, tasks, weight_ns, vm)
    }

    /// The sampling defaults `rpprof.start` and `rpprof.profile` take, from the one place
    /// they are written (`sampler::SamplerConfig::default`, `sampler::alloc`).
    #[pyattr]
    const DEFAULT_RATE: u32 = sampler::DEFAULT_RATE_HZ;
    #[pyattr]
    const DEFAULT_MODE: &str = sampler::DEFAULT_MODE.label();
    #[pyattr]
    const DEFAULT_MAX_DEPTH: usize = sampler::DEFAULT_MAX_DEPTH;
    #[pyattr]
    const DEFAULT_ALLOC_INTERVAL: u64 = sampler::alloc::DEFAULT_INTERVAL;

    /// Starts a recording: `start(rate, mode, max_depth, title, alloc_interval, native)`
    /// (`alloc_interval` 0: allocations are not sampled).
    #[pyfunction]
    fn start(
        rate: u32,
        mode: PyStrRef,
        max_depth: usize,
        title: PyStrRef,
        alloc_interval: u64,
        native: bool,
        vm: &VirtualMachine,
    ) -> PyResult<()> {
        api::start(
            rate,
            &mode.to_string_lossy(),
            max_depth,
            &title.to_string_lossy(),
            (alloc_interval > 0).then_some(alloc_interval),
            native,
        )
        .map_err(|err| err.to_python(vm))
    }

    /// Run by `atexit` after the program's own exit handlers, before the interpreter frees
    /// its modules: what is allocated now is what the program left in use (the leak view).
    #[pyfunction]
    fn program_ended() {
        sampler::alloc::freeze();
    }

    /// The type behind `rpprof.labels` (see [`crate::python::labels`]).
    #[pyattr(name = "labels")]
    fn labels(_vm: &VirtualMachine) -> rustpython_vm::builtins::PyTypeRef {
        use rustpython_vm::class::PyClassImpl;
        crate::python::labels::PyLabels::make_static_type()
    }

    /// The calling thread's current labels, as a dict.
    #[pyfunction]
    fn current_labels(vm: &VirtualMachine) -> rustpython_vm::PyObjectRef {
        crate::python::labels::current_labels(vm)
    }

    /// Stops the recording; returns its sample count.
    #[pyfunction]
    fn stop(vm: &VirtualMachine) -> PyResult<u64> {
        api::stop().map_err(|err| err.to_python(vm))
    }

    /// True while a recording started here runs.
    #[pyfunction]
    fn is_running() -> bool {
        api::is_running()
    }

    /// Writes the last stopped recording: `write(path, format_or_None)`.
    #[pyfunction]
    fn write(path: PyStrRef, format: Option<PyStrRef>, vm: &VirtualMachine) -> PyResult<()> {
        api::write(
            &path.to_string_lossy(),
            format.as_ref().map(|f| f.to_string_lossy()).as_deref(),
        )
        .map_err(|err| err.to_python(vm))
    }
}

/// `py_freeze!` reads `rpprof.py` without telling cargo, which then would not rebuild when
/// only the Python file changed; `include_str!` does tell it.
const _REBUILD_WHEN_CHANGED: &str = include_str!("rpprof.py");

/// Adds `_rpprof` and the frozen `rpprof` module to an interpreter being built (then call
/// [`install`] on the built interpreter).
pub fn add_modules(builder: InterpreterBuilder) -> InterpreterBuilder {
    let def = rpprof_native::module_def(&builder.ctx);
    super::compat::add_module(builder)
        .add_native_module(def)
        .add_frozen_modules(rustpython_vm::py_freeze!(
            file = "rpprof.py",
            module_name = "rpprof"
        ))
}

/// Registers the calling thread with the sampler under `name`, with the interpreter's state
/// slot for it.
pub fn register_current_thread(name: &str, vm: &VirtualMachine) {
    let ident = rustpython_vm::stdlib::_thread::get_ident();
    let slot = vm.state.thread_frames.lock().get(&ident).cloned();
    sampler::register_current_thread(name, slot);
    sampler::task::set_running_task_slot(vm.asyncio_running_task.as_ptr());
}

/// `sys.argv` as strings (empty when it is not a list of strings).
fn sys_argv(vm: &VirtualMachine) -> Vec<String> {
    vm.sys_module
        .get_attr("argv", vm)
        .and_then(|argv| argv.try_to_value::<Vec<String>>(vm))
        .unwrap_or_default()
}

/// The ITIMER_PROF warning was given.
static SETITIMER_WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A function `install` replaced, kept in our module under `name`.
fn original(vm: &VirtualMachine, name: &'static str) -> PyResult {
    super::stand_in::original(vm, MODULE, name)
}

/// Puts our function `ours` in place of `module.attr`, keeping the original in our module
/// under `saved_as` (None if the module lacks it).
fn replace(
    vm: &VirtualMachine,
    module: &'static str,
    attr: &'static str,
    ours: &'static str,
    saved_as: &'static str,
) -> PyResult<()> {
    super::stand_in::replace(vm, MODULE, module, attr, ours, saved_as)
}

/// Registers the main thread, applies [`super::compat`]'s workarounds, adds the active
/// virtual environment's packages ([`super::packages`]) and installs our stand-ins, before
/// the program runs:
/// `_thread.set_name` (thread registration), `_thread.start_joinable_thread` (a thread's
/// end, for [`crate::python::leftovers`]), `_signal.signal` and `_signal.setitimer`
/// (SIGPROF conflicts), and `os._exit` (write the profile before exiting); where children
/// are profiled, registers [`rpprof_native::after_fork_in_child`] to run in forked ones.
/// Call it on the main thread.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    register_current_thread("MainThread", vm);
    crate::children::note_main_thread();
    // Where `_asyncio.Task` keeps its name, for samples taken in a task; without it samples
    // are just not named by task (also when RPPROF_NO_TASK_NAMES is set: the handler's A/B).
    if std::env::var_os(super::tasks::OFF_SWITCH).is_none()
        && super::tasks::discover_layout(vm).is_err()
    {
        eprintln!("rpprof: warning: cannot find asyncio task names; samples are not named by task");
    }
    replace(
        vm,
        "_thread",
        "set_name",
        "set_thread_name",
        "_original_set_name",
    )?;
    replace(
        vm,
        "_thread",
        "start_joinable_thread",
        "start_joinable_thread_hook",
        "_original_start_joinable_thread",
    )?;
    replace(vm, "_signal", "signal", "signal_hook", "_original_signal")?;
    replace(
        vm,
        "_signal",
        "setitimer",
        "setitimer_hook",
        "_original_setitimer",
    )?;
    replace(vm, "posix", "_exit", "exit_hook", "_original_exit")?;
    // Registered first, so run last: after the program's own atexit handlers.
    vm.import("atexit", 0)?
        .get_attr("register", vm)?
        .call((vm.import(MODULE, 0)?.get_attr("program_ended", vm)?,), vm)?;
    super::compat::install(vm)?;
    super::packages::install(vm)?;
    // os.fork warns about forking a multi-threaded process; with no Python thread but the
    // main one, the other threads are rpprof's own, which the warning is not about.
    let posix = vm.import("posix", 0)?;
    let quiet_fork = vm
        .import("rpprof", 0)?
        .get_attr("_quiet_fork", vm)?
        .call((posix.get_attr("fork", vm)?,), vm)?;
    posix.set_attr("fork", quiet_fork.clone(), vm)?;
    if std::env::var_os(crate::children::ENV_VAR).is_some() {
        // Children are profiled: forked ones too (see `crate::children`).
        vm.import("rpprof", 0)?
            .get_attr("_profile_forked_children", vm)?
            .call((), vm)?;
    }
    // Modules that copied the originals at import (`from _signal import *`, `from posix
    // import *`) get the stand-ins too.
    let modules = vm.sys_module.get_attr("modules", vm)?;
    let native = vm.import(MODULE, 0)?;
    for (module, attr, ours) in [
        (
            "signal",
            "setitimer",
            native.get_attr("setitimer_hook", vm)?,
        ),
        ("os", "_exit", native.get_attr("exit_hook", vm)?),
        ("os", "fork", quiet_fork),
        (
            "threading",
            "_start_joinable_thread",
            native.get_attr("start_joinable_thread_hook", vm)?,
        ),
    ] {
        if let Ok(loaded) = modules.get_item(module, vm) {
            loaded.set_attr(attr, ours, vm)?;
        }
    }
    Ok(())
}
