//! The in-script API (`import rpprof`): one recording at a time, started and stopped by the
//! program itself, and the last finished one kept for `write`.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rustpython_vm::builtins::PyBaseExceptionRef;
use rustpython_vm::VirtualMachine;
use sampler::{Mode, SamplerConfig, MAX_DEPTH_LIMIT, MAX_RATE_HZ};

use crate::output::{Format, OutputTarget};
use crate::recording::{RecordSettings, Recorded, Recording};
use crate::render::{self, RenderOptions};

/// What the API holds between calls.
struct ApiState {
    running: Option<Recording>,
    last: Option<Recorded>,
}

static STATE: Mutex<ApiState> = Mutex::new(ApiState {
    running: None,
    last: None,
});

fn state() -> MutexGuard<'static, ApiState> {
    STATE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An API error, raised in Python as the matching exception.
#[derive(Debug)]
pub enum ApiError {
    /// A bad argument: `ValueError`.
    Value(String),
    /// A call at the wrong time: `RuntimeError`.
    Runtime(String),
    /// Writing failed: `OSError`.
    Os(String),
}

impl ApiError {
    /// The Python exception for this error.
    pub fn to_python(&self, vm: &VirtualMachine) -> PyBaseExceptionRef {
        match self {
            ApiError::Value(m) => vm.new_value_error(m.clone()),
            ApiError::Runtime(m) => vm.new_runtime_error(m.clone()),
            ApiError::Os(m) => vm.new_os_error(m.clone()),
        }
    }
}

/// Starts sampling every registered Python thread.
pub fn start(rate: u32, mode: &str, max_depth: usize, title: &str) -> Result<(), ApiError> {
    if rate == 0 || rate > MAX_RATE_HZ {
        return Err(ApiError::Value(format!(
            "rate must be between 1 and {MAX_RATE_HZ} Hz, not {rate}"
        )));
    }
    if max_depth == 0 || max_depth > MAX_DEPTH_LIMIT {
        return Err(ApiError::Value(format!(
            "max_depth must be between 1 and {MAX_DEPTH_LIMIT}, not {max_depth}"
        )));
    }
    let mode = match mode {
        "cpu" => Mode::Cpu,
        "wall" => Mode::Wall,
        other => {
            return Err(ApiError::Value(format!(
                "mode must be \"cpu\" or \"wall\", not {other:?}"
            )))
        }
    };
    let mut state = state();
    if state.running.is_some() {
        return Err(ApiError::Runtime(
            "rpprof is already running; call rpprof.stop() first".into(),
        ));
    }
    let settings = RecordSettings {
        sampler: SamplerConfig {
            rate_hz: rate,
            mode,
            max_depth,
        },
        keep_idle: mode == Mode::Wall,
        title: title.to_owned(),
    };
    let recording = Recording::start(settings).map_err(|err| {
        ApiError::Runtime(format!(
            "{err:#} (under `rpprof record` the whole program is already being profiled)"
        ))
    })?;
    state.running = Some(recording);
    Ok(())
}

/// Stops sampling and keeps the profile for [`write`]; returns its sample count.
pub fn stop() -> Result<u64, ApiError> {
    let recording = state().running.take().ok_or_else(|| {
        ApiError::Runtime("rpprof is not running; call rpprof.start() first".into())
    })?;
    // Finishing joins the aggregator: do it without holding the lock.
    let recorded = recording.finish();
    let samples = recorded.profile.total().samples;
    state().last = Some(recorded);
    Ok(samples)
}

/// True while a recording started through the API runs.
pub fn is_running() -> bool {
    state().running.is_some()
}

/// Writes the last stopped profile to `path`.
pub fn write(path: &str, format: Option<&str>) -> Result<(), ApiError> {
    let format = match format {
        None => None,
        Some(name) => Some(
            <Format as clap::ValueEnum>::from_str(name, true)
                .map_err(|_| ApiError::Value(format!("unknown format {name:?}")))?,
        ),
    };
    let target = OutputTarget::new(Path::new(path), format)
        .map_err(|e| ApiError::Value(format!("{e:#}")))?;
    let state = state();
    let recorded = state.last.as_ref().ok_or_else(|| {
        ApiError::Runtime(if state.running.is_some() {
            "rpprof is still running; call rpprof.stop() before rpprof.write()".into()
        } else {
            "nothing recorded yet; call rpprof.start() and rpprof.stop() first".into()
        })
    })?;
    render::write_target(&recorded.profile, &target, &RenderOptions::default())
        .map_err(|e| ApiError::Os(format!("{e:#}")))
}
