//! What a sampling session is asked to do.

/// What the samples measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// CPU time: a thread is sampled in proportion to the CPU it uses.
    Cpu,
    /// Wall-clock time: every thread is sampled at the rate, running or blocked.
    Wall,
}

impl Mode {
    /// `cpu` or `wall`.
    pub fn label(self) -> &'static str {
        match self {
            Mode::Cpu => "cpu",
            Mode::Wall => "wall",
        }
    }
}

/// Settings of one sampling session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SamplerConfig {
    /// Samples per second per thread.
    pub rate_hz: u32,
    /// CPU or wall time.
    pub mode: Mode,
    /// Frames kept per sample (the innermost ones); deeper stacks are marked truncated.
    pub max_depth: usize,
}

/// The highest rate accepted.
pub const MAX_RATE_HZ: u32 = 20_000;
/// The deepest stack a sample may keep.
pub const MAX_DEPTH_LIMIT: usize = 4096;

impl SamplerConfig {
    /// The sampling period in nanoseconds.
    pub fn period_ns(&self) -> u64 {
        1_000_000_000 / u64::from(self.rate_hz.max(1))
    }
}

impl Default for SamplerConfig {
    fn default() -> Self {
        SamplerConfig {
            rate_hz: 99,
            mode: Mode::Cpu,
            max_depth: 128,
        }
    }
}
