//! The embedded RustPython interpreter: what to run ([`Program`]), how to build an interpreter
//! for it ([`settings`]), and how to run it the way `python` does ([`runner`]).

pub mod native;
pub mod program;
pub mod runner;
pub mod settings;

pub use program::{Program, ProgramError};
pub use runner::{ExitStatus, PythonRun};
