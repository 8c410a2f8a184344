//! What a session is asked to do, and what each sampling mode means for the profile.

use flamegraph::ValueKind;
use sampler::{Mode, SamplerConfig, SamplerError};

/// The default bound on distinct stacks: about 40 MB of stacks at depth 30.
pub use symbolizer::DEFAULT_MAX_STACKS;

/// Settings of one session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// Rate, mode and depth (checked by [`SamplerConfig::validate`]).
    pub sampler: SamplerConfig,
    /// Keep samples of blocked threads, ending in `[idle]`.
    pub keep_idle: bool,
    /// The profile's title (the program's name).
    pub title: String,
    /// Distinct stacks kept per profile; samples of others go to `[overflow]`.
    pub max_stacks: usize,
    /// Keep the samples in time order too, at most this many at once (0: no timeline);
    /// profiles then carry a `flamegraph::Timeline` (see `symbolizer::TimelineRecorder`
    /// for what happens past the budget).
    pub timeline_samples: usize,
    /// Also sample allocations, on average one every this many bytes (checked by
    /// `sampler::alloc::validate_interval`); the profiles then carry the four allocation
    /// kinds ([`ALLOC_KINDS`]).
    pub alloc_interval: Option<u64>,
    /// Name the builtin a running thread is in: CPU time inside `sorted`, a big `read`,
    /// `re.match` becomes a `[native] NAME` leaf under its line (`sampler::wait`). Idle
    /// samples always name the call they wait in.
    pub native: bool,
}

/// The allocation kinds, in the order the aggregator fills them (declared with their
/// positions in `symbolizer`).
pub use symbolizer::ALLOC_KINDS;

impl SessionConfig {
    /// A session with the mode's own idle handling ([`keeps_idle`]) and the default stack
    /// bound.
    pub fn new(sampler: SamplerConfig, title: &str) -> SessionConfig {
        SessionConfig {
            sampler,
            keep_idle: keeps_idle(sampler.mode),
            title: title.to_owned(),
            max_stacks: DEFAULT_MAX_STACKS,
            timeline_samples: 0,
            alloc_interval: None,
            native: false,
        }
    }

    /// The kinds of value its profiles carry: samples, then the mode's time (in the order
    /// the aggregator fills them: `symbolizer::SAMPLES_VALUE`, `symbolizer::TIME_VALUE`),
    /// then, when allocations are sampled, [`ALLOC_KINDS`].
    pub fn value_kinds(&self) -> Vec<ValueKind> {
        let mut kinds = vec![ValueKind::SAMPLES; 2];
        kinds[symbolizer::TIME_VALUE] = time_kind(self.sampler.mode);
        if self.alloc_interval.is_some() {
            kinds.extend(ALLOC_KINDS);
        }
        kinds
    }
}

impl SessionConfig {
    /// A builder starting from the defaults ([`SamplerConfig::default`], the mode's own
    /// idle handling, no allocations, no timeline): what the command line, the in-script
    /// API, a child process's settings and `top` fill in from what the user gave.
    pub fn builder(title: &str) -> SessionBuilder {
        SessionBuilder {
            sampler: SamplerConfig::default(),
            keep_idle: None,
            alloc_interval: None,
            native: false,
            timeline_samples: 0,
            title: title.to_owned(),
        }
    }
}

/// Fills a [`SessionConfig`] in from what the user gave, and checks it once
/// ([`SessionBuilder::build`]).
#[derive(Clone, Debug)]
pub struct SessionBuilder {
    sampler: SamplerConfig,
    keep_idle: Option<bool>,
    alloc_interval: Option<u64>,
    native: bool,
    timeline_samples: usize,
    title: String,
}

impl SessionBuilder {
    /// Samples per second per thread.
    pub fn rate(mut self, rate_hz: u32) -> Self {
        self.sampler.rate_hz = rate_hz;
        self
    }

    /// CPU or wall time.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.sampler.mode = mode;
        self
    }

    /// Frames kept per sample.
    pub fn max_depth(mut self, max_depth: usize) -> Self {
        self.sampler.max_depth = max_depth;
        self
    }

    /// Keep samples of blocked threads, or not; `None`: as the mode does ([`keeps_idle`]).
    pub fn keep_idle(mut self, keep: Option<bool>) -> Self {
        self.keep_idle = keep;
        self
    }

    /// Sample allocations every this many bytes on average; `None`: do not.
    pub fn alloc_interval(mut self, bytes: Option<u64>) -> Self {
        self.alloc_interval = bytes;
        self
    }

    /// Name the builtin a running thread is in (`[native] NAME`).
    pub fn native(mut self, on: bool) -> Self {
        self.native = on;
        self
    }

    /// Keep this many samples in time order at most (0: none).
    pub fn timeline_samples(mut self, samples: usize) -> Self {
        self.timeline_samples = samples;
        self
    }

    /// The session's settings, checked as every caller checks them: rate and depth
    /// ([`SamplerConfig::validate`]) and the allocation interval
    /// (`sampler::alloc::validate_interval`).
    pub fn build(self) -> Result<SessionConfig, SamplerError> {
        self.sampler.validate()?;
        if let Some(interval) = self.alloc_interval {
            sampler::alloc::validate_interval(interval)?;
        }
        let mut config = SessionConfig::new(self.sampler, &self.title);
        if let Some(keep) = self.keep_idle {
            config.keep_idle = keep;
        }
        config.alloc_interval = self.alloc_interval;
        config.native = self.native;
        config.timeline_samples = self.timeline_samples;
        Ok(config)
    }
}

/// What a mode's sample weights measure: CPU time or wall-clock time.
pub fn time_kind(mode: Mode) -> ValueKind {
    match mode {
        Mode::Cpu => ValueKind::CPU,
        Mode::Wall => ValueKind::WALL,
    }
}

/// Whether samples of blocked threads are kept unless the user says otherwise: in wall
/// mode, where waiting is what is asked about, yes; in CPU mode, no.
pub fn keeps_idle(mode: Mode) -> bool {
    mode.samples_waiting()
}
