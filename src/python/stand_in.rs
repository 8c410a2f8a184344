//! Stand-ins: a native function of ours put in place of a module's attribute before the
//! program runs, with the original kept in our own module (the holder) for the stand-in to
//! call. `_rpprof` holds the profiler's stand-ins ([`super::native`]), `_rpprof_compat_native`
//! the interpreter workarounds' ([`super::compat`]). [`replace_method`] does the same for a
//! method of a class.

use std::sync::Mutex;

use rustpython_vm::builtins::{PyType, PyTypeRef};
use rustpython_vm::function::{FuncArgs, ItemDoc, PyMethodFlags};
use rustpython_vm::{AsObject, Py, PyObjectRef, PyResult, VirtualMachine};

/// Puts `holder.ours` in place of `module.attr`, keeping the original in `holder` under
/// `saved_as` (None if the module lacks it).
pub fn replace(
    vm: &VirtualMachine,
    holder: &'static str,
    module: &'static str,
    attr: &'static str,
    ours: &'static str,
    saved_as: &'static str,
) -> PyResult<()> {
    let module = vm.import(module, 0)?;
    let holder = vm.import(holder, 0)?;
    let original = module.get_attr(attr, vm).unwrap_or_else(|_| vm.ctx.none());
    holder.set_attr(saved_as, original, vm)?;
    module.set_attr(attr, holder.get_attr(ours, vm)?, vm)
}

/// The original that [`replace`] kept in `holder` under `saved_as`.
pub fn original(vm: &VirtualMachine, holder: &'static str, saved_as: &'static str) -> PyResult {
    vm.import(holder, 0)?.get_attr(saved_as, vm)
}

/// Puts a native method, `stand_in(original, args)`, in place of `cls.name` (looked up
/// through `cls`'s MRO), once per class in the process: a builtin type is shared by every
/// interpreter in it, and a second install would wrap the first. `args` starts with the
/// instance, as the original method descriptor takes it. The class is kept alive for
/// ever (a method descriptor needs a class that lives as long as it does).
pub fn replace_method<F>(
    vm: &VirtualMachine,
    cls: &PyTypeRef,
    name: &'static str,
    stand_in: F,
) -> PyResult<()>
where
    F: Fn(&PyObjectRef, FuncArgs, &VirtualMachine) -> PyResult + Send + Sync + 'static,
{
    static REPLACED: Mutex<Vec<(usize, &'static str)>> = Mutex::new(Vec::new());
    let mut replaced = REPLACED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let key = (cls.get_id(), name);
    if replaced.contains(&key) {
        return Ok(());
    }
    let interned = vm.ctx.intern_str(name);
    let Some(original) = cls.get_attr(interned) else {
        return Err(vm.new_attribute_error(format!("{} has no {name}", cls.name())));
    };
    let class: &'static Py<PyType> = Box::leak(Box::new(cls.clone()));
    let method = vm
        .ctx
        .new_method_def(
            name,
            move |args: FuncArgs, vm: &VirtualMachine| stand_in(&original, args, vm),
            PyMethodFlags::METHOD,
            ItemDoc::NONE,
        )
        .build_method(class, vm);
    // Assigned as Python assigns, so that a slot (`__call__`) follows; a builtin type
    // refuses that, and gets the method in its dictionary, where calls find it.
    let method: PyObjectRef = method.into();
    if cls
        .as_object()
        .set_attr(interned, method.clone(), vm)
        .is_err()
    {
        cls.set_attr(interned, method);
    }
    replaced.push(key);
    Ok(())
}
