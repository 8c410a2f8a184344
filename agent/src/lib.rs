//! The always-on agent: runs a long-lived Python service under low-rate sampling, keeps
//! rolling profile windows in a local store, serves them over HTTP
//! (`/debug/pprof/profile?seconds=N`, as Go services do) and pushes them to Pyroscope.
//!
//! Nothing is implemented here yet: `rpprof agent` does not exist until this crate holds
//! the window rotation, store, HTTP endpoints and push client.

#![deny(missing_docs)]
