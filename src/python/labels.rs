//! `rpprof.labels`: the native type behind `with rpprof.labels(endpoint="/cart"): ...` and
//! `@rpprof.labels(endpoint="/cart")`.
//!
//! Creating one checks the labels and interns them as a set (`sampler::labels`, which
//! explains how the signal handler reads the current set without allocating or locking);
//! entering it makes the merge of the enclosing set and this one the thread's current set,
//! leaving it (also by an exception) restores the enclosing one. Everything happens on the
//! calling thread, whether or not a profiler runs: with none it costs the same few
//! thread-local operations and still checks its input. It is native rather than a Python
//! class because it may be entered on every request: a Python-level `__enter__`/`__exit__`
//! pair costs several times more in RustPython.

use std::sync::atomic::{AtomicBool, Ordering};

use rustpython_vm::builtins::{PyDict, PyStr, PyType};
use rustpython_vm::function::FuncArgs;
use rustpython_vm::types::{Callable, Constructor, Representable};
use rustpython_vm::{
    pyclass, AsObject, Py, PyObjectRef, PyPayload, PyRef, PyResult, VirtualMachine,
};
use sampler::labels::{self, LabelError, LabelSetId};

/// A labels block: the set it adds, interned when it was created.
#[pyclass(module = "rpprof", name = "labels")]
#[derive(Debug, PyPayload)]
pub struct PyLabels {
    /// Its labels as interned; `None` when the table of sets was full.
    set: Option<LabelSetId>,
}

#[pyclass(with(Constructor, Callable, Representable))]
impl PyLabels {
    #[pymethod]
    fn __enter__(zelf: PyRef<Self>, vm: &VirtualMachine) -> PyResult<PyRef<Self>> {
        labels::enter(zelf.set).map_err(|err| value_error(vm, &err))?;
        Ok(zelf)
    }

    #[pymethod]
    fn __exit__(_zelf: &Py<Self>, _args: FuncArgs) -> bool {
        labels::exit();
        false
    }
}

fn value_error(
    vm: &VirtualMachine,
    err: &LabelError,
) -> rustpython_vm::builtins::PyBaseExceptionRef {
    vm.new_value_error(format!("rpprof.labels: {err}"))
}

/// The new-set warning was given.
static REFUSED_WARNED: AtomicBool = AtomicBool::new(false);

impl Constructor for PyLabels {
    type Args = FuncArgs;

    fn py_new(_cls: &Py<PyType>, args: FuncArgs, vm: &VirtualMachine) -> PyResult<Self> {
        if args.args.len() > 1 {
            return Err(vm.new_type_error(
                "rpprof.labels takes at most one positional argument, a dict of labels",
            ));
        }
        let mut pairs = Vec::with_capacity(args.kwargs.len());
        if let Some(mapping) = args.args.first() {
            let dict = mapping.downcast_ref::<PyDict>().ok_or_else(|| {
                vm.new_type_error(format!(
                    "rpprof.labels: expected a dict of labels, not {}",
                    mapping.class().name()
                ))
            })?;
            for (key, value) in dict {
                let key = key.downcast_ref::<PyStr>().ok_or_else(|| {
                    vm.new_value_error(format!(
                        "rpprof.labels: label keys must be str, not {}",
                        key.class().name()
                    ))
                })?;
                pairs.push(pair(key.to_string_lossy().into_owned(), &value, vm)?);
            }
        }
        for (key, value) in args.kwargs {
            pairs.push(pair(key.to_string_lossy().into_owned(), &value, vm)?);
        }
        let set = labels::intern(&mut pairs).map_err(|err| value_error(vm, &err))?;
        if set.is_none() && !REFUSED_WARNED.swap(true, Ordering::Relaxed) {
            eprintln!(
                "rpprof: warning: more than {} distinct label sets; samples under new ones \
                 keep the labels of the enclosing block (label values should be few: \
                 endpoints, tenants, not request ids)",
                labels::MAX_LABEL_SETS
            );
        }
        Ok(PyLabels { set })
    }
}

/// One checked label.
fn pair(key: String, value: &PyObjectRef, vm: &VirtualMachine) -> PyResult<(String, String)> {
    let value = value.downcast_ref::<PyStr>().ok_or_else(|| {
        vm.new_value_error(format!(
            "rpprof.labels: the value of label `{key}` must be a str, not {}",
            value.class().name()
        ))
    })?;
    let value = value.to_string_lossy().into_owned();
    labels::check_label(&key, &value).map_err(|err| value_error(vm, &err))?;
    Ok((key, value))
}

impl Callable for PyLabels {
    type Args = (PyObjectRef,);

    /// The decorator form: `rpprof._decorate(labels, function)` wraps the function in the
    /// block (with `functools.wraps`; coroutine functions get a coroutine wrapper).
    fn call(zelf: &Py<Self>, (function,): Self::Args, vm: &VirtualMachine) -> PyResult {
        vm.import("rpprof", 0)?
            .get_attr("_decorate", vm)?
            .call((zelf.to_owned(), function), vm)
    }
}

impl Representable for PyLabels {
    fn repr_str(zelf: &Py<Self>, _vm: &VirtualMachine) -> PyResult<String> {
        let set = zelf.set.map(labels::label_set);
        let body: Vec<String> = set
            .iter()
            .flat_map(|set| set.iter())
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect();
        Ok(format!("rpprof.labels({})", body.join(", ")))
    }
}

/// The calling thread's current labels, as a dict.
pub fn current_labels(vm: &VirtualMachine) -> PyObjectRef {
    let dict = vm.ctx.new_dict();
    for (key, value) in labels::label_set(labels::current()).iter() {
        // Setting str keys on a fresh dict cannot fail.
        let _ = dict.set_item(key.as_str(), vm.ctx.new_str(value.as_str()).into(), vm);
    }
    dict.into()
}
