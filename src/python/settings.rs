//! Interpreter settings for a [`Program`], from the environment variables `python` honours.

use rustpython_vm::Settings;
use std::ffi::OsString;

use super::Program;

/// Settings for running `program`: `sys.argv`, `PYTHONPATH` and the other `PYTHON*`
/// variables that change how a script runs.
pub fn for_program(program: &Program) -> Settings {
    let mut settings = Settings::default();
    settings.argv = program.argv();
    settings.path_list = env_paths("PYTHONPATH");
    settings.safe_path = env_flag("PYTHONSAFEPATH");
    settings.buffered_stdio = !env_flag("PYTHONUNBUFFERED");
    settings.write_bytecode = !env_flag("PYTHONDONTWRITEBYTECODE");
    settings.user_site_directory = !env_flag("PYTHONNOUSERSITE");
    settings.inspect = false;
    settings.quiet = true;
    if let Some(level) = env_level("PYTHONOPTIMIZE") {
        settings.optimize = level;
    }
    if let Some(level) = env_level("PYTHONVERBOSE") {
        settings.verbose = level;
    }
    settings
}

fn env_value(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// A variable that is on when set to anything non-empty.
fn env_flag(name: &str) -> bool {
    env_value(name).is_some()
}

/// A variable that counts (`PYTHONOPTIMIZE=2`); any other non-empty value means 1.
fn env_level(name: &str) -> Option<u8> {
    env_value(name).map(|v| v.to_str().and_then(|s| s.parse().ok()).unwrap_or(1))
}

/// A `:`-separated list of directories.
fn env_paths(name: &str) -> Vec<String> {
    env_value(name)
        .map(|value| {
            std::env::split_paths(&value)
                .map(|p| p.to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}
