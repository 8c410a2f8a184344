//! One recording: a sampler session feeding an aggregator thread, ended into a [`Profile`].
//!
//! `sampler` (handler -> rings -> drain thread) -> crossbeam channel -> aggregator thread
//! (`symbolizer::Aggregator`) -> [`Profile`].

use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use flamegraph::{Profile, ProfileMeta, TimeKind};
use sampler::{Mode, Sampler, SamplerConfig, SessionReport};
use symbolizer::{AggregateOptions, Aggregator, Symbolizer, DEFAULT_MAX_STACKS};

/// How to record.
#[derive(Clone, Debug)]
pub struct RecordSettings {
    /// Rate, mode and depth.
    pub sampler: SamplerConfig,
    /// Keep samples of blocked threads (ending in `[idle]`).
    pub keep_idle: bool,
    /// The profile's title (the program's name).
    pub title: String,
}

/// A recording in progress.
pub struct Recording {
    settings: RecordSettings,
    sampler: Sampler,
    aggregator: JoinHandle<(Aggregator, u64)>,
    start_unix_ns: u64,
}

/// What a finished recording produced.
pub struct Recorded {
    /// The profile.
    pub profile: Profile,
    /// The sampler's account: samples, drops, handler time.
    pub report: SessionReport,
    /// CPU time of the aggregator thread.
    pub aggregate_cpu_ns: u64,
}

fn warn(message: &str) {
    eprintln!("rpprof: warning: {message}");
}

impl Recording {
    /// Starts sampling every registered Python thread (and every one that starts later).
    pub fn start(settings: RecordSettings) -> anyhow::Result<Recording> {
        let (sampler, batches) =
            Sampler::start(settings.sampler, warn).context("cannot start sampling")?;
        let options = AggregateOptions {
            period_ns: settings.sampler.period_ns(),
            keep_idle: settings.keep_idle,
            max_stacks: DEFAULT_MAX_STACKS,
        };
        let symbolizer = Symbolizer::new(std::env::current_dir().ok());
        let aggregator = std::thread::Builder::new()
            .name("rpprof-aggregate".to_owned())
            .spawn(move || {
                let mut aggregator = Aggregator::new(options, symbolizer);
                for batch in batches {
                    aggregator.add(&batch);
                }
                (aggregator, sampler::timer::thread_cpu_ns())
            })
            .context("cannot start the aggregator thread")?;
        let start_unix_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Ok(Recording {
            settings,
            sampler,
            aggregator,
            start_unix_ns,
        })
    }

    /// Stops sampling and returns the profile.
    pub fn finish(self) -> Recorded {
        let report = self.sampler.stop();
        let (aggregator, aggregate_cpu_ns) = self
            .aggregator
            .join()
            .unwrap_or_else(|_| panic!("the aggregator thread panicked"));
        let meta = ProfileMeta {
            title: self.settings.title.clone(),
            time: match self.settings.sampler.mode {
                Mode::Cpu => TimeKind::Cpu,
                Mode::Wall => TimeKind::Wall,
            },
            rate_hz: self.settings.sampler.rate_hz,
            start_unix_ns: self.start_unix_ns,
            duration_ns: report.duration.as_nanos() as u64,
            dropped: report.stats.dropped,
            overflowed: aggregator.overflowed_samples(),
        };
        Recorded {
            profile: aggregator.profile(meta),
            report,
            aggregate_cpu_ns,
        }
    }
}
