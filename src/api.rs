//! The in-script API (`import rpprof`): one recording at a time, started and stopped by the
//! program itself, and the last finished one kept for `write`.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use flamegraph::{Format, View};
use rustpython_vm::builtins::PyBaseExceptionRef;
use rustpython_vm::VirtualMachine;
use sampler::Mode;
use session::{Recorded, Session, SessionConfig};

use crate::output::OutputTarget;
use crate::render;

/// What the API holds between calls.
struct ApiState {
    running: Option<Session>,
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

/// Starts sampling every registered Python thread; the settings are checked as the
/// command line's are ([`SamplerConfig::validate`]).
pub fn start(
    rate: u32,
    mode: &str,
    max_depth: usize,
    title: &str,
    alloc_interval: Option<u64>,
    native: bool,
) -> Result<(), ApiError> {
    let mode: Mode = mode.parse().map_err(|e| ApiError::Value(format!("{e}")))?;
    // Any format may be asked for at `write()`, so the samples are kept in time order too.
    let config = SessionConfig::builder(title)
        .rate(rate)
        .mode(mode)
        .max_depth(max_depth)
        .alloc_interval(alloc_interval)
        .native(native)
        .timeline_samples(symbolizer::DEFAULT_TIMELINE_SAMPLES)
        .build()
        .map_err(|e| ApiError::Value(e.to_string()))?;
    let mut state = state();
    if state.running.is_some() {
        return Err(ApiError::Runtime(
            "rpprof is already running; call rpprof.stop() first".into(),
        ));
    }
    let session = Session::start(config).map_err(|err| {
        ApiError::Runtime(format!(
            "{err} (under `rpprof record` the whole program is already being profiled)"
        ))
    })?;
    state.running = Some(session);
    Ok(())
}

/// `write` shows asyncio tasks as `task NAME` frames (`rpprof.start(async_=True)`).
static TASKS_VIEW: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Sets whether [`write`] shows asyncio tasks as frames.
pub fn set_tasks_view(on: bool) {
    TASKS_VIEW.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Stops sampling and keeps the profile for [`write`]; returns its sample count.
pub fn stop() -> Result<u64, ApiError> {
    let session = state().running.take().ok_or_else(|| {
        ApiError::Runtime("rpprof is not running; call rpprof.start() first".into())
    })?;
    // Finishing joins the aggregator: do it without holding the lock.
    let recorded = session.finish();
    let samples = recorded.profile.total().get(symbolizer::SAMPLES_VALUE);
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
        Some(name) => Some(Format::parse(name).map_err(|e| ApiError::Value(e.to_string()))?),
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
    let view = View {
        tasks: TASKS_VIEW.load(std::sync::atomic::Ordering::Relaxed),
        ..View::default()
    };
    render::write_target(&recorded.profile, &target, &view)
        .map_err(|e| ApiError::Os(format!("{e:#}")))
}
