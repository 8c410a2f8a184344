//! The unresolved sample types the signal handler fills in: plain `Copy` data with no
//! pointers the handler would have to keep alive.

use crate::call::RawCall;
pub use crate::task_name::TaskName;

/// One Python frame as the handler copies it out of the interpreter.
///
/// `qualname` and `filename` are addresses of interned `PyStrInterned` strings. Interned
/// strings are immortal, so the addresses stay valid (and stay the same string) for the life
/// of the process: they are identities the symbolizer turns into text later, on any thread.
/// Code objects are *not* kept: they can be freed and their addresses reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RawFrame {
    /// Address of the code object's `co_qualname`.
    pub qualname: usize,
    /// Address of the code object's `co_filename`.
    pub filename: usize,
    /// The line being executed (1-based; 0 when unknown).
    pub line: u32,
    /// The code object's first line (`co_firstlineno`).
    pub first_line: u32,
}

/// Whether a sampled thread was executing bytecode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum ThreadState {
    /// Executing Python bytecode (RustPython's `Attached`).
    Running = 0,
    /// Blocked in a call that released the thread: sleep, lock waits, join, IO, select,
    /// sockets (RustPython's `Detached`).
    Idle = 1,
    /// The interpreter did not say (no state published for the thread yet).
    Unknown = 2,
    /// Not the thread's own state: the sample is of an asyncio task that waits (suspended at
    /// an `await`), recorded by its event loop's thread, not by the handler
    /// ([`crate::task`]).
    Awaiting = 3,
}

impl ThreadState {
    /// Maps RustPython's per-thread state (`vm::thread::ThreadState`) to ours:
    /// `Attached` (1) runs bytecode; `Detached` (0) sits in a blocking call that released
    /// the thread; `Suspended` (2, parked by a stop-the-world) and `ShuttingDown` (3) do no
    /// work of their own, so they count as idle too.
    pub fn from_interpreter(state: i32) -> ThreadState {
        match state {
            1 => ThreadState::Running,
            0 | 2 | 3 => ThreadState::Idle,
            _ => ThreadState::Unknown,
        }
    }

    pub(crate) fn from_bits(bits: u64) -> ThreadState {
        match bits {
            0 => ThreadState::Running,
            1 => ThreadState::Idle,
            3 => ThreadState::Awaiting,
            _ => ThreadState::Unknown,
        }
    }

    /// The lower-case label used in outputs: `running`, `idle` or `unknown`.
    pub fn label(self) -> &'static str {
        match self {
            ThreadState::Running => "running",
            ThreadState::Idle => "idle",
            ThreadState::Unknown => "unknown",
            ThreadState::Awaiting => "awaiting",
        }
    }
}

/// What the handler records about one sample besides its frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleHeader {
    /// `CLOCK_MONOTONIC` time of the sample, in nanoseconds.
    pub time_ns: u64,
    /// The time this sample stands for: CPU nanoseconds the thread used since its previous
    /// sample (CPU mode), or wall nanoseconds since it (wall mode).
    pub weight_ns: u64,
    /// The thread's state when it was interrupted.
    pub state: ThreadState,
    /// True when the stack was deeper than the depth limit and only its innermost frames
    /// were kept.
    pub truncated: bool,
    /// The asyncio task the thread was stepping ([`TaskName::NONE`]: none); see
    /// [`crate::task`].
    pub task: TaskName,
    /// The thread's label set when it was interrupted ([`crate::labels`]; 0: no labels).
    pub labels: crate::labels::LabelSetId,
    /// The builtin call the innermost Python frame was in (named for idle samples, and for
    /// running ones with `--native`); [`RawCall::NONE`] otherwise.
    pub call: RawCall,
}

/// One sample as the drain thread hands it on: a header and its frames, innermost first,
/// as a range into [`SampleBatch::frames`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawSample {
    /// Time, weight, state and truncation.
    pub header: SampleHeader,
    /// Start of this sample's frames in the batch's frame table.
    pub frames_start: u32,
    /// Number of frames.
    pub depth: u32,
}
