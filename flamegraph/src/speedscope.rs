//! speedscope JSON (<https://www.speedscope.app>): one sampled profile per thread, named
//! after the thread, all sharing one frame table. speedscope shows threads side by side.
//!
//! From a recording that kept its samples in time order (`Profile::timeline`), each
//! thread the view shows on its own has its samples in the order they were taken, so
//! speedscope's "Time Order" view is the thread's real timeline. A group of threads (a
//! pool, a thread per request: one profile for many threads running side by side) has no
//! one order: it is written as one sample per distinct stack with its total, and its name
//! says so. So is every thread of a profile read from pprof or folded.
//!
//! Frames are functions, not lines ([`Frames`]).

use std::io::Write;

use serde::Serialize;

use std::collections::HashMap;

use crate::frame::{Frame, FrameId, FrameKind, FrameTable};
use crate::options::WriteOptions;
use crate::profile::{Profile, ThreadProfile};
use crate::timeline::{ThreadTimeline, Timeline};
use crate::ProfileError;

/// The schema URL every speedscope file names.
pub const SCHEMA: &str = "https://www.speedscope.app/file-format-schema.json";

#[derive(Serialize)]
struct File {
    #[serde(rename = "$schema")]
    schema: &'static str,
    shared: Shared,
    profiles: Vec<SampledProfile>,
    name: String,
    #[serde(rename = "activeProfileIndex")]
    active_profile_index: usize,
    exporter: String,
}

#[derive(Serialize)]
struct Shared {
    frames: Vec<FrameOut>,
}

#[derive(Serialize)]
struct FrameOut {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
}

#[derive(Serialize)]
struct SampledProfile {
    #[serde(rename = "type")]
    kind: &'static str,
    name: String,
    unit: &'static str,
    #[serde(rename = "startValue")]
    start_value: u64,
    #[serde(rename = "endValue")]
    end_value: u64,
    samples: Vec<Vec<u32>>,
    weights: Vec<u64>,
}

/// Writes the profile as speedscope JSON; weights are the kind `options.value` names, by
/// default nanoseconds of CPU (or wall) time.
pub fn write(
    profile: &Profile,
    options: &WriteOptions,
    out: &mut dyn Write,
) -> Result<(), ProfileError> {
    let value = options
        .value
        .or_else(|| profile.meta.time_index())
        .unwrap_or_else(|| profile.meta.count_index());
    let kind = profile.meta.kinds.get(value);
    let unit = match kind {
        Some(kind) if kind.is_time() => "nanoseconds",
        Some(kind) if kind.is_bytes() => "bytes",
        _ => "none",
    };
    // The samples in time order serve a time or sample count, and a view whose stacks they
    // have: not one that adds label or task roots (the timeline keeps neither).
    let timeline = profile.timeline.as_deref().filter(|_| {
        kind.is_some_and(|kind| kind.is_time() || *kind == crate::ValueKind::SAMPLES)
            && !has_view_roots(profile)
    });
    let as_time = kind.is_some_and(|kind| kind.is_time());
    let mut frames = Frames::default();
    let profiles = profile
        .threads
        .iter()
        .map(
            |thread| match timeline.and_then(|t| own_timeline(t, thread)) {
                Some((line, timeline)) => timed(line, timeline, as_time, unit, &mut frames),
                None => totals(
                    profile,
                    thread,
                    value,
                    unit,
                    timeline.is_some(),
                    &mut frames,
                ),
            },
        )
        .collect();
    let file = File {
        schema: SCHEMA,
        shared: Shared {
            frames: frames.list,
        },
        profiles,
        name: if profile.meta.title.is_empty() {
            "rpprof".to_owned()
        } else {
            format!("rpprof: {}", profile.meta.title)
        },
        active_profile_index: 0,
        exporter: format!("rpprof {}", env!("CARGO_PKG_VERSION")),
    };
    serde_json::to_writer(&mut *out, &file).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// True when the view's stacks carry label or task roots.
fn has_view_roots(profile: &Profile) -> bool {
    profile.threads.iter().any(|thread| {
        thread.stacks.keys().any(|stack| {
            stack.iter().any(|&id| {
                let frame = profile.frames.get(id);
                frame.kind == FrameKind::Label || frame.task_name().is_some()
            })
        })
    })
}

/// The timeline of a thread the view shows on its own (not a group, not ended threads
/// summed, not a child process's), if exactly one thread of the timeline is it.
fn own_timeline<'t>(
    timeline: &'t Timeline,
    thread: &ThreadProfile,
) -> Option<(&'t ThreadTimeline, &'t Timeline)> {
    if thread.process.is_some() || thread.ended_members > 0 || thread.tid == 0 {
        return None;
    }
    let mut same = timeline
        .threads
        .iter()
        .filter(|t| t.tid == thread.tid && t.name == thread.name);
    match (same.next(), same.next()) {
        (Some(line), None) => Some((line, timeline)),
        _ => None,
    }
}

/// A thread's samples in the order they were taken.
fn timed(
    line: &ThreadTimeline,
    timeline: &Timeline,
    as_time: bool,
    unit: &'static str,
    frames: &mut Frames,
) -> SampledProfile {
    let weights: Vec<u64> = line
        .samples
        .iter()
        .map(|s| {
            if as_time {
                s.weight_ns
            } else {
                u64::from(s.count)
            }
        })
        .collect();
    SampledProfile {
        kind: "sampled",
        name: format!("{} (tid {})", line.name, line.tid),
        unit,
        start_value: 0,
        end_value: weights.iter().fold(0, |a: u64, &b| a.saturating_add(b)),
        samples: line
            .samples
            .iter()
            .map(|s| frames.stack(&timeline.stacks[s.stack as usize], &timeline.frames))
            .collect(),
        weights,
    }
}

/// One sample per distinct stack with its total. In a file whose other threads are in
/// time order (`mixed`), the name says this one is not.
fn totals(
    profile: &Profile,
    thread: &ThreadProfile,
    value: usize,
    unit: &'static str,
    mixed: bool,
    frames: &mut Frames,
) -> SampledProfile {
    let mut stacks: Vec<_> = thread.stacks.iter().collect();
    stacks.sort_by(|a, b| a.0.cmp(b.0));
    let weights: Vec<u64> = stacks.iter().map(|(_, v)| v.get(value)).collect();
    let name = match &thread.process {
        Some(process) => format!("{} / {}", process.label, thread.label()),
        None => thread.label(),
    };
    SampledProfile {
        kind: "sampled",
        name: if mixed {
            format!("{name} (totals per stack, not in time order)")
        } else {
            name
        },
        unit,
        start_value: 0,
        end_value: weights.iter().fold(0, |a: u64, &b| a.saturating_add(b)),
        samples: stacks
            .iter()
            .map(|(stack, _)| frames.stack(stack, &profile.frames))
            .collect(),
        weights,
    }
}

/// The shared frame table, one frame per function: speedscope's frame is a function (its
/// `line` is where the function starts, as its other importers write it), and its sandwich
/// view lists frames, so per-line frames showed a function once per line, as identical
/// rows. Lines are in the pprof, Firefox, SVG and folded outputs.
#[derive(Default)]
struct Frames {
    list: Vec<FrameOut>,
    index: HashMap<(FrameKind, String, String), u32>,
}

impl Frames {
    /// `stack`'s frames (root first) as indices into the shared table.
    fn stack(&mut self, stack: &[FrameId], table: &FrameTable) -> Vec<u32> {
        stack.iter().map(|&id| self.frame(table.get(id))).collect()
    }

    fn frame(&mut self, frame: &Frame) -> u32 {
        let out = match frame.kind {
            FrameKind::Marker => FrameOut {
                name: frame.function.clone(),
                file: None,
                line: None,
            },
            // Only in a view grouped by a label: `key=value`.
            FrameKind::Label => FrameOut {
                name: frame.label(),
                file: None,
                line: None,
            },
            FrameKind::Python => FrameOut {
                name: frame.function.clone(),
                file: Some(frame.file.clone()),
                line: (frame.start_line > 0).then_some(frame.start_line),
            },
        };
        let key = (frame.kind, out.name.clone(), frame.file.clone());
        let list = &mut self.list;
        *self.index.entry(key).or_insert_with(|| {
            list.push(out);
            list.len() as u32 - 1
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{folded, ProfileMeta};

    #[test]
    fn one_sampled_profile_per_thread_sharing_frames() {
        let profile = folded::parse(
            "MainThread (tid 1);main (a.py:3);work (a.py:9) 4\nworker (tid 2);main (a.py:3);[idle] 1\n"
                .as_bytes(),
            ProfileMeta {
                rate_hz: 100,
                ..ProfileMeta::default()
            },
        )
        .unwrap();
        let mut out = Vec::new();
        write(&profile, &WriteOptions::default(), &mut out).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(json["$schema"], SCHEMA);
        let frames = json["shared"]["frames"].as_array().unwrap();
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[0]["name"], "main");
        assert_eq!(frames[0]["file"], "a.py");
        // Folded files do not say where a function starts.
        assert!(frames[0].get("line").is_none());
        assert_eq!(frames[2]["name"], "[idle]");
        assert!(frames[2].get("file").is_none());
        let profiles = json["profiles"].as_array().unwrap();
        assert_eq!(profiles.len(), 2);
        assert_eq!(profiles[0]["name"], "MainThread (tid 1)");
        assert_eq!(profiles[0]["type"], "sampled");
        assert_eq!(profiles[0]["unit"], "nanoseconds");
        assert_eq!(profiles[0]["samples"], serde_json::json!([[0, 1]]));
        assert_eq!(profiles[0]["weights"], serde_json::json!([40_000_000]));
        assert_eq!(profiles[0]["endValue"], 40_000_000);
        assert_eq!(profiles[1]["samples"], serde_json::json!([[0, 2]]));
    }

    /// A recording with a main thread in time order and a pool of five grouped.
    #[test]
    fn ungrouped_threads_keep_time_order_beside_a_group() {
        let mut text = String::new();
        for i in 0..5 {
            text.push_str(&format!("pool_{i} (tid {});task (a.py:20) 3\n", 10 + i));
        }
        text.push_str("MainThread (tid 1);main (a.py:3) 1\nMainThread (tid 1);late (a.py:9) 1\n");
        let profile = folded::parse(text.as_bytes(), ProfileMeta::default()).unwrap();
        let mut timeline = crate::Timeline::default();
        let main = timeline
            .frames
            .intern(crate::Frame::python("main", "a.py", 3, 1));
        let late = timeline
            .frames
            .intern(crate::Frame::python("late", "a.py", 9, 8));
        // `late` ran first, then `main`: the reverse of the stacks' sorted order.
        timeline.stacks = vec![vec![late], vec![main]];
        let sample = |time_ns, stack| crate::TimedSample {
            time_ns,
            weight_ns: 10,
            stack,
            count: 1,
        };
        timeline.threads.push(crate::ThreadTimeline {
            name: "MainThread".into(),
            tid: 1,
            samples: vec![sample(1, 0), sample(2, 1)],
            ..Default::default()
        });
        // As the view does: threads grouped, the timeline as recorded.
        let mut grouped = profile.grouped_threads(crate::groups::AUTO_MIN_GROUP);
        grouped.timeline = Some(std::sync::Arc::new(timeline));
        let mut out = Vec::new();
        write(&grouped, &WriteOptions::default(), &mut out).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let frames = json["shared"]["frames"].as_array().unwrap();
        let name_of = |i: &serde_json::Value| frames[i.as_u64().unwrap() as usize]["name"].clone();
        let profiles = json["profiles"].as_array().unwrap();
        let main = profiles
            .iter()
            .find(|p| p["name"] == "MainThread (tid 1)")
            .unwrap();
        let order: Vec<_> = main["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| name_of(&s[0]))
            .collect();
        assert_eq!(order, ["late", "main"], "in the order taken");
        // A function's frame says where it starts.
        assert_eq!(
            frames.iter().find(|f| f["name"] == "late").unwrap()["line"],
            8
        );
        let pool = profiles
            .iter()
            .find(|p| p["name"].as_str().unwrap().starts_with("pool_N ×5"))
            .unwrap();
        assert!(pool["name"]
            .as_str()
            .unwrap()
            .ends_with("(totals per stack, not in time order)"));
        assert_eq!(
            pool["weights"],
            serde_json::json!([15]),
            "three samples of five threads"
        );
    }
}
