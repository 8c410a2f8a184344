//! `--subprocesses`: Python children (started by `sys.executable`, which is this binary,
//! or made by `os.fork()`) are profiled with the parent's settings, and their samples reach
//! the parent's profile under one root per process (`python-child (pid N) ARGV...`).
//! A forked child starts from [`profile_forked_child`].
//!
//! The transport is a directory. The parent makes it and names it, with its sampling
//! settings, in [`ENV_VAR`]; every process started later inherits the variable, so
//! grandchildren are profiled too. A child runs its own session and, once a second, writes
//! the slice since the last one as its own gzipped pprof file (`PID-SEQ.pb.gz`, written
//! under a dot-name and renamed, so a reader never sees half a file); at its end it writes
//! the rest. The parent takes (reads and deletes) whatever files are there: at the end of a
//! recording, and for every agent slice.
//!
//! Why files rather than a pipe or a socket to the parent: nothing the child does can block
//! the parent or the child (no buffer to fill, no reader that must keep up), a child killed
//! with SIGKILL loses at most its last second, a child that outlives its parent just writes
//! into a directory nobody reads any more, and the parent needs no reader thread. What it
//! costs, measured (`benches/run_benchmarks.py subprocesses`: a 4-process `Pool.map` of CPU
//! work, spawn, 99 Hz, dev build with optimised dependencies, two shared cores): the total
//! CPU of `record --subprocesses` over `run` was 1.018 (median of 7 alternating pairs),
//! the same as `record` without it (1.019): the children's sessions and their one file a
//! second do not show against the noise; and 0.976-1.020 (median 0.997) of each worker's
//! CPU in its work function reached the parent's profile. A pipe would have to be read as
//! fast as children write (or block them), and would lose what sits in its buffer when the
//! parent stops reading; it was not needed for these figures.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use flamegraph::{pprof, ProcessRoot, Profile, WriteOptions};
use session::{Session, SessionConfig};

use crate::{ending, signals};

/// The variable that tells a Python-mode rpprof to profile itself and deliver its samples:
/// `rate=99;mode=cpu;idle=0;depth=128;alloc=0;dir=/tmp/rpprof-children-...` (`alloc`: the
/// allocation interval in bytes, 0 for none) (`dir` last: the rest of
/// the value is the path).
pub const ENV_VAR: &str = "RPPROF_SUBPROCESSES";

/// How often a child delivers what it sampled.
pub const DELIVERY_PERIOD: Duration = Duration::from_secs(1);

/// The parent's side: the directory children deliver into.
pub struct ChildProfiles {
    dir: PathBuf,
}

impl ChildProfiles {
    /// Makes the directory and names it, with `config`'s settings, in [`ENV_VAR`] for every
    /// process started from now on. Call it before the interpreter starts (Python copies
    /// the environment into `os.environ` then) and before any other thread runs.
    pub fn prepare(config: &SessionConfig) -> anyhow::Result<ChildProfiles> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "rpprof-children-{}-{}-{}",
            std::process::id(),
            session::now_unix_ns(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&dir)
            .with_context(|| format!("cannot make a directory for children: {}", dir.display()))?;
        std::env::set_var(ENV_VAR, encode(config, &dir));
        Ok(ChildProfiles { dir })
    }

    /// Takes every profile children have delivered since the last call (deleting the
    /// files), merged; `None` when there was none. Unreadable files are skipped.
    pub fn take(&self) -> Option<Profile> {
        let entries = std::fs::read_dir(&self.dir).ok()?;
        let mut taken: Option<Profile> = None;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| is_delivery(path))
            .collect();
        // Each child's deliveries in the order it wrote them (`PID-SEQ.pb.gz`).
        paths.sort_by_key(|path| delivery_order(path));
        let mut child: Option<(u64, Profile)> = None;
        for path in paths {
            let bytes = std::fs::read(&path);
            let _ = std::fs::remove_file(&path);
            let Ok(profile) = bytes
                .map_err(drop)
                .and_then(|b| pprof::parse(&b).map_err(drop))
            else {
                continue;
            };
            let pid = delivery_order(&path).0;
            match &mut child {
                // A child's later delivery: its in-use values replace the earlier ones.
                Some((same, all)) if *same == pid => {
                    all.merge_later_bounded(&profile, usize::MAX);
                }
                _ => {
                    if let Some((_, done)) = child.replace((pid, profile)) {
                        add_child(&mut taken, done);
                    }
                }
            }
        }
        if let Some((_, done)) = child {
            add_child(&mut taken, done);
        }
        taken
    }

    /// Adds what children delivered to `profile` (the parent's), under their process
    /// roots; the parent's own threads get a root too (`python (pid N) TITLE`), so that a
    /// profile (and every agent slice) has the same shape whether a child delivered or
    /// not. Returns whether any child's samples were added.
    pub fn add_to(&self, profile: &mut Profile) -> bool {
        let pid = std::process::id();
        let parent = ProcessRoot {
            pid,
            label: format!("python (pid {pid}) {}", profile.meta.title),
        };
        for thread in profile.threads.iter_mut().filter(|t| t.process.is_none()) {
            thread.process = Some(parent.clone());
        }
        let Some(children) = self.take() else {
            return false;
        };
        let meta = profile.meta.clone();
        profile.merge(&children);
        profile.meta.duration_ns = meta.duration_ns;
        profile.meta.start_unix_ns = meta.start_unix_ns;
        true
    }
}

impl Drop for ChildProfiles {
    /// Removes the directory: a child still running writes into nothing from then on.
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Adds one child's deliveries to those of the others.
fn add_child(taken: &mut Option<Profile>, profile: Profile) {
    match taken {
        None => *taken = Some(profile),
        Some(all) => {
            // Children run side by side: their durations do not add up.
            let duration_ns = all.meta.duration_ns.max(profile.meta.duration_ns);
            all.merge(&profile);
            all.meta.duration_ns = duration_ns;
        }
    }
}

/// `(pid, sequence)` of a delivery named `PID-SEQ.pb.gz` (zeros for other names).
fn delivery_order(path: &Path) -> (u64, u64) {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let stem = name.strip_suffix(".pb.gz").unwrap_or(name);
    let (pid, seq) = stem.split_once('-').unwrap_or((stem, "0"));
    (pid.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

/// Whether `path` is a whole delivery (not a file being written).
fn is_delivery(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| !name.starts_with('.') && name.ends_with(".pb.gz"))
}

fn encode(config: &SessionConfig, dir: &Path) -> String {
    let mode = config.sampler.mode.label();
    format!(
        "rate={};mode={mode};idle={};depth={};alloc={};native={};dir={}",
        config.sampler.rate_hz,
        u8::from(config.keep_idle),
        config.sampler.max_depth,
        config.alloc_interval.unwrap_or(0),
        u8::from(config.native),
        dir.display()
    )
}

/// The child's settings, read back from [`ENV_VAR`]; `None` when it is not set or not ours.
fn decode(value: &str) -> Option<(SessionConfig, PathBuf)> {
    let (settings, dir) = value.split_once(";dir=")?;
    let mut config = SessionConfig::builder("python-child");
    for pair in settings.split(';') {
        let (key, value) = pair.split_once('=')?;
        config = match key {
            "rate" => config.rate(value.parse().ok()?),
            "mode" => config.mode(value.parse().ok()?),
            "idle" => config.keep_idle(Some(value == "1")),
            "depth" => config.max_depth(value.parse().ok()?),
            "alloc" => config.alloc_interval(Some(value.parse::<u64>().ok()?).filter(|&n| n > 0)),
            "native" => config.native(value == "1"),
            _ => config,
        };
    }
    Some((config.build().ok()?, PathBuf::from(dir)))
}

/// The child's side: its session and the thread that delivers a slice every second.
pub struct ChildDelivery {
    session: Session,
    out: Delivery,
    stop: Sender<()>,
    deliverer: JoinHandle<Delivery>,
}

/// Where and as whom a child writes its slices.
struct Delivery {
    dir: PathBuf,
    root: ProcessRoot,
    sequence: u64,
}

impl Delivery {
    /// Writes one slice (nothing when it is empty); a failure (the parent is gone and its
    /// directory with it) is ignored: the child runs on unprofiled.
    fn write(&mut self, mut profile: Profile) {
        if profile.is_empty() {
            return;
        }
        for thread in &mut profile.threads {
            thread.process = Some(self.root.clone());
        }
        self.sequence += 1;
        let name = format!("{}-{:08}.pb.gz", self.root.pid, self.sequence);
        let temporary = self.dir.join(format!(".{name}"));
        let written = std::fs::File::create(&temporary).and_then(|mut file| {
            let mut bytes = Vec::new();
            pprof::write(&profile, &WriteOptions::default(), &mut bytes)
                .map_err(std::io::Error::other)?;
            file.write_all(&bytes)
        });
        if written.is_ok() {
            let _ = std::fs::rename(&temporary, self.dir.join(name));
        } else {
            let _ = std::fs::remove_file(&temporary);
        }
    }
}

impl ChildDelivery {
    /// In a process started with [`ENV_VAR`] set: starts a session with the parent's
    /// settings and the delivery thread. `None` when the variable is not set; a session
    /// that cannot start is said on stderr, and the program runs unprofiled.
    pub fn start_if_asked() -> Option<ChildDelivery> {
        let argv: Vec<String> = std::env::args().skip(1).collect();
        Self::start_as(&argv)
    }

    /// As [`ChildDelivery::start_if_asked`], for a process whose root shows `argv`.
    fn start_as(argv: &[String]) -> Option<ChildDelivery> {
        let value = std::env::var(ENV_VAR).ok()?;
        let (config, dir) = decode(&value)?;
        let pid = std::process::id();
        let argv: Vec<String> = argv.iter().map(|arg| shorten(arg)).collect();
        let out = Delivery {
            dir,
            root: ProcessRoot::child(pid, &argv),
            sequence: 0,
        };
        match Self::start(config, out) {
            Ok(delivery) => Some(delivery),
            Err(err) => {
                eprintln!("rpprof: child {pid} is not profiled: {err:#}");
                None
            }
        }
    }

    fn start(config: SessionConfig, out: Delivery) -> anyhow::Result<ChildDelivery> {
        let session = Session::start(config).context("cannot start sampling")?;
        let slicer = session.slicer();
        let (stop, stopped) = crossbeam_channel::bounded(1);
        let mut thread_out = Delivery {
            dir: out.dir.clone(),
            root: out.root.clone(),
            sequence: 0,
        };
        let deliverer = std::thread::Builder::new()
            .name("rpprof-deliver".to_owned())
            .spawn(move || {
                deliver_every_second(&slicer, &stopped, &mut thread_out);
                thread_out
            })
            .context("cannot start the delivery thread")?;
        Ok(ChildDelivery {
            session,
            out,
            stop,
            deliverer,
        })
    }

    /// Stops sampling and delivers the rest.
    pub fn finish(self) {
        drop(self.stop);
        let mut out = self.deliverer.join().unwrap_or(self.out);
        out.write(self.session.finish().profile);
    }
}

/// In a child made by `os.fork()` of a process that profiles its children (called by
/// `os.register_at_fork(after_in_child=...)`, once the interpreter is usable again, on the
/// one thread there is): forgets what the parent left running here (its recording, its
/// sampler's threads and registrations), registers the thread again through `register`
/// (its TID, CPU clock and interpreter slot changed with the fork), and profiles the child
/// as one started by `sys.executable`, its root showing `argv` (Python's `sys.argv`, the
/// parent's). It delivers on every ending a started child has: normal, `os._exit()`
/// (multiprocessing's fork workers end that way) and SIGTERM (`Pool.terminate()`), unless
/// the program installed its own SIGTERM handler.
pub fn profile_forked_child(argv: &[String], register: impl FnOnce(&str)) {
    if !ending::forget_inherited() {
        return;
    }
    let Some(name) = sampler::reset_after_fork() else {
        return;
    };
    register(&name);
    let Some(delivery) = ChildDelivery::start_as(argv) else {
        return;
    };
    ending::on_end(move || {
        delivery.finish();
        Ok(())
    });
    if forked_from_another_thread() {
        if let Err(err) = end_with_the_last_python_thread() {
            eprintln!("rpprof: child {}: {err}", std::process::id());
        }
    }
    if signals::default_or_ours(libc::SIGTERM) {
        let watched = signals::watch(&[libc::SIGTERM], |signal| {
            ending::end_now_reporting();
            signals::die_by(signal);
        });
        if let Err(err) = watched {
            eprintln!(
                "rpprof: child {} delivers nothing on SIGTERM: {err}",
                std::process::id()
            );
        }
    }
}

/// `pthread_self()` of the thread the program started on (0: not noted).
static MAIN_THREAD: AtomicU64 = AtomicU64::new(0);

/// Notes the calling thread as the program's main thread (call it from that thread, before
/// the program runs).
pub fn note_main_thread() {
    // SAFETY: pthread_self has no preconditions.
    MAIN_THREAD.store(unsafe { libc::pthread_self() } as u64, Ordering::Relaxed);
}

/// In a forked child: whether the fork was made on a thread other than the program's main
/// one (whose identity a fork keeps).
fn forked_from_another_thread() -> bool {
    let main = MAIN_THREAD.load(Ordering::Relaxed);
    // SAFETY: pthread_self has no preconditions.
    main != 0 && main != unsafe { libc::pthread_self() } as u64
}

/// A child forked on a thread other than the main one ends when that thread's function
/// returns, as a process ends when its last thread does (status 0), unless other threads
/// run: the session's would. This watch ends it, delivering first, once no Python thread
/// is left (checked ten times a second).
fn end_with_the_last_python_thread() -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("rpprof-last-thread".to_owned())
        .spawn(|| loop {
            std::thread::sleep(Duration::from_millis(100));
            if !sampler::registered_threads().iter().any(|t| t.is_alive()) {
                ending::end_now_reporting();
                // SAFETY: _exit ends the process at once, as the last thread's exit would.
                unsafe { libc::_exit(0) };
            }
        })
        .map(drop)
}

fn deliver_every_second(slicer: &session::Slicer, stop: &Receiver<()>, out: &mut Delivery) {
    loop {
        match stop.recv_timeout(DELIVERY_PERIOD) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        let Some(profile) = slicer.slice() else {
            return;
        };
        out.write(profile);
    }
}

/// An argument as the process root shows it: at most 40 characters (multiprocessing's
/// `-c 'from multiprocessing.spawn import spawn_main; ...'` is long).
fn shorten(arg: &str) -> String {
    const MAX: usize = 40;
    match arg.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}...", &arg[..end]),
        None => arg.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sampler::Mode;

    #[test]
    fn settings_travel_through_the_environment() {
        let config = SessionConfig::builder("app")
            .rate(199)
            .mode(Mode::Wall)
            .max_depth(64)
            .keep_idle(Some(false))
            .native(true)
            .build()
            .unwrap();
        let dir = Path::new("/tmp/with;dir=odd name");
        let (back, back_dir) = decode(&encode(&config, dir)).unwrap();
        assert_eq!(back.sampler, config.sampler);
        assert!(!back.keep_idle);
        assert!(back.native);
        assert_eq!(back_dir, dir);
        assert!(decode("nonsense").is_none());
        assert!(decode("rate=0;dir=/x").is_none(), "checked as --rate is");
    }

    #[test]
    fn long_arguments_are_shortened() {
        assert_eq!(shorten("work.py"), "work.py");
        assert_eq!(shorten(&"x".repeat(50)), format!("{}...", "x".repeat(40)));
    }
}
