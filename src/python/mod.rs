//! The embedded RustPython interpreter: what to run ([`Program`]), CPython's command line
//! ([`command_line`]), how to build an interpreter for it ([`settings`]), and how to run it
//! the way `python` does ([`runner`]).

mod c_deflate;
pub mod command_line;
mod compat;
mod compat_abc;
mod compat_mappingproxy;
mod compat_mro;
mod compat_re;
mod compat_sqlite;
mod compat_zlib;
pub mod labels;
mod leftovers;
pub mod locale;
pub mod native;
pub mod packages;
pub mod program;
pub mod runner;
pub mod settings;
mod stand_in;
pub mod tasks;

pub use program::{Program, ProgramError};
pub use runner::{ExitStatus, PythonRun};
