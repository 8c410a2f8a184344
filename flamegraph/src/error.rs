//! Errors of reading and writing profiles.

/// What can go wrong reading or writing a profile.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// An input file is not what its format says.
    #[error("malformed {format} input: {reason}")]
    Malformed {
        /// The format that was expected.
        format: &'static str,
        /// What is wrong, and where.
        reason: String,
    },
    /// A format that shows time was asked of a profile without samples in time order.
    #[error(
        "the {format} format needs the samples in time order, which only a recording keeps \
         (`rpprof record -o FILE --format {format}`); pprof and folded files have none"
    )]
    NoTimeline {
        /// The format asked for.
        format: &'static str,
    },
    /// A format name that is none of the format table's.
    #[error("unknown format `{name}` (expected {known})")]
    UnknownFormat {
        /// The name given.
        name: String,
        /// The formats there are.
        known: String,
    },
    /// A view asked for a value kind the profile does not carry.
    #[error("the profile has no value `{asked}` (it has: {known})")]
    NoSuchValue {
        /// The kind asked for.
        asked: String,
        /// The kinds there are.
        known: String,
    },
}
