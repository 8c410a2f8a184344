//! What the agent is asked to do.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use session::SessionConfig;

use crate::push::PushTarget;
use crate::AgentError;

/// Every setting of the agent.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// Where the HTTP endpoints listen (loopback by default).
    pub listen: SocketAddr,
    /// Bearer token the endpoints require; needed before listening off loopback.
    pub token: Option<String>,
    /// Rate, mode, depth, idle handling, and the distinct stacks kept per slice and per
    /// window (the rest go to `[overflow]`).
    pub session: SessionConfig,
    /// Length of a stored window.
    pub window: Duration,
    /// Directory of the store.
    pub store_dir: PathBuf,
    /// How long stored windows are kept.
    pub retain: Duration,
    /// Most bytes the store may take; the oldest windows go first.
    pub max_store_bytes: u64,
    /// Where windows are pushed, if anywhere.
    pub push: Option<PushTarget>,
    /// The application's name (in pushes and titles).
    pub app_name: String,
    /// Labels added to pushes (`key=value`).
    pub labels: Vec<(String, String)>,
    /// Draw asyncio tasks as `task NAME` frames in the views (`--async`); pprof has them as
    /// labels either way.
    pub tasks: bool,
}

/// The default listen address, as Go services use for net/http/pprof.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:6060";
/// The default store size cap: 1 GiB.
pub const DEFAULT_MAX_STORE_BYTES: u64 = 1 << 30;
/// The default bound on distinct stacks per window.
pub const DEFAULT_MAX_STACKS: usize = 50_000;

impl AgentConfig {
    /// Checks the settings against each other: a token for non-loopback listening, a
    /// window of at least a second, a sensible label set.
    pub fn validate(&self) -> Result<(), AgentError> {
        self.session.sampler.validate()?;
        if !self.listen.ip().is_loopback() && self.token.as_deref().is_none_or(str::is_empty) {
            return Err(AgentError::TokenRequired(self.listen));
        }
        if self.window < Duration::from_secs(1) || self.window > Duration::from_secs(3600) {
            return Err(AgentError::BadValue(format!(
                "the window must be between 1 s and 1 h, not {:?}",
                self.window
            )));
        }
        for (key, value) in &self.labels {
            let ok = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_-.:/".contains(c))
            };
            if !ok(key) || !ok(value) {
                return Err(AgentError::BadValue(format!(
                    "label `{key}={value}`: keys and values are letters, digits and _-.:/"
                )));
            }
        }
        Ok(())
    }
}

/// Parses `key=value`.
pub fn parse_label(text: &str) -> Result<(String, String), AgentError> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(AgentError::BadValue(format!(
            "`{text}` is not a label (KEY=VALUE)"
        ))),
    }
}
