//! `re` patterns take a negative `pos` or `endpos`, as under CPython.
//!
//! RustPython 0.6.0 reads them as unsigned and raises `ValueError: can't convert negative
//! number to unsigned` (`re.compile(r"\d+").match("abc123", -1)`); CPython counts a negative
//! position as 0. The pattern methods that take them are replaced on `re.Pattern` by native
//! ones that make a negative position 0 and call the original (no Python frame; the cost
//! is one more native call per match).

use rustpython_vm::builtins::{PyInt, PyTypeRef};
use rustpython_vm::function::FuncArgs;
use rustpython_vm::{PyObjectRef, PyResult, VirtualMachine};

use super::stand_in;

/// The methods of `re.Pattern` that take `string, pos, endpos`.
const TAKING_POSITIONS: [&str; 6] = [
    "match",
    "search",
    "fullmatch",
    "finditer",
    "findall",
    "scanner",
];

/// Replaces the methods of `pattern` (`re.Pattern`) that take positions.
pub fn clamp_negative_positions(pattern: &PyTypeRef, vm: &VirtualMachine) -> PyResult<()> {
    for name in TAKING_POSITIONS {
        stand_in::replace_method(vm, pattern, name, |original, args, vm| {
            original.call(clamped(args, vm), vm)
        })?;
    }
    Ok(())
}

/// `args` (`self, string, pos, endpos`, by position or name) with a negative `pos` or
/// `endpos` made 0.
fn clamped(mut args: FuncArgs, vm: &VirtualMachine) -> FuncArgs {
    let zero = || -> PyObjectRef { vm.ctx.new_int(0).into() };
    for slot in args.args.iter_mut().skip(2).take(2) {
        if is_negative(slot, vm) {
            *slot = zero();
        }
    }
    for (name, value) in args.kwargs.iter_mut() {
        if matches!(name.as_bytes(), b"pos" | b"endpos") && is_negative(value, vm) {
            *value = zero();
        }
    }
    args
}

/// Whether `value` is an int below 0 that fits 64 bits (a larger one keeps RustPython's
/// error, where CPython's would be an OverflowError).
fn is_negative(value: &PyObjectRef, vm: &VirtualMachine) -> bool {
    value
        .downcast_ref::<PyInt>()
        .and_then(|int| int.try_to_primitive::<i64>(vm).ok())
        .is_some_and(|int| int < 0)
}
