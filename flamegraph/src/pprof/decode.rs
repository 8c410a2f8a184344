//! Reading pprof: the gzipped (or plain) file and the protobuf message into a [`Profile`],
//! from rpprof or any other tool.

use std::collections::HashMap;
use std::io::Read;

use flate2::read::GzDecoder;
use pprof::protos::{self, Message};

use label_keys::{thread_state, LabelKey, ValueType};

use crate::frame::{Frame, FrameId, AWAITING, IDLE};
use crate::profile::{ProcessRoot, Profile, ProfileMeta, ALL_THREADS, MAX_SAMPLES};
use crate::value::{ValueKind, Values, MAX_VALUE_KINDS};
use crate::ProfileError;

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
        let SampleLabels {
            thread_name,
            tid,
            state,
            group,
            task,
            pid,
            process: process_label,
            user: mut user_labels,
        } = SampleLabels::read(&sample.label, &text)?;
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
            thread_state::IDLE if !named_idle => stack.push(idle_frame),
            thread_state::AWAITING => stack.push(awaiting_frame),
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

/// What one sample's labels say: rpprof's own keys (read as the `label_keys` table types
/// them), and the user's string labels.
struct SampleLabels<'a> {
    thread_name: String,
    tid: i32,
    state: &'a str,
    group: Option<String>,
    task: Option<&'a str>,
    pid: Option<u32>,
    process: Option<String>,
    user: Vec<(&'a str, &'a str)>,
}

/// A label's value, as its key's row of the table says it is carried.
#[derive(Clone, Copy)]
enum LabelValue<'a> {
    Number(i64),
    Text(&'a str),
}

impl<'a> LabelValue<'a> {
    /// The number of a number key (0 for a string key: the table types each key once).
    fn number(self) -> i64 {
        match self {
            LabelValue::Number(n) => n,
            LabelValue::Text(_) => 0,
        }
    }

    /// The text of a string key ("" for a number key).
    fn text(self) -> &'a str {
        match self {
            LabelValue::Text(text) => text,
            LabelValue::Number(_) => "",
        }
    }
}

impl<'a> SampleLabels<'a> {
    /// Reads `labels`; a sample without `thread_name` goes to [`ALL_THREADS`], without
    /// `thread_state` it is running. Number labels under other keys are dropped.
    fn read(
        labels: &[protos::Label],
        text: &impl Fn(i64) -> Result<&'a str, ProfileError>,
    ) -> Result<SampleLabels<'a>, ProfileError> {
        let mut read = SampleLabels {
            thread_name: ALL_THREADS.to_owned(),
            tid: 0,
            state: thread_state::RUNNING,
            group: None,
            task: None,
            pid: None,
            process: None,
            user: Vec::new(),
        };
        for label in labels {
            let key = text(label.key)?;
            let Some(own) = LabelKey::from_name(key) else {
                if label.str != 0 {
                    read.user.push((key, text(label.str)?));
                }
                continue;
            };
            let value = match own.value() {
                ValueType::Number => LabelValue::Number(label.num),
                ValueType::Text => LabelValue::Text(text(label.str)?),
            };
            // Every key, so that a key added to the table cannot go unread.
            match own {
                LabelKey::ThreadName => value.text().clone_into(&mut read.thread_name),
                LabelKey::ThreadId => read.tid = i32::try_from(value.number()).unwrap_or(0),
                LabelKey::ThreadState => read.state = value.text(),
                LabelKey::ThreadGroup => read.group = Some(value.text().to_owned()),
                LabelKey::Pid => read.pid = u32::try_from(value.number()).ok(),
                LabelKey::Process => read.process = Some(value.text().to_owned()),
                LabelKey::Task => read.task = Some(value.text()),
            }
        }
        Ok(read)
    }
}
