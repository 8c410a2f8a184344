//! Method resolution order as CPython computes it (C3), for classes made by a `class`
//! statement.
//!
//! RustPython 0.6.0 merges only the bases' own MROs (`linearise_mro` in its
//! `builtins/type.rs`), not the list of bases itself, which C3 merges last. Where a later
//! base is also a base of an earlier one, that base then comes too early:
//!
//! ```python
//! class A: pass
//! class B: pass
//! class C(A): pass
//! class D(C, B, A): pass   # CPython: D C B A object; RustPython: D C A B object
//! ```
//!
//! An attribute defined by both `A` and `B` is then found on the wrong one (SQLAlchemy 2.0's
//! `_copy_internals`), and a class made later from such a class can get no consistent
//! order at all (SQLAlchemy 2.1 fails at import). The interpreter calls no Python code
//! between computing a plain class's MRO and using it, and asks the metaclass's `mro()`
//! only when the metaclass is not `type`; so the order is corrected ([`correct`]) after a
//! `class` statement (the `__build_class__` stand-in), and, once a program has shown it
//! has such classes (the first correction), also where the interpreter first calls out
//! while making a class: in `object.__init_subclass__`, which every class reaches unless
//! a base's `__init_subclass__` does not call `super()`, those made by calling
//! `type(name, bases, namespace)` included. (Not from the start: a native
//! `object.__init_subclass__` made every class cost more to make, 2 ms of start-up.) The
//! class's slots follow the corrected order. What ran before the correction
//! (`__set_name__`, a base's `__init_subclass__` code before its `super()` call) saw
//! RustPython's order.

use rustpython_vm::builtins::{PyType, PyTypeRef};
use rustpython_vm::{AsObject, Py, PyResult, VirtualMachine};

/// Dunder names the interpreter keeps a slot for (CPython's slot table), which must be
/// looked up again when the order changes.
const SLOT_NAMES: &[&str] = &[
    "__getattribute__",
    "__getattr__",
    "__setattr__",
    "__delattr__",
    "__repr__",
    "__str__",
    "__hash__",
    "__call__",
    "__lt__",
    "__le__",
    "__eq__",
    "__ne__",
    "__gt__",
    "__ge__",
    "__iter__",
    "__next__",
    "__get__",
    "__set__",
    "__delete__",
    "__init__",
    "__new__",
    "__del__",
    "__await__",
    "__aiter__",
    "__anext__",
    "__add__",
    "__radd__",
    "__iadd__",
    "__sub__",
    "__rsub__",
    "__isub__",
    "__mul__",
    "__rmul__",
    "__imul__",
    "__mod__",
    "__rmod__",
    "__imod__",
    "__divmod__",
    "__rdivmod__",
    "__pow__",
    "__rpow__",
    "__ipow__",
    "__neg__",
    "__pos__",
    "__abs__",
    "__bool__",
    "__invert__",
    "__lshift__",
    "__rlshift__",
    "__ilshift__",
    "__rshift__",
    "__rrshift__",
    "__irshift__",
    "__and__",
    "__rand__",
    "__iand__",
    "__xor__",
    "__rxor__",
    "__ixor__",
    "__or__",
    "__ror__",
    "__ior__",
    "__int__",
    "__float__",
    "__index__",
    "__floordiv__",
    "__rfloordiv__",
    "__ifloordiv__",
    "__truediv__",
    "__rtruediv__",
    "__itruediv__",
    "__matmul__",
    "__rmatmul__",
    "__imatmul__",
    "__len__",
    "__getitem__",
    "__setitem__",
    "__delitem__",
    "__contains__",
];

/// C3 linearisation of `cls` from its bases' MROs and the list of its bases; None when
/// there is none (CPython would have refused the class).
fn c3(cls: &Py<PyType>, bases: &[PyTypeRef]) -> Option<Vec<PyTypeRef>> {
    let mut sequences: Vec<Vec<PyTypeRef>> =
        bases.iter().map(|base| base.mro.read().clone()).collect();
    sequences.push(bases.to_vec());
    let mut order = vec![cls.to_owned()];
    loop {
        sequences.retain(|sequence| !sequence.is_empty());
        if sequences.is_empty() {
            return Some(order);
        }
        let head = sequences
            .iter()
            .map(|sequence| &sequence[0])
            .find(|candidate| {
                !sequences
                    .iter()
                    .any(|sequence| sequence[1..].iter().any(|other| other.is(*candidate)))
            })?
            .clone();
        for sequence in &mut sequences {
            if sequence[0].is(&head) {
                sequence.remove(0);
            }
        }
        order.push(head);
    }
}

/// Puts `cls`'s MRO in CPython's order if RustPython's differs, and makes its slots follow;
/// true if it did. Leaves a class whose metaclass defines its own `mro()` alone.
pub fn correct(cls: &Py<PyType>, vm: &VirtualMachine) -> PyResult<bool> {
    let bases: Vec<PyTypeRef> = cls.bases.read().as_slice().to_vec();
    if bases.len() < 2 {
        return Ok(false);
    }
    let type_mro = vm.ctx.types.type_type.as_object().get_attr("mro", vm)?;
    if !cls.class().as_object().get_attr("mro", vm)?.is(&type_mro) {
        return Ok(false);
    }
    let Some(order) = c3(cls, &bases) else {
        return Ok(false);
    };
    let same = {
        let current = cls.mro.read();
        current.len() == order.len() && current.iter().zip(&order).all(|(a, b)| a.is(b))
    };
    if same {
        return Ok(false);
    }
    *cls.mro.write() = order.clone();
    cls.modified();
    // A slot was filled from the first class in the old order that had it. Assigning a
    // name again on the class that defines it makes the interpreter look it up again in
    // that class's subclasses that do not define it (this one among them), each in its own
    // order. (Deleting it from this class instead would copy the slot of the next class in
    // the order, whatever that class inherited it from.) Builtin types refuse assignment:
    // a slot inherited from one stays as it was.
    for name in SLOT_NAMES {
        let name = vm.ctx.intern_str(*name);
        if cls.attributes.contains(name) {
            continue;
        }
        let defined = order[1..]
            .iter()
            .filter(|base| !base.is(vm.ctx.types.object_type))
            .find_map(|base| base.attributes.get(name).map(|value| (base, value)));
        if let Some((base, value)) = defined {
            let _ = base.as_object().set_attr(name, value, vm);
        }
    }
    Ok(true)
}
