//! Deleting from a `mappingproxy` fails with CPython's message.
//!
//! RustPython 0.6.0 says `'mappingproxy' object doesn't support item deletion` for any
//! key; CPython says "does not support item deletion", and "doesn't" only for an integer
//! key, which it hands to the sequence protocol (attrs' own tests match the message of
//! `del fields(C).x.metadata["k"]`). The type gets a mapping assignment slot that refuses
//! both operations with CPython's words. The cost: none outside that error. Still
//! different: other types without `__delitem__` (a class, a tuple, a str) keep
//! RustPython's "doesn't" for every key: that message comes from the interpreter's own
//! deletion, which rpprof does not replace.

use rustpython_vm::protocol::PyMapping;
use rustpython_vm::{PyObject, PyObjectRef, PyResult, VirtualMachine};

/// Gives `mappingproxy` the slot that refuses `proxy[key] = value` and `del proxy[key]`.
/// The type is shared by every interpreter in the process; storing the slot again is
/// harmless.
pub fn refuse_changes_in_cpythons_words(vm: &VirtualMachine) {
    vm.ctx
        .types
        .mappingproxy_type
        .slots
        .as_mapping
        .ass_subscript
        .store(Some(refuse));
}

/// `proxy[key] = value` (`value` is Some) or `del proxy[key]`, refused as CPython does.
fn refuse(
    mapping: PyMapping<'_>,
    key: &PyObject,
    value: Option<PyObjectRef>,
    vm: &VirtualMachine,
) -> PyResult<()> {
    let name = mapping.obj.class().slot_name();
    let message = match value {
        Some(_) => format!("'{name}' object does not support item assignment"),
        // CPython tries the sequence protocol with an integer key, and that says "doesn't".
        None if key.number().is_index() => {
            format!("'{name}' object doesn't support item deletion")
        }
        None => format!("'{name}' object does not support item deletion"),
    };
    Err(vm.new_type_error(message))
}
