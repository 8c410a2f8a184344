//! Writing pprof: a [`Profile`] into the protobuf message and the gzipped file.

use std::collections::HashMap;
use std::io::Write;

use flate2::write::GzEncoder;
use pprof::protos::{self, Message};

use label_keys::{thread_state, LabelKey, ValueType, KEYS};

use crate::frame::{Frame, FrameId, FrameKind, IDLE};
use crate::labels::{label_prefix, sample_labels};
use crate::options::WriteOptions;
use crate::profile::{Profile, ProfileMeta};
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
    // Strings are numbered as they are first met, so the order of the steps below is the
    // order of the string table: keep it, and the same profile keeps giving the same bytes.
    let mut strings = Strings::new();
    let kinds = &profile.meta.kinds;
    let sample_type: Vec<protos::ValueType> = kinds
        .iter()
        .map(|kind| protos::ValueType {
            ty: strings.id(&kind.name),
            unit: strings.id(&kind.unit),
        })
        .collect();
    let symbols = Symbols::of(profile, &mut strings);
    let own_keys = OwnKeys::new(&mut strings, profile.has_processes());
    let samples = samples(profile, &symbols.location_of_frame, &own_keys, &mut strings);
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
        location: symbols.locations,
        function: symbols.functions,
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

/// The functions and locations of a profile's frames: one `Function` per (name, file), one
/// `Location` per (function, line), ids from 1 in the order of the frame table.
struct Symbols {
    functions: Vec<protos::Function>,
    locations: Vec<protos::Location>,
    /// The location of each frame that is one (not every frame is: see [`Symbols::of`]).
    location_of_frame: HashMap<FrameId, u64>,
}

impl Symbols {
    fn of(profile: &Profile, strings: &mut Strings) -> Symbols {
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
        Symbols {
            functions,
            locations,
            location_of_frame,
        }
    }
}

/// The string ids of rpprof's own label keys (the table in `label_keys`), interned in the
/// order its files have always had: `thread_name`, `thread_id`, `thread_state`,
/// `thread_group`, `task`, then `pid` and `process` in a profile with child processes.
struct OwnKeys {
    ids: [i64; KEYS.len()],
}

impl OwnKeys {
    fn new(strings: &mut Strings, with_processes: bool) -> OwnKeys {
        let threads = [
            LabelKey::ThreadName,
            LabelKey::ThreadId,
            LabelKey::ThreadState,
            LabelKey::ThreadGroup,
            LabelKey::Task,
        ];
        let processes: &[LabelKey] = if with_processes {
            &[LabelKey::Pid, LabelKey::Process]
        } else {
            &[]
        };
        let mut ids = [0; KEYS.len()];
        for &key in threads.iter().chain(processes) {
            ids[key as usize] = strings.id(key.name());
        }
        OwnKeys { ids }
    }

    /// The label `key=value`, `value` being a number or a string id as the table says.
    fn label(&self, key: LabelKey, value: i64) -> protos::Label {
        let key_id = self.ids[key as usize];
        match key.value() {
            ValueType::Number => protos::Label {
                key: key_id,
                num: value,
                ..Default::default()
            },
            ValueType::Text => protos::Label {
                key: key_id,
                str: value,
                ..Default::default()
            },
        }
    }
}

/// The `thread_state` of a sample whose leaf is `leaf`.
fn thread_state(leaf: Option<&Frame>) -> &'static str {
    match leaf {
        Some(frame) if frame.is_idle() => thread_state::IDLE,
        Some(frame) if frame.is_awaiting() => thread_state::AWAITING,
        _ => thread_state::RUNNING,
    }
}

/// Every stack of every thread as a sample, leaf first, with its labels: rpprof's own
/// (thread, state, group, task, process), then the sample's user labels.
fn samples(
    profile: &Profile,
    location_of_frame: &HashMap<FrameId, u64>,
    keys: &OwnKeys,
    strings: &mut Strings,
) -> Vec<protos::Sample> {
    let mut samples = Vec::new();
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
            let location_id: Vec<u64> = stack
                .iter()
                .rev()
                .filter_map(|id| location_of_frame.get(id).copied())
                .collect();
            let mut label = vec![keys.label(LabelKey::ThreadName, thread_name)];
            if thread.tid != 0 {
                label.push(keys.label(LabelKey::ThreadId, i64::from(thread.tid)));
            }
            let state = strings.id(thread_state(leaf));
            label.push(keys.label(LabelKey::ThreadState, state));
            if let Some(group) = thread_group {
                label.push(keys.label(LabelKey::ThreadGroup, group));
            }
            // The asyncio task: a `task NAME` frame under the thread becomes a label, like
            // the thread itself.
            if let Some(task) = stack[label_prefix(stack, &profile.frames)..]
                .first()
                .and_then(|&id| profile.frames.get(id).task_name())
            {
                label.push(keys.label(LabelKey::Task, strings.id(task)));
            }
            if let Some((pid, root)) = process {
                label.push(keys.label(LabelKey::Pid, pid));
                label.push(keys.label(LabelKey::Process, root));
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
                value: (0..profile.meta.kinds.len())
                    .map(|i| clamp_i64(values.get(i)))
                    .collect(),
                label,
            });
        }
    }
    samples
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

/// `n` as pprof's signed 64-bit value; counts past `i64::MAX` (only from hostile inputs)
/// are clamped rather than turned negative.
fn clamp_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
