//! The builtin call a sample's innermost Python frame was making, as the handler records
//! it (two identities the symbolizer resolves later). A leaf: the sample records
//! ([`crate::raw`], [`crate::ring`]) use it, and [`crate::wait`] finds it.

/// The call the innermost Python frame was making when its thread was sampled, as the
/// source wrote it: `lock.acquire`, `time.sleep`, `sorted`. Both fields are identities the
/// symbolizer resolves later ([`RawCall::callee`] may also be a small special-method tag);
/// all zero means "no call named".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RawCall {
    /// Address of the interned name the callee was looked up from on the receiver (the
    /// `lock` of `lock.acquire`), or 0.
    pub receiver: usize,
    /// Address of the interned name of the callee (`acquire`, `sleep`, `sorted`), or, when
    /// below [`SPECIAL_METHODS`], the index of a special method a `with` statement calls
    /// (0 `__enter__`, 1 `__exit__`, 2 `__aenter__`, 3 `__aexit__`) plus one; 0 when no
    /// call was named.
    pub callee: usize,
}

/// Callee values below this are special-method tags, not addresses (no interned string
/// lives in the first page of memory).
pub const SPECIAL_METHODS: usize = 16;

impl RawCall {
    /// No call named.
    pub const NONE: RawCall = RawCall {
        receiver: 0,
        callee: 0,
    };

    /// True when no call was named.
    pub fn is_none(&self) -> bool {
        self.callee == 0
    }
}
