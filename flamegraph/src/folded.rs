//! Folded stacks, the pivot format: `thread (tid N);outer (file.py:10);leaf (file.py:20) 42`.
//! One line per distinct stack, root first, then a space and one value: samples unless
//! another kind is asked for. inferno and flamegraph.pl read it; so does [`parse`], for files
//! of ours and of other tools.
//!
//! Our files start with a comment line saying what the counts are, which a folded line
//! cannot: `# rpprof folded: rate_hz=999 time=wall counts=samples/count`. inferno skips
//! lines that start with `# ` (`flamegraph::from_lines`); flamegraph.pl has no comments but
//! skips (and counts, in a warning) any line that does not end in a space and a number,
//! which this one never does: its last word always holds `=`. Without it (a file from another
//! tool), the sampling rate is unknown and so is the time a count stands for: the profile
//! then holds samples only.

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
    writeln!(out, "{}", header(&profile.meta, value))?;
    for line in lines(profile, value) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// True when `bytes` could be folded stacks: text.
pub fn looks_like(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok()
}

/// The comment line that starts our folded files: the sampling rate (when known), the time
/// kind (when there is one) and the kind the counts are of, last (see the module docs).
fn header(meta: &ProfileMeta, value: usize) -> String {
    let mut line = HEADER.to_owned();
    if meta.rate_hz != 0 {
        line.push_str(&format!(" rate_hz={}", meta.rate_hz));
    }
    if let Some(time) = meta.time_kind() {
        line.push_str(&format!(" time={}", header_word(&time.name)));
    }
    let counts = meta.kinds.get(value).cloned().unwrap_or(ValueKind::SAMPLES);
    line.push_str(&format!(
        " counts={}/{}",
        header_word(&counts.name),
        header_word(&counts.unit)
    ));
    line
}

/// How our header line starts.
const HEADER: &str = "# rpprof folded:";

/// A kind's name or unit as one word of the header (a foreign pprof's could hold spaces).
fn header_word(word: &str) -> String {
    word.replace(|c: char| c.is_whitespace() || c == '=' || c == '/', "_")
}

/// What a header line says.
#[derive(Default)]
struct Header {
    rate_hz: Option<u32>,
    time: Option<ValueKind>,
    counts: Option<ValueKind>,
}

impl Header {
    /// Reads our header line; `None` for any other line.
    fn parse(line: &str) -> Option<Header> {
        let rest = line.strip_prefix(HEADER)?;
        let mut header = Header::default();
        for word in rest.split_whitespace() {
            match word.split_once('=') {
                Some(("rate_hz", rate)) => header.rate_hz = rate.parse().ok(),
                Some(("time", name)) => header.time = Some(ValueKind::new(name, "nanoseconds")),
                Some(("counts", kind)) => {
                    let (name, unit) = kind.split_once('/').unwrap_or((kind, "count"));
                    header.counts = Some(ValueKind::new(name, unit));
                }
                _ => {}
            }
        }
        Some(header)
    }
}

/// The kinds a parsed profile holds, and how a line's count becomes its values.
struct Reading {
    /// The counts are samples, and each stands for this many nanoseconds of the time kind
    /// (the profile's second); `None`: the counts are the only value.
    period_ns: Option<u64>,
}

impl Reading {
    /// Settles the profile's kinds and rate from our header, if the file has one, else
    /// from `meta`: a rate from either makes the counts samples of time (CPU unless either
    /// names another kind); without a rate they are samples, and nothing else is known.
    fn settle(meta: &mut ProfileMeta, header: Option<Header>) -> Reading {
        let header = header.unwrap_or_default();
        if let Some(rate) = header.rate_hz {
            meta.rate_hz = rate;
        }
        let counts = header.counts.unwrap_or(ValueKind::SAMPLES);
        if counts != ValueKind::SAMPLES {
            meta.kinds = vec![counts];
            return Reading { period_ns: None };
        }
        if meta.rate_hz == 0 {
            meta.kinds = vec![ValueKind::SAMPLES];
            return Reading { period_ns: None };
        }
        let time = header
            .time
            .map(|kind| match kind.name.as_ref() {
                "cpu" => ValueKind::CPU,
                "wall" => ValueKind::WALL,
                _ => kind,
            })
            .or_else(|| meta.time_kind().cloned())
            .unwrap_or(ValueKind::CPU);
        meta.kinds = vec![ValueKind::SAMPLES, time];
        Reading {
            period_ns: Some(meta.period_ns()),
        }
    }

    fn values(&self, count: u64) -> Values {
        match self.period_ns {
            Some(period) => Values::from_slice(&[count, count.saturating_mul(period)]),
            None => Values::from_slice(&[count]),
        }
    }
}

/// Reads folded stacks. A root frame of the form `name (tid N)` names the thread; stacks
/// without one go to a thread called [`ALL_THREADS`]. Above it, `python (pid N) ...` or
/// `python-child (pid N) ...` names the process (as `--subprocesses` writes them). What the
/// counts are comes from our header line (module docs), else from `meta`: samples, and
/// time too (counts times the period of the rate, of the time kind `meta` names, CPU
/// unless it names another) when a rate is known; samples alone when not.
pub fn parse(input: impl BufRead, mut meta: ProfileMeta) -> Result<Profile, ProfileError> {
    let mut lines = input.lines().enumerate().peekable();
    // Our header, if the file starts with one (after blank lines).
    let mut header = None;
    while let Some((_, Ok(line))) = lines.peek() {
        let line = line.trim();
        if line.is_empty() {
            lines.next();
            continue;
        }
        header = Header::parse(line);
        break;
    }
    let reading = Reading::settle(&mut meta, header);
    let mut profile = Profile::new(meta);
    let mut total: u64 = 0;
    for (index, line) in lines {
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
        let values = reading.values(count);
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

    fn written(profile: &Profile, options: &WriteOptions) -> String {
        let mut out = Vec::new();
        write(profile, options, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn parses_and_writes_back_identically() {
        let text = format!("{HEADER} rate_hz=999 time=wall counts=samples/count\n{SAMPLE}");
        let profile = parse(text.as_bytes(), ProfileMeta::default()).unwrap();
        assert_eq!(profile.threads.len(), 2);
        assert_eq!(profile.threads[1].name, "worker-1");
        assert_eq!(profile.threads[1].tid, 8);
        assert_eq!(profile.meta.rate_hz, 999);
        assert_eq!(profile.meta.kinds, [ValueKind::SAMPLES, ValueKind::WALL]);
        assert_eq!(profile.total().get(0), 10);
        assert_eq!(
            profile.total().get(1),
            10 * 1_001_001,
            "ten periods of 999 Hz"
        );
        assert_eq!(written(&profile, &WriteOptions::default()), text);
    }

    #[test]
    fn the_header_is_skipped_by_inferno_and_flamegraph_pl() {
        let profile = parse(SAMPLE.as_bytes(), ProfileMeta::default()).unwrap();
        let text = written(&profile, &WriteOptions::default());
        let header = text.lines().next().unwrap();
        // flamegraph.pl reads `^(.*)\s+?(\d+(?:\.\d*)?)$` and skips lines that do not match.
        let last = header.rsplit(' ').next().unwrap();
        assert!(last.contains('='), "{header}");
        assert!(!last.chars().all(|c| c.is_ascii_digit() || c == '.'));
        // inferno: no frame of the header in the drawing, no line ignored.
        let mut svg = Vec::new();
        let mut options = inferno::flamegraph::Options::default();
        inferno::flamegraph::from_lines(&mut options, text.lines(), &mut svg).unwrap();
        let svg = String::from_utf8(svg).unwrap();
        assert!(svg.contains("worker-1"));
        assert!(
            !svg.contains("rpprof folded"),
            "the header drawn as a frame"
        );
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
        assert_eq!(
            written(&profile, &WriteOptions::default()),
            format!("{HEADER} counts=samples/count\n{text}")
        );
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
    fn foreign_stacks_are_samples_of_unknown_time() {
        let profile = parse("a;b 3\na;c 1\n".as_bytes(), ProfileMeta::default()).unwrap();
        assert_eq!(profile.threads.len(), 1);
        assert_eq!(profile.threads[0].name, ALL_THREADS);
        assert_eq!(profile.meta.kinds, [ValueKind::SAMPLES], "no rate: no time");
        assert_eq!(profile.total().get(0), 4);
        assert_eq!(
            written(&profile, &WriteOptions::default()),
            format!("{HEADER} counts=samples/count\na;b 3\na;c 1\n")
        );
        // A rate given by the caller makes them CPU time.
        let meta = ProfileMeta {
            rate_hz: 100,
            ..ProfileMeta::default()
        };
        let profile = parse("a;b 3\na;c 1\n".as_bytes(), meta).unwrap();
        assert_eq!(profile.meta.kinds, [ValueKind::SAMPLES, ValueKind::CPU]);
        let cpu = WriteOptions {
            value: Some(1),
            ..WriteOptions::default()
        };
        assert_eq!(
            written(&profile, &cpu),
            format!(
                "{HEADER} rate_hz=100 time=cpu counts=cpu/nanoseconds\n\
                 a;b 30000000\na;c 10000000\n"
            ),
            "the cpu value, in nanoseconds"
        );
    }

    #[test]
    fn counts_of_another_kind_are_read_as_that_kind() {
        let text = format!("{HEADER} rate_hz=100 time=cpu counts=cpu/nanoseconds\na;b 30000000\n");
        let profile = parse(text.as_bytes(), ProfileMeta::default()).unwrap();
        assert_eq!(profile.meta.kinds, [ValueKind::CPU]);
        assert_eq!(profile.meta.rate_hz, 100);
        assert_eq!(profile.total().get(0), 30_000_000);
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
