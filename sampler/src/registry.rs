//! Which threads are sampled: every Python thread registers itself once, from its own
//! thread, and the registry arms its timer whenever a session runs.
//!
//! Registration happens on the thread because that is where its kernel TID, CPU clock and
//! interpreter state are at hand, and because the handler finds the thread's entry through a
//! thread-local pointer that only the thread itself can set. A guard in a second thread-local
//! unregisters the thread when it exits: it clears the pointer first (so a late signal finds
//! nothing), then stops the thread's timers.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use rustpython_vm::vm::thread::ThreadSlot;

use crate::alloc::record::AllocRing;
use crate::interpreter_slot::InterpreterSlot;
use crate::owned::Owned;
use crate::raw::ThreadState;
use crate::ring::{RepeatRing, SampleRing};
use crate::ring_pool;
use crate::snapshot_slot::SnapshotSlot;
use crate::stack_id::FrameTrail;
use crate::timer::{clock_ns, monotonic_ns, thread_cpu_ns, Driver, ThreadTimers};

thread_local! {
    /// The calling thread's entry, or null. Read by the signal handler: a `const`
    /// thread-local of a type without a destructor needs no lazy initialisation, so reading
    /// it is async-signal-safe.
    pub(crate) static CURRENT: Cell<*const ThreadEntry> = const { Cell::new(std::ptr::null()) };

    /// Keeps the entry alive while the thread lives, and unregisters the thread when it
    /// exits.
    static GUARD: RefCell<Option<ExitGuard>> = const { RefCell::new(None) };
}

/// One registered thread.
pub struct ThreadEntry {
    key: u32,
    tid: libc::pid_t,
    ident: u64,
    cpu_clock: libc::clockid_t,
    name: Mutex<String>,
    alive: AtomicBool,
    final_cpu_ns: AtomicU64,
    /// The thread's CPU clock when a session last armed it.
    armed_cpu_ns: AtomicU64,
    /// Its samples; created the first time a session arms the thread, given back to the
    /// ring pool once it has ended and its records were drained ([`ThreadEntry::release_rings`]).
    pub(crate) ring: Owned<SampleRing>,
    /// The ticker's "stack unchanged" records for it (wall mode), created with `ring`.
    pub(crate) repeats: Owned<RepeatRing>,
    /// Its allocation samples, written by its allocator hook; created when an allocation
    /// sampling session first covers the thread, given back with `ring`.
    pub(crate) alloc_ring: Owned<AllocRing>,
    /// How many samples its handler has written (the last one's number).
    pub(crate) sample_seq: AtomicU64,
    /// The thread's CPU clock when the ticker last signalled it.
    pub(crate) cpu_at_signal: AtomicU64,
    /// The thread's CPU clock when the ticker last found its stack to be its last sample's
    /// (`u64::MAX`: not since it last signalled it): while the clock stays there, the thread
    /// has not run, so neither has its stack moved.
    pub(crate) cpu_checked: AtomicU64,
    /// Its last sample found it blocked (idle).
    pub(crate) last_sample_idle: AtomicBool,
    /// The identity of its last sample's stack ([`crate::stack_id`]).
    pub(crate) stack_id: AtomicU64,
    /// Where its last sample's frames were, for the ticker; created when first armed.
    pub(crate) trail: OnceLock<FrameTrail>,
    /// The thread's CPU clock at its previous sample (CPU mode weights).
    pub(crate) last_cpu_ns: AtomicU64,
    /// `CLOCK_MONOTONIC` at its previous sample (wall mode weights).
    pub(crate) last_wall_ns: AtomicU64,
    /// RustPython's slot for this thread, whose `state` says whether it runs bytecode; held
    /// until the thread ends, and not a moment longer ([`crate::interpreter_slot`]).
    interpreter_slot: InterpreterSlot,
    /// Its timers: created the first time a timer-driven session arms it (under the
    /// registry lock), deleted when the thread exits (by its exit guard, under the same
    /// lock, with SIGPROF blocked on the thread, so its handler cannot be using them).
    timers: AtomicPtr<ThreadTimers>,
    /// A session wants it sampled (its handler stops its timers when this is false).
    pub(crate) armed: AtomicBool,
    /// Where its handler puts its stack when a dump asks ([`crate::snapshot`]).
    pub(crate) snapshot: OnceLock<SnapshotSlot>,
    /// `CLOCK_MONOTONIC` when it registered.
    started_ns: u64,
    /// `CLOCK_MONOTONIC` when it exited (0 while it lives).
    exited_ns: AtomicU64,
    /// Its wall-clock timer is parked on its CPU clock ([`Driver::WallClockTimers`]).
    pub(crate) parked: AtomicBool,
}

impl ThreadEntry {
    /// A small number naming this registration, unique within the process.
    pub fn key(&self) -> u32 {
        self.key
    }

    /// The kernel thread id (`gettid()`).
    pub fn tid(&self) -> i32 {
        self.tid
    }

    /// Python's `threading.get_ident()` (`pthread_self()`).
    pub fn ident(&self) -> u64 {
        self.ident
    }

    /// The thread's name as the program last set it.
    pub fn name(&self) -> String {
        lock(&self.name).clone()
    }

    /// Renames the thread.
    pub fn set_name(&self, name: &str) {
        *lock(&self.name) = name.to_owned();
    }

    /// `CLOCK_MONOTONIC` time at which the thread registered (about when it started).
    pub fn started_ns(&self) -> u64 {
        self.started_ns
    }

    /// `CLOCK_MONOTONIC` time at which the thread exited, if it has.
    pub fn exited_ns(&self) -> Option<u64> {
        Some(self.exited_ns.load(Ordering::Acquire)).filter(|&ns| ns != 0)
    }

    /// False once the thread has exited.
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    /// CPU time the thread has used, in nanoseconds (final once it has exited).
    pub fn cpu_time_ns(&self) -> u64 {
        if self.is_alive() {
            if let Some(ns) = clock_ns(self.cpu_clock) {
                return ns;
            }
        }
        self.final_cpu_ns.load(Ordering::Acquire)
    }

    /// CPU time the thread has used since a session last armed it.
    pub fn cpu_time_since_armed_ns(&self) -> u64 {
        self.cpu_time_ns()
            .saturating_sub(self.armed_cpu_ns.load(Ordering::Acquire))
    }

    /// What the interpreter says the thread is doing now (async-signal-safe: one atomic load).
    #[inline]
    pub fn state(&self) -> ThreadState {
        self.interpreter_slot
            .read(|slot| ThreadState::from_interpreter(slot.state.load(Ordering::Relaxed)))
            .unwrap_or(ThreadState::Unknown)
    }

    /// The address of the thread's innermost Python frame, as the interpreter publishes it
    /// for other threads (0: none, or not known). Only an address: the frame may be gone by
    /// the time it is used ([`crate::stack_id`] reads it safely).
    pub(crate) fn published_top_frame(&self) -> usize {
        self.interpreter_slot
            .read(|slot| slot.top_iframe.load(Ordering::Acquire))
            .unwrap_or(0)
    }

    /// The thread's CPU clock, in nanoseconds, while it lives.
    pub(crate) fn cpu_now_ns(&self) -> Option<u64> {
        clock_ns(self.cpu_clock)
    }

    fn arm(&self, spec: &ArmSpec) -> Result<(), std::io::Error> {
        self.ring
            .get_or_init(|| SampleRing::from_words(ring_pool::take(spec.ring_words)));
        self.repeats.get_or_init(|| {
            RepeatRing::from_words(ring_pool::take(RepeatRing::words_for(spec.repeat_records)))
        });
        if let Some(cpu) = clock_ns(self.cpu_clock) {
            self.last_cpu_ns.store(cpu, Ordering::Relaxed);
            self.armed_cpu_ns.store(cpu, Ordering::Release);
        }
        self.last_wall_ns.store(monotonic_ns(), Ordering::Relaxed);
        self.parked.store(false, Ordering::Relaxed);
        self.trail.get_or_init(FrameTrail::new);
        // The ticker's first look at the thread in this session signals it.
        self.stack_id
            .store(crate::stack_id::NO_STACK_ID, Ordering::Release);
        self.cpu_checked.store(u64::MAX, Ordering::Release);
        self.armed.store(true, Ordering::Release);
        let first = 1 + spread(self.tid as u64 ^ monotonic_ns()) % spec.period_ns;
        match spec.driver {
            Driver::CpuClockTimers => self.timers()?.set_cpu(first, spec.period_ns),
            Driver::WallClockTimers => self.timers()?.set_wall(first, spec.period_ns),
            Driver::Ticker => {}
        }
        Ok(())
    }

    /// The thread's timers, created if needed. Call with the registry lock held.
    fn timers(&self) -> Result<&ThreadTimers, std::io::Error> {
        if let Some(timers) = self.current_timers() {
            return Ok(timers);
        }
        let created = Box::into_raw(Box::new(ThreadTimers::create(self.cpu_clock, self.tid)?));
        self.timers.store(created, Ordering::Release);
        // SAFETY: just stored; freed only by `delete_timers`, which also needs the lock.
        Ok(unsafe { &*created })
    }

    /// The thread's timers, if it has any. Safe to call from the thread's own handler (the
    /// timers are deleted only with SIGPROF blocked on this thread) and with the registry
    /// lock held.
    #[inline]
    pub(crate) fn current_timers(&self) -> Option<&ThreadTimers> {
        let timers = self.timers.load(Ordering::Acquire);
        // SAFETY: non-null timers stay alive until `delete_timers`, which callers of this
        // function exclude (see above).
        (!timers.is_null()).then(|| unsafe { &*timers })
    }

    /// Deletes the thread's timers. Call with the registry lock held, from a place where
    /// this thread's handler cannot run.
    fn delete_timers(&self) {
        let timers = self.timers.swap(std::ptr::null_mut(), Ordering::AcqRel);
        if !timers.is_null() {
            // SAFETY: the pointer came from Box::into_raw in `timers` and is taken once.
            drop(unsafe { Box::from_raw(timers) });
        }
    }

    fn disarm(&self) {
        self.armed.store(false, Ordering::Release);
        if let Some(timers) = self.current_timers() {
            timers.stop();
        }
    }

    /// Gives the ended thread's rings back to the pool. Call with the registry lock held,
    /// once the thread has ended (its handler and allocator hook write no more: its
    /// `CURRENT` was cleared first) and where no drain thread can be reading them: from
    /// the drain thread itself after its last drain of the thread ([`forget_dead`]), or
    /// while no session collects. The ticker reads them only under the lock.
    fn release_rings(&self) {
        debug_assert!(!self.is_alive());
        // SAFETY: as above: nothing holds or will take a reference to these rings.
        unsafe {
            if let Some(ring) = self.ring.take() {
                ring_pool::give(ring.into_words());
            }
            if let Some(ring) = self.repeats.take() {
                ring_pool::give(ring.into_words());
            }
            if let Some(ring) = self.alloc_ring.take() {
                ring_pool::give(ring.into_words());
            }
        }
    }
}

/// How a session wants each thread armed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ArmSpec {
    pub driver: Driver,
    pub period_ns: u64,
    pub ring_words: usize,
    pub repeat_records: usize,
}

struct Registry {
    /// Live threads, and threads that ended while a session collected records whose last
    /// records the drain thread has not taken yet.
    threads: Vec<Arc<ThreadEntry>>,
    armed: Option<ArmSpec>,
    /// Words of the allocation ring each thread gets while allocation sampling runs.
    alloc_ring_words: Option<usize>,
    /// A session's drain thread takes records (from [`arm_all`] until
    /// [`end_collection`]): a thread that ends meanwhile stays listed until its last
    /// records are drained ([`forget_dead`]). Otherwise an ending thread is forgotten at
    /// once: nothing else may keep a thread that has ended (a thread-per-request server
    /// starts millions of them).
    collecting: bool,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    threads: Vec::new(),
    armed: None,
    alloc_ring_words: None,
    collecting: false,
});
static NEXT_KEY: AtomicU32 = AtomicU32::new(1);

fn registry() -> MutexGuard<'static, Registry> {
    lock(&REGISTRY)
}

/// Locks a mutex, carrying on if a panicking thread poisoned it: the data it guards stays
/// consistent at every await point.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// True in a forked child until [`reset_in_forked_child`]: the registry lists the parent's
/// threads, most of which do not exist here.
static PARENTS_REGISTRY: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// The registry's lock, held by the forking thread from just before `fork()` until just
    /// after it, on both sides (see [`crate::lifecycle`]).
    static HELD_FOR_FORK: RefCell<Option<MutexGuard<'static, Registry>>> =
        const { RefCell::new(None) };
}

/// Takes the registry's lock for the fork about to happen on this thread.
pub(crate) fn hold_for_fork() {
    let guard = registry();
    HELD_FOR_FORK.with(|held| *held.borrow_mut() = Some(guard));
}

/// Releases the lock [`hold_for_fork`] took; in the child, marks the registry as the
/// parent's first.
pub(crate) fn release_after_fork(in_child: bool) {
    if in_child {
        PARENTS_REGISTRY.store(true, Ordering::Release);
    }
    HELD_FOR_FORK.with(|held| drop(held.borrow_mut().take()));
}

/// In a forked child: forgets every thread the parent registered (leaking their entries:
/// dropping one would delete timers by ids that are not this process's) and the calling
/// thread's registration, so that it can register again. Returns the name it had.
pub(crate) fn reset_in_forked_child() -> Option<String> {
    let old = GUARD.with(|guard| guard.borrow_mut().take());
    CURRENT.with(|current| current.set(std::ptr::null()));
    // Its name lock may have been held by a thread that did not survive the fork.
    let name = old
        .as_ref()
        .and_then(|guard| guard.entry.name.try_lock().ok().map(|name| name.clone()));
    std::mem::forget(old);
    let mut registry = registry();
    for entry in registry.threads.drain(..) {
        std::mem::forget(entry);
    }
    registry.armed = None;
    registry.collecting = false;
    ENDED_THREADS_CPU_NS.store(0, Ordering::Release);
    PARENTS_REGISTRY.store(false, Ordering::Release);
    name
}

/// CPU time of the registered threads that have ended (in this process), nanoseconds.
static ENDED_THREADS_CPU_NS: AtomicU64 = AtomicU64::new(0);

/// CPU time every registered (Python) thread has used, those that have ended included:
/// the program's CPU, as opposed to the profiler's own threads'. It includes the signal
/// handler's time, which runs on the program's threads.
pub fn python_threads_cpu_ns() -> u64 {
    let registry = registry();
    let live: u64 = registry
        .threads
        .iter()
        .filter(|e| e.is_alive())
        .map(|e| e.cpu_time_ns())
        .sum();
    // Read under the lock: an ending thread moves its time from `live` to the sum under it.
    live + ENDED_THREADS_CPU_NS.load(Ordering::Acquire)
}

/// Timers that could not be armed for a thread that registered during a session.
static ARM_FAILURES: AtomicU64 = AtomicU64::new(0);

/// How many threads that started during a session could not get a timer (and so were not
/// sampled).
pub fn arm_failures() -> u64 {
    ARM_FAILURES.load(Ordering::Relaxed)
}

/// Registers the calling thread under `name`, or renames it if it is registered already.
/// `interpreter_slot` is RustPython's slot for the thread, whose state tells running from
/// idle. If a session is running, the thread's timer is armed at once; if that fails the
/// thread runs unsampled and [`arm_failures`] counts it (a thread start never fails here).
pub fn register_current_thread(
    name: &str,
    interpreter_slot: Option<Arc<ThreadSlot>>,
) -> Arc<ThreadEntry> {
    if let Some(entry) = current_entry() {
        entry.set_name(name);
        return entry;
    }
    let parents_registry = PARENTS_REGISTRY.load(Ordering::Acquire);
    // SAFETY: gettid and pthread_self have no preconditions.
    let (tid, ident) = unsafe { (libc::gettid(), libc::pthread_self() as u64) };
    let mut cpu_clock: libc::clockid_t = 0;
    // SAFETY: pthread_self() is a live thread (this one); cpu_clock is valid for writing.
    if unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut cpu_clock) } != 0 {
        cpu_clock = libc::CLOCK_THREAD_CPUTIME_ID;
    }
    let entry = Arc::new(ThreadEntry {
        key: NEXT_KEY.fetch_add(1, Ordering::Relaxed),
        tid,
        ident,
        cpu_clock,
        name: Mutex::new(name.to_owned()),
        alive: AtomicBool::new(true),
        final_cpu_ns: AtomicU64::new(0),
        armed_cpu_ns: AtomicU64::new(0),
        ring: Owned::new(),
        repeats: Owned::new(),
        alloc_ring: Owned::new(),
        sample_seq: AtomicU64::new(0),
        cpu_at_signal: AtomicU64::new(0),
        cpu_checked: AtomicU64::new(u64::MAX),
        last_sample_idle: AtomicBool::new(false),
        stack_id: AtomicU64::new(crate::stack_id::NO_STACK_ID),
        trail: OnceLock::new(),
        last_cpu_ns: AtomicU64::new(0),
        last_wall_ns: AtomicU64::new(0),
        interpreter_slot: InterpreterSlot::new(interpreter_slot),
        timers: AtomicPtr::new(std::ptr::null_mut()),
        armed: AtomicBool::new(false),
        parked: AtomicBool::new(false),
        snapshot: OnceLock::new(),
        started_ns: monotonic_ns(),
        exited_ns: AtomicU64::new(0),
    });
    GUARD.with(|guard| {
        *guard.borrow_mut() = Some(ExitGuard {
            entry: entry.clone(),
        })
    });
    CURRENT.with(|current| current.set(Arc::as_ptr(&entry)));
    if parents_registry {
        // A forked child before `reset_after_fork`: the registry holds the parent's threads
        // and is not this process's to change.
        return entry;
    }
    let mut registry = registry();
    registry.threads.push(entry.clone());
    if let Some(spec) = registry.armed {
        if entry.arm(&spec).is_err() {
            ARM_FAILURES.fetch_add(1, Ordering::Relaxed);
        }
    }
    if let Some(words) = registry.alloc_ring_words {
        entry.alloc_ring.get_or_init(|| AllocRing::new(words));
    }
    entry
}

/// Gives every live registered thread, and every thread that registers from now on, an
/// allocation ring of `words` words (`None`: threads that register later get none).
pub(crate) fn set_alloc_rings(words: Option<usize>) {
    let mut registry = registry();
    registry.alloc_ring_words = words;
    if let Some(words) = words {
        for entry in registry.threads.iter().filter(|e| e.is_alive()) {
            entry.alloc_ring.get_or_init(|| AllocRing::new(words));
        }
    }
}

/// The calling thread's entry, if it registered.
pub fn current_entry() -> Option<Arc<ThreadEntry>> {
    GUARD.with(|guard| guard.borrow().as_ref().map(|g| g.entry.clone()))
}

/// Every registered thread that is alive, or dead with samples not yet drained.
pub fn registered_threads() -> Vec<Arc<ThreadEntry>> {
    registry().threads.clone()
}

/// Arms every registered thread, and every thread that registers until [`disarm_all`].
/// A thread whose timer cannot be armed is reported; the others stay armed.
pub(crate) fn arm_all(spec: ArmSpec) -> Result<(), crate::SamplerError> {
    let mut registry = registry();
    registry.armed = Some(spec);
    for entry in registry.threads.iter().filter(|e| e.is_alive()) {
        entry
            .arm(&spec)
            .map_err(|source| crate::SamplerError::Timer {
                tid: entry.tid,
                source,
            })?;
    }
    Ok(())
}

/// Deletes every thread's timer; threads that register later are not armed.
pub(crate) fn disarm_all() {
    let mut registry = registry();
    registry.armed = None;
    for entry in &registry.threads {
        entry.disarm();
    }
}

/// Before a session's drain thread starts: threads that end from now on stay listed until
/// drained. Threads that ended before have nothing for this session.
pub(crate) fn begin_collection() {
    let mut registry = registry();
    registry.collecting = true;
    forget_ended(&mut registry.threads);
}

/// After a session's drain thread has stopped: forgets every thread that has ended, and
/// from now on forgets threads as they end.
pub(crate) fn end_collection() {
    let mut registry = registry();
    registry.collecting = false;
    forget_ended(&mut registry.threads);
}

/// Removes the threads that have ended, giving their rings back (registry lock held, no
/// drain thread running).
fn forget_ended(threads: &mut Vec<Arc<ThreadEntry>>) {
    threads.retain(|e| {
        let alive = e.is_alive();
        if !alive {
            e.release_rings();
        }
        alive
    });
}

/// Runs `visit` over the registered threads with the registry locked: the ticker's pass,
/// during which no thread's rings can be given back.
pub(crate) fn with_threads(visit: impl FnOnce(&[Arc<ThreadEntry>])) {
    visit(&registry().threads);
}

/// Forgets threads that have exited, once the caller has drained their rings.
pub(crate) fn forget_dead(drained: &[Arc<ThreadEntry>]) {
    if drained.is_empty() {
        return;
    }
    registry().threads.retain(|e| {
        let forget = !e.is_alive() && drained.iter().any(|d| Arc::ptr_eq(d, e));
        if forget {
            // Called by the drain thread after its last drain of these threads.
            e.release_rings();
        }
        !forget
    });
}

struct ExitGuard {
    entry: Arc<ThreadEntry>,
}

impl Drop for ExitGuard {
    fn drop(&mut self) {
        // Order matters: once CURRENT is null a signal on this thread records nothing, so the
        // timers can stop.
        CURRENT.with(|current| current.set(std::ptr::null()));
        self.entry
            .final_cpu_ns
            .store(thread_cpu_ns(), Ordering::Release);
        self.entry
            .exited_ns
            .store(monotonic_ns(), Ordering::Release);
        // RustPython's slot goes now, whatever keeps the entry listed: it holds the thread's
        // QSBR registration (see `crate::interpreter_slot`).
        self.entry.interpreter_slot.release();
        // Under the registry lock, so that `arm_all` never arms a thread that is exiting,
        // and with SIGPROF blocked, so that this thread's handler does not run while its
        // timers are deleted (no other thread's handler touches them).
        let _blocked = SigprofBlocked::new();
        if PARENTS_REGISTRY.load(Ordering::Acquire) {
            // As in registration: the registry is the parent's.
            self.entry.alive.store(false, Ordering::Release);
            return;
        }
        let mut registry = registry();
        self.entry.alive.store(false, Ordering::Release);
        ENDED_THREADS_CPU_NS.fetch_add(
            self.entry.final_cpu_ns.load(Ordering::Acquire),
            Ordering::AcqRel,
        );
        self.entry.disarm();
        self.entry.delete_timers();
        if !registry.collecting {
            // No drain thread will take its records: forget it now.
            registry.threads.retain(|e| !Arc::ptr_eq(e, &self.entry));
            self.entry.release_rings();
        }
    }
}

impl Drop for ThreadEntry {
    fn drop(&mut self) {
        // A thread that never exited (the main thread at process end) still has its timers;
        // nothing can reach the entry any more, so no handler uses them.
        self.delete_timers();
        // Rings not given back yet (a thread that never ended) are freed with the entry.
    }
}

/// Blocks SIGPROF on the calling thread until dropped.
struct SigprofBlocked(libc::sigset_t);

impl SigprofBlocked {
    fn new() -> SigprofBlocked {
        // SAFETY: sigset_t is plain data; sigemptyset/sigaddset initialise it, and
        // pthread_sigmask stores the previous mask in `old`.
        unsafe {
            let mut block: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut block);
            libc::sigaddset(&mut block, libc::SIGPROF);
            libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut old);
            SigprofBlocked(old)
        }
    }
}

impl Drop for SigprofBlocked {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved in `new`.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.0, std::ptr::null_mut()) };
    }
}

/// A cheap hash (splitmix64) to spread first expiries over the period, so that threads do
/// not all fire together and the rate does not lock step with periodic work.
fn spread(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
