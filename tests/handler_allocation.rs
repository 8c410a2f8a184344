//! Proof that the SIGPROF handler allocates nothing: a counting global allocator counts
//! every allocation and free made while a thread is inside the handler, during a real
//! multithreaded Python program sampled at 2 kHz in CPU mode, 1 kHz in wall mode, and with
//! 64 threads at 10 kHz, in this process, with label sets active (`rpprof.labels`) and one
//! thread running asyncio tasks (whose names the handler copies); stack dumps (whose
//! stacks the same handler reads) are taken all the while.
//!
//! One test in this file: signals are process-wide, so it runs alone in its own process.

use std::sync::atomic::{AtomicU64, Ordering};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::CountingAllocator;

use rpprof::python::{native, Program, PythonRun};
use sampler::{Mode, SamplerConfig};
use session::{Session, SessionConfig};

static IN_HANDLER_CALLS: AtomicU64 = AtomicU64::new(0);

/// The system allocator, counting calls made inside the handler.
#[global_allocator]
static ALLOCATOR: CountingAllocator =
    CountingAllocator::new(sampler::handler::in_handler, &IN_HANDLER_CALLS);

const WORKLOAD: &str = r#"
import sys, threading, time, rpprof
THREADS = int(sys.argv[1])
ROUNDS = int(sys.argv[2])

def leaf(n):
    total = 0
    for i in range(n):
        total = (total + i * i) % 10007
    return total

def middle(depth, n):
    return leaf(n) if depth == 0 else middle(depth - 1, n)

def worker():
    for n in range(ROUNDS):
        # A label set active, as the handler reads it.
        with rpprof.labels(worker=threading.current_thread().name, round=str(n % 3)):
            middle(25, 150_000)
        [str(i) for i in range(20_000)]   # allocation-heavy Python, for contrast

def napper():
    for _ in range(20):
        time.sleep(0.01)                  # idle: parked (CPU mode) or repeated (wall mode)
    import asyncio                        # asyncio tasks: the handler copies their names

    async def stepper(n):
        for _ in range(n):
            leaf(30_000)
            await asyncio.sleep(0)

    async def tasks():
        await asyncio.gather(*(asyncio.create_task(stepper(20), name=f"task-{i}") for i in range(3)))

    asyncio.run(tasks())

threads = [threading.Thread(target=worker, name=f"w{i}") for i in range(THREADS - 2)]
threads.append(threading.Thread(target=napper, name="napper"))
for t in threads:
    t.start()
worker()
for t in threads:
    t.join()
"#;

/// Runs the workload (`threads` threads, `rounds` rounds of work each) under a recording
/// with `mode` at `rate_hz`, with a stack dump every 20 ms; returns the samples and dumps.
fn record_workload(mode: Mode, rate_hz: u32, threads: usize, rounds: usize) -> (u64, u64) {
    let program = Program::Code {
        source: WORKLOAD.to_owned(),
        args: vec![threads.to_string(), rounds.to_string()],
    };
    let python = PythonRun::new(program, native::add_modules);
    python
        .enter(native::install)
        .expect("rpprof module installs");
    let mut config = SessionConfig::new(
        SamplerConfig {
            rate_hz,
            mode,
            max_depth: 128,
        },
        "allocation test",
    );
    config.keep_idle = true;
    // Name builtin calls in running samples too (`--native`): the most the handler does.
    config.native = true;
    let recording = Session::start(config).expect("sampling starts");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let dumping = stop.clone();
    let dumper = std::thread::spawn(move || {
        let mut dumps = 0;
        while !dumping.load(Ordering::Acquire) {
            let dump = session::StackDump::take().expect("a dump");
            dumps += u64::from(dump.threads.iter().any(|t| t.frames.is_some()));
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        dumps
    });
    let exception = python.run_main();
    stop.store(true, Ordering::Release);
    let dumps = dumper.join().unwrap();
    assert!(exception.is_none(), "the workload ran cleanly");
    python.finish(None);
    let recorded = recording.finish();
    let names: Vec<&str> = recorded
        .profile
        .threads
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert!(
        names.contains(&"w2") && names.contains(&"MainThread"),
        "{names:?}"
    );
    assert!(recorded.profile.has_labels(), "samples carry the labels");
    let profile = &recorded.profile;
    assert!(
        profile
            .frames
            .iter()
            .any(|(_, frame)| frame.task_name().is_some_and(|n| n.starts_with("task-"))),
        "samples taken in asyncio tasks are named"
    );
    (recorded.report.stats.samples, dumps)
}

#[test]
fn the_signal_handler_allocates_nothing() {
    // CPU mode above the tick: per-thread wall-clock timers, parked while idle.
    let (cpu_samples, cpu_dumps) = record_workload(Mode::Cpu, 2000, 5, 4);
    // Wall mode: the ticker signals running threads and repeats idle ones.
    let (wall_samples, wall_dumps) = record_workload(Mode::Wall, 1000, 5, 4);
    // 64 threads at 10 kHz.
    let (busy_samples, busy_dumps) = record_workload(Mode::Cpu, 10_000, 64, 1);
    assert!(
        cpu_dumps + wall_dumps + busy_dumps >= 3,
        "dumps were answered: {cpu_dumps} {wall_dumps} {busy_dumps}"
    );
    assert!(cpu_samples > 500, "the handler ran often: {cpu_samples}");
    assert!(wall_samples > 300, "the handler ran often: {wall_samples}");
    assert!(busy_samples > 2000, "the handler ran often: {busy_samples}");
    assert_eq!(
        IN_HANDLER_CALLS.load(Ordering::Relaxed),
        0,
        "allocator calls made inside the SIGPROF handler over {} samples",
        cpu_samples + wall_samples + busy_samples
    );
}
