//! What a sampling session is asked to do, and the one check of it ([`SamplerConfig::validate`])
//! that the command line, the in-script API and [`crate::Sampler::start`] all use.

use crate::SamplerError;

/// What the samples measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// CPU time: a thread is sampled in proportion to the CPU it uses.
    Cpu,
    /// Wall-clock time: every thread is sampled at the rate, running or blocked.
    Wall,
}

impl Mode {
    /// Every mode, in the order help texts list them.
    pub const ALL: [Mode; 2] = [Mode::Cpu, Mode::Wall];

    /// True when every thread is sampled, running or waiting (wall); false when threads
    /// are sampled as they use CPU (cpu). What a blocked thread or a waiting asyncio task
    /// shows depends on it.
    pub const fn samples_waiting(self) -> bool {
        match self {
            Mode::Cpu => false,
            Mode::Wall => true,
        }
    }

    /// True when a sample's weight is the CPU time it stands for (cpu); false when it is
    /// wall-clock time (wall).
    pub const fn weighs_cpu(self) -> bool {
        match self {
            Mode::Cpu => true,
            Mode::Wall => false,
        }
    }

    /// `cpu` or `wall`: the name the command line and the in-script API take.
    pub const fn label(self) -> &'static str {
        match self {
            Mode::Cpu => "cpu",
            Mode::Wall => "wall",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = SamplerError;

    /// The mode named `cpu` or `wall`.
    fn from_str(name: &str) -> Result<Mode, SamplerError> {
        Mode::ALL
            .into_iter()
            .find(|mode| mode.label() == name)
            .ok_or_else(|| {
                SamplerError::InvalidConfig(format!(
                    "mode must be \"cpu\" or \"wall\", not {name:?}"
                ))
            })
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
    /// Checks the rate and the depth against their bounds.
    pub fn validate(&self) -> Result<(), SamplerError> {
        if self.rate_hz == 0 || self.rate_hz > MAX_RATE_HZ {
            return Err(SamplerError::InvalidConfig(format!(
                "rate must be between 1 and {MAX_RATE_HZ} Hz, not {}",
                self.rate_hz
            )));
        }
        if self.max_depth == 0 || self.max_depth > MAX_DEPTH_LIMIT {
            return Err(SamplerError::InvalidConfig(format!(
                "max depth must be between 1 and {MAX_DEPTH_LIMIT}, not {}",
                self.max_depth
            )));
        }
        Ok(())
    }

    /// The sampling period in nanoseconds.
    pub fn period_ns(&self) -> u64 {
        1_000_000_000 / u64::from(self.rate_hz.max(1))
    }
}

/// The rate when none is asked for: 99 Hz, off the beat of 100 Hz timers and loops.
pub const DEFAULT_RATE_HZ: u32 = 99;
/// The mode when none is asked for.
pub const DEFAULT_MODE: Mode = Mode::Cpu;
/// The depth when none is asked for.
pub const DEFAULT_MAX_DEPTH: usize = 128;

impl Default for SamplerConfig {
    /// The sampling defaults, the one place they are written: the command line, the
    /// in-script API (`rpprof.py` reads them from `_rpprof`), child processes and `top`
    /// take them from here.
    fn default() -> Self {
        SamplerConfig {
            rate_hz: DEFAULT_RATE_HZ,
            mode: DEFAULT_MODE,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}
