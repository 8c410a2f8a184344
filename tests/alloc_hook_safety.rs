//! Proof that the allocation hook never allocates: the sampling allocator wraps, as it
//! would wrap any allocator, a checking one that counts every call made while the hook's
//! slow path runs, during real multithreaded Python programs with allocation sampling at
//! the smallest interval (a sample every KiB or so) and the SIGPROF handler interrupting
//! at 5 kHz, and frees of sampled blocks on other threads than the allocating ones.
//!
//! One test in this file: the allocator and signals are process-wide.

use std::sync::atomic::{AtomicU64, Ordering};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::CountingAllocator;

use rpprof::python::{native, Program, PythonRun};
use sampler::alloc::{in_hook, SamplingAllocator, MIN_INTERVAL};
use sampler::{Mode, SamplerConfig};
use session::{Session, SessionConfig};

static CALLS_IN_HOOK: AtomicU64 = AtomicU64::new(0);

/// The system allocator, counting calls that come from inside the hook, wrapped by ours.
#[global_allocator]
static ALLOCATOR: SamplingAllocator<CountingAllocator> =
    SamplingAllocator::new(CountingAllocator::new(in_hook, &CALLS_IN_HOOK));

const WORKLOAD: &str = r#"
import queue, sys, threading
THREADS = int(sys.argv[1])
handoff = queue.Queue()

def producer():
    # Builds objects of every size; the consumer frees them on another thread.
    for i in range(3000):
        handoff.put([str(j) * (i % 7 + 1) for j in range(i % 50)] + [bytearray(i * 16)])
    handoff.put(None)

def consumer():
    kept = {}
    while (item := handoff.get()) is not None:
        kept[len(kept) % 64] = item        # frees what was there
    kept.clear()

def churn():
    data = []
    for i in range(20000):
        data.append({"k": i, "v": str(i) * 3})
        if len(data) > 500:
            del data[:250]

threads = [threading.Thread(target=producer, name="producer"),
           threading.Thread(target=consumer, name="consumer")]
threads += [threading.Thread(target=churn, name=f"churn-{i}") for i in range(THREADS)]
for t in threads:
    t.start()
churn()
for t in threads:
    t.join()
"#;

fn record(threads: usize) -> (u64, u64) {
    let program = Program::Code {
        source: WORKLOAD.to_owned(),
        args: vec![threads.to_string()],
    };
    let python = PythonRun::new(program, native::add_modules);
    python
        .enter(native::install)
        .expect("rpprof module installs");
    let mut config = SessionConfig::new(
        SamplerConfig {
            rate_hz: 5000,
            mode: Mode::Cpu,
            max_depth: 128,
        },
        "hook test",
    );
    config.alloc_interval = Some(MIN_INTERVAL);
    let recording = Session::start(config).expect("sampling starts");
    let exception = python.run_main();
    assert!(exception.is_none(), "the workload ran cleanly");
    python.finish(None);
    let recorded = recording.finish();
    let allocs = recorded.allocs.expect("allocations were sampled");
    (allocs.samples, recorded.report.stats.samples)
}

#[test]
fn the_allocation_hook_allocates_nothing() {
    let (allocs_small, signals_small) = record(2);
    let (allocs_many, signals_many) = record(32);
    assert!(
        allocs_small > 1000,
        "the hook sampled often: {allocs_small}"
    );
    assert!(allocs_many > 1000, "the hook sampled often: {allocs_many}");
    assert!(signals_small + signals_many > 100, "the handler ran too");
    assert_eq!(
        CALLS_IN_HOOK.load(Ordering::Relaxed),
        0,
        "allocator calls made inside the allocation hook over {} samples",
        allocs_small + allocs_many
    );
}
