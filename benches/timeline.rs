//! The time-ordered stream: what a million timed samples cost to keep (heap bytes and CPU on
//! the aggregator thread, beyond what aggregating them costs: the aggregator resolves each
//! stack once for both), and to write as a Firefox Profiler
//! file and as speedscope in time order. Synthetic samples of real interned interpreter
//! strings: 8 threads, 30 frames deep, drawn from 5000 distinct stacks. Prints one JSON
//! object; `benches/run_benchmarks.py timeline` turns it into BENCHMARKS.md rows.
//!
//!     cargo bench --ignore-rust-version --bench timeline

#[path = "common/live_bytes.rs"]
mod live_bytes;

use live_bytes::{live_bytes, LiveBytesAllocator};
use std::sync::Arc;

use flamegraph::{firefox, speedscope, Profile, ProfileMeta, WriteOptions};
use rustpython_vm::Context;
use sampler::{RawFrame, SampleBatch, SampleHeader, ThreadState};
use symbolizer::{AggregateOptions, Aggregator, Symbolizer, TimelineOptions, TimelineRecorder};

const DEPTH: usize = 30;
const SAMPLES: usize = 1_000_000;
const THREADS: usize = 8;
const PERIOD_NS: u64 = 10_101_010;

#[global_allocator]
static ALLOCATOR: LiveBytesAllocator = LiveBytesAllocator;

fn cpu_seconds() -> f64 {
    sampler::timer::thread_cpu_ns() as f64 / 1e9
}

/// A deterministic pseudo-random sequence (splitmix64).
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

/// 5000 distinct stacks of `DEPTH` frames with interned names (innermost first).
fn stacks() -> Vec<Vec<RawFrame>> {
    let ctx = Context::genesis();
    let file = ctx.intern_str("pkg/module.py") as *const _ as usize;
    let frames: Vec<RawFrame> = (0..2000)
        .map(|i| RawFrame {
            qualname: ctx.intern_str(format!("Class{}.method_{i}", i % 97).as_str()) as *const _
                as usize,
            filename: file,
            line: 10 + (i % 400) as u32,
            first_line: 5,
        })
        .collect();
    let mut random = Random(7);
    (0..5000)
        .map(|i| {
            let mut stack: Vec<RawFrame> = (0..DEPTH)
                .map(|d| frames[(d * 7 + random.below(500)) % frames.len()])
                .collect();
            stack[0].line = 100_000 + i as u32;
            stack
        })
        .collect()
}

/// Batches of 1000 samples, each thread's in turn, times advancing by a period per sample.
fn batches(stacks: &[Vec<RawFrame>]) -> Vec<SampleBatch> {
    let entries: Vec<_> = (0..THREADS)
        .map(|i| {
            std::thread::spawn(move || {
                sampler::register_current_thread(&format!("worker-{i}"), None)
            })
            .join()
            .unwrap()
        })
        .collect();
    let mut random = Random(1);
    let mut out = Vec::new();
    let mut time_ns = 1_000_000_000u64;
    for n in 0..SAMPLES / 1000 {
        let mut batch = SampleBatch::new(entries[n % THREADS].clone());
        for _ in 0..1000 {
            time_ns += PERIOD_NS / THREADS as u64;
            let header = SampleHeader {
                time_ns,
                weight_ns: PERIOD_NS,
                state: ThreadState::Running,
                truncated: false,
                task: sampler::TaskName::NONE,
                labels: 0,
                call: sampler::RawCall::NONE,
            };
            batch.push(header, stacks[random.below(stacks.len())].iter().copied());
        }
        out.push(batch);
    }
    out
}

fn main() {
    let stacks = stacks();
    let batches = batches(&stacks);
    let options = TimelineOptions {
        period_ns: PERIOD_NS,
        max_samples: 2 * SAMPLES,
        cpu_mode: true,
    };
    let aggregate = AggregateOptions {
        period_ns: PERIOD_NS,
        keep_idle: true,
        max_stacks: symbolizer::DEFAULT_MAX_STACKS,
    };
    // The aggregation alone, then with the recorder it feeds: the difference is what
    // keeping the samples in time order costs (the stacks are resolved once, for both).
    let before = live_bytes();
    let start = cpu_seconds();
    let mut alone = Aggregator::new(aggregate, Symbolizer::new(None));
    for batch in &batches {
        alone.add(batch, None);
    }
    let alone_s = cpu_seconds() - start;
    let alone_bytes = live_bytes() - before;
    drop(alone);
    let before = live_bytes();
    let start = cpu_seconds();
    let mut aggregator = Aggregator::new(aggregate, Symbolizer::new(None));
    let mut recorder = TimelineRecorder::new(options, 1_000_000_000);
    for batch in &batches {
        aggregator.add(batch, Some(&mut recorder));
    }
    let record_s = (cpu_seconds() - start - alone_s).max(1e-6);
    let recorder_bytes = (live_bytes() - before - alone_bytes).max(0);

    let timeline =
        Arc::new(aggregator.timeline(&recorder, 0, 1_000_000_000 + 20 * SAMPLES as u64, "bench"));
    let meta = ProfileMeta {
        rate_hz: 99,
        ..ProfileMeta::default()
    };
    let mut profile = Profile::new(meta);
    profile.timeline = Some(timeline.clone());
    // speedscope uses the timeline while the profile lists every thread apart.
    for thread in &timeline.threads {
        profile.thread_mut(&thread.name, thread.tid);
    }

    let start = cpu_seconds();
    let mut firefox_out = Vec::new();
    firefox::write(&profile, &WriteOptions::default(), &mut firefox_out).unwrap();
    let firefox_s = cpu_seconds() - start;
    let start = cpu_seconds();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &firefox_out).unwrap();
    let firefox_gz = gz.finish().unwrap();
    let gzip_s = cpu_seconds() - start;

    let start = cpu_seconds();
    let mut speedscope_out = Vec::new();
    speedscope::write(&profile, &WriteOptions::default(), &mut speedscope_out).unwrap();
    let speedscope_s = cpu_seconds() - start;

    println!(
        "{}",
        serde_json::json!({
            "samples": SAMPLES,
            "threads": THREADS,
            "kept": timeline.samples_kept(),
            "recorder_mib_per_million": recorder_bytes as f64 / (1024.0 * 1024.0)
                * 1e6 / SAMPLES as f64,
            "sample_mib_per_million": timeline.sample_bytes() as f64 / (1024.0 * 1024.0)
                * 1e6 / SAMPLES as f64,
            "record_samples_per_s": SAMPLES as f64 / record_s,
            "firefox_1m_s": firefox_s,
            "firefox_1m_mb": firefox_out.len() as f64 / 1e6,
            "firefox_1m_gz_mb": firefox_gz.len() as f64 / 1e6,
            "gzip_1m_s": gzip_s,
            "speedscope_1m_s": speedscope_s,
            "speedscope_1m_mb": speedscope_out.len() as f64 / 1e6,
        })
    );
}
