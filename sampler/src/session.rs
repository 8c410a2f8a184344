//! A sampling session: arm every Python thread's timer, drain samples to a channel, stop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use crate::batch::SampleBatch;
use crate::config::SamplerConfig;
use crate::drain::Drainer;
use crate::flags::{mode_bits, SESSION};
use crate::handler::STATS;
use crate::lifecycle::install_handler;
use crate::registry::{self, ArmSpec};
use crate::ring::{FRAME_WORDS, HEADER_WORDS};
use crate::stats::StatsSnapshot;
use crate::ticker::Ticker;
use crate::timer::Driver;
use crate::SamplerError;

/// Batches waiting between the drain thread and the consumer before the drain thread waits.
const CHANNEL_BATCHES: usize = 1024;

/// A running session. Only one runs at a time in a process; stop it with
/// [`Sampler::stop`] (dropping it stops it too).
pub struct Sampler {
    config: SamplerConfig,
    /// The process that started it: in a child made by `fork()` it has none of its threads.
    pid: u32,
    driver: Driver,
    started: Instant,
    /// [`registry::python_threads_cpu_ns`] when the session started.
    python_cpu_at_start: u64,
    drainer: Option<Drainer>,
    ticker: Option<Ticker>,
    handler_lost: Arc<AtomicBool>,
}

/// What a session did, from the sampler's side.
#[derive(Clone, Debug)]
pub struct SessionReport {
    /// Handler counters: samples, drops, handler time.
    pub stats: StatsSnapshot,
    /// How long the session ran.
    pub duration: Duration,
    /// What drove the sampling.
    pub driver: Driver,
    /// True when the program replaced the SIGPROF handler and sampling stopped early.
    pub handler_replaced: bool,
    /// Threads that started during the session but could not get a timer.
    pub unarmed_threads: u64,
    /// CPU time of the drain thread.
    pub drain_cpu_ns: u64,
    /// CPU time of the ticker thread (0 without one).
    pub ticker_cpu_ns: u64,
    /// CPU time the program's (Python) threads used during the session, those that started
    /// or ended meanwhile included, the handler's time on them included: what the samples
    /// would add up to if none were missed.
    pub python_threads_cpu_ns: u64,
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
        config.validate()?;
        if SESSION
            .running
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(SamplerError::AlreadyRunning);
        }
        let result = Self::start_running(config, warn);
        if result.is_err() {
            registry::disarm_all();
            registry::end_collection();
            SESSION.sampling.store(false, Ordering::Release);
            SESSION.running.store(false, Ordering::Release);
        }
        result
    }

    fn start_running(
        config: SamplerConfig,
        warn: fn(&str),
    ) -> Result<(Sampler, Receiver<SampleBatch>), SamplerError> {
        install_handler().map_err(SamplerError::Signal)?;
        let driver = Driver::for_rate(config.mode, config.rate_hz);
        STATS.reset();
        SESSION
            .mode
            .store(mode_bits(config.mode), Ordering::Relaxed);
        SESSION.max_depth.store(config.max_depth, Ordering::Relaxed);
        SESSION.driver.store(driver.bits(), Ordering::Relaxed);
        SESSION
            .period_ns
            .store(config.period_ns(), Ordering::Relaxed);
        SESSION.sampling.store(true, Ordering::Release);
        let interval = drain_interval(config.rate_hz);
        let (sender, receiver) = crossbeam_channel::bounded(CHANNEL_BATCHES);
        registry::begin_collection();
        let handler_lost = Arc::new(AtomicBool::new(false));
        let drainer = Drainer::start(interval, sender, handler_lost.clone(), warn)
            .map_err(SamplerError::Thread)?;
        let spec = ArmSpec {
            driver,
            period_ns: config.period_ns(),
            ring_words: ring_words(&config, interval),
            repeat_records: 4 * samples_per_interval(&config, interval) + 16,
        };
        let mut sampler = Sampler {
            config,
            pid: std::process::id(),
            driver,
            started: Instant::now(),
            python_cpu_at_start: registry::python_threads_cpu_ns(),
            drainer: Some(drainer),
            ticker: None,
            handler_lost,
        };
        registry::arm_all(spec)?;
        if driver == Driver::Ticker {
            let period = Duration::from_nanos(config.period_ns());
            sampler.ticker = Some(Ticker::start(period).map_err(SamplerError::Thread)?);
        }
        Ok((sampler, receiver))
    }

    /// False in a child made by `fork()` of the process that started the session.
    fn started_here(&self) -> bool {
        self.pid == std::process::id()
    }

    /// The settings this session runs with.
    pub fn config(&self) -> &SamplerConfig {
        &self.config
    }

    /// Handler counters so far.
    pub fn stats(&self) -> StatsSnapshot {
        current_stats()
    }

    /// Stops every timer, drains what is left and ends the session. The sample channel
    /// closes once the consumer has read everything.
    pub fn stop(mut self) -> SessionReport {
        let ticker_cpu_ns = if !self.started_here() {
            0
        } else {
            self.ticker.take().map_or(0, Ticker::finish)
        };
        let drain_cpu_ns = self.shutdown();
        SessionReport {
            drain_cpu_ns,
            ticker_cpu_ns,
            stats: current_stats(),
            duration: self.started.elapsed(),
            driver: self.driver,
            handler_replaced: self.handler_lost.load(Ordering::Relaxed),
            unarmed_threads: registry::arm_failures(),
            python_threads_cpu_ns: registry::python_threads_cpu_ns()
                .saturating_sub(self.python_cpu_at_start),
        }
    }

    /// Stops everything; returns the drain thread's CPU time (0 if already stopped).
    fn shutdown(&mut self) -> u64 {
        if !self.started_here() {
            // A forked child has none of the session's threads: nothing to stop or join.
            std::mem::forget(self.ticker.take());
            std::mem::forget(self.drainer.take());
            return 0;
        }
        if let Some(ticker) = self.ticker.take() {
            ticker.finish();
        }
        let Some(drainer) = self.drainer.take() else {
            return 0;
        };
        registry::disarm_all();
        let drain_cpu_ns = drainer.finish();
        registry::end_collection();
        SESSION.sampling.store(false, Ordering::Release);
        SESSION.running.store(false, Ordering::Release);
        drain_cpu_ns
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Handler counters of the running (or last) session.
pub fn current_stats() -> StatsSnapshot {
    STATS.snapshot()
}

/// About 20 samples per thread per drain: every 100 ms at 99 Hz, 20 ms at 999 Hz, down to
/// every 2 ms at the highest rates. Each wake-up of the drain thread costs tens of
/// microseconds, so waking less often is most of what keeps its cost low; the rings are
/// sized for it (`ring_words`).
fn drain_interval(rate_hz: u32) -> Duration {
    Duration::from_millis(u64::from(20_000 / rate_hz.max(1)).clamp(2, 100))
}

/// Ring size per thread: room for 8 records of the deepest kind, and for 4 drain intervals
/// of records of a typical depth (64 frames).
fn ring_words(config: &SamplerConfig, interval: Duration) -> usize {
    let deepest = HEADER_WORDS + FRAME_WORDS * config.max_depth;
    let typical = HEADER_WORDS + FRAME_WORDS * config.max_depth.min(64);
    (8 * deepest).max(4 * samples_per_interval(config, interval) * typical)
}

/// Samples one thread takes between two drains.
fn samples_per_interval(config: &SamplerConfig, interval: Duration) -> usize {
    (u128::from(config.rate_hz) * interval.as_millis() / 1000) as usize + 1
}
