//! What the request handlers share: the store, the windows thread's queue, counters, the
//! token and the agent's view choices.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use crossbeam_channel::Sender;

use crate::metrics::AgentMetrics;
use crate::store::Store;
use crate::top::LiveTop;
use crate::windows::Request as WindowRequest;

/// What the request handlers share.
pub struct HttpContext {
    /// The store.
    pub store: Arc<Store>,
    /// The windows thread's request queue.
    pub windows: Sender<WindowRequest>,
    /// Counters.
    pub metrics: Arc<AgentMetrics>,
    /// The bearer token, if one is required.
    pub token: Option<String>,
    /// Distinct stacks kept in a merged answer.
    pub max_stacks: usize,
    /// The application's name, for titles.
    pub app_name: String,
    /// What `/top` serves.
    pub live_top: Arc<LiveTop>,
    /// Draw asyncio tasks as `task NAME` frames (`--async`); pprof has them as labels
    /// either way.
    pub tasks: bool,
    /// The process whose slices this agent serves, when attached to one (`agent --pid`).
    pub attached_pid: Option<i32>,
    /// Requests waiting now.
    pub(crate) waiting: AtomicUsize,
}

impl HttpContext {
    /// The shared state for the handlers.
    pub fn new(
        store: Arc<Store>,
        windows: Sender<WindowRequest>,
        metrics: Arc<AgentMetrics>,
        token: Option<String>,
        max_stacks: usize,
        app_name: String,
    ) -> HttpContext {
        HttpContext {
            store,
            windows,
            metrics,
            token,
            max_stacks,
            app_name,
            live_top: Arc::default(),
            tasks: false,
            attached_pid: None,
            waiting: AtomicUsize::new(0),
        }
    }
}
