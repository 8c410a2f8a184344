//! pprof: the gzipped protobuf that `go tool pprof`, Grafana and Pyroscope read.
//!
//! One `Function` per (qualified name, file), one `Location` per (function, line), samples
//! leaf first, one value per kind the profile carries (`samples/count` and
//! `cpu|wall/nanoseconds` for a time profile), and on each sample the labels rpprof writes
//! itself, whose keys and value types are the one table `label_keys::KEYS` (also the keys
//! a user label may not have):
//! - `thread_name`, `thread_id` (when known), `thread_group` (when grouped);
//! - `thread_state`: `idle` for a sample that ended in the `[idle]` marker, which is then
//!   left off the stack; `awaiting` for a waiting asyncio task's sample, whose
//!   `[awaiting]` marker is left off likewise; `running` otherwise;
//! - `task` for a sample taken in an asyncio task (its `task NAME` frame, likewise left
//!   off);
//! - `pid` and `process` for a child process's sample;
//!
//! then the sample's own labels (`endpoint=/cart`, from its label frames: see
//! [`crate::labels`]).
//!
//! One file per direction: `encode.rs` writes (`to_proto`, `write`), `decode.rs` reads
//! (`parse`, `from_proto`, `looks_like`), ours and other tools' files alike. They share
//! only the protobuf types and the key table.

mod decode;
mod encode;
#[cfg(test)]
mod tests;

pub use decode::{from_proto, looks_like, parse};
pub use encode::{to_proto, write};
pub use pprof::protos::{Label, Location, Message, Profile as Proto};
