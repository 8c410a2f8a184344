//! pprof: the gzipped protobuf that `go tool pprof`, Grafana and Pyroscope read.
//!
//! One `Function` per (qualified name, file), one `Location` per (function, line), samples
//! leaf first, one value per kind the profile carries (`samples/count` and
//! `cpu|wall/nanoseconds` for a time profile), and labels `thread_name`, `thread_id` and `thread_state` (`idle` for a sample that ended in
//! the `[idle]` marker, which is then left off the stack; `awaiting` for a waiting asyncio
//! task's sample, whose `[awaiting]` marker is left off likewise; `running` otherwise),
//! `task` for a sample taken in an asyncio task (its `task NAME` frame, likewise left off),
//! and the sample's own labels (`endpoint=/cart`, from its label frames: see
//! [`crate::labels`]).

mod decode;
mod encode;
#[cfg(test)]
mod tests;

pub use decode::{from_proto, looks_like, parse};
pub use encode::{to_proto, write};
pub use pprof::protos::{Label, Location, Message, Profile as Proto};
