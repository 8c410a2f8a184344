//! Running a [`Program`] on an embedded interpreter the way `python` runs it: `__main__`,
//! `sys.path[0]`, `site`, `SystemExit`, tracebacks and finalisation.

use rustpython::InterpreterBuilderExt;
use rustpython_vm::builtins::PyBaseExceptionRef;
use rustpython_vm::{AsObject, Interpreter, InterpreterBuilder, PyResult, VirtualMachine};

use super::command_line::InterpreterOptions;
use super::program::absolute_path;
use super::{settings, Program};

/// How a Python program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// It exited with this status (`SystemExit(n)`, 1 for an uncaught exception, 0 otherwise).
    Code(u8),
    /// It ended with an uncaught `KeyboardInterrupt` (Ctrl-C). Python then kills itself
    /// with SIGINT; [`ExitStatus::exit`] does the same once the caller has saved its work.
    Interrupted,
}

impl ExitStatus {
    /// How the program ended, in words (`status 0`, `interrupted`).
    pub fn describe(&self) -> String {
        match self {
            ExitStatus::Code(code) => format!("status {code}"),
            ExitStatus::Interrupted => "interrupted".to_owned(),
        }
    }

    /// Ends the process with this status, as `python` would.
    pub fn exit(self) -> ! {
        crate::attach::target::program_ending(&self.describe());
        match self {
            ExitStatus::Code(code) => std::process::exit(i32::from(code)),
            ExitStatus::Interrupted => crate::signals::die_by(libc::SIGINT),
        }
    }
}

/// An interpreter built for one [`Program`].
pub struct PythonRun {
    interpreter: Interpreter,
    program: Program,
}

impl PythonRun {
    /// Builds the interpreter (frozen standard library, threading) for `program`;
    /// `customize` may add native modules.
    pub fn new(
        program: Program,
        customize: impl FnOnce(InterpreterBuilder) -> InterpreterBuilder,
    ) -> Self {
        Self::with_options(program, &InterpreterOptions::default(), customize)
    }

    /// Like [`PythonRun::new`], with CPython's interpreter flags (`-u`, `-I`, `-X ...`).
    pub fn with_options(
        program: Program,
        options: &InterpreterOptions,
        customize: impl FnOnce(InterpreterBuilder) -> InterpreterBuilder,
    ) -> Self {
        let settings = settings::for_command_line(&program, options);
        let builder = Interpreter::builder(settings).init_stdlib();
        let sigint_ignored = crate::signals::ignored(libc::SIGINT);
        let interpreter = customize(builder).build();
        interpreter.enter(point_sys_executable_here);
        if sigint_ignored {
            interpreter.enter(keep_sigint_ignored);
        }
        PythonRun {
            interpreter,
            program,
        }
    }

    /// Runs `f` on this thread with the interpreter entered.
    pub fn enter<R>(&self, f: impl FnOnce(&VirtualMachine) -> R) -> R {
        self.interpreter.enter(f)
    }

    /// Runs the program's main code on this thread and returns the exception it ended with,
    /// if any (including `SystemExit`).
    pub fn run_main(&self) -> Option<PyBaseExceptionRef> {
        self.interpreter
            .enter(|vm| run_program(vm, &self.program))
            .err()
    }

    /// Finalises the interpreter as `python` does on exit: prints an uncaught exception,
    /// waits for non-daemon threads (when the program imported `threading`, as CPython),
    /// runs `atexit` handlers, flushes stdio.
    pub fn finish(self, exception: Option<PyBaseExceptionRef>) -> ExitStatus {
        let interrupted = exception.as_ref().is_some_and(|exc| {
            self.interpreter.enter(|vm| {
                let is_interrupt = exc.fast_isinstance(vm.ctx.exceptions.keyboard_interrupt);
                if is_interrupt {
                    // RustPython would kill the process with SIGINT right here, before the
                    // caller could save anything; print the traceback and finish normally.
                    vm.print_exception(exc);
                }
                is_interrupt
            })
        });
        let exception = if interrupted { None } else { exception };
        self.interpreter.enter(|vm| {
            // Best effort: without it the exit only takes longer.
            let _ = vm
                .import("rpprof", 0)
                .and_then(|module| module.get_attr("_no_threading_import_at_exit", vm))
                .and_then(|hide| hide.call((), vm));
        });
        let code = self.interpreter.finalize(exception);
        if interrupted {
            ExitStatus::Interrupted
        } else {
            ExitStatus::Code(code as u8)
        }
    }
}

/// Makes `sys.executable` (and `sys._base_executable`) name this binary. RustPython finds
/// it by looking `argv[0]` up on `PATH`, which gives `''` for a name that is not there
/// (`exec -a`) and, for a bare `python3`, whichever `python3` comes first on `PATH`: a
/// different interpreter, which `subprocess` and multiprocessing's spawn would then start.
/// A path that is this binary (a `python3` link to it) is kept, as CPython keeps it; so is
/// `PYTHONEXECUTABLE`, which says what the user wants.
/// Building the interpreter installs the handler that raises KeyboardInterrupt on SIGINT
/// whatever SIGINT's disposition was; CPython installs it only where SIGINT has its default
/// action, so a program started ignoring SIGINT (`nohup`, `trap '' INT`) keeps ignoring
/// it, and `signal.getsignal(SIGINT)` says `SIG_IGN`. Set back through the interpreter's
/// own `signal()`, so that its table agrees.
fn keep_sigint_ignored(vm: &VirtualMachine) {
    let restored = vm.import("_signal", 0).and_then(|signal| {
        let ignore = signal.get_attr("SIG_IGN", vm)?;
        vm.call_method(&signal, "signal", (libc::SIGINT, ignore))
    });
    if let Err(err) = restored {
        vm.print_exception(&err);
    }
}

fn point_sys_executable_here(vm: &VirtualMachine) {
    let found = &vm.state.config.paths.executable;
    let overridden = std::env::var_os("PYTHONEXECUTABLE").is_some_and(|v| !v.is_empty())
        && !vm.state.config.settings.ignore_environment;
    let Ok(this_binary) = std::env::current_exe() else {
        return;
    };
    let is_this_binary = !found.is_empty()
        && std::fs::canonicalize(found).ok() == std::fs::canonicalize(&this_binary).ok();
    if overridden || is_this_binary {
        return;
    }
    let path = vm.new_pyobj(this_binary.to_string_lossy().into_owned());
    for name in ["executable", "_base_executable"] {
        let _ = vm.sys_module.set_attr(name, path.clone(), vm);
    }
}

/// `pymain_run_python`: set up `__main__` and `sys.path[0]`, import `site`, run the
/// program, then the interactive prompt if `-i` asked for it.
fn run_program(vm: &VirtualMachine, program: &Program) -> PyResult<()> {
    let scope = vm.new_scope_with_main()?;
    let settings = &vm.state.config.settings;
    // Like CPython, a broken `warnings` or `site` does not stop the program.
    let _ = vm.import("warnings", 0);
    if settings.import_site {
        let _ = vm.import("site", 0);
    }
    if settings.faulthandler {
        let _ = vm.run_simple_string("import faulthandler; faulthandler.enable()");
    }
    let result = run_main_code(vm, scope.clone(), program);
    if !settings.inspect || *program == Program::Interactive {
        return result;
    }
    // `-i`: the prompt follows, after an uncaught exception too (not after SystemExit).
    if let Err(exception) = result {
        if exception.fast_isinstance(vm.ctx.exceptions.system_exit) {
            return Err(exception);
        }
        vm.print_exception(&exception);
    }
    rustpython::run_shell(vm, scope)
}

/// The program's own code in `__main__`, with `sys.path[0]` as CPython sets it.
fn run_main_code(
    vm: &VirtualMachine,
    scope: rustpython_vm::scope::Scope,
    program: &Program,
) -> PyResult<()> {
    let settings = &vm.state.config.settings;
    let safe_path = settings.safe_path;
    match program {
        Program::Interactive => {
            if !safe_path {
                vm.insert_sys_path(vm.new_pyobj(""))?;
            }
            if !settings.quiet {
                eprintln!(
                    "{} on {}\nType \"help\", \"copyright\", \"credits\" or \"license\" for more information.",
                    super::command_line::version_text(2),
                    std::env::consts::OS
                );
            }
            rustpython::run_shell(vm, scope)
        }
        Program::Stdin { .. } => {
            if !safe_path {
                vm.insert_sys_path(vm.new_pyobj(""))?;
            }
            let mut source = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut source).map_err(
                |err| vm.new_os_error(format!("cannot read the program from stdin: {err}")),
            )?;
            vm.run_string(scope, &String::from_utf8_lossy(&source), "<stdin>")
                .map(drop)
        }
        Program::Code { source, .. } => {
            if !safe_path {
                vm.insert_sys_path(vm.new_pyobj(""))?;
            }
            vm.run_string(scope, source, "<string>").map(drop)
        }
        Program::Module { name, .. } => {
            if !safe_path {
                let cwd = std::env::current_dir()
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                vm.insert_sys_path(vm.new_pyobj(cwd))?;
            }
            match name.as_str() {
                "ensurepip" => super::packages::provide_pip_wheel(vm)?,
                "pip" => super::packages::explain_missing_pip(vm)?,
                _ => {}
            }
            vm.run_module(name)
        }
        Program::Script { path, .. } => {
            let absolute = absolute_path(path).to_string_lossy().into_owned();
            if std::path::Path::new(&absolute).is_dir() {
                // A directory with __main__.py runs as `python dir` does.
                vm.insert_sys_path(vm.new_pyobj(absolute))?;
                let runpy = vm.import("runpy", 0)?;
                let run_as_main = runpy.get_attr("_run_module_as_main", vm)?;
                run_as_main.call(("__main__", false), vm)?;
                return Ok(());
            }
            if !safe_path {
                vm.insert_sys_path(vm.new_pyobj(script_directory(path)))?;
            }
            match vm.run_any_file(scope.clone(), &absolute) {
                Err(err) if did_not_compile(&err, vm) => {
                    run_compiled_by_builtin(vm, scope, &absolute).unwrap_or(Err(err))
                }
                ran => ran,
            }
        }
    }
}

/// Whether `err` is the interpreter refusing to compile the script, before any of it ran
/// (no frame in its traceback), as opposed to a SyntaxError the script raised.
fn did_not_compile(err: &PyBaseExceptionRef, vm: &VirtualMachine) -> bool {
    err.fast_isinstance(vm.ctx.exceptions.syntax_error) && err.__traceback__().is_none()
}

/// Runs the script compiled by `builtins.compile`, whose stand-in works around sources
/// RustPython's compiler refuses (`compat.rs`), as a module it imports would be; None when
/// that does not compile it either (the interpreter's own error stands).
fn run_compiled_by_builtin(
    vm: &VirtualMachine,
    scope: rustpython_vm::scope::Scope,
    path: &str,
) -> Option<PyResult<()>> {
    let source = std::fs::read(path).ok()?;
    let compile = vm.builtins.get_attr("compile", vm).ok()?;
    let code = compile
        .call((vm.ctx.new_bytes(source), path, "exec"), vm)
        .ok()?;
    let code = code.downcast::<rustpython_vm::builtins::PyCode>().ok()?;
    let globals = &scope.globals;
    let ran = globals
        .set_item("__file__", vm.new_pyobj(path), vm)
        .and_then(|()| globals.set_item("__cached__", vm.ctx.none(), vm))
        .and_then(|()| vm.run_code_obj(code, scope.clone()).map(drop));
    Some(ran)
}

/// `sys.path[0]` for a script: the directory holding it, symlinks resolved.
fn script_directory(path: &std::path::Path) -> String {
    let resolved = std::fs::canonicalize(path).unwrap_or_else(|_| absolute_path(path));
    resolved
        .parent()
        .map(|dir| dir.to_string_lossy().into_owned())
        .unwrap_or_default()
}
