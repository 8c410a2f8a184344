//! Pushing windows to a Grafana Pyroscope server: `POST /ingest` as its HTTP API describes
//! for pprof (`format=pprof`, the body a multipart form with the `profile` and its
//! `sample_type_config`; `name` is the application-name prefix to which Pyroscope adds the
//! profile type, so `app{env=prod}` shows as `app.cpu{env=prod}`).
//!
//! A bounded queue feeds one push thread; when the queue is full (the server is slow or
//! down), a window is dropped and counted, never queued without bound, and sampling never
//! waits. Only `http://` targets: put a TLS-terminating proxy in front for https.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use flamegraph::ValueKind;

use crate::metrics::AgentMetrics;
use crate::series::{name_safe, LabelPairs};
use crate::AgentError;

/// Windows waiting to be pushed before new ones are dropped.
const QUEUE: usize = 8;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// A Pyroscope server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushTarget {
    /// Host name or address.
    pub host: String,
    /// Port (4040 when the URL gives none).
    pub port: u16,
    /// Path prefix before `/ingest` (often empty).
    pub base_path: String,
}

impl PushTarget {
    /// Parses `http://host[:port][/prefix]`.
    pub fn parse(url: &str) -> Result<PushTarget, AgentError> {
        let bad = |why: &str| AgentError::BadValue(format!("push URL `{url}`: {why}"));
        if url.starts_with("https://") {
            return Err(bad(
                "only http:// is supported (put a TLS proxy in front for https)",
            ));
        }
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| bad("expected http://host[:port][/path]"))?;
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], rest[at..].trim_end_matches('/')),
            None => (rest, ""),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().map_err(|_| bad("bad port"))?),
            None => (authority, 4040),
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(PushTarget {
            host: host.to_owned(),
            port,
            base_path: path.to_owned(),
        })
    }
}

/// One window to push: one series per label set (see [`crate::series`]).
pub struct PushJob {
    /// Each series' labels (added to the agent's own) and gzipped pprof bytes.
    pub series: Vec<(LabelPairs, Vec<u8>)>,
    /// Start, Unix seconds.
    pub from_s: u64,
    /// End, Unix seconds.
    pub until_s: u64,
}

/// What every push of this agent says besides the window.
#[derive(Clone, Debug)]
pub struct PushIdentity {
    /// Application name.
    pub app_name: String,
    /// Labels.
    pub labels: Vec<(String, String)>,
    /// Samples per second.
    pub rate_hz: u32,
    /// The kinds of value the windows carry (the session's: samples, its time, and with
    /// `--alloc` the allocation kinds).
    pub kinds: Vec<ValueKind>,
}

impl PushIdentity {
    /// `app{k=v,...}`: the name prefix Pyroscope adds the profile type to; a series'
    /// labels (`series`) follow the agent's own (`--label`), and replace those with the
    /// same keys.
    pub fn name(&self, series: &[(String, String)]) -> String {
        let mut labels: Vec<String> = self
            .labels
            .iter()
            .filter(|(k, _)| !series.iter().any(|(key, _)| key == k))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        labels.extend(series.iter().map(|(k, v)| format!("{k}={}", name_safe(v))));
        format!("{}{{{}}}", self.app_name, labels.join(","))
    }

    /// The query string of an ingest request for a window's series with these labels.
    pub fn query(&self, series: &[(String, String)], from_s: u64, until_s: u64) -> String {
        format!(
            "name={}&from={from_s}&until={until_s}&format=pprof&sampleRate={}&spyName=rpprof",
            percent_encode(&self.name(series)),
            self.rate_hz
        )
    }

    /// The `sample_type_config` part, each kind as it declares itself (`ValueKind`): the
    /// time, summed and sampled, named for Pyroscope's display; the others in their units,
    /// gauges averaged over time, not summed (as Pyroscope's Go heap profiles declare
    /// `inuse_*`). The sample count is the time in other units: not listed.
    pub fn sample_type_config(&self) -> String {
        let entries: Vec<String> = self
            .kinds
            .iter()
            .filter(|kind| **kind != ValueKind::SAMPLES)
            .map(|kind| {
                let (name, units) = (&kind.name, kind.pyroscope_units);
                if kind.is_time() {
                    format!(
                        "\"{name}\":{{\"units\":\"{units}\",\"aggregation\":\"sum\",\"display-name\":\"{name}\",\"sampled\":true}}"
                    )
                } else if kind.is_gauge() {
                    format!("\"{name}\":{{\"units\":\"{units}\",\"aggregation\":\"average\"}}")
                } else {
                    format!("\"{name}\":{{\"units\":\"{units}\"}}")
                }
            })
            .collect();
        format!("{{{}}}", entries.join(","))
    }
}

fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The push thread and its queue.
pub struct Pusher {
    queue: Option<Sender<PushJob>>,
    handle: Option<JoinHandle<()>>,
    metrics: Arc<AgentMetrics>,
}

impl Pusher {
    /// Starts the push thread.
    pub fn start(
        target: PushTarget,
        identity: PushIdentity,
        metrics: Arc<AgentMetrics>,
    ) -> Result<Pusher, AgentError> {
        let (queue, jobs) = crossbeam_channel::bounded(QUEUE);
        let thread_metrics = metrics.clone();
        let handle = std::thread::Builder::new()
            .name("rpprof-push".to_owned())
            .spawn(move || push_loop(&target, &identity, &jobs, &thread_metrics))
            .map_err(AgentError::Thread)?;
        Ok(Pusher {
            queue: Some(queue),
            handle: Some(handle),
            metrics,
        })
    }

    /// Queues a window; drops it (counted) when the queue is full.
    pub fn enqueue(&self, job: PushJob) {
        let Some(queue) = &self.queue else { return };
        match queue.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.metrics.pushes_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Pushes what is queued (each push bounded by its timeouts), then stops.
    pub fn finish(mut self) {
        self.queue.take();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

fn push_loop(
    target: &PushTarget,
    identity: &PushIdentity,
    jobs: &Receiver<PushJob>,
    metrics: &AgentMetrics,
) {
    for job in jobs {
        for (labels, pprof) in &job.series {
            push_counted(target, identity, &job, labels, pprof, metrics);
        }
    }
}

/// Pushes one series of a window and counts the outcome.
fn push_counted(
    target: &PushTarget,
    identity: &PushIdentity,
    job: &PushJob,
    labels: &[(String, String)],
    pprof: &[u8],
    metrics: &AgentMetrics,
) {
    match push(target, identity, job, labels, pprof) {
        Ok(status) if (200..300).contains(&status) => {
            metrics.pushes_ok.fetch_add(1, Ordering::Relaxed);
        }
        Ok(status) => {
            metrics.pushes_failed.fetch_add(1, Ordering::Relaxed);
            metrics.note_error(format!("push: the server answered {status}"));
        }
        Err(err) => {
            metrics.pushes_failed.fetch_add(1, Ordering::Relaxed);
            metrics.note_error(format!("push: {err}"));
        }
    }
}

/// Sends one series of a window; returns the HTTP status.
fn push(
    target: &PushTarget,
    identity: &PushIdentity,
    job: &PushJob,
    labels: &[(String, String)],
    pprof: &[u8],
) -> std::io::Result<u16> {
    let boundary = format!(
        "rpprof-{:016x}",
        job.from_s.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    );
    let mut body = Vec::with_capacity(pprof.len() + 512);
    let mut part = |name: &str, file: &str, content_type: &str, data: &[u8]| {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\
                 Content-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    };
    part(
        "profile",
        "profile.pprof",
        "application/octet-stream",
        pprof,
    );
    part(
        "sample_type_config",
        "sample_type_config.json",
        "application/json",
        identity.sample_type_config().as_bytes(),
    );
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());

    let address = (target.host.as_str(), target.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other("the push host has no address"))?;
    let mut stream = TcpStream::connect_timeout(&address, CONNECT_TIMEOUT)?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    let head = format!(
        "POST {}/ingest?{} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: rpprof/{}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        target.base_path,
        identity.query(labels, job.from_s, job.until_s),
        target.host,
        target.port,
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(&body)?;
    stream.flush()?;
    let mut status_line = String::new();
    BufReader::new(stream).read_line(&mut status_line)?;
    status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad response `{}`", status_line.trim())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        assert_eq!(
            PushTarget::parse("http://pyro.local:4041/base/").unwrap(),
            PushTarget {
                host: "pyro.local".into(),
                port: 4041,
                base_path: "/base".into()
            }
        );
        assert_eq!(PushTarget::parse("http://127.0.0.1").unwrap().port, 4040);
        assert!(PushTarget::parse("https://x").is_err());
        assert!(PushTarget::parse("ftp://x").is_err());
        assert!(PushTarget::parse("http://:80").is_err());
    }

    #[test]
    fn sample_types_are_configured_as_each_kind_declares_itself() {
        let mut identity = PushIdentity {
            app_name: "shop".into(),
            labels: Vec::new(),
            rate_hz: 99,
            kinds: vec![ValueKind::SAMPLES, ValueKind::WALL],
        };
        assert_eq!(
            identity.sample_type_config(),
            r#"{"wall":{"units":"samples","aggregation":"sum","display-name":"wall","sampled":true}}"#
        );
        identity.kinds = vec![
            ValueKind::SAMPLES,
            ValueKind::CPU,
            ValueKind::ALLOC_OBJECTS,
            ValueKind::ALLOC_SPACE,
            ValueKind::INUSE_OBJECTS,
            ValueKind::INUSE_SPACE,
        ];
        assert_eq!(
            identity.sample_type_config(),
            concat!(
                r#"{"cpu":{"units":"samples","aggregation":"sum","display-name":"cpu","sampled":true},"#,
                r#""alloc_objects":{"units":"objects"},"alloc_space":{"units":"bytes"},"#,
                r#""inuse_objects":{"units":"objects","aggregation":"average"},"#,
                r#""inuse_space":{"units":"bytes","aggregation":"average"}}"#
            )
        );
    }

    #[test]
    fn query_names_the_app_with_labels() {
        let identity = PushIdentity {
            app_name: "shop".into(),
            labels: vec![
                ("env".into(), "prod".into()),
                ("region".into(), "eu-1".into()),
            ],
            rate_hz: 99,
            kinds: vec![ValueKind::SAMPLES, ValueKind::CPU],
        };
        assert_eq!(identity.name(&[]), "shop{env=prod,region=eu-1}");
        assert_eq!(
            identity.name(&[
                ("endpoint".into(), "/a,b".into()),
                ("env".into(), "dev".into())
            ]),
            "shop{region=eu-1,endpoint=/a_b,env=dev}"
        );
        assert_eq!(
            identity.query(&[], 10, 20),
            "name=shop%7Benv%3Dprod%2Cregion%3Deu-1%7D&from=10&until=20&format=pprof&sampleRate=99&spyName=rpprof"
        );
    }
}
