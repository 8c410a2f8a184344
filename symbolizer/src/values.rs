//! Where each value is in a stack's [`Values`]: samples and time, then, when allocations
//! are sampled, the four allocation kinds ([`ALLOC_KINDS`], in the same order). The
//! aggregator fills them; the session names the kinds the same way
//! (`session::SessionConfig::value_kinds`).

use flamegraph::ValueKind;
#[cfg(doc)]
use flamegraph::Values;

/// Where a stack's samples (whole sampling periods) are in its [`Values`].
pub const SAMPLES_VALUE: usize = 0;
/// Where a stack's time (the samples' weights, in nanoseconds) is in its [`Values`].
pub const TIME_VALUE: usize = 1;

/// Where a stack's estimated allocations are in its [`Values`]: right after its time.
pub const ALLOC_OBJECTS_VALUE: usize = TIME_VALUE + 1;
/// Where a stack's estimated bytes allocated are in its [`Values`].
pub const ALLOC_SPACE_VALUE: usize = ALLOC_OBJECTS_VALUE + 1;
/// Where a stack's estimated live objects are in its [`Values`].
pub const INUSE_OBJECTS_VALUE: usize = ALLOC_SPACE_VALUE + 1;
/// Where a stack's estimated live bytes are in its [`Values`].
pub const INUSE_SPACE_VALUE: usize = INUSE_OBJECTS_VALUE + 1;

/// The allocation kinds, in the order of their positions above (as Go's heap profiles
/// list them): what a profile with allocations carries after samples and time.
pub const ALLOC_KINDS: [ValueKind; 4] = [
    ValueKind::ALLOC_OBJECTS,
    ValueKind::ALLOC_SPACE,
    ValueKind::INUSE_OBJECTS,
    ValueKind::INUSE_SPACE,
];
