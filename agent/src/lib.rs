//! The always-on agent: keeps a long-lived Python service under low-rate sampling for as
//! long as it lives, the way Pyroscope's and Go's continuous profilers do.
//!
//! The pipeline: a `session::Session` (sampler and aggregator) -> the slicer thread (asks
//! it for one-second profiles) -> the windows thread (rolling windows, written to the [`Store`] and queued for the Pyroscope
//! [`push`]er) ; the HTTP threads read the store and ask the windows thread for live views.
//! None of it runs on a Python thread, and nothing waits on anything slower: full queues
//! drop and count.
//!
//! The agent's state is in its type: [`Agent<Ready>`] has checked its settings, opened the
//! store and bound its port (so mistakes fail before the program starts);
//! [`Agent::start`] gives an [`Agent<Running>`], which [`Agent::stop`] flushes and ends.

#![deny(missing_docs)]

mod config;
pub mod duration;
mod error;
mod http;
pub mod metrics;
mod process_memory;
pub mod push;
mod query;
pub mod series;
pub mod slicer;
pub mod store;
pub mod top;
pub mod windows;

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::Sender;
use flamegraph::ProfileMeta;
use session::Session;

pub use config::{
    parse_label, AgentConfig, DEFAULT_LISTEN, DEFAULT_MAX_STACKS, DEFAULT_MAX_STORE_BYTES,
};
pub use error::AgentError;
pub use metrics::AgentMetrics;
pub use push::PushTarget;
pub use store::Store;

use crate::http::HttpContext;
use crate::push::{PushIdentity, Pusher};
use crate::slicer::Slice;
use crate::windows::WindowSettings;

/// The agent, in state `S`.
pub struct Agent<S> {
    config: AgentConfig,
    store: Arc<Store>,
    server: Arc<tiny_http::Server>,
    address: SocketAddr,
    metrics: Arc<AgentMetrics>,
    state: S,
}

/// Settings checked, store open, port bound; nothing sampled yet.
pub struct Ready;

/// Sampling, windowing, serving.
pub struct Running {
    session: Option<Session>,
    stop_slicer: Sender<()>,
    slices: Sender<Slice>,
    slicer: JoinHandle<()>,
    windows: JoinHandle<()>,
    http: JoinHandle<()>,
    add_to_slice: Option<slicer::AddToSlice>,
}

/// What a stopped agent did.
#[derive(Clone, Debug)]
pub struct AgentReport {
    /// Windows written to the store.
    pub windows_stored: u64,
    /// Pushes accepted / failed / dropped.
    pub pushes: (u64, u64, u64),
    /// Samples taken.
    pub samples: u64,
}

impl<S> Agent<S> {
    /// The address the endpoints listen on (the real port when 0 was asked for).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Counters.
    pub fn metrics(&self) -> &AgentMetrics {
        &self.metrics
    }
}

impl Agent<Ready> {
    /// Checks the settings, opens the store and binds the port.
    pub fn new(config: AgentConfig) -> Result<Agent<Ready>, AgentError> {
        config.validate()?;
        let store = Arc::new(Store::open(
            &config.store_dir,
            config.retain,
            config.max_store_bytes,
        )?);
        let server = tiny_http::Server::http(config.listen).map_err(|err| AgentError::Listen {
            addr: config.listen,
            reason: err.to_string(),
        })?;
        let address = server.server_addr().to_ip().unwrap_or(config.listen);
        Ok(Agent {
            config,
            store,
            server: Arc::new(server),
            address,
            metrics: Arc::new(AgentMetrics::default()),
            state: Ready,
        })
    }

    /// Starts sampling every registered Python thread (and those that start later) and
    /// every background thread of the agent.
    pub fn start(self) -> Result<Agent<Running>, AgentError> {
        self.start_adding(None)
    }

    /// [`Agent::start`], with `add_to_slice` adding other processes' samples (Python
    /// children's) to every slice, the last one included.
    pub fn start_adding(
        self,
        add_to_slice: Option<slicer::AddToSlice>,
    ) -> Result<Agent<Running>, AgentError> {
        let session = Session::start(self.config.session.clone())?;
        let source = slicer::SliceSource::Session(session.slicer());
        self.start_from(source, Some(session), add_to_slice, None)
    }

    /// Starts serving slices another process sends (`rpprof agent --pid`): `fed` gives
    /// them as they come; the agent ends its slices when `fed` closes. The endpoints that
    /// read this process's own threads (`/threads`, `/debug/pprof/threads`, `/top`) say
    /// where to look instead.
    pub fn start_fed(
        self,
        fed: crossbeam_channel::Receiver<flamegraph::Profile>,
        attached_pid: i32,
    ) -> Result<Agent<Running>, AgentError> {
        self.start_from(
            slicer::SliceSource::Fed(fed),
            None,
            None,
            Some(attached_pid),
        )
    }

    fn start_from(
        self,
        source: slicer::SliceSource,
        session: Option<Session>,
        add_to_slice: Option<slicer::AddToSlice>,
        attached_pid: Option<i32>,
    ) -> Result<Agent<Running>, AgentError> {
        let config = &self.config;
        self.metrics.started.note_now();
        self.metrics.alloc_sampling.store(
            config.session.alloc_interval.is_some(),
            std::sync::atomic::Ordering::Relaxed,
        );
        let meta = ProfileMeta {
            title: config.app_name.clone(),
            kinds: config.session.value_kinds(),
            rate_hz: config.session.sampler.rate_hz,
            ..ProfileMeta::default()
        };
        let (slice_out, slice_in) = crossbeam_channel::bounded(64);
        let (stop_slicer, stop_in) = crossbeam_channel::bounded(1);
        let live_top = Arc::new(top::LiveTop::default());
        let slicer = slicer::spawn(
            source,
            stop_in,
            slice_out.clone(),
            self.metrics.clone(),
            add_to_slice.clone(),
            live_top.clone(),
        )?;
        let pusher = match &config.push {
            Some(target) => Some(Pusher::start(
                target.clone(),
                PushIdentity {
                    app_name: config.app_name.clone(),
                    labels: config.labels.clone(),
                    rate_hz: config.session.sampler.rate_hz,
                    kinds: config.session.value_kinds(),
                },
                self.metrics.clone(),
            )?),
            None => None,
        };
        let (requests_out, requests_in) = crossbeam_channel::bounded(64);
        let windows = windows::spawn(
            slice_in,
            requests_in,
            WindowSettings {
                length: config.window,
                max_stacks: config.session.max_stacks,
                meta,
            },
            self.store.clone(),
            pusher,
            self.metrics.clone(),
        )?;
        let mut context = HttpContext::new(
            self.store.clone(),
            requests_out,
            self.metrics.clone(),
            config.token.clone(),
            config.session.max_stacks,
            config.app_name.clone(),
        );
        context.live_top = live_top;
        context.tasks = config.tasks;
        context.attached_pid = attached_pid;
        let context = Arc::new(context);
        let server = self.server.clone();
        let http = std::thread::Builder::new()
            .name("rpprof-http".to_owned())
            .spawn(move || http::serve(&server, &context))
            .map_err(AgentError::Thread)?;
        Ok(Agent {
            config: self.config,
            store: self.store,
            server: self.server,
            address: self.address,
            metrics: self.metrics,
            state: Running {
                session,
                stop_slicer,
                slices: slice_out,
                slicer,
                windows,
                http,
                add_to_slice,
            },
        })
    }
}

impl Agent<Running> {
    /// Re-reads the store directory (SIGHUP).
    pub fn reopen_store(&self) -> Result<(), AgentError> {
        self.store.reopen()
    }

    /// Stops sampling, writes (and pushes) the window in progress, stops serving.
    pub fn stop(self) -> AgentReport {
        let Running {
            session,
            stop_slicer,
            slices,
            slicer,
            windows,
            http,
            add_to_slice,
        } = self.state;
        drop(stop_slicer);
        let _ = slicer.join();
        // What came after the last slice is the last slice.
        let mut samples = 0;
        if let Some(session) = session {
            let mut recorded = session.finish();
            if let Some(add) = &add_to_slice {
                add(&mut recorded.profile);
            }
            samples = recorded.report.stats.samples;
            let _ = slices.send(Slice::of(recorded.profile));
        }
        drop(slices);
        let _ = windows.join();
        self.server.unblock();
        let _ = http.join();
        let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
        AgentReport {
            windows_stored: load(&self.metrics.windows_stored),
            pushes: (
                load(&self.metrics.pushes_ok),
                load(&self.metrics.pushes_failed),
                load(&self.metrics.pushes_dropped),
            ),
            samples,
        }
    }
}
