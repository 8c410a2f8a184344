//! Throughput of everything after the signal handler, on synthetic samples made of real
//! interned interpreter strings: the drain (ring -> batch), the symbolizer and aggregator,
//! the memory bound, the writers on a profile of 100k distinct stacks, and the agent's cost
//! per one-second slice with a small and a huge frame table. Prints one JSON
//! object; `benches/run_benchmarks.py` turns it into BENCHMARKS.md rows.
//!
//!     cargo bench --ignore-rust-version --bench pipeline

#[path = "common/live_bytes.rs"]
mod live_bytes;

use live_bytes::{live_bytes, LiveBytesAllocator};

use flamegraph::{folded, pprof, speedscope, svg, ProfileMeta, WriteOptions};
use rustpython_vm::Context;
use sampler::ring::SampleRing;
use sampler::{RawFrame, SampleBatch, SampleHeader, ThreadState};
use symbolizer::{AggregateOptions, Aggregator, Symbolizer, DEFAULT_MAX_STACKS};

const DEPTH: usize = 30;

#[global_allocator]
static ALLOCATOR: LiveBytesAllocator = LiveBytesAllocator;

/// This thread's CPU time in seconds: what the work cost, whatever else the machine ran.
fn cpu_seconds() -> f64 {
    sampler::timer::thread_cpu_ns() as f64 / 1e9
}

fn live_mib() -> f64 {
    live_bytes() as f64 / (1024.0 * 1024.0)
}

/// A deterministic pseudo-random sequence (splitmix64).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// `count` raw frames with interned names, as the handler would copy them.
fn frames(count: usize) -> Vec<RawFrame> {
    let ctx = Context::genesis();
    let files: Vec<usize> = (0..50)
        .map(|i| ctx.intern_str(format!("pkg/module_{i}.py").as_str()) as *const _ as usize)
        .collect();
    (0..count)
        .map(|i| RawFrame {
            qualname: ctx.intern_str(format!("Class{}.method_{i}", i % 97).as_str()) as *const _
                as usize,
            filename: files[i % files.len()],
            line: 10 + (i % 400) as u32,
            first_line: 5,
        })
        .collect()
}

/// `count` distinct stacks of `DEPTH` frames (innermost first) sharing outer frames.
fn stacks(frames: &[RawFrame], count: usize, random: &mut Random) -> Vec<Vec<RawFrame>> {
    (0..count)
        .map(|i| {
            let mut stack: Vec<RawFrame> = (0..DEPTH)
                .map(|d| frames[(d * 7 + random.below(frames.len() / 4)) % frames.len()])
                .collect();
            // Make it distinct for sure: the leaf's line encodes the index.
            stack[0].line = 100_000 + i as u32;
            stack
        })
        .collect()
}

fn thread_entry() -> std::sync::Arc<sampler::ThreadEntry> {
    std::thread::spawn(|| sampler::register_current_thread("bench", None))
        .join()
        .unwrap()
}

fn header() -> SampleHeader {
    SampleHeader {
        time_ns: 0,
        weight_ns: 10_101_010,
        state: ThreadState::Running,
        truncated: false,
        task: sampler::TaskName::NONE,
        labels: 0,
        call: sampler::RawCall::NONE,
    }
}

fn aggregator(max_stacks: usize) -> Aggregator {
    Aggregator::new(
        AggregateOptions {
            period_ns: 10_101_010,
            keep_idle: true,
            max_stacks,
        },
        Symbolizer::new(None),
    )
}

/// Samples per second through ring -> batch (the drain) -> aggregator, on one core.
fn pipeline_throughput(samples: usize) -> (f64, f64) {
    let mut random = Random(1);
    let frames = frames(2000);
    let stacks = stacks(&frames, 5000, &mut random);
    let entry = thread_entry();
    let ring = SampleRing::new(1 << 20);
    let mut aggregator = aggregator(DEFAULT_MAX_STACKS);
    let mut drain_s = 0.0;
    let mut total_s = 0.0;
    let per_batch = 1000;
    let mut done = 0;
    while done < samples {
        for _ in 0..per_batch {
            let stack = &stacks[random.below(stacks.len())];
            // SAFETY: this thread is the ring's only producer.
            let mut writer = unsafe { ring.reserve(DEPTH) }.expect("room");
            for frame in stack {
                writer.push(*frame);
            }
            writer.commit(header());
        }
        let start = cpu_seconds();
        let mut batch = SampleBatch::new(entry.clone());
        ring.drain(|h, f| batch.push(h, f));
        let drained = cpu_seconds();
        aggregator.add(&batch, None);
        drain_s += drained - start;
        total_s += cpu_seconds() - start;
        done += per_batch;
    }
    (done as f64 / total_s, done as f64 / (total_s - drain_s))
}

/// An aggregator as the agent's session keeps one (50k stacks per slice), with `table`
/// distinct frames resolved already: fed in stacks of `DEPTH` new frames, emptied every
/// 10k stacks as each slice empties it, so the table never fills.
fn aggregator_with_frames(
    table: usize,
    entry: &std::sync::Arc<sampler::ThreadEntry>,
) -> Aggregator {
    let mut aggregator = aggregator(50_000);
    let all = frames(table);
    for chunk in all.chunks(DEPTH * 10_000) {
        let mut batch = SampleBatch::new(entry.clone());
        for stack in chunk.chunks(DEPTH) {
            batch.push(header(), stack.iter().copied());
        }
        aggregator.add(&batch, None);
        aggregator.clear_stacks();
    }
    assert!(aggregator.frames_len() >= table);
    aggregator
}

/// The agent's work for one second of samples: 8 threads at 99 Hz from a working set of
/// 5000 stacks, then the slice (the profile since the last one, only the frames it uses),
/// then its merge into the window. Returns the CPU seconds it took.
fn one_slice(
    aggregator: &mut Aggregator,
    window: &mut flamegraph::Profile,
    stacks: &[Vec<RawFrame>],
    random: &mut Random,
    entry: &std::sync::Arc<sampler::ThreadEntry>,
) -> f64 {
    let mut batch = SampleBatch::new(entry.clone());
    for _ in 0..8 * 99 {
        batch.push(header(), stacks[random.below(stacks.len())].iter().copied());
    }
    let start = cpu_seconds();
    aggregator.add(&batch, None);
    let slice = aggregator.profile(ProfileMeta::default());
    aggregator.clear_stacks();
    window.merge_bounded(&slice, 50_000);
    cpu_seconds() - start
}

/// The agent's CPU per one-second slice with 1k and with 490k frames already resolved,
/// alternating slice by slice; medians over 300 slices each, in milliseconds. Also what the
/// code before slices carried only their frames added per slice at 490k: a copy of the
/// whole frame table, then dropping the unused frames again.
fn slice_cost() -> (f64, f64, f64) {
    let entry = thread_entry();
    let mut random = Random(3);
    let working_set = stacks(&frames(1000), 5000, &mut random);
    let mut small = aggregator_with_frames(1_000, &entry);
    let mut large = aggregator_with_frames(490_000, &entry);
    let (mut small_ms, mut large_ms) = (Vec::new(), Vec::new());
    let mut windows = [
        flamegraph::Profile::default(),
        flamegraph::Profile::default(),
    ];
    for round in 0..300 {
        if round % 10 == 0 {
            windows = Default::default();
        }
        small_ms.push(
            1e3 * one_slice(
                &mut small,
                &mut windows[0],
                &working_set,
                &mut random,
                &entry,
            ),
        );
        large_ms.push(
            1e3 * one_slice(
                &mut large,
                &mut windows[1],
                &working_set,
                &mut random,
                &entry,
            ),
        );
    }
    // The old extra work, per slice: the whole table copied, then compacted.
    let mut table = flamegraph::Profile::default();
    for i in 0..490_000u32 {
        table
            .frames
            .intern(flamegraph::Frame::python(&format!("f{i}"), "m.py", i, 1));
    }
    let mut old_ms = Vec::new();
    for _ in 0..20 {
        let start = cpu_seconds();
        let copy = table.clone();
        let compacted = copy.compact();
        old_ms.push(1e3 * (cpu_seconds() - start));
        drop(compacted);
    }
    (median(small_ms), median(large_ms), median(old_ms))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let (pipeline_rate, aggregate_rate) = pipeline_throughput(2_000_000);
    let (slice_1k_ms, slice_490k_ms, old_copy_490k_ms) = slice_cost();

    // A profile of 100k distinct stacks, and the writers on it.
    let mut random = Random(2);
    let frames_100k = frames(5000);
    let stacks_100k = stacks(&frames_100k, 100_000, &mut random);
    let entry = thread_entry();
    let mut aggregator_100k = aggregator(DEFAULT_MAX_STACKS);
    for chunk in stacks_100k.chunks(10_000) {
        let mut batch = SampleBatch::new(entry.clone());
        for stack in chunk {
            batch.push(header(), stack.iter().copied());
        }
        aggregator_100k.add(&batch, None);
    }
    let profile = aggregator_100k.profile(ProfileMeta {
        title: "bench".to_owned(),
        rate_hz: 99,
        ..ProfileMeta::default()
    });
    assert_eq!(profile.threads[0].stacks.len(), 100_000);
    let time = |write: &dyn Fn(&mut Vec<u8>)| {
        let mut out = Vec::new();
        let start = cpu_seconds();
        write(&mut out);
        (cpu_seconds() - start, out.len())
    };
    let (svg_s, svg_bytes) =
        time(&|out| svg::write(&profile, &WriteOptions::default(), out).unwrap());
    let (pprof_s, pprof_bytes) =
        time(&|out| pprof::write(&profile, &WriteOptions::default(), out).unwrap());
    let (folded_s, _) =
        time(&|out| folded::write(&profile, &WriteOptions::default(), out).unwrap());
    let (speedscope_s, _) =
        time(&|out| speedscope::write(&profile, &WriteOptions::default(), out).unwrap());
    drop(profile);
    drop(aggregator_100k);

    // Memory bound: a 10-minute recording of 8 threads at 99 Hz (475k samples) whose program
    // has 300k distinct stacks, against the default bound.
    let stacks_300k = stacks(&frames_100k, 300_000, &mut random);
    let live_before = live_mib();
    let mut bounded = aggregator(DEFAULT_MAX_STACKS);
    let mut batch = SampleBatch::new(entry.clone());
    for i in 0..475_200usize {
        let stack = &stacks_300k[(i * 7919) % stacks_300k.len()];
        batch.push(header(), stack.iter().copied());
        if batch.samples.len() == 10_000 {
            bounded.add(&batch, None);
            batch = SampleBatch::new(entry.clone());
        }
    }
    bounded.add(&batch, None);
    drop(batch);
    let aggregator_mib = live_mib() - live_before;
    let bounded_profile = bounded.profile(ProfileMeta::default());
    let kept = bounded_profile.threads[0].stacks.len();
    let total = bounded_profile.total().get(0);

    println!(
        "{{\"pipeline_samples_per_s\": {pipeline_rate:.0}, \"aggregate_samples_per_s\": {aggregate_rate:.0}, \
         \"svg_100k_s\": {svg_s:.3}, \"svg_100k_bytes\": {svg_bytes}, \"pprof_100k_s\": {pprof_s:.3}, \
         \"pprof_100k_bytes\": {pprof_bytes}, \"folded_100k_s\": {folded_s:.3}, \
         \"speedscope_100k_s\": {speedscope_s:.3}, \"bound_stacks\": {DEFAULT_MAX_STACKS}, \
         \"bound_kept_stacks\": {kept}, \"bound_samples\": {total}, \
         \"bound_overflowed\": {}, \"bound_aggregator_mib\": {aggregator_mib:.1}, \
         \"slice_1k_frames_ms\": {slice_1k_ms:.3}, \"slice_490k_frames_ms\": {slice_490k_ms:.3}, \
         \"old_table_copy_490k_ms\": {old_copy_490k_ms:.3}}}",
        bounded.overflowed_samples()
    );
}
