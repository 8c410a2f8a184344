//! Folded stacks, the pivot format: `thread (tid N);outer (file.py:10);leaf (file.py:20) 42`.
//! One line per distinct stack, root first, then a space and one value: samples unless
//! another kind is asked for. inferno and flamegraph.pl read it; so does [`parse`], for files
//! of ours and of other tools.

use std::io::{self, BufRead, Write};

use crate::frame::{Frame, FrameId};
use crate::options::WriteOptions;
use crate::profile::{ProcessRoot, Profile, ProfileMeta, ThreadProfile, ALL_THREADS, MAX_SAMPLES};
use crate::value::{ValueKind, Values};
use crate::ProfileError;

/// Whether a thread gets a root frame: every thread does, except the single thread of a
/// profile whose threads were merged.
pub fn has_thread_root(thread: &ThreadProfile) -> bool {
    !(thread.name == ALL_THREADS && thread.tid == 0)
}

/// The folded lines of a profile, counting the kind at `value` (see
/// [`Profile::value_index`]): threads in the order of their labels, each thread's stacks in
/// the order of their frames' labels (frame by frame, as flamegraphs order siblings);
/// stacks whose value is zero are left out.
pub fn lines(profile: &Profile, value: usize) -> Vec<String> {
    // Each frame's label once, not once per stack it appears in; and each label's rank in
    // sorted order, so that stacks sort by comparing small numbers, not long strings.
    let labels: Vec<String> = profile
        .frames
        .iter()
        .map(|(_, frame)| sanitize(&frame.label()))
        .collect();
    let mut by_label: Vec<FrameId> = (0..labels.len() as FrameId).collect();
    by_label.sort_unstable_by(|&a, &b| labels[a as usize].cmp(&labels[b as usize]));
    let mut rank = vec![0u32; labels.len()];
    for (position, &id) in by_label.iter().enumerate() {
        rank[id as usize] = position as u32;
    }
    let mut threads: Vec<&ThreadProfile> = profile.threads.iter().collect();
    threads.sort_by_cached_key(|t| (t.process.as_ref().map(|p| p.pid), t.label()));
    let mut out = Vec::new();
    for thread in threads {
        let thread_root = has_thread_root(thread).then(|| sanitize(&thread.label()));
        // A child process's threads sit under its root: `python-child (pid N) ARGV;thread`.
        let root = match (&thread.process, thread_root) {
            (Some(process), Some(thread_root)) => {
                Some(format!("{};{thread_root}", sanitize(&process.label)))
            }
            (Some(process), None) => Some(sanitize(&process.label)),
            (None, thread_root) => thread_root,
        };
        let mut stacks: Vec<(&[FrameId], u64)> = thread
            .stacks
            .iter()
            .map(|(stack, values)| (stack.as_slice(), values.get(value)))
            .filter(|(_, count)| *count > 0)
            .collect();
        // Lexicographic on ranks: a stack that is a prefix of another comes first.
        stacks.sort_unstable_by(|a, b| {
            a.0.iter()
                .map(|&id| rank[id as usize])
                .cmp(b.0.iter().map(|&id| rank[id as usize]))
        });
        out.extend(
            stacks
                .into_iter()
                .map(|(stack, samples)| line(&labels, root.as_deref(), stack, samples)),
        );
    }
    out
}

fn line(labels: &[String], root: Option<&str>, stack: &[FrameId], count: u64) -> String {
    use std::fmt::Write as _;
    let length = root.map_or(0, str::len)
        + stack
            .iter()
            .map(|&id| labels[id as usize].len() + 1)
            .sum::<usize>()
        + 21;
    let mut text = String::with_capacity(length);
    if let Some(root) = root {
        text.push_str(root);
    }
    for &id in stack {
        if !text.is_empty() {
            text.push(';');
        }
        text.push_str(&labels[id as usize]);
    }
    let _ = write!(text, " {count}");
    text
}

/// Semicolons separate frames and newlines separate stacks: neither may appear in a label.
/// Nor may a label end in a space and a number (`task 12`): inferno and flamegraph.pl would
/// read that number as a second count column, as in a differential flamegraph. Nor may it be
/// blank, start or end in whitespace, which those tools trim off lines, or start with `#`,
/// which marks a comment line when the label is a line's first.
fn sanitize(label: &str) -> String {
    let label = label.trim();
    if label.is_empty() {
        return "_".to_owned();
    }
    let mut label = label.replace([';', '\n', '\r'], "_");
    if label.starts_with('#') {
        label.replace_range(..1, "_");
    }
    if let Some(space) = label.rfind(' ') {
        let tail = &label[space + 1..];
        if tail.chars().all(|c| c.is_ascii_digit() || c == '.') {
            label.replace_range(space..=space, "_");
        }
    }
    label
}

/// Writes the profile as folded stacks, counting the kind `options.value` names (samples
/// by default).
pub fn write(profile: &Profile, options: &WriteOptions, out: &mut dyn Write) -> io::Result<()> {
    let value = options.value.unwrap_or_else(|| profile.meta.count_index());
    for line in lines(profile, value) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// True when `bytes` could be folded stacks: text.
pub fn looks_like(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok()
}

/// Reads folded stacks. A root frame of the form `name (tid N)` names the thread; stacks
/// without one go to a thread called [`ALL_THREADS`]. Above it, `python (pid N) ...` or
/// `python-child (pid N) ...` names the process (as `--subprocesses` writes them). The profile carries samples (the
/// counts) and time (counts times the period of `meta.rate_hz`, 10 ms when unknown), of
/// the time kind `meta` names (CPU unless it names another).
pub fn parse(input: impl BufRead, meta: ProfileMeta) -> Result<Profile, ProfileError> {
    let time = meta.time_kind().cloned().unwrap_or(ValueKind::CPU);
    let mut profile = Profile::new(ProfileMeta {
        kinds: vec![ValueKind::SAMPLES, time],
        ..meta
    });
    let period = profile.meta.period_ns();
    let mut total: u64 = 0;
    for (index, line) in input.lines().enumerate() {
        let line = line.map_err(ProfileError::Io)?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let malformed = |why: &str| ProfileError::Malformed {
            format: "folded",
            reason: format!("line {}: {why}", index + 1),
        };
        let (stack, count) = line
            .rsplit_once(' ')
            .ok_or_else(|| malformed("expected `frame;frame;... count`"))?;
        let count: u64 = count
            .parse()
            .map_err(|_| malformed(&format!("`{count}` is not a sample count")))?;
        total = total.saturating_add(count);
        if total > MAX_SAMPLES {
            return Err(malformed("sample counts add up to more than 2^53"));
        }
        let mut labels = stack.split(';').peekable();
        // `python-child (pid N) ARGV;thread (tid M);...`: a process root above the thread.
        let process = match labels.peek().copied().and_then(process_root) {
            Some(process) => {
                labels.next();
                Some(process)
            }
            None => None,
        };
        let first = labels.next().unwrap_or_default();
        let (thread_name, tid, root_frame) = match thread_root(first) {
            Some((name, tid)) => (name, tid, None),
            None => (ALL_THREADS.to_owned(), 0, Some(first)),
        };
        let frames: Vec<FrameId> = root_frame
            .into_iter()
            .chain(labels)
            .map(str::trim)
            .filter(|label| !label.is_empty())
            .map(|label| profile.frames.intern(Frame::parse_label(label)))
            .collect();
        if frames.is_empty() && root_frame.is_some() {
            return Err(malformed("empty stack"));
        }
        let values = Values::from_slice(&[count, count.saturating_mul(period)]);
        let thread = profile.thread_mut(&thread_name, tid);
        if process.is_some() {
            thread.process = process;
        }
        thread.add(&frames, values);
    }
    Ok(profile)
}

/// `python (pid 12) app.py` or `python-child (pid 13) -c ...` -> the process root.
fn process_root(label: &str) -> Option<ProcessRoot> {
    let rest = label
        .strip_prefix("python (pid ")
        .or_else(|| label.strip_prefix("python-child (pid "))?;
    let (pid, _) = rest.split_once(')')?;
    Some(ProcessRoot {
        pid: pid.parse().ok()?,
        label: label.to_owned(),
    })
}

/// `name (tid 123)` -> (`name`, 123).
fn thread_root(label: &str) -> Option<(String, i32)> {
    let body = label.strip_suffix(')')?;
    let open = body.rfind(" (tid ")?;
    let tid = body[open + 6..].parse().ok()?;
    Some((body[..open].to_owned(), tid))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
MainThread (tid 7);main (app.py:30);work (app.py:12) 5
MainThread (tid 7);main (app.py:31) 2
worker-1 (tid 8);run (app.py:40);[idle] 3
";

    #[test]
    fn parses_and_writes_back_identically() {
        let profile = parse(SAMPLE.as_bytes(), ProfileMeta::default()).unwrap();
        assert_eq!(profile.threads.len(), 2);
        assert_eq!(profile.threads[1].name, "worker-1");
        assert_eq!(profile.threads[1].tid, 8);
        assert_eq!(profile.total().get(0), 10);
        let mut out = Vec::new();
        write(&profile, &WriteOptions::default(), &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), SAMPLE);
    }

    #[test]
    fn process_roots_are_read_back() {
        let text = "\
python (pid 7) app.py;MainThread (tid 7);main (app.py:3) 2
python-child (pid 9) -c work;MainThread (tid 9);work (<string>:1) 5
";
        let profile = parse(text.as_bytes(), ProfileMeta::default()).unwrap();
        assert_eq!(profile.threads.len(), 2);
        let child = profile.threads.iter().find(|t| t.tid == 9).unwrap();
        assert_eq!(
            child.process,
            Some(ProcessRoot {
                pid: 9,
                label: "python-child (pid 9) -c work".to_owned()
            })
        );
        let mut out = Vec::new();
        write(&profile, &WriteOptions::default(), &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), text);
    }

    #[test]
    fn labels_other_tools_would_misread_are_sanitized() {
        let input = "a;task 12 3\na;v 1.5 2\n; #x \t 1\n";
        let profile = parse(input.as_bytes(), ProfileMeta::default()).unwrap();
        assert_eq!(lines(&profile, 0), ["_x 1", "a;task_12 3", "a;v_1.5 2"]);
    }

    #[test]
    fn counts_past_the_bound_are_malformed() {
        let huge = format!("a;b {}\na;c {}\n", MAX_SAMPLES, 1);
        let err = parse(huge.as_bytes(), ProfileMeta::default()).unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        let max = format!("a;b {}\n", u64::MAX);
        assert!(parse(max.as_bytes(), ProfileMeta::default()).is_err());
        let at_bound = format!("a;b {}\n", MAX_SAMPLES);
        assert!(parse(at_bound.as_bytes(), ProfileMeta::default()).is_ok());
    }

    #[test]
    fn foreign_stacks_without_thread_root() {
        let profile = parse("a;b 3\na;c 1\n".as_bytes(), ProfileMeta::default()).unwrap();
        assert_eq!(profile.threads.len(), 1);
        assert_eq!(profile.threads[0].name, ALL_THREADS);
        assert_eq!(profile.total().get(1), 40_000_000);
        let mut out = Vec::new();
        write(&profile, &WriteOptions::default(), &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "a;b 3\na;c 1\n");
        let cpu = WriteOptions {
            value: Some(1),
            ..WriteOptions::default()
        };
        let mut out = Vec::new();
        write(&profile, &cpu, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a;b 30000000\na;c 10000000\n",
            "the cpu value, in nanoseconds"
        );
    }

    #[test]
    fn malformed_lines_are_reported_with_their_number() {
        let err = parse("a;b 3\na;b x\n".as_bytes(), ProfileMeta::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "malformed folded input: line 2: `x` is not a sample count"
        );
        assert!(parse("nocount\n".as_bytes(), ProfileMeta::default()).is_err());
    }
}
