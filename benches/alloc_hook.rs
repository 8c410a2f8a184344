//! The allocation hook's own cost, in process: the same chunk of allocations and frees
//! (sizes 16 B to 4 KiB, 64 blocks live at a time) goes alternately through the sampling
//! allocator and straight to the system allocator it wraps, and the thread's CPU time of
//! each chunk is compared pair by pair. First with allocation sampling off (the cost every
//! allocation of every program run by rpprof pays: one thread-local decrement), then with
//! it on at the default interval (a session running). A loop that does nothing but
//! allocate is the worst case: a program pays this per allocation, not per instruction.
//! Prints one JSON object.
//!
//!     cargo bench --ignore-rust-version --bench alloc_hook

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;

use sampler::alloc::{SamplingAllocator, DEFAULT_INTERVAL};
use sampler::{Mode, SamplerConfig};
use session::{Session, SessionConfig};

#[global_allocator]
static ALLOCATOR: SamplingAllocator<System> = SamplingAllocator::new(System);

const OPERATIONS: usize = 400_000;
const LIVE: usize = 64;
const PAIRS: usize = 41;

/// One chunk: `OPERATIONS` allocations (and as many frees) through `alloc`/`free`.
fn chunk(alloc: unsafe fn(Layout) -> *mut u8, free: unsafe fn(*mut u8, Layout)) -> u64 {
    let start = sampler::timer::thread_cpu_ns();
    let mut live: [(*mut u8, Layout); LIVE] = [(std::ptr::null_mut(), Layout::new::<u8>()); LIVE];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for i in 0..OPERATIONS {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let size = 16usize << (state % 9); // 16 B .. 4 KiB
        let layout = Layout::from_size_align(size, 8).expect("a valid layout");
        let slot = &mut live[i % LIVE];
        if !slot.0.is_null() {
            // SAFETY: allocated below with this layout by the same allocator.
            unsafe { free(slot.0, slot.1) };
        }
        // SAFETY: the layout has a nonzero size.
        let block = unsafe { alloc(layout) };
        // SAFETY: the block has at least one byte.
        unsafe { block.write_volatile(i as u8) };
        *slot = (black_box(block), layout);
    }
    for (block, layout) in live {
        if !block.is_null() {
            // SAFETY: as above.
            unsafe { free(block, layout) };
        }
    }
    sampler::timer::thread_cpu_ns() - start
}

// The wrapper's methods called directly, as `System`'s are: both sides skip the
// `__rust_alloc` shim every Rust allocation goes through, so the difference is the hook.
unsafe fn wrapped_alloc(layout: Layout) -> *mut u8 {
    // SAFETY: forwarded with the caller's guarantees.
    unsafe { ALLOCATOR.alloc(layout) }
}

unsafe fn wrapped_free(block: *mut u8, layout: Layout) {
    // SAFETY: forwarded with the caller's guarantees.
    unsafe { ALLOCATOR.dealloc(block, layout) }
}

unsafe fn system_alloc(layout: Layout) -> *mut u8 {
    // SAFETY: forwarded with the caller's guarantees.
    unsafe { System.alloc(layout) }
}

unsafe fn system_free(block: *mut u8, layout: Layout) {
    // SAFETY: forwarded with the caller's guarantees.
    unsafe { System.dealloc(block, layout) }
}

/// Median of per-pair ratios wrapped / system, and the median extra nanoseconds per
/// allocation-and-free.
fn compare() -> (f64, f64) {
    let mut ratios = Vec::new();
    let mut extra = Vec::new();
    chunk(system_alloc, system_free);
    chunk(wrapped_alloc, wrapped_free);
    for pair in 0..PAIRS {
        let (wrapped, system) = if pair % 2 == 0 {
            let w = chunk(wrapped_alloc, wrapped_free);
            (w, chunk(system_alloc, system_free))
        } else {
            let s = chunk(system_alloc, system_free);
            (chunk(wrapped_alloc, wrapped_free), s)
        };
        ratios.push(wrapped as f64 / system as f64);
        extra.push((wrapped as f64 - system as f64) / OPERATIONS as f64);
    }
    (median(&mut ratios), median(&mut extra))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let system_ns = {
        let mut times: Vec<f64> = (0..5)
            .map(|_| chunk(system_alloc, system_free) as f64 / OPERATIONS as f64)
            .collect();
        median(&mut times)
    };
    let (off_ratio, off_extra_ns) = compare();

    sampler::register_current_thread("bench", None);
    let mut config = SessionConfig::new(
        SamplerConfig {
            rate_hz: 99,
            mode: Mode::Cpu,
            max_depth: 128,
        },
        "alloc hook bench",
    );
    config.alloc_interval = Some(DEFAULT_INTERVAL);
    let session = Session::start(config).expect("a session starts");
    let (on_ratio, on_extra_ns) = compare();
    let recorded = session.finish();
    let samples = recorded.allocs.map_or(0, |a| a.samples);

    println!(
        "{{\"operations\": {OPERATIONS}, \"pairs\": {PAIRS}, \"system_ns_per_op\": {system_ns:.2}, \
         \"off_ratio\": {off_ratio:.4}, \"off_extra_ns\": {off_extra_ns:.3}, \
         \"on_ratio\": {on_ratio:.4}, \"on_extra_ns\": {on_extra_ns:.3}, \"on_samples\": {samples}}}"
    );
}
