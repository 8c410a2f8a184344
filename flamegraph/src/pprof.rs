//! pprof: the gzipped protobuf that `go tool pprof`, Grafana and Pyroscope read.
//!
//! One `Function` per (qualified name, file), one `Location` per (function, line), samples
//! leaf first, one value per kind the profile carries (`samples/count` and
//! `cpu|wall/nanoseconds` for a time profile), and labels `thread_name`, `thread_id` and `thread_state` (`idle` for a sample that ended in
//! the `[idle]` marker, which is then left off the stack; `awaiting` for a waiting asyncio
//! task's sample, whose `[awaiting]` marker is left off likewise; `running` otherwise),
//! `task` for a sample taken in an asyncio task (its `task NAME` frame, likewise left off),
//! and the sample's own labels (`endpoint=/cart`, from its label frames: see
//! [`crate::labels`]).

use std::collections::HashMap;
use std::io::{Read, Write};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use pprof::protos;
pub use pprof::protos::{Label, Location, Message, Profile as Proto};

use crate::frame::{Frame, FrameId, FrameKind, AWAITING, IDLE};
use crate::labels::{label_prefix, sample_labels};
use crate::options::WriteOptions;
use crate::profile::{ProcessRoot, Profile, ProfileMeta, ALL_THREADS, MAX_SAMPLES};
use crate::value::{ValueKind, Values, MAX_VALUE_KINDS};
use crate::ProfileError;

/// Builds the string table: index 0 is always "".
struct Strings {
    table: Vec<String>,
    index: HashMap<String, i64>,
}

impl Strings {
    fn new() -> Strings {
        let mut strings = Strings {
            table: Vec::new(),
            index: HashMap::new(),
        };
        strings.id("");
        strings
    }

    fn id(&mut self, text: &str) -> i64 {
        if let Some(&id) = self.index.get(text) {
            return id;
        }
        let id = self.table.len() as i64;
        self.table.push(text.to_owned());
        self.index.insert(text.to_owned(), id);
        id
    }
}

/// The one mapping every location belongs to: the program. pprof names its "main binary"
/// after it (the web UI's header, `File:` in `-top`); without one it prints "Main binary
/// filename not available" and the header reads "unknown".
const PROGRAM_MAPPING: u64 = 1;

/// What the program mapping is called: the profile's title (the script), else `python`.
fn program_name(meta: &ProfileMeta) -> &str {
    match meta.title.as_str() {
        "" => "python",
        title => title,
    }
}

/// The protobuf message for a profile. Its default sample type is the kind at `value`
/// when given, else the profile's time (as Go's CPU profiles), else its last kind (as Go's
/// heap profiles, whose last is `inuse_space`).
pub fn to_proto(profile: &Profile, value: Option<usize>) -> protos::Profile {
    let mut strings = Strings::new();
    let kinds = &profile.meta.kinds;
    let sample_type: Vec<protos::ValueType> = kinds
        .iter()
        .map(|kind| protos::ValueType {
            ty: strings.id(&kind.name),
            unit: strings.id(&kind.unit),
        })
        .collect();
    let mut functions: Vec<protos::Function> = Vec::new();
    let mut function_ids: HashMap<(&str, &str), u64> = HashMap::new();
    let mut locations: Vec<protos::Location> = Vec::new();
    let mut location_ids: HashMap<(u64, u32), u64> = HashMap::new();
    let mut location_of_frame: HashMap<FrameId, u64> = HashMap::new();
    for (frame_id, frame) in profile.frames.iter() {
        // The bare `[idle]` leaf is the `thread_state` label; a leaf naming the call
        // (`[idle] lock.acquire`) is kept as a location too, so pprof shows what was waited on.
        // Label frames are sample labels, and so are task frames and `[awaiting]` leaves.
        if (frame.is_idle() && frame.function == IDLE)
            || frame.kind == FrameKind::Label
            || frame.is_awaiting()
            || frame.task_name().is_some()
        {
            continue;
        }
        let key = (frame.function.as_str(), frame.file.as_str());
        let function_id = match function_ids.get(&key) {
            Some(&id) => id,
            None => {
                let id = functions.len() as u64 + 1;
                functions.push(protos::Function {
                    id,
                    name: strings.id(&frame.function),
                    // Left empty: pprof takes a set `system_name` for a mangled symbol and
                    // demangles it, which turns `<module>` and `<lambda>` into `<unknown>`.
                    system_name: 0,
                    filename: strings.id(&frame.file),
                    start_line: i64::from(frame.start_line),
                });
                function_ids.insert(key, id);
                id
            }
        };
        let location_id = *location_ids
            .entry((function_id, frame.line))
            .or_insert_with(|| {
                let id = locations.len() as u64 + 1;
                locations.push(protos::Location {
                    id,
                    mapping_id: PROGRAM_MAPPING,
                    line: vec![protos::Line {
                        function_id,
                        line: i64::from(frame.line),
                    }],
                    ..Default::default()
                });
                id
            });
        location_of_frame.insert(frame_id, location_id);
    }

    let mut samples = Vec::new();
    let (name_key, id_key, state_key, group_key, task_key) = (
        strings.id("thread_name"),
        strings.id("thread_id"),
        strings.id("thread_state"),
        strings.id("thread_group"),
        strings.id("task"),
    );
    let process_keys = profile
        .has_processes()
        .then(|| (strings.id("pid"), strings.id("process")));
    for thread in &profile.threads {
        let thread_name = strings.id(&thread.name);
        let process = thread
            .process
            .as_ref()
            .map(|p| (i64::from(p.pid), strings.id(&p.label)));
        let thread_group = thread.group.as_deref().map(|g| strings.id(g));
        let mut stacks: Vec<_> = thread.stacks.iter().collect();
        stacks.sort_by(|a, b| a.0.cmp(b.0));
        for (stack, values) in stacks {
            let leaf = stack.last().map(|&id| profile.frames.get(id));
            let state = match leaf {
                Some(frame) if frame.is_idle() => "idle",
                Some(frame) if frame.is_awaiting() => "awaiting",
                _ => "running",
            };
            let location_id: Vec<u64> = stack
                .iter()
                .rev()
                .filter_map(|id| location_of_frame.get(id).copied())
                .collect();
            let mut label = vec![protos::Label {
                key: name_key,
                str: thread_name,
                ..Default::default()
            }];
            if thread.tid != 0 {
                label.push(protos::Label {
                    key: id_key,
                    num: i64::from(thread.tid),
                    ..Default::default()
                });
            }
            label.push(protos::Label {
                key: state_key,
                str: strings.id(state),
                ..Default::default()
            });
            if let Some(group) = thread_group {
                label.push(protos::Label {
                    key: group_key,
                    str: group,
                    ..Default::default()
                });
            }
            // The asyncio task: a `task NAME` frame under the thread becomes a label, like
            // the thread itself.
            if let Some(task) = stack[label_prefix(stack, &profile.frames)..]
                .first()
                .and_then(|&id| profile.frames.get(id).task_name())
            {
                label.push(protos::Label {
                    key: task_key,
                    str: strings.id(task),
                    ..Default::default()
                });
            }
            if let (Some((pid_key, process_key)), Some((pid, root))) = (process_keys, process) {
                label.push(protos::Label {
                    key: pid_key,
                    num: pid,
                    ..Default::default()
                });
                label.push(protos::Label {
                    key: process_key,
                    str: root,
                    ..Default::default()
                });
            }
            for (key, value) in sample_labels(stack, &profile.frames) {
                label.push(protos::Label {
                    key: strings.id(key),
                    str: strings.id(value),
                    ..Default::default()
                });
            }
            samples.push(protos::Sample {
                location_id,
                value: (0..kinds.len()).map(|i| clamp_i64(values.get(i))).collect(),
                label,
            });
        }
    }
    let period_type = profile.meta.time_kind().map(|time| protos::ValueType {
        ty: strings.id(&time.name),
        unit: strings.id(&time.unit),
    });
    let default_kind = value
        .or_else(|| profile.meta.time_index())
        .or_else(|| kinds.len().checked_sub(1))
        .and_then(|i| kinds.get(i));
    let default_sample_type = default_kind.map_or(0, |kind| strings.id(&kind.name));
    let comment = crate::cpu_comments::comments(profile)
        .iter()
        .map(|line| strings.id(line))
        .collect();
    let mapping = vec![protos::Mapping {
        id: PROGRAM_MAPPING,
        filename: strings.id(program_name(&profile.meta)),
        // Every location is symbolized already: pprof must not look for a binary.
        has_functions: true,
        has_filenames: true,
        has_line_numbers: true,
        ..Default::default()
    }];
    protos::Profile {
        sample_type,
        sample: samples,
        mapping,
        location: locations,
        function: functions,
        time_nanos: clamp_i64(profile.meta.start_unix_ns),
        duration_nanos: clamp_i64(profile.meta.duration_ns),
        period: if period_type.is_some() {
            clamp_i64(profile.meta.period_ns())
        } else {
            0
        },
        period_type,
        default_sample_type,
        comment,
        string_table: strings.table,
        ..Default::default()
    }
}

/// Writes the profile as gzipped pprof protobuf, every kind of value in it; `options.value`
/// is the default sample type.
pub fn write(
    profile: &Profile,
    options: &WriteOptions,
    out: &mut dyn Write,
) -> Result<(), ProfileError> {
    let bytes = to_proto(profile, options.value).encode_to_vec();
    // Fast compression: a few percent larger than the default level, several times faster.
    let mut gz = GzEncoder::new(out, flate2::Compression::fast());
    gz.write_all(&bytes)?;
    gz.finish()?;
    Ok(())
}

/// True when `bytes` could be pprof: gzipped, or not text.
pub fn looks_like(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b]) || std::str::from_utf8(bytes).is_err()
}

/// Reads a pprof profile, gzipped or not: ours or any other (Go's, py-spy's, pprof-rs's).
/// The thread comes from a `thread_name` label (and `thread_id`, `thread_state`), else all
/// samples go to one thread.
pub fn parse(bytes: &[u8]) -> Result<Profile, ProfileError> {
    let raw;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut decoded = Vec::new();
        GzDecoder::new(bytes)
            .read_to_end(&mut decoded)
            .map_err(|e| malformed(format!("gzip: {e}")))?;
        raw = decoded;
        &raw[..]
    } else {
        bytes
    };
    let proto = protos::Profile::decode(bytes).map_err(|e| malformed(format!("protobuf: {e}")))?;
    from_proto(&proto)
}

/// `n` as pprof's signed 64-bit value; counts past `i64::MAX` (only from hostile inputs)
/// are clamped rather than turned negative.
fn clamp_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn malformed(reason: String) -> ProfileError {
    ProfileError::Malformed {
        format: "pprof",
        reason,
    }
}

/// Converts a decoded pprof message into a [`Profile`].
pub fn from_proto(proto: &protos::Profile) -> Result<Profile, ProfileError> {
    let text = |id: i64| -> Result<&str, ProfileError> {
        usize::try_from(id)
            .ok()
            .and_then(|i| proto.string_table.get(i))
            .map(String::as_str)
            .ok_or_else(|| malformed(format!("string index {id} out of range")))
    };
    if proto.string_table.first().is_some_and(|s| !s.is_empty()) {
        return Err(malformed("string_table[0] must be empty".to_owned()));
    }
    let mut kinds = Vec::new();
    for vt in proto.sample_type.iter().take(MAX_VALUE_KINDS) {
        kinds.push(ValueKind::new(text(vt.ty)?, text(vt.unit)?));
    }
    if kinds.is_empty() {
        return Err(malformed("no sample types".to_owned()));
    }
    let period_ns = match proto.period_type.as_ref() {
        Some(pt) if text(pt.unit)? == "nanoseconds" && proto.period > 0 => proto.period as u64,
        _ => 0,
    };
    // A time profile without a count (pprof-rs, some agents) gets one, its time in whole
    // periods, so that flamegraphs count samples as they do for ours.
    let has_count = kinds.iter().any(|k| k.unit == "count");
    let time_index = kinds.iter().position(ValueKind::is_time);
    let derived_samples = match time_index {
        Some(index) if !has_count && kinds.len() < MAX_VALUE_KINDS => {
            kinds.insert(0, ValueKind::SAMPLES);
            Some(index)
        }
        _ => None,
    };
    let meta = ProfileMeta {
        title: String::new(),
        kinds,
        rate_hz: 1_000_000_000u64.checked_div(period_ns).unwrap_or(0) as u32,
        start_unix_ns: proto.time_nanos.max(0) as u64,
        duration_ns: proto.duration_nanos.max(0) as u64,
        ..ProfileMeta::default()
    };
    let mut profile = Profile::new(meta);
    let period = profile.meta.period_ns();

    let mut functions: HashMap<u64, (String, String, u32)> = HashMap::new();
    for f in &proto.function {
        functions.insert(
            f.id,
            (
                text(f.name)?.to_owned(),
                text(f.filename)?.to_owned(),
                u32::try_from(f.start_line).unwrap_or(0),
            ),
        );
    }
    // Each location's frames, innermost first (inlined lines come before their caller).
    let mut location_frames: HashMap<u64, Vec<FrameId>> = HashMap::new();
    for location in &proto.location {
        let mut ids = Vec::new();
        for line in &location.line {
            let (name, file, start) = functions
                .get(&line.function_id)
                .ok_or_else(|| malformed(format!("unknown function id {}", line.function_id)))?;
            let frame = if file.is_empty() && name.starts_with('[') {
                Frame::marker(name)
            } else {
                Frame::python(name, file, u32::try_from(line.line).unwrap_or(0), *start)
            };
            ids.push(profile.frames.intern(frame));
        }
        if ids.is_empty() {
            ids.push(profile.frames.intern(Frame::python(
                &format!("0x{:x}", location.address),
                "",
                0,
                0,
            )));
        }
        location_frames.insert(location.id, ids);
    }
    let idle_frame = profile.frames.intern(Frame::marker(IDLE));
    let awaiting_frame = profile.frames.intern(Frame::marker(AWAITING));

    for sample in &proto.sample {
        let mut thread_name = ALL_THREADS.to_owned();
        let mut tid = 0i32;
        let mut state = "running";
        let mut group = None;
        let mut task = None;
        let (mut pid, mut process_label) = (None, None);
        let mut user_labels: Vec<(&str, &str)> = Vec::new();
        for label in &sample.label {
            match text(label.key)? {
                "pid" => pid = u32::try_from(label.num).ok(),
                "process" => process_label = Some(text(label.str)?.to_owned()),
                "thread_name" => thread_name = text(label.str)?.to_owned(),
                "thread_id" => tid = i32::try_from(label.num).unwrap_or(0),
                "thread_state" => state = text(label.str)?,
                "thread_group" => group = Some(text(label.str)?.to_owned()),
                "task" => task = Some(text(label.str)?),
                key if label.str != 0 => user_labels.push((key, text(label.str)?)),
                _ => {}
            }
        }
        user_labels.sort_unstable();
        let mut stack: Vec<FrameId> = user_labels
            .iter()
            .map(|(key, value)| profile.frames.intern(Frame::user_label(key, value)))
            .collect();
        // The task frame comes right after the label frames.
        if let Some(task) = task {
            stack.push(profile.frames.intern(Frame::task(task)));
        }
        for location_id in sample.location_id.iter().rev() {
            let frames = location_frames
                .get(location_id)
                .ok_or_else(|| malformed(format!("unknown location id {location_id}")))?;
            stack.extend(frames.iter().rev());
        }
        let named_idle = stack
            .last()
            .is_some_and(|&id| profile.frames.get(id).is_idle());
        match state {
            "idle" if !named_idle => stack.push(idle_frame),
            "awaiting" => stack.push(awaiting_frame),
            _ => {}
        }
        let raw: Vec<u64> = sample
            .value
            .iter()
            .take(MAX_VALUE_KINDS)
            .map(|&v| v.max(0) as u64)
            .collect();
        let values = match derived_samples {
            Some(time) => {
                let weight = raw.get(time).copied().unwrap_or(0);
                let mut with_count = vec![weight / period.max(1)];
                with_count.extend(&raw);
                Values::from_slice(&with_count)
            }
            None => Values::from_slice(&raw),
        };
        let process = pid.map(|pid| ProcessRoot {
            pid,
            label: process_label.unwrap_or_else(|| format!("process (pid {pid})")),
        });
        let thread = profile.thread_mut_in(process.as_ref(), &thread_name, tid);
        if thread.group.is_none() {
            thread.group = group;
        }
        thread.add(&stack, values);
    }
    if profile.total().get(profile.meta.count_index()) > MAX_SAMPLES {
        return Err(malformed(
            "sample counts add up to more than 2^53".to_owned(),
        ));
    }
    for &id in &proto.comment {
        crate::cpu_comments::apply(&mut profile, text(id)?);
    }
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::folded;

    fn sample() -> Profile {
        folded::parse(
            "MainThread (tid 5);main (a.py:3);work (a.py:9) 4\n\
             worker-1 (tid 6);run (a.py:20);[idle] 2\n\
             worker-1 (tid 6);run (a.py:21) 1\n"
                .as_bytes(),
            ProfileMeta {
                title: "a.py".into(),
                rate_hz: 100,
                duration_ns: 3_000_000_000,
                start_unix_ns: 1_700_000_000_000_000_000,
                ..ProfileMeta::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn proto_fields_follow_the_pprof_conventions() {
        let proto = to_proto(&sample(), None);
        assert_eq!(proto.string_table[0], "");
        let s = |i: i64| proto.string_table[i as usize].as_str();
        let types: Vec<(&str, &str)> = proto
            .sample_type
            .iter()
            .map(|t| (s(t.ty), s(t.unit)))
            .collect();
        assert_eq!(types, [("samples", "count"), ("cpu", "nanoseconds")]);
        assert_eq!(proto.period, 10_000_000);
        assert_eq!(proto.duration_nanos, 3_000_000_000);
        assert_eq!(s(proto.default_sample_type), "cpu");
        // `work` is the leaf: it comes first.
        let main_sample = proto.sample.iter().find(|smp| smp.value[0] == 4).unwrap();
        let leaf = proto
            .location
            .iter()
            .find(|l| l.id == main_sample.location_id[0])
            .unwrap();
        let leaf_fn = proto
            .function
            .iter()
            .find(|f| f.id == leaf.line[0].function_id)
            .unwrap();
        assert_eq!(s(leaf_fn.name), "work");
        assert_eq!(leaf_fn.system_name, 0, "pprof would demangle it");
        assert_eq!(s(leaf_fn.filename), "a.py");
        assert_eq!(proto.mapping.len(), 1);
        assert_eq!(s(proto.mapping[0].filename), "a.py");
        assert!(proto.mapping[0].has_functions && proto.mapping[0].has_line_numbers);
        assert!(proto
            .location
            .iter()
            .all(|l| l.mapping_id == proto.mapping[0].id));
        assert_eq!(leaf.line[0].line, 9);
        assert_eq!(main_sample.value, vec![4, 40_000_000]);
        let labels: Vec<(&str, String)> = main_sample
            .label
            .iter()
            .map(|l| {
                (
                    s(l.key),
                    if l.str != 0 {
                        s(l.str).to_owned()
                    } else {
                        l.num.to_string()
                    },
                )
            })
            .collect();
        assert_eq!(
            labels,
            [
                ("thread_name", "MainThread".to_owned()),
                ("thread_id", "5".to_owned()),
                ("thread_state", "running".to_owned())
            ]
        );
        // The idle sample carries its state as a label, not as a frame.
        let idle_sample = proto.sample.iter().find(|smp| smp.value[0] == 2).unwrap();
        assert_eq!(idle_sample.location_id.len(), 1);
        assert!(idle_sample
            .label
            .iter()
            .any(|l| s(l.key) == "thread_state" && s(l.str) == "idle"));
        assert!(proto.function.iter().all(|f| s(f.name) != "[idle]"));
        // One function per (name, file), one location per (function, line).
        assert_eq!(proto.function.len(), 3);
        assert_eq!(proto.location.len(), 4);
    }

    #[test]
    fn tasks_are_labels_and_come_back_as_frames() {
        let original = folded::parse(
            "MainThread (tid 5);task fetch;main (a.py:3);work (a.py:9) 4\n\
             MainThread (tid 5);task fetch;main (a.py:4);[awaiting] 3\n\
             MainThread (tid 5);main (a.py:3) 1\n"
                .as_bytes(),
            ProfileMeta::default(),
        )
        .unwrap();
        let proto = to_proto(&original, None);
        let s = |i: i64| proto.string_table[i as usize].as_str();
        let label = |smp: &protos::Sample, key: &str| {
            smp.label
                .iter()
                .find(|l| s(l.key) == key)
                .map(|l| s(l.str).to_owned())
        };
        let by_count = |n: i64| proto.sample.iter().find(|smp| smp.value[0] == n).unwrap();
        assert_eq!(label(by_count(4), "task").as_deref(), Some("fetch"));
        assert_eq!(
            label(by_count(4), "thread_state").as_deref(),
            Some("running")
        );
        assert_eq!(
            label(by_count(3), "thread_state").as_deref(),
            Some("awaiting")
        );
        assert_eq!(
            by_count(3).location_id.len(),
            1,
            "no task or [awaiting] location"
        );
        assert_eq!(label(by_count(1), "task"), None);
        assert!(proto
            .function
            .iter()
            .all(|f| !s(f.name).starts_with("task ") && s(f.name) != "[awaiting]"));
        let back = parse(&proto.encode_to_vec()).unwrap();
        assert_eq!(
            folded::lines(&back, 0),
            folded::lines(&original, 0),
            "the same stacks after a round trip"
        );
    }

    #[test]
    fn round_trips_through_gzip() {
        let mut original = sample();
        original.threads[1].cpu_time_ns = Some(123_456_789);
        let mut bytes = Vec::new();
        write(&original, &WriteOptions::default(), &mut bytes).unwrap();
        assert_eq!(&bytes[..2], &[0x1f, 0x8b], "gzipped");
        let back = parse(&bytes).unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        folded::write(&original, &WriteOptions::default(), &mut a).unwrap();
        folded::write(&back, &WriteOptions::default(), &mut b).unwrap();
        assert_eq!(String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap());
        assert_eq!(back.total(), original.total());
        assert_eq!(back.meta.rate_hz, 100);
        assert_eq!(back.meta.duration_ns, 3_000_000_000);
        assert_eq!(
            back.threads[1].cpu_time_ns,
            Some(123_456_789),
            "CPU time in a comment"
        );
        assert_eq!(back.threads[0].cpu_time_ns, None);
    }

    #[test]
    fn child_processes_keep_their_pid_and_root() {
        let mut original = sample();
        let mut child = sample();
        let root = ProcessRoot::child(77, &["work.py".to_owned()]);
        for thread in &mut child.threads {
            thread.process = Some(root.clone());
            thread.cpu_time_ns = Some(5);
        }
        original.merge(&child);
        assert_eq!(original.threads.len(), 4, "a child's threads stay apart");
        let mut bytes = Vec::new();
        write(&original, &WriteOptions::default(), &mut bytes).unwrap();
        let back = parse(&bytes).unwrap();
        let children: Vec<_> = back
            .threads
            .iter()
            .filter(|t| t.process.is_some())
            .collect();
        assert_eq!(children.len(), 2);
        assert!(children
            .iter()
            .all(|t| t.process.as_ref() == Some(&root) && t.cpu_time_ns == Some(5)));
        let lines = folded::lines(&back, 0);
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("python-child (pid 77) work.py;MainThread (tid 5);main")),
            "{lines:?}"
        );
        let merged = back.merged_threads();
        assert_eq!(merged.threads.len(), 2, "one merged thread per process");
    }

    #[test]
    fn every_kind_is_written_and_read_back() {
        let mut heap = sample();
        heap.meta.kinds = vec![
            ValueKind::ALLOC_OBJECTS,
            ValueKind::ALLOC_SPACE,
            ValueKind::INUSE_OBJECTS,
            ValueKind::INUSE_SPACE,
        ];
        let proto = to_proto(&heap, None);
        let s = |i: i64| proto.string_table[i as usize].as_str();
        assert_eq!(
            s(proto.default_sample_type),
            "inuse_space",
            "Go's heap default"
        );
        assert!(proto.period_type.is_none(), "no time kind, no time period");
        assert_eq!(proto.sample[0].value.len(), 4);
        let back = from_proto(&proto).unwrap();
        assert_eq!(back.meta.kinds, heap.meta.kinds);
        assert_eq!(back.total(), heap.total());
        let chosen = to_proto(&sample(), Some(0));
        let s = |i: i64| chosen.string_table[i as usize].as_str();
        assert_eq!(s(chosen.default_sample_type), "samples");
    }

    #[test]
    fn a_time_profile_without_counts_gets_samples() {
        let mut proto = to_proto(&sample(), None);
        proto.sample_type.remove(0);
        for smp in &mut proto.sample {
            smp.value.remove(0);
        }
        let back = from_proto(&proto).unwrap();
        assert_eq!(back.meta.kinds, [ValueKind::SAMPLES, ValueKind::CPU]);
        assert_eq!(back.total(), sample().total());
    }

    #[test]
    fn labels_are_sample_labels_and_come_back() {
        let mut profile = sample();
        let cart = profile
            .frames
            .intern(Frame::user_label("endpoint", "/cart"));
        let handle = profile.frames.intern(Frame::python("handle", "a.py", 5, 1));
        profile
            .thread_mut("worker-1", 6)
            .add(&[cart, handle], Values::from_slice(&[5, 50]));
        let proto = to_proto(&profile, None);
        let s = |i: i64| proto.string_table[i as usize].as_str();
        let labelled = proto.sample.iter().find(|smp| smp.value[0] == 5).unwrap();
        assert!(labelled
            .label
            .iter()
            .any(|l| s(l.key) == "endpoint" && s(l.str) == "/cart"));
        assert_eq!(labelled.location_id.len(), 1, "a label is no location");
        assert!(proto.function.iter().all(|f| s(f.name) != "endpoint"));
        let back = from_proto(&proto).unwrap();
        assert_eq!(back.only_label("endpoint", Some("/cart")).total().get(0), 5);
        assert_eq!(back.total(), profile.total());
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let err = parse(b"\x1f\x8bnot really gzip").unwrap_err();
        assert!(
            err.to_string().starts_with("malformed pprof input: gzip"),
            "{err}"
        );
        let err = parse(b"\xff\xff\xff\xff").unwrap_err();
        assert!(
            err.to_string().starts_with("malformed pprof input"),
            "{err}"
        );
    }
}
