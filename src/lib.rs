//! `rpprof`: a signal-driven, thread-aware sampling profiler for Python, built around an
//! embedded RustPython interpreter.
//!
//! This package is the command line and the embedding: [`python`] builds and runs the
//! interpreter the way `python` runs a program, the `session` crate runs the pipeline
//! (`sampler` -> `symbolizer` -> `flamegraph`), [`render`] and [`output`] write profiles,
//! [`args`] holds the argument groups subcommands share, and [`commands`] one module per
//! subcommand. The binary (`main.rs`) only dispatches.

pub mod agent_client;
pub mod api;
pub mod args;
pub mod attach;
pub mod children;
pub mod cli;
pub mod commands;
pub mod ending;
pub mod input;
pub mod output;
pub mod python;
pub mod render;
pub mod signals;
pub mod top;
