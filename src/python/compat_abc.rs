//! Instantiating an abstract class fails with CPython's message.
//!
//! RustPython 0.6.0 says `class X without an implementation for abstract methods 'b', 'a'`:
//! without CPython's "Can't instantiate abstract class" prefix, and in the order of the
//! class's `__abstractmethods__` set, where CPython sorts the names (tests compare the
//! message). Calling a class made by `abc.ABCMeta` calls `type.__call__` and, when that
//! fails with this message, raises CPython's. The cost: one more native call each time such
//! a class is instantiated. A class that sets `__abstractmethods__` without `ABCMeta`, or
//! whose metaclass derives from `ABCMeta`, keeps RustPython's message.

use rustpython_vm::builtins::{PyBaseExceptionRef, PyType};
use rustpython_vm::function::FuncArgs;
use rustpython_vm::{AsObject, PyObject, PyObjectRef, PyResult, VirtualMachine};

/// Makes calling a class whose metaclass is `abc_meta` (`abc.ABCMeta`) go through
/// [`call`]. Done on the metaclass's call slot, not by assigning `ABCMeta.__call__`:
/// that goes through a method lookup and a Python-level dispatch on every call, and made
/// instantiating such a class half as fast again; the slot costs one native call, and
/// leaves `ABCMeta.__dict__` as it was.
pub fn say_cant_instantiate(abc_meta: &PyObjectRef, vm: &VirtualMachine) -> PyResult<()> {
    let abc_meta = abc_meta
        .downcast_ref::<PyType>()
        .ok_or_else(|| vm.new_type_error("abc.ABCMeta is not a class"))?;
    abc_meta.slots.call.store(Some(call));
    // The vector-call path would go to `type`'s call without looking at the slot above.
    abc_meta.slots.vectorcall.store(None);
    Ok(())
}

/// `type.__call__`, with CPython's message when the class is abstract.
fn call(cls: &PyObject, args: FuncArgs, vm: &VirtualMachine) -> PyResult {
    let Some(type_call) = vm.ctx.types.type_type.slots.call.load() else {
        return Err(vm.new_type_error("type is not callable"));
    };
    type_call(cls, args, vm).map_err(|err| cpython_message(cls, err, vm))
}

/// CPython's message for `err` if it is RustPython's "abstract methods" error for `cls`.
fn cpython_message(
    cls: &PyObject,
    err: PyBaseExceptionRef,
    vm: &VirtualMachine,
) -> PyBaseExceptionRef {
    let Some(class) = cls.downcast_ref::<PyType>() else {
        return err;
    };
    if !err.fast_isinstance(vm.ctx.exceptions.type_error) {
        return err;
    }
    let name = class.name().to_string();
    let theirs = format!("class {name} without an implementation for abstract ");
    let said = err
        .as_object()
        .str(vm)
        .map(|text| text.to_string())
        .unwrap_or_default();
    if !said.starts_with(&theirs) {
        return err;
    }
    let methods: Option<Vec<String>> = cls
        .get_attr("__abstractmethods__", vm)
        .and_then(|names| names.try_to_value::<Vec<PyObjectRef>>(vm))
        .ok()
        .map(|names| {
            names
                .iter()
                .filter_map(|name| name.str(vm).ok().map(|name| name.to_string()))
                .collect()
        });
    let Some(mut methods) = methods else {
        return err;
    };
    methods.sort();
    let noun = if methods.len() == 1 {
        "method"
    } else {
        "methods"
    };
    vm.new_type_error(format!(
        "Can't instantiate abstract class {name} without an implementation for abstract \
         {noun} '{}'",
        methods.join("', '")
    ))
}
