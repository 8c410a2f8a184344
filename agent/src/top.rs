//! `GET /top`: what `rpprof top --agent` shows, one [`TopSlice`] a second. The slicer
//! computes it from each slice only while someone watches (a `/top` request in the last
//! [`WATCH_FOR`]), so an agent nobody watches pays nothing for it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flamegraph::Profile;
use session::TopSlice;

use crate::duration::now_unix_ns;

/// How long after a `/top` request the slicer keeps computing the view.
pub const WATCH_FOR: Duration = Duration::from_secs(10);

/// The latest view, shared by the slicer (writes) and the HTTP threads (read).
#[derive(Default)]
pub struct LiveTop {
    latest: Mutex<Option<Arc<TopSlice>>>,
    watched_until_ns: AtomicU64,
}

impl LiveTop {
    /// True while someone watches.
    pub fn watched(&self) -> bool {
        now_unix_ns() < self.watched_until_ns.load(Ordering::Relaxed)
    }

    /// The slicer's part: the view of a slice, kept while someone watches.
    pub fn offer(&self, profile: &Profile) {
        if self.watched() {
            let slice = TopSlice::new(profile, &sampler::registered_threads());
            *self.latest.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(slice));
        }
    }

    /// The HTTP part: the latest view (threads without functions until the first slice
    /// since watching began), and watching goes on for [`WATCH_FOR`].
    pub fn request(&self) -> Arc<TopSlice> {
        let until = now_unix_ns() + WATCH_FOR.as_nanos() as u64;
        self.watched_until_ns.fetch_max(until, Ordering::Relaxed);
        let latest = self
            .latest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        latest.unwrap_or_else(|| {
            Arc::new(TopSlice::new(
                &Profile::default(),
                &sampler::registered_threads(),
            ))
        })
    }
}
