//! Asking a running agent over HTTP (`rpprof dump --agent URL`, `rpprof top --agent URL`).

use std::time::Duration;

use anyhow::{bail, Context};

/// How long a request may take before the agent counts as not answering.
const TIMEOUT: Duration = Duration::from_secs(5);

/// A running agent's address and the token it wants, if any.
#[derive(Clone, Debug)]
pub struct AgentClient {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

impl AgentClient {
    /// A client for the agent at `url` (`http://host:port`, or just `host:port`).
    pub fn new(url: &str, token: Option<String>) -> anyhow::Result<AgentClient> {
        let url = url.trim_end_matches('/');
        if url.starts_with("https://") {
            bail!("agent URL `{url}`: the agent speaks plain http://");
        }
        let base = match url.strip_prefix("http://") {
            Some(_) => url.to_owned(),
            None if !url.contains("://") && !url.is_empty() => format!("http://{url}"),
            None => bail!("agent URL `{url}`: expected http://host:port"),
        };
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(AgentClient { base, token, agent })
    }

    /// The body of `GET path` (`/debug/pprof/threads?format=json`); any status but 200 is
    /// an error that quotes the agent's answer.
    pub fn get(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let url = format!("{}{path}", self.base);
        let mut request = self.agent.get(&url);
        if let Some(token) = &self.token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        let mut response = request
            .call()
            .with_context(|| format!("the agent at {} does not answer", self.base))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(256 << 20)
            .read_to_vec()
            .with_context(|| format!("cannot read the answer of the agent at {}", self.base))?;
        if status != 200 {
            bail!(
                "the agent at {} answered {status}: {}",
                self.base,
                String::from_utf8_lossy(&body).trim()
            );
        }
        Ok(body)
    }
}
