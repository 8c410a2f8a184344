//! Errors of the agent.

/// What can go wrong setting up or running the agent.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// A setting or a request parameter has a value it cannot take.
    #[error("{0}")]
    BadValue(String),
    /// The listen address is not on loopback and no token protects it.
    #[error("refusing to listen on {0} without a token: set --token or RPPROF_AGENT_TOKEN, or listen on 127.0.0.1")]
    TokenRequired(std::net::SocketAddr),
    /// The HTTP server could not bind.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        reason: String,
    },
    /// The store directory could not be used.
    #[error("store {path}: {source}")]
    Store {
        /// The directory or file.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A sampling setting is out of range.
    #[error(transparent)]
    Sampler(#[from] sampler::SamplerError),
    /// The session (sampler and aggregator) could not start.
    #[error(transparent)]
    Session(#[from] session::SessionError),
    /// A background thread could not be started.
    #[error("cannot start a background thread: {0}")]
    Thread(std::io::Error),
}
