//! Workarounds for RustPython 0.6.0's gaps that real programs run into: the frozen module
//! `_rpprof_compat` (`compat.py`, which says what each one is for), installed before the
//! program runs.

use rustpython_vm::{InterpreterBuilder, PyResult, VirtualMachine};

/// Name of the frozen module.
const MODULE: &str = "_rpprof_compat";

/// Adds the frozen `_rpprof_compat` module to an interpreter being built.
pub fn add_module(builder: InterpreterBuilder) -> InterpreterBuilder {
    builder.add_frozen_modules(rustpython_vm::py_freeze!(
        file = "compat.py",
        module_name = "_rpprof_compat"
    ))
}

/// Applies every workaround. Call it before the program runs.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    let compat = vm.import(MODULE, 0)?;
    compat.get_attr("install", vm)?.call((), vm)?;
    // Python cannot set an attribute of a builtin type; the type's own `set_attr`
    // invalidates its caches as an assignment would.
    let init_subclass = compat.get_attr("property_init_subclass", vm)?;
    vm.ctx
        .types
        .property_type
        .set_attr(vm.ctx.intern_str("__init_subclass__"), init_subclass);
    compat
        .get_attr("guard_existing_property_subclasses", vm)?
        .call((), vm)?;
    Ok(())
}
