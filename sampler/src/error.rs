//! Errors of the sampler.

/// What can go wrong starting or running a sampling session.
#[derive(Debug, thiserror::Error)]
pub enum SamplerError {
    /// Another session is running: signals are process-wide, so there is one at a time.
    #[error("a sampling session is already running in this process")]
    AlreadyRunning,
    /// A setting is out of range.
    #[error("{0}")]
    InvalidConfig(String),
    /// Installing the SIGPROF handler failed.
    #[error("cannot install the SIGPROF handler: {0}")]
    Signal(std::io::Error),
    /// Creating or arming a thread's timer failed.
    #[error("cannot arm the sampling timer of thread {tid}: {source}")]
    Timer {
        /// The thread.
        tid: i32,
        /// The OS error.
        source: std::io::Error,
    },
    /// The drain thread could not be started.
    #[error("cannot start the drain thread: {0}")]
    Thread(std::io::Error),
}
