//! The interpreter side of thread registration: a native module `_rpprof` whose
//! `set_thread_name` replaces `_thread.set_name`.
//!
//! `threading.Thread` calls `_thread.set_name(name)` on every new thread, on that thread,
//! before the thread's target runs (`Thread._bootstrap_inner` -> `_set_os_name`). Replacing
//! it before `threading` is imported gives us a call on each new Python thread at the right
//! moment: it registers the thread with the sampler (its TID, CPU clock and interpreter
//! state), then does what the original did (name the OS thread). Renaming a thread later
//! through the same call renames it in the profile too.

use rustpython_vm::{PyResult, VirtualMachine};

use rustpython_vm::InterpreterBuilder;

/// Name of the native module.
pub const MODULE: &str = "_rpprof";

#[rustpython_vm::pymodule(name = "_rpprof")]
mod rpprof_hooks {
    use rustpython_vm::builtins::PyStrRef;
    use rustpython_vm::{PyResult, VirtualMachine};

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
}

/// Adds the `_rpprof` module to an interpreter being built (then call [`install`]).
pub fn add_module(builder: InterpreterBuilder) -> InterpreterBuilder {
    let def = rpprof_hooks::module_def(&builder.ctx);
    builder.add_native_module(def)
}

/// Registers the calling thread with the sampler under `name`, with the interpreter's state
/// slot for it.
pub fn register_current_thread(name: &str, vm: &VirtualMachine) {
    let ident = rustpython_vm::stdlib::_thread::get_ident();
    let slot = vm.state.thread_frames.lock().get(&ident).cloned();
    sampler::register_current_thread(name, slot);
}

/// Registers the main thread and puts `_rpprof.set_thread_name` in place of
/// `_thread.set_name`. Call it on the main thread, before the program imports `threading`.
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
