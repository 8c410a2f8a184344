//! What the Firefox Profiler's format carries and `fxprof-processed-profile` 0.8 (the
//! newest release) cannot write, filled into the JSON it wrote:
//!
//! - **File and line**: the crate writes a function per frame label and leaves
//!   `funcTable.fileName`/`lineNumber` and `frameTable.line` null, so the profiler showed
//!   `work (app.py:12)` as a function name and its source view had nothing to show. Here
//!   the functions become one per (qualified name, file), with the file and first line,
//!   and each frame keeps its own line.
//! - **Sample weights in time**: each sample weighs the milliseconds it stands for
//!   (`weightType` `tracing-ms`: CPU time in CPU mode, wall time in wall mode), so the call
//!   tree shows the time every other output shows. Whole-sample weights (what a kept sample
//!   stands for in sampling periods) came out as 0 and 2 in turn for samples a little
//!   early or late, and were not what other outputs count either.
//! - **Thread names and ids**: the crate names a process's main thread after the process,
//!   so the main thread showed as "rpprof: SCRIPT" instead of `MainThread`.
//! - **The command line and the recording's facts** (`meta.arguments`, `meta.extra`).
//!
//! To find our frames and threads again without guessing, [`super::build`] hands the crate
//! each frame's [`FrameId`] as its label and each thread's index in the timeline as its tid;
//! this module puts the real names, files, lines and tids in their place.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::frame::{FrameId, FrameKind};
use crate::profile::Profile;
use crate::timeline::Timeline;

/// The label [`super::build`] gives a frame: its id, which [`fill`] replaces.
pub(super) fn frame_key(id: FrameId) -> String {
    id.to_string()
}

/// Fills `json` (the crate's profile of `timeline`) with what the crate cannot write.
/// Fails only if the crate's JSON is not shaped as its version 0.8 writes it.
pub(super) fn fill(json: &mut Value, profile: &Profile, timeline: &Timeline) -> Result<(), String> {
    let threads = json
        .get_mut("threads")
        .and_then(Value::as_array_mut)
        .ok_or("no threads array")?;
    for thread in threads {
        fill_thread(thread, timeline)?;
    }
    let meta = json
        .get_mut("meta")
        .and_then(Value::as_object_mut)
        .ok_or("no meta object")?;
    meta.insert("arguments".into(), timeline.command_line.clone().into());
    meta.insert("extra".into(), extra(profile, timeline));
    meta.insert("rpprofKeepOneIn".into(), timeline.keep_one_in.into());
    Ok(())
}

fn fill_thread(thread: &mut Value, timeline: &Timeline) -> Result<(), String> {
    let index = thread
        .get("tid")
        .and_then(|tid| match tid {
            Value::String(s) => s.parse::<usize>().ok(),
            other => other.as_u64().map(|n| n as usize),
        })
        .ok_or("a thread without our tid")?;
    let ours = timeline.threads.get(index).ok_or("a tid out of range")?;
    thread["tid"] = ours.tid.into();
    thread["name"] = ours.name.clone().into();

    let object = thread.as_object_mut().ok_or("a thread is not an object")?;
    let mut strings = Strings::take(object)?;
    let old_names = column(object, "funcTable", "name")?;
    // Old function -> new one, keyed by (name, file): the lines of a function are one.
    let mut new_of_old = Vec::with_capacity(old_names.len());
    let mut new_index: HashMap<(usize, Option<usize>), usize> = HashMap::new();
    let mut new_funcs: Vec<(usize, Option<usize>, Option<u32>)> = Vec::new();
    let mut frame_of_old = Vec::with_capacity(old_names.len());
    for name in &old_names {
        let key = name
            .as_u64()
            .and_then(|i| strings.get(i as usize))
            .ok_or("a function name out of the string table")?;
        let id: FrameId = key.parse().map_err(|_| format!("not a frame key: {key}"))?;
        if id as usize >= timeline.frames.len() {
            return Err(format!("no frame {id}"));
        }
        let frame = timeline.frames.get(id);
        let (name, file, start) = match frame.kind {
            FrameKind::Python if !frame.file.is_empty() => (
                strings.id(&frame.function),
                Some(strings.id(&frame.file)),
                (frame.start_line > 0).then_some(frame.start_line),
            ),
            _ => (strings.id(&frame.label()), None, None),
        };
        let new = *new_index.entry((name, file)).or_insert_with(|| {
            new_funcs.push((name, file, start));
            new_funcs.len() - 1
        });
        new_of_old.push(new);
        frame_of_old.push(id);
    }
    let count = new_funcs.len();
    object.insert(
        "funcTable".into(),
        json!({
            "length": count,
            "name": new_funcs.iter().map(|f| f.0).collect::<Vec<_>>(),
            "isJS": vec![false; count],
            "relevantForJS": vec![false; count],
            "resource": vec![-1; count],
            "fileName": new_funcs.iter().map(|f| f.1).collect::<Vec<_>>(),
            "lineNumber": new_funcs.iter().map(|f| f.2).collect::<Vec<_>>(),
            "columnNumber": vec![Value::Null; count],
        }),
    );
    let funcs = column(object, "frameTable", "func")?;
    let mut frame_funcs = Vec::with_capacity(funcs.len());
    let mut frame_lines = Vec::with_capacity(funcs.len());
    for func in &funcs {
        let old = func
            .as_u64()
            .map(|i| i as usize)
            .filter(|&i| i < new_of_old.len())
            .ok_or("a frame's function out of range")?;
        frame_funcs.push(new_of_old[old]);
        let frame = timeline.frames.get(frame_of_old[old]);
        frame_lines.push((frame.kind == FrameKind::Python && frame.line > 0).then_some(frame.line));
    }
    let frame_table = object
        .get_mut("frameTable")
        .and_then(Value::as_object_mut)
        .ok_or("no frameTable")?;
    frame_table.insert("func".into(), json!(frame_funcs));
    frame_table.insert("line".into(), json!(frame_lines));

    let samples = object
        .get_mut("samples")
        .and_then(Value::as_object_mut)
        .ok_or("no samples")?;
    let length = samples.get("length").and_then(Value::as_u64).unwrap_or(0);
    if length != ours.samples.len() as u64 {
        return Err(format!(
            "thread {index}: {length} samples written, {} kept",
            ours.samples.len()
        ));
    }
    samples.insert("weightType".into(), "tracing-ms".into());
    samples.insert(
        "weight".into(),
        json!(ours
            .samples
            .iter()
            .map(|s| s.weight_ns as f64 / 1e6)
            .collect::<Vec<_>>()),
    );
    strings.put_back(object);
    Ok(())
}

/// A column of one of a thread's tables, taken out of it.
fn column(
    thread: &mut serde_json::Map<String, Value>,
    table: &str,
    name: &str,
) -> Result<Vec<Value>, String> {
    match thread.get_mut(table).and_then(|t| t.get_mut(name)) {
        Some(Value::Array(values)) => Ok(std::mem::take(values)),
        _ => Err(format!("no {table}.{name}")),
    }
}

/// A thread's string table, while strings are added to it.
struct Strings {
    table: Vec<String>,
    index: HashMap<String, usize>,
}

impl Strings {
    fn take(thread: &mut serde_json::Map<String, Value>) -> Result<Strings, String> {
        let table: Vec<String> = match thread.remove("stringArray") {
            Some(Value::Array(values)) => values
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    _ => Err("a string table entry is not a string".to_owned()),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err("no stringArray".into()),
        };
        let index = table
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i))
            .collect();
        Ok(Strings { table, index })
    }

    fn get(&self, i: usize) -> Option<&str> {
        self.table.get(i).map(String::as_str)
    }

    fn id(&mut self, text: &str) -> usize {
        if let Some(&i) = self.index.get(text) {
            return i;
        }
        self.table.push(text.to_owned());
        self.index.insert(text.to_owned(), self.table.len() - 1);
        self.table.len() - 1
    }

    fn put_back(self, thread: &mut serde_json::Map<String, Value>) {
        thread.insert("stringArray".into(), json!(self.table));
    }
}

/// The `extra` section the profiler shows in its profile-info panel: mode, rate, samples
/// taken and kept, how many each kept one stands for, and what the weights are.
fn extra(profile: &Profile, timeline: &Timeline) -> Value {
    let entry =
        |label: &str, value: String| json!({"label": label, "format": "string", "value": value});
    let mode = if timeline.cpu_mode { "cpu" } else { "wall" };
    json!([{
        "label": "rpprof",
        "entries": [
            entry("Command line", timeline.command_line.clone()),
            entry("Mode", mode.to_owned()),
            entry("Rate", format!("{} Hz per thread", profile.meta.rate_hz)),
            entry(
                "Sample weights",
                format!(
                    "the {mode} time each sample stands for, in milliseconds (other outputs' \
                     sample counts are this time in sampling periods)"
                ),
            ),
            entry("Samples taken", timeline.samples_taken.to_string()),
            entry("Samples kept", timeline.samples_kept().to_string()),
            entry(
                "Each kept sample stands for",
                match timeline.keep_one_in {
                    1 => "one sample (none merged)".to_owned(),
                    k => format!(
                        "up to {k} neighbouring samples (merged past the budget of {} samples)",
                        timeline.max_samples
                    ),
                },
            ),
            entry("Dropped (buffers full)", profile.meta.dropped.to_string()),
        ],
    }])
}
