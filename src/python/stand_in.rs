//! Stand-ins: a native function of ours put in place of a module's attribute before the
//! program runs, with the original kept in our own module (the holder) for the stand-in to
//! call. `_rpprof` holds the profiler's stand-ins ([`super::native`]), `_rpprof_compat_native`
//! the interpreter workarounds' ([`super::compat`]).

use rustpython_vm::{PyResult, VirtualMachine};

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
