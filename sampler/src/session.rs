//! A sampling session: arm every Python thread's timer, drain samples to a channel, stop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use crate::batch::SampleBatch;
use crate::config::{SamplerConfig, MAX_DEPTH_LIMIT, MAX_RATE_HZ};
use crate::drain::Drainer;
use crate::handler::{mode_bits, SESSION, STATS};
use crate::registry::{self, ArmSpec};
use crate::ring::{FRAME_WORDS, HEADER_WORDS};
use crate::signal::install_handler;
use crate::stats::StatsSnapshot;
use crate::timer::TimerClock;
use crate::SamplerError;

/// Batches waiting between the drain thread and the consumer before the drain thread waits.
const CHANNEL_BATCHES: usize = 1024;

static RUNNING: AtomicBool = AtomicBool::new(false);

/// A running session. Only one runs at a time in a process; stop it with
/// [`Sampler::stop`] (dropping it stops it too).
pub struct Sampler {
    config: SamplerConfig,
    clock: TimerClock,
    started: Instant,
    drainer: Option<Drainer>,
    handler_lost: Arc<AtomicBool>,
}

/// What a session did, from the sampler's side.
#[derive(Clone, Debug)]
pub struct SessionReport {
    /// Handler counters: samples, drops, handler time.
    pub stats: StatsSnapshot,
    /// How long the session ran.
    pub duration: Duration,
    /// The clock that drove the timers.
    pub clock: TimerClock,
    /// True when the program replaced the SIGPROF handler and sampling stopped early.
    pub handler_replaced: bool,
    /// Threads that started during the session but could not get a timer.
    pub unarmed_threads: u64,
}

impl Sampler {
    /// Installs the handler if needed, arms every registered thread's timer (threads that
    /// register later are armed as they do) and starts the drain thread. Samples arrive on
    /// the returned channel; `warn` is called (from the drain thread) with anything the user
    /// should hear about while the session runs.
    pub fn start(
        config: SamplerConfig,
        warn: fn(&str),
    ) -> Result<(Sampler, Receiver<SampleBatch>), SamplerError> {
        validate(&config)?;
        if RUNNING
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(SamplerError::AlreadyRunning);
        }
        let result = Self::start_running(config, warn);
        if result.is_err() {
            registry::disarm_all();
            SESSION.sampling.store(false, Ordering::Release);
            RUNNING.store(false, Ordering::Release);
        }
        result
    }

    fn start_running(
        config: SamplerConfig,
        warn: fn(&str),
    ) -> Result<(Sampler, Receiver<SampleBatch>), SamplerError> {
        install_handler().map_err(SamplerError::Signal)?;
        STATS.reset();
        SESSION
            .mode
            .store(mode_bits(config.mode), Ordering::Relaxed);
        SESSION.max_depth.store(config.max_depth, Ordering::Relaxed);
        SESSION.sampling.store(true, Ordering::Release);
        let interval = drain_interval(config.rate_hz);
        let (sender, receiver) = crossbeam_channel::bounded(CHANNEL_BATCHES);
        let handler_lost = Arc::new(AtomicBool::new(false));
        let drainer = Drainer::start(interval, sender, handler_lost.clone(), warn)
            .map_err(SamplerError::Thread)?;
        let clock = TimerClock::for_rate(config.mode, config.rate_hz);
        let spec = ArmSpec {
            clock,
            period_ns: config.period_ns(),
            ring_words: ring_words(&config, interval),
        };
        let sampler = Sampler {
            config,
            clock,
            started: Instant::now(),
            drainer: Some(drainer),
            handler_lost,
        };
        registry::arm_all(spec)?;
        Ok((sampler, receiver))
    }

    /// The settings this session runs with.
    pub fn config(&self) -> &SamplerConfig {
        &self.config
    }

    /// Handler counters so far.
    pub fn stats(&self) -> StatsSnapshot {
        STATS.snapshot()
    }

    /// Stops every timer, drains what is left and ends the session. The sample channel
    /// closes once the consumer has read everything.
    pub fn stop(mut self) -> SessionReport {
        self.shutdown();
        SessionReport {
            stats: STATS.snapshot(),
            duration: self.started.elapsed(),
            clock: self.clock,
            handler_replaced: self.handler_lost.load(Ordering::Relaxed),
            unarmed_threads: registry::arm_failures(),
        }
    }

    fn shutdown(&mut self) {
        let Some(drainer) = self.drainer.take() else {
            return;
        };
        registry::disarm_all();
        drainer.finish();
        SESSION.sampling.store(false, Ordering::Release);
        RUNNING.store(false, Ordering::Release);
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn validate(config: &SamplerConfig) -> Result<(), SamplerError> {
    if config.rate_hz == 0 || config.rate_hz > MAX_RATE_HZ {
        return Err(SamplerError::InvalidConfig(format!(
            "rate must be between 1 and {MAX_RATE_HZ} Hz, not {}",
            config.rate_hz
        )));
    }
    if config.max_depth == 0 || config.max_depth > MAX_DEPTH_LIMIT {
        return Err(SamplerError::InvalidConfig(format!(
            "max depth must be between 1 and {MAX_DEPTH_LIMIT}, not {}",
            config.max_depth
        )));
    }
    Ok(())
}

/// Drain often enough that a ring holds a few intervals' worth of samples: every 10 ms, down
/// to every 2 ms at the highest rates.
fn drain_interval(rate_hz: u32) -> Duration {
    Duration::from_millis(u64::from(20_000 / rate_hz.max(1)).clamp(2, 10))
}

/// Ring size per thread: room for 8 records of the deepest kind, and for 4 drain intervals
/// of records of a typical depth (64 frames).
fn ring_words(config: &SamplerConfig, interval: Duration) -> usize {
    let deepest = HEADER_WORDS + FRAME_WORDS * config.max_depth;
    let typical = HEADER_WORDS + FRAME_WORDS * config.max_depth.min(64);
    let per_interval = (u128::from(config.rate_hz) * interval.as_millis() / 1000) as usize + 1;
    (8 * deepest).max(4 * per_interval * typical)
}
