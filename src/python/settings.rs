//! Interpreter settings for a [`Program`], from CPython's command-line flags
//! ([`InterpreterOptions`]), the `PYTHON*` environment variables `python` honours, and the
//! user's locale ([`super::locale`]).

use rustpython_vm::vm::CheckHashPycsMode;
use rustpython_vm::Settings;
use std::ffi::OsString;

use super::command_line::InterpreterOptions;
use super::Program;

/// Settings for running `program` with no interpreter flags: `sys.argv`, `PYTHONPATH` and
/// the other `PYTHON*` variables that change how a script runs.
pub fn for_program(program: &Program) -> Settings {
    for_command_line(program, &InterpreterOptions::default())
}

/// Settings for running `program` with `options`, as CPython combines its flags with the
/// environment: a flag or a variable turns a setting on, counted ones take the larger;
/// `-E` and `-I` make the environment count for nothing.
pub fn for_command_line(program: &Program, options: &InterpreterOptions) -> Settings {
    let environment = Environment {
        ignored: options.isolated || options.ignore_environment,
    };
    let mut settings = Settings::default();
    settings.argv = program.argv();
    settings.isolated = options.isolated;
    settings.ignore_environment = environment.ignored;
    settings.path_list = environment.paths("PYTHONPATH");
    settings.safe_path =
        options.isolated || options.safe_path || environment.flag("PYTHONSAFEPATH");
    settings.buffered_stdio = !(options.unbuffered || environment.flag("PYTHONUNBUFFERED"));
    settings.write_bytecode =
        !(options.dont_write_bytecode || environment.flag("PYTHONDONTWRITEBYTECODE"));
    settings.user_site_directory =
        !(options.isolated || options.no_user_site || environment.flag("PYTHONNOUSERSITE"));
    settings.import_site = !options.no_site;
    settings.inspect = options.inspect;
    settings.interactive = options.inspect || *program == Program::Interactive;
    settings.quiet = options.quiet;
    settings.optimize = options
        .optimize
        .max(environment.level("PYTHONOPTIMIZE").unwrap_or(0));
    settings.verbose = options
        .verbose
        .max(environment.level("PYTHONVERBOSE").unwrap_or(0));
    settings.debug = options
        .debug
        .max(environment.level("PYTHONDEBUG").unwrap_or(0));
    settings.bytes_warning = options.bytes_warning.into();
    settings.hash_seed = if options.random_hash_seed {
        None
    } else {
        environment.hash_seed()
    };
    if let Some(mode) = &options.check_hash_based_pycs {
        settings.check_hash_pycs_mode = mode.parse().unwrap_or(CheckHashPycsMode::Default);
    }
    if let Some(utf8) = environment.value("PYTHONUTF8") {
        match utf8.to_str() {
            Some("1") => settings.utf8_mode = 1,
            Some("0") => settings.utf8_mode = 0,
            _ => {}
        }
    }
    settings.faulthandler = environment.flag("PYTHONFAULTHANDLER");
    settings.warn_default_encoding = environment.flag("PYTHONWARNDEFAULTENCODING");
    if environment.flag("PYTHONNODEBUGRANGES") {
        settings.code_debug_ranges = false;
    }
    apply_xoptions(&mut settings, &options.xoptions);
    if settings.utf8_mode < 0 {
        // Neither PYTHONUTF8 nor -X utf8 chose: on in the C and POSIX locales (PEP 540).
        settings.utf8_mode = i8::from(super::locale::user_locale().legacy_c_locale);
    }
    if let Some(value) = environment.value("PYTHONIOENCODING") {
        let value = value.to_string_lossy();
        let (encoding, errors) = value.split_once(':').unwrap_or((&value, ""));
        settings.stdio_encoding = (!encoding.is_empty()).then(|| encoding.to_owned());
        settings.stdio_errors = (!errors.is_empty()).then(|| errors.to_owned());
    }
    settings.warnoptions = warn_options(&settings, &environment, &options.warnings);
    settings
}

/// `-X` options: all of them go into `sys._xoptions`; the ones RustPython has a setting
/// for also set it. Values were checked when the command line was parsed.
fn apply_xoptions(settings: &mut Settings, xoptions: &[String]) {
    for option in xoptions {
        let (name, value) = match option.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (option.as_str(), None),
        };
        match name {
            "dev" => settings.dev_mode = true,
            "faulthandler" => settings.faulthandler = true,
            "warn_default_encoding" => settings.warn_default_encoding = true,
            "no_debug_ranges" => settings.code_debug_ranges = false,
            "utf8" => settings.utf8_mode = if value == Some("0") { 0 } else { 1 },
            "int_max_str_digits" => {
                if let Some(digits) = value.and_then(|v| v.parse().ok()) {
                    settings.int_max_str_digits = digits;
                }
            }
            "cpu_count" => {
                settings.cpu_count = value.and_then(|v| v.parse().ok());
            }
            _ => {}
        }
        settings
            .xoptions
            .push((name.to_owned(), value.map(str::to_owned)));
    }
    if settings.dev_mode {
        settings.faulthandler = true;
    }
}

/// `sys.warnoptions` in CPython's order: `-X dev`'s `default`, `-b`'s BytesWarning filter,
/// `PYTHONWARNINGS`, then `-W`. `subprocess._args_from_interpreter_flags` (which
/// multiprocessing uses to start its children) expects the first two to be there.
fn warn_options(
    settings: &Settings,
    environment: &Environment,
    warnings: &[String],
) -> Vec<String> {
    let mut options = Vec::new();
    if settings.dev_mode {
        options.push("default".to_owned());
    }
    match settings.bytes_warning {
        0 => {}
        1 => options.push("default::BytesWarning".to_owned()),
        _ => options.push("error::BytesWarning".to_owned()),
    }
    if let Some(value) = environment.value("PYTHONWARNINGS") {
        options.extend(
            value
                .to_string_lossy()
                .split(',')
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .map(str::to_owned),
        );
    }
    options.extend(warnings.iter().cloned());
    options
}

/// The `PYTHON*` variables, or none of them under `-E` and `-I`.
struct Environment {
    ignored: bool,
}

impl Environment {
    fn value(&self, name: &str) -> Option<OsString> {
        if self.ignored {
            return None;
        }
        std::env::var_os(name).filter(|v| !v.is_empty())
    }

    /// A variable that is on when set to anything non-empty.
    fn flag(&self, name: &str) -> bool {
        self.value(name).is_some()
    }

    /// A variable that counts (`PYTHONOPTIMIZE=2`); any other non-empty value means 1.
    fn level(&self, name: &str) -> Option<u8> {
        self.value(name)
            .map(|v| v.to_str().and_then(|s| s.parse().ok()).unwrap_or(1))
    }

    /// A `:`-separated list of directories.
    fn paths(&self, name: &str) -> Vec<String> {
        self.value(name)
            .map(|value| {
                std::env::split_paths(&value)
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `PYTHONHASHSEED`: a number fixes the seed; `random`, unset or anything else (with a
    /// warning) leaves it random.
    fn hash_seed(&self) -> Option<u32> {
        let value = self.value("PYTHONHASHSEED")?;
        let text = value.to_string_lossy();
        if text == "random" {
            return None;
        }
        let seed = text.parse().ok();
        if seed.is_none() {
            eprintln!(
                "rpprof: warning: PYTHONHASHSEED must be \"random\" or an integer in range \
                 [0; 4294967295]; using a random seed"
            );
        }
        seed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_reach_the_settings() {
        let options = InterpreterOptions {
            isolated: true,
            bytes_warning: 1,
            optimize: 2,
            unbuffered: true,
            warnings: vec!["ignore".into()],
            xoptions: vec!["dev".into(), "int_max_str_digits=0".into(), "foo".into()],
            ..InterpreterOptions::default()
        };
        let program = Program::Code {
            source: "pass".into(),
            args: vec![],
        };
        let settings = for_command_line(&program, &options);
        assert!(settings.isolated && settings.ignore_environment && settings.safe_path);
        assert!(!settings.user_site_directory && !settings.buffered_stdio);
        assert!(settings.dev_mode && settings.faulthandler);
        assert_eq!(settings.optimize, 2);
        assert_eq!(settings.int_max_str_digits, 0);
        assert_eq!(
            settings.warnoptions,
            ["default", "default::BytesWarning", "ignore"]
        );
        assert_eq!(settings.xoptions.len(), 3);
        assert_eq!(settings.argv, ["-c"]);
    }
}
