//! Workarounds for RustPython 0.6.0's gaps that real programs run into: the frozen module
//! `_rpprof_compat` (`compat.py`, which says what each one is for), and the native
//! `_rpprof_compat_native` for those that must not add a Python frame. Installed before the
//! program runs. Those that need more than a few lines have their own file, which says
//! what it fixes and what it costs: `compat_sqlite.py`/`.rs` (`sqlite3` with
//! `PARSE_DECLTYPES`), `compat_mro.rs` (C3 method resolution order), `compat_re.rs`
//! (negative `pos`/`endpos`), `compat_abc.rs` (an abstract class's message),
//! `compat_zlib.rs` (`zlib` compressing to CPython's bytes), `compat_mappingproxy.rs` (a
//! `mappingproxy`'s message for `del`).

use rustpython_vm::builtins::PyClassMethod;
use rustpython_vm::{AsObject, InterpreterBuilder, PyPayload, PyResult, VirtualMachine};

use super::stand_in;

/// Name of the frozen module.
const MODULE: &str = "_rpprof_compat";
/// Name of the native module.
const NATIVE: &str = "_rpprof_compat_native";

/// `compile()`'s flag for "return the AST" (`ast.PyCF_ONLY_AST`).
const ONLY_AST: i64 = 0x400;

#[rustpython_vm::pymodule(name = "_rpprof_compat_native")]
mod compat_native {
    use rustpython_vm::function::FuncArgs;
    use rustpython_vm::{AsObject, PyResult, VirtualMachine};

    /// `property.__init_subclass__`: guards each new subclass of property that defines
    /// `__get__` (`_rpprof_compat.guard`), then does what `object.__init_subclass__` does.
    /// Native, and looking the guard up in the running interpreter's modules, because a
    /// builtin type is shared by every interpreter in the process: a Python function set
    /// here would outlive the interpreter whose module it belongs to (tests build several).
    #[pyfunction]
    fn property_init_subclass(
        cls: rustpython_vm::builtins::PyTypeRef,
        kwargs: rustpython_vm::function::KwArgs,
        vm: &VirtualMachine,
    ) -> PyResult<()> {
        refuse_keywords(&cls, &kwargs, vm)?;
        let modules = vm.sys_module.get_attr("modules", vm)?;
        if let Ok(compat) = modules.get_item(super::MODULE, vm) {
            if let Ok(guard) = compat.get_attr("guard", vm) {
                guard.call((cls.clone(),), vm)?;
            }
        }
        crate::python::compat_mro::correct(&cls, vm).map(drop)
    }

    /// As `object.__init_subclass__` does: no keyword arguments.
    fn refuse_keywords(
        cls: &rustpython_vm::builtins::PyTypeRef,
        kwargs: &rustpython_vm::function::KwArgs,
        vm: &VirtualMachine,
    ) -> PyResult<()> {
        if kwargs.is_empty() {
            return Ok(());
        }
        Err(vm.new_type_error(format!(
            "{}.__init_subclass__() takes no keyword arguments",
            cls.name()
        )))
    }

    /// `object.__init_subclass__`: puts the new class's MRO in CPython's order where
    /// RustPython's differs (`compat_mro.rs`), for every class whose bases'
    /// `__init_subclass__` reach object's, those made by calling `type()` included, and
    /// before the code that follows their `super().__init_subclass__()` runs. Refuses
    /// keyword arguments as object's does.
    #[pyfunction]
    fn object_init_subclass(
        cls: rustpython_vm::builtins::PyTypeRef,
        kwargs: rustpython_vm::function::KwArgs,
        vm: &VirtualMachine,
    ) -> PyResult<()> {
        refuse_keywords(&cls, &kwargs, vm)?;
        crate::python::compat_mro::correct(&cls, vm).map(drop)
    }

    /// Stands in for `__build_class__`: makes the class, then puts its MRO in CPython's
    /// order where RustPython's differs (`compat_mro.rs`). Native, so that a class body
    /// runs under no frame of ours.
    #[pyfunction(name = "__build_class__")]
    fn build_class(args: FuncArgs, vm: &VirtualMachine) -> PyResult {
        let original = super::stand_in::original(vm, super::NATIVE, "_original_build_class")?;
        let made = original.call(args, vm)?;
        if let Some(cls) = made.downcast_ref::<rustpython_vm::builtins::PyType>() {
            if crate::python::compat_mro::correct(cls, vm)? {
                super::correct_orders_from_object_init_subclass(vm)?;
            }
        }
        Ok(made)
    }

    /// Makes the methods of `re.Pattern` (`pattern`) that take `pos` and `endpos` count a
    /// negative one as 0 (`compat_re.rs`).
    #[pyfunction]
    fn clamp_pattern_positions(
        pattern: rustpython_vm::builtins::PyTypeRef,
        vm: &VirtualMachine,
    ) -> PyResult<()> {
        crate::python::compat_re::clamp_negative_positions(&pattern, vm)
    }

    /// Gives every SQLite connection opened from now on the SQL function
    /// `_rpprof_columns` (`compat_sqlite.rs`); false if SQLite refused.
    #[pyfunction]
    fn sqlite_columns_function() -> bool {
        crate::python::compat_sqlite::register()
    }

    /// Stands in for `select.select`. RustPython 0.6.0 only finds `fileno()` on an object's
    /// type, so a wrapper that forwards attributes with `__getattr__` (gunicorn's sockets)
    /// is refused. When the original refuses its arguments with a TypeError, the three
    /// lists are turned into descriptors here (`fileno()` looked up as Python does) and the
    /// ready ones answered with the objects given, as CPython does. Native, so that a
    /// thread waiting in it is still seen waiting in `select.select`, not in a frame of
    /// ours.
    #[pyfunction]
    fn select(args: FuncArgs, vm: &VirtualMachine) -> PyResult {
        let original = super::stand_in::original(vm, super::NATIVE, "_original_select")?;
        match original.call(args.clone(), vm) {
            Err(err) if err.fast_isinstance(vm.ctx.exceptions.type_error) => {
                super::select_by_descriptor(&original, args, vm).unwrap_or(Err(err))
            }
            answered => answered,
        }
    }

    /// Stands in for `compile()`. RustPython 0.6.0 refuses some valid sources when it
    /// compiles them from text (`f(a=0 # for\n)`: "invalid syntax. Maybe you meant '=='")
    /// while it parses the same text into an AST and compiles that: docutils cannot be
    /// imported. On a SyntaxError from text, this compiles through the AST, and raises the
    /// first error if that fails too. Native, so that `compile()` still inherits the
    /// calling code's `__future__` flags (a Python stand-in would be the caller).
    #[pyfunction]
    fn compile(args: FuncArgs, vm: &VirtualMachine) -> PyResult {
        let original = super::stand_in::original(vm, super::NATIVE, "_original_compile")?;
        let err = match original.call(args.clone(), vm) {
            Ok(code) => return Ok(code),
            Err(err) if err.fast_isinstance(vm.ctx.exceptions.syntax_error) => err,
            Err(err) => return Err(err),
        };
        match super::compile_through_ast(&original, args, vm) {
            Some(Ok(code)) => Ok(code),
            _ => Err(err),
        }
    }
}

/// `compile(*args)` done as `compile(compile(*args, flags | ONLY_AST), ...)`; None where
/// that does not apply: the source is not text, or the caller asked for the AST.
fn compile_through_ast(
    original: &rustpython_vm::PyObjectRef,
    args: rustpython_vm::function::FuncArgs,
    vm: &VirtualMachine,
) -> Option<PyResult> {
    let source = args.args.first()?;
    let is_text = source.fast_isinstance(vm.ctx.types.str_type)
        || source.fast_isinstance(vm.ctx.types.bytes_type);
    if !is_text {
        return None;
    }
    let flags = match args.args.get(3).or_else(|| args.kwargs.get("flags")) {
        Some(flags) => flags.try_to_value::<i64>(vm).ok()?,
        None => 0,
    };
    if flags & ONLY_AST != 0 {
        return None;
    }
    let with_flags = |first: rustpython_vm::PyObjectRef, flags: i64| {
        let mut call = args.clone();
        call.args[0] = first;
        let flags = vm.ctx.new_int(flags).into();
        match call.args.get_mut(3) {
            Some(slot) => *slot = flags,
            None => {
                call.kwargs.insert("flags".into(), flags);
            }
        }
        call
    };
    let tree = match original.call(with_flags(source.clone(), flags | ONLY_AST), vm) {
        Ok(tree) => tree,
        Err(err) => return Some(Err(err)),
    };
    match original.call(with_flags(tree.clone(), flags), vm) {
        Err(err) if is_conditional_annotations_error(&err, vm) => {
            let tree = vm
                .import(MODULE, 0)
                .and_then(|compat| compat.get_attr("annotate_outer_classes", vm))
                .and_then(|annotate| annotate.call((tree,), vm));
            Some(tree.and_then(|tree| original.call(with_flags(tree, flags), vm)))
        }
        compiled => Some(compiled),
    }
}

/// RustPython 0.6.0's code generator fails on a class nested in a class body when the
/// inner class has an annotation under a condition (`if TYPE_CHECKING: x: int`) and the
/// outer one has none: it looks for the outer class's `__conditional_annotations__`
/// (SQLAlchemy 2.1's `orm/relationships.py` cannot be imported). It compiles once the
/// outer class has a conditional annotation too (`_rpprof_compat.annotate_outer_classes`).
fn is_conditional_annotations_error(
    err: &rustpython_vm::builtins::PyBaseExceptionRef,
    vm: &VirtualMachine,
) -> bool {
    err.fast_isinstance(vm.ctx.exceptions.syntax_error)
        && err.as_object().str(vm).is_ok_and(|text| {
            text.as_wtf8()
                .to_string()
                .contains("__conditional_annotations__")
        })
}

/// `select.select(r, w, x, ...)` with each list's objects turned into descriptors, answered
/// with the objects given; None if an object has no `fileno()` either (the original error
/// stands).
fn select_by_descriptor(
    original: &rustpython_vm::PyObjectRef,
    args: rustpython_vm::function::FuncArgs,
    vm: &VirtualMachine,
) -> Option<PyResult> {
    use rustpython_vm::PyObjectRef;
    if args.args.len() < 3 {
        return None;
    }
    let mut given: Vec<Vec<PyObjectRef>> = Vec::new();
    let mut descriptors: Vec<Vec<i64>> = Vec::new();
    for list in &args.args[..3] {
        let objects: Vec<PyObjectRef> = list.try_to_value(vm).ok()?;
        let fds = objects
            .iter()
            .map(|obj| match obj.try_to_value::<i64>(vm) {
                Ok(fd) => Some(fd),
                Err(_) => vm
                    .call_method(obj, "fileno", ())
                    .ok()?
                    .try_to_value::<i64>(vm)
                    .ok(),
            })
            .collect::<Option<Vec<i64>>>()?;
        given.push(objects);
        descriptors.push(fds);
    }
    let mut call = args.clone();
    for (slot, fds) in call.args.iter_mut().zip(&descriptors) {
        let ints: Vec<PyObjectRef> = fds.iter().map(|&fd| vm.ctx.new_int(fd).into()).collect();
        *slot = vm.ctx.new_list(ints).into();
    }
    let answered = match original.call(call, vm) {
        Ok(answered) => answered,
        Err(err) => return Some(Err(err)),
    };
    let ready: Vec<Vec<i64>> = match answered.try_to_value::<Vec<Vec<i64>>>(vm) {
        Ok(ready) => ready,
        Err(err) => return Some(Err(err)),
    };
    let lists: Vec<PyObjectRef> = given
        .into_iter()
        .zip(descriptors)
        .zip(ready)
        .map(|((objects, fds), ready)| {
            let chosen: Vec<PyObjectRef> = objects
                .into_iter()
                .zip(fds)
                .filter(|(_, fd)| ready.contains(fd))
                .map(|(obj, _)| obj)
                .collect();
            vm.ctx.new_list(chosen).into()
        })
        .collect();
    Some(Ok(vm.ctx.new_tuple(lists).into()))
}

/// `py_freeze!` reads `compat.py` without telling cargo, which then would not rebuild when
/// only the Python file changed; `include_str!` does tell it.
const _REBUILD_WHEN_CHANGED: [&str; 2] =
    [include_str!("compat.py"), include_str!("compat_sqlite.py")];

/// Adds the frozen `_rpprof_compat` and the native `_rpprof_compat_native` modules to an
/// interpreter being built.
pub fn add_module(builder: InterpreterBuilder) -> InterpreterBuilder {
    let def = compat_native::module_def(&builder.ctx);
    super::compat_zlib::add_module(builder)
        .add_native_module(def)
        .add_frozen_modules(rustpython_vm::py_freeze!(
            file = "compat.py",
            module_name = "_rpprof_compat"
        ))
        .add_frozen_modules(rustpython_vm::py_freeze!(
            file = "compat_sqlite.py",
            module_name = "_rpprof_compat_sqlite"
        ))
}

/// Applies every workaround. Call it before the program runs.
pub fn install(vm: &VirtualMachine) -> PyResult<()> {
    let compat = vm.import(MODULE, 0)?;
    compat.get_attr("install", vm)?.call((), vm)?;
    let native = vm.import(NATIVE, 0)?;
    // Python cannot set an attribute of a builtin type; the type's own `set_attr`
    // invalidates its caches as an assignment would.
    let init_subclass = PyClassMethod::from(native.get_attr("property_init_subclass", vm)?);
    vm.ctx.types.property_type.set_attr(
        vm.ctx.intern_str("__init_subclass__"),
        init_subclass.into_ref(&vm.ctx).into(),
    );
    compat
        .get_attr("guard_existing_property_subclasses", vm)?
        .call((), vm)?;
    // compile() from text through the AST where the text path fails; select.select on
    // objects that forward fileno().
    stand_in::replace(
        vm,
        NATIVE,
        "builtins",
        "compile",
        "compile",
        "_original_compile",
    )?;
    stand_in::replace(vm, NATIVE, "select", "select", "select", "_original_select")?;
    groupby_can_be_subclassed(vm)?;
    // CPython's message for an abstract class instantiated (abc is imported at start-up).
    let abc_meta = vm.import("abc", 0)?.get_attr("ABCMeta", vm)?;
    super::compat_abc::say_cant_instantiate(&abc_meta, vm)?;
    super::compat_zlib::install(vm)?;
    // CPython's message for `del proxy[key]`.
    super::compat_mappingproxy::refuse_changes_in_cpythons_words(vm);
    // Classes in CPython's method resolution order.
    stand_in::replace(
        vm,
        NATIVE,
        "builtins",
        "__build_class__",
        "__build_class__",
        "_original_build_class",
    )
}

/// Puts `object.__init_subclass__` (native `object_init_subclass`) in place, once per
/// process (object is shared by every interpreter in it): called when a program first
/// made a class whose order needed correcting.
fn correct_orders_from_object_init_subclass(vm: &VirtualMachine) -> PyResult<()> {
    static INSTALLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if INSTALLED.swap(true, std::sync::atomic::Ordering::AcqRel) {
        return Ok(());
    }
    // Not through `set_attr`: that invalidates the attribute caches of object and of every
    // class there is (all its subclasses), which cost 8 ms of CPU (perf stat, 53 ms against
    // 45 at start-up). Classes being made find `__init_subclass__` through `super()`, which
    // reads each dictionary of the MRO directly, not through those caches. A lookup cached
    // before this still gives object's own, which does what it always did; that one is
    // kept alive for ever, so that no cache entry points to a freed object.
    let native = vm.import(NATIVE, 0)?;
    let init_subclass = PyClassMethod::from(native.get_attr("object_init_subclass", vm)?);
    let replaced = vm.ctx.types.object_type.attributes.insert(
        vm.ctx.intern_str("__init_subclass__"),
        init_subclass.into_ref(&vm.ctx).into(),
    );
    std::mem::forget(replaced);
    Ok(())
}

/// RustPython 0.6.0 made `itertools.groupby` without the flag that lets Python code
/// subclass a builtin type ("type 'itertools.groupby' is not an acceptable base type");
/// CPython's can be subclassed, and its instances are made for the subclass the same way.
/// The flag is set on the type, which every interpreter in the process shares.
fn groupby_can_be_subclassed(vm: &VirtualMachine) -> PyResult<()> {
    use rustpython_vm::types::PyTypeFlags;
    let groupby = vm.import("itertools", 0)?.get_attr("groupby", vm)?;
    if let Some(groupby) = groupby.downcast_ref::<rustpython_vm::builtins::PyType>() {
        let base_type = PyTypeFlags::from_bits_retain(1u64 << PyTypeFlags::BASETYPE as u32);
        groupby.slots.flags.replace_masked(base_type, base_type);
    }
    Ok(())
}
