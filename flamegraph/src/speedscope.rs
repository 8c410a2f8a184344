//! speedscope JSON (<https://www.speedscope.app>): one sampled profile per thread, named
//! after the thread, all sharing one frame table. speedscope shows threads side by side.
//!
//! From a recording that kept its samples in time order (`Profile::timeline`), each
//! thread's samples are written in the order they were taken, so speedscope's "Time Order"
//! view is the thread's real timeline; otherwise (a profile read from pprof or folded)
//! each distinct stack is one sample with its total.

use std::io::Write;

use serde::Serialize;

use crate::frame::{FrameKind, FrameTable};
use crate::options::WriteOptions;
use crate::profile::Profile;
use crate::ProfileError;

/// The schema URL every speedscope file names.
pub const SCHEMA: &str = "https://www.speedscope.app/file-format-schema.json";

#[derive(Serialize)]
struct File<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    shared: Shared<'a>,
    profiles: Vec<SampledProfile>,
    name: String,
    #[serde(rename = "activeProfileIndex")]
    active_profile_index: usize,
    exporter: String,
}

#[derive(Serialize)]
struct Shared<'a> {
    frames: Vec<FrameOut<'a>>,
}

#[derive(Serialize)]
struct FrameOut<'a> {
    name: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
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
    let unit = match profile.meta.kinds.get(value) {
        Some(kind) if kind.is_time() => "nanoseconds",
        Some(kind) if kind.is_bytes() => "bytes",
        _ => "none",
    };
    // The time order is used for samples and time, and while the view keeps every thread
    // apart (a grouped pool or merged threads have no one timeline).
    let timeline = profile.timeline.as_deref().filter(|timeline| {
        timeline.threads.len() == profile.threads.len()
            && profile
                .meta
                .kinds
                .get(value)
                .is_some_and(|kind| kind.is_time() || *kind == crate::ValueKind::SAMPLES)
    });
    let frames = frames_out(timeline.map_or(&profile.frames, |t| &t.frames));
    let profiles = match timeline {
        Some(timeline) => {
            let as_time = profile.meta.kinds[value].is_time();
            timeline
                .threads
                .iter()
                .map(|thread| {
                    let weights: Vec<u64> = thread
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
                        name: format!("{} (tid {})", thread.name, thread.tid),
                        unit,
                        start_value: 0,
                        end_value: weights.iter().fold(0, |a: u64, &b| a.saturating_add(b)),
                        samples: thread
                            .samples
                            .iter()
                            .map(|s| timeline.stacks[s.stack as usize].clone())
                            .collect(),
                        weights,
                    }
                })
                .collect()
        }
        None => aggregated_profiles(profile, value, unit),
    };
    let file = File {
        schema: SCHEMA,
        shared: Shared { frames },
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

/// The frames of a frame table, as speedscope names them.
fn frames_out(table: &FrameTable) -> Vec<FrameOut<'_>> {
    table
        .iter()
        .map(|(_, frame)| match frame.kind {
            FrameKind::Marker => FrameOut {
                name: frame.function.as_str().into(),
                file: None,
                line: None,
            },
            // Only in a view grouped by a label: `key=value`.
            FrameKind::Label => FrameOut {
                name: frame.label().into(),
                file: None,
                line: None,
            },
            FrameKind::Python => FrameOut {
                name: frame.function.as_str().into(),
                file: Some(&frame.file),
                line: (frame.line > 0).then_some(frame.line),
            },
        })
        .collect()
}

/// One sample per distinct stack with its total, per thread.
fn aggregated_profiles(profile: &Profile, value: usize, unit: &'static str) -> Vec<SampledProfile> {
    profile
        .threads
        .iter()
        .map(|thread| {
            let mut stacks: Vec<_> = thread.stacks.iter().collect();
            stacks.sort_by(|a, b| a.0.cmp(b.0));
            let weights: Vec<u64> = stacks.iter().map(|(_, v)| v.get(value)).collect();
            SampledProfile {
                kind: "sampled",
                name: match &thread.process {
                    Some(process) => format!("{} / {}", process.label, thread.label()),
                    None => thread.label(),
                },
                unit,
                start_value: 0,
                end_value: weights.iter().fold(0, |a: u64, &b| a.saturating_add(b)),
                samples: stacks.iter().map(|(stack, _)| stack.to_vec()).collect(),
                weights,
            }
        })
        .collect()
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
        assert_eq!(frames[0]["line"], 3);
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
}
