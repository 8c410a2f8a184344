//! The sample label keys rpprof writes itself, in one table ([`KEYS`]).
//!
//! pprof keeps a profile's threads, processes and asyncio tasks as labels on each sample
//! (`thread_name=MainThread`, `thread_id=5`, `thread_state=idle`), beside the user's own
//! labels (`endpoint=/cart`, from `rpprof.labels`). This table is the one place these keys
//! are named:
//! - `flamegraph`'s pprof writer writes them and its reader reads them back, each as the
//!   [`ValueType`] the table gives it;
//! - `sampler`'s label check refuses them as user label keys ([`NAMES`]), so that a user
//!   label can never be mistaken for one of them.
//!
//! It depends on nothing: `sampler` and `flamegraph` both stand alone, and neither may
//! depend on the other, so the table sits below both.

#![deny(missing_docs)]

/// How pprof carries a label's value: a number (`Label::num`) or a string (`Label::str`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    /// An integer, in `num`.
    Number,
    /// A string-table index, in `str`.
    Text,
}

/// One of rpprof's own label keys. Its position in [`KEYS`] is its discriminant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LabelKey {
    /// `thread_name`.
    ThreadName,
    /// `thread_id`.
    ThreadId,
    /// `thread_state`.
    ThreadState,
    /// `thread_group`.
    ThreadGroup,
    /// `pid`.
    Pid,
    /// `process`.
    Process,
    /// `task`.
    Task,
}

/// One row of [`KEYS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key.
    pub key: LabelKey,
    /// Its name in a profile.
    pub name: &'static str,
    /// How its value is carried.
    pub value: ValueType,
    /// What it means.
    pub meaning: &'static str,
}

/// Every key rpprof writes itself, in [`LabelKey`] order.
pub const KEYS: &[KeyInfo] = &[
    KeyInfo {
        key: LabelKey::ThreadName,
        name: "thread_name",
        value: ValueType::Text,
        meaning: "the thread's name as the program set it (`MainThread`, `worker-1`)",
    },
    KeyInfo {
        key: LabelKey::ThreadId,
        name: "thread_id",
        value: ValueType::Number,
        meaning: "the thread's kernel thread id; left off when unknown",
    },
    KeyInfo {
        key: LabelKey::ThreadState,
        name: "thread_state",
        value: ValueType::Text,
        meaning: "what the thread was doing: one of the `thread_state` values",
    },
    KeyInfo {
        key: LabelKey::ThreadGroup,
        name: "thread_group",
        value: ValueType::Text,
        meaning: "the thread's group, names that differ only in digits (`Thread-N (run)`)",
    },
    KeyInfo {
        key: LabelKey::Pid,
        name: "pid",
        value: ValueType::Number,
        meaning: "the id of the child process the sample was taken in",
    },
    KeyInfo {
        key: LabelKey::Process,
        name: "process",
        value: ValueType::Text,
        meaning: "that child process's root frame (`python-child (pid N) ARGV`)",
    },
    KeyInfo {
        key: LabelKey::Task,
        name: "task",
        value: ValueType::Text,
        meaning: "the asyncio task the sample was taken in",
    },
];

/// The names of [`KEYS`], in their order: the keys a user label may not have.
pub const NAMES: [&str; KEYS.len()] = {
    let mut names = [""; KEYS.len()];
    let mut i = 0;
    while i < KEYS.len() {
        names[i] = KEYS[i].name;
        i += 1;
    }
    names
};

impl LabelKey {
    /// Its row of [`KEYS`].
    pub fn info(self) -> &'static KeyInfo {
        &KEYS[self as usize]
    }

    /// Its name in a profile.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// How its value is carried.
    pub fn value(self) -> ValueType {
        self.info().value
    }

    /// The key with this name, if it is one of rpprof's own.
    pub fn from_name(name: &str) -> Option<LabelKey> {
        KEYS.iter()
            .find(|info| info.name == name)
            .map(|info| info.key)
    }
}

/// The values of `thread_state`.
pub mod thread_state {
    /// The thread ran Python code (also the state of a sample without the label).
    pub const RUNNING: &str = "running";
    /// The thread sat in a blocking call: the sample ended in the `[idle]` marker.
    pub const IDLE: &str = "idle";
    /// The sample is a waiting asyncio task's: it ended in the `[awaiting]` marker.
    pub const AWAITING: &str = "awaiting";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_row_sits_at_its_keys_position_and_names_are_unique() {
        for (i, info) in KEYS.iter().enumerate() {
            assert_eq!(info.key as usize, i, "{}", info.name);
            assert_eq!(LabelKey::from_name(info.name), Some(info.key));
            assert_eq!(NAMES[i], info.name);
        }
        for (i, a) in NAMES.iter().enumerate() {
            assert!(!NAMES[i + 1..].contains(a), "{a} twice");
        }
        assert_eq!(LabelKey::from_name("endpoint"), None);
        assert_eq!(LabelKey::Pid.value(), ValueType::Number);
    }
}
