//! What the user asked to run: a script, a module (`-m`), a code string (`-c`), the program
//! on stdin (`-`) or the interactive prompt, with the arguments that become `sys.argv[1:]`.

use std::path::{Path, PathBuf};

/// A Python program as `python` accepts it on its command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// `SCRIPT [ARGS...]`: a file, or a directory holding `__main__.py`.
    Script {
        /// The path as the user typed it.
        path: PathBuf,
        /// Arguments after the script.
        args: Vec<String>,
    },
    /// `-m MODULE [ARGS...]`.
    Module {
        /// Dotted module name.
        name: String,
        /// Arguments after the module name.
        args: Vec<String>,
    },
    /// `-c CODE [ARGS...]`.
    Code {
        /// The source text.
        source: String,
        /// Arguments after the code.
        args: Vec<String>,
    },
    /// `- [ARGS...]`: the program is read from stdin.
    Stdin {
        /// Arguments after the `-`.
        args: Vec<String>,
    },
    /// No program: the interactive prompt (`python` on a terminal).
    Interactive,
}

/// Why a program cannot be started; `Display` gives the one line `python` itself prints.
#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    /// The script is missing or unreadable.
    #[error("can't open file {}: [Errno {errno}] {reason}", python_repr(path))]
    CantOpen {
        /// The absolute path that was tried.
        path: String,
        /// The OS error number.
        errno: i32,
        /// The OS error text, as `strerror` gives it.
        reason: String,
    },
    /// The command line holds bytes that are not UTF-8, which RustPython cannot start with
    /// (its `sys.orig_argv` needs text).
    #[error("the command line holds an argument that is not UTF-8 ({0}); RustPython cannot start with it (rename the file, or reach it through a UTF-8 path such as a symlink)")]
    NotUtf8(String),
    /// `--python` or `RPPROF_PYTHON` names no usable CPython interpreter (the text says
    /// which and why).
    #[error("{0}")]
    NoPython(String),
    /// A directory without `__main__.py`.
    #[error("can't find '__main__' module in {}", python_repr(path))]
    NoMain {
        /// The directory as the user named it.
        path: String,
    },
}

impl Program {
    /// `sys.argv` as CPython sets it before the program starts (`runpy` later replaces
    /// `argv[0]` with the module's file for `-m`).
    pub fn argv(&self) -> Vec<String> {
        let (first, args) = match self {
            Program::Script { path, args } => (path.to_string_lossy().into_owned(), args),
            Program::Module { args, .. } => ("-m".to_owned(), args),
            Program::Code { args, .. } => ("-c".to_owned(), args),
            Program::Stdin { args } => ("-".to_owned(), args),
            Program::Interactive => return vec![String::new()],
        };
        std::iter::once(first).chain(args.iter().cloned()).collect()
    }

    /// A short name for titles and logs: the script's file name, `-m module`, or `-c`.
    pub fn display_name(&self) -> String {
        match self {
            Program::Script { path, .. } => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.to_string_lossy().into_owned()),
            Program::Module { name, .. } => format!("-m {name}"),
            Program::Code { .. } => "-c".to_owned(),
            Program::Stdin { .. } => "<stdin>".to_owned(),
            Program::Interactive => "<prompt>".to_owned(),
        }
    }

    /// Checks that a script can be opened, before any interpreter is built, so that a
    /// mistyped path costs nothing and says what `python` says; and that the command line
    /// is text, which the interpreter needs.
    pub fn check_readable(&self) -> Result<(), ProgramError> {
        if let Some(bad) = std::env::args_os().find(|arg| arg.to_str().is_none()) {
            return Err(ProgramError::NotUtf8(bad.to_string_lossy().into_owned()));
        }
        let Program::Script { path, .. } = self else {
            return Ok(());
        };
        let absolute = absolute_path(path);
        let shown = absolute.to_string_lossy().into_owned();
        let cant_open = |err: std::io::Error| ProgramError::CantOpen {
            path: shown.clone(),
            errno: err.raw_os_error().unwrap_or(libc::ENOENT),
            reason: strerror(&err),
        };
        let meta = std::fs::metadata(&absolute).map_err(cant_open)?;
        if meta.is_dir() {
            if !absolute.join("__main__.py").is_file() {
                return Err(ProgramError::NoMain {
                    path: path.to_string_lossy().into_owned(),
                });
            }
            return Ok(());
        }
        std::fs::File::open(&absolute).map(drop).map_err(cant_open)
    }
}

/// `path` joined onto the working directory, as CPython makes `__file__` absolute.
pub fn absolute_path(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The OS error text without Rust's " (os error N)" suffix.
fn strerror(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.rfind(" (os error") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// Python's `repr()` of a str, for the common cases that appear in paths.
fn python_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for ch in text.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_matches_python() {
        let script = Program::Script {
            path: "app.py".into(),
            args: vec!["-x".into(), "1".into()],
        };
        assert_eq!(script.argv(), ["app.py", "-x", "1"]);
        let module = Program::Module {
            name: "json.tool".into(),
            args: vec!["f".into()],
        };
        assert_eq!(module.argv(), ["-m", "f"]);
        let code = Program::Code {
            source: "pass".into(),
            args: vec![],
        };
        assert_eq!(code.argv(), ["-c"]);
    }

    #[test]
    fn repr_quotes_like_python() {
        assert_eq!(python_repr("/a/b.py"), "'/a/b.py'");
        assert_eq!(python_repr("it's"), "\"it's\"");
        assert_eq!(python_repr("a\nb"), "'a\\nb'");
    }

    #[test]
    fn missing_script_says_what_python_says() {
        let program = Program::Script {
            path: "/nonexistent/dir/x.py".into(),
            args: vec![],
        };
        let err = program.check_readable().unwrap_err().to_string();
        assert_eq!(
            err,
            "can't open file '/nonexistent/dir/x.py': [Errno 2] No such file or directory"
        );
    }
}
