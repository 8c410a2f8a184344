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
//! Python module `rpprof` (`rpprof.py`), run [`crate::api`].

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

    /// Starts a recording: `start(rate, mode, max_depth, title)`.
    #[pyfunction]
    fn start(
        rate: u32,
        mode: PyStrRef,
        max_depth: usize,
        title: PyStrRef,
        vm: &VirtualMachine,
    ) -> PyResult<()> {
        api::start(
            rate,
            &mode.to_string_lossy(),
            max_depth,
            &title.to_string_lossy(),
        )
        .map_err(|err| err.to_python(vm))
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

/// Adds `_rpprof` and the frozen `rpprof` module to an interpreter being built (then call
/// [`install`] on the built interpreter).
pub fn add_modules(builder: InterpreterBuilder) -> InterpreterBuilder {
    let def = rpprof_native::module_def(&builder.ctx);
    builder
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
}

/// Registers the main thread and puts `_rpprof.set_thread_name` in place of
/// `_thread.set_name`. Call it on the main thread, before the program runs.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    register_current_thread("MainThread", vm);
    let thread_module = vm.import("_thread", 0)?;
    let ours = vm.import(MODULE, 0)?;
    let original = thread_module
        .get_attr("set_name", vm)
        .unwrap_or_else(|_| vm.ctx.none());
    ours.set_attr("_original_set_name", original, vm)?;
    thread_module.set_attr("set_name", ours.get_attr("set_thread_name", vm)?, vm)?;
    Ok(())
}
