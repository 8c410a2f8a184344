//! The Firefox Profiler's format (<https://profiler.firefox.com>), written with the
//! `fxprof-processed-profile` crate (samply's): a timeline with one track per thread, each
//! sample at its real time with its CPU use (so idle stretches draw flat) and weighing the
//! time it stands for, running and idle samples in categories of their own (`Python`,
//! `Idle`), functions with their file and lines, markers where threads start and end, and
//! the command line, mode, rate and any merging of samples in the metadata. What the crate
//! cannot write is filled into its JSON by [`fill`].
//!
//! It needs the samples in time order, which only a recording keeps
//! ([`Profile::timeline`](crate::Profile::timeline)); a profile without them (read from
//! pprof or folded, or an agent's window) cannot be written in this format.
//!
//! Threads of a pool or a thread-per-request server (five or more whose names differ only
//! in numbers, [`crate::groups`]) are put in a track group of their own, named after the
//! group, under which each thread keeps its own track.

use std::collections::HashMap;
use std::io::Write;

use fxprof_processed_profile::{
    CategoryColor, CategoryHandle, CpuDelta, Frame as FxFrame, FrameFlags, FrameInfo, MarkerTiming,
    ProcessHandle, Profile as FxProfile, ReferenceTimestamp, SamplingInterval, StaticSchemaMarker,
    StaticSchemaMarkerField, StringHandle, Timestamp,
};

use crate::frame::FrameKind;
use crate::groups::{group_of, AUTO_MIN_GROUP};
use crate::options::WriteOptions;
use crate::profile::Profile;
use crate::timeline::{ThreadTimeline, TimedSample, Timeline};
use crate::ProfileError;

mod fill;

/// Writes the profile's timeline in the Firefox Profiler's processed format (plain JSON;
/// the output layer gzips it for a `.gz` file name).
pub fn write(
    profile: &Profile,
    _options: &WriteOptions,
    out: &mut dyn Write,
) -> Result<(), ProfileError> {
    let timeline = profile
        .timeline
        .as_deref()
        .ok_or(ProfileError::NoTimeline { format: "firefox" })?;
    let fx = build(profile, timeline);
    let mut json = serde_json::to_value(&fx).map_err(std::io::Error::from)?;
    fill::fill(&mut json, profile, timeline).map_err(|reason| {
        std::io::Error::other(format!(
            "fxprof-processed-profile wrote an unexpected profile: {reason}"
        ))
    })?;
    serde_json::to_writer(&mut *out, &json).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// The Firefox profile of a timeline.
fn build(profile: &Profile, timeline: &Timeline) -> FxProfile {
    let title = match profile.meta.title.as_str() {
        "" => "rpprof".to_owned(),
        title => format!("rpprof: {title}"),
    };
    let reference =
        ReferenceTimestamp::from_millis_since_unix_epoch(timeline.start_unix_ns as f64 / 1e6);
    let interval = SamplingInterval::from_nanos(profile.meta.period_ns());
    let mut fx = FxProfile::new(&title, reference, interval);
    let categories = Categories {
        python: fx.add_category("Python", CategoryColor::Yellow),
        idle: fx.add_category("Idle", CategoryColor::Transparent),
        marker: fx.add_category("rpprof", CategoryColor::Gray),
    };
    let pid = std::process::id();
    let program = fx.add_process(&title, pid, Timestamp::from_nanos_since_reference(0));
    let mut group_sizes: HashMap<String, usize> = HashMap::new();
    for thread in &timeline.threads {
        *group_sizes.entry(group_of(&thread.name)).or_default() += 1;
    }
    let mut group_tracks: HashMap<String, ProcessHandle> = HashMap::new();
    let mut labels: Vec<Option<StringHandle>> = vec![None; timeline.frames.len()];
    let (started, ended) = (
        fx.intern_string("Thread start"),
        fx.intern_string("Thread end"),
    );
    for (index, thread) in timeline.threads.iter().enumerate() {
        let group = group_of(&thread.name);
        let size = group_sizes[&group];
        let process = if size >= AUTO_MIN_GROUP {
            *group_tracks.entry(group.clone()).or_insert_with(|| {
                fx.add_process(
                    &format!("{group} ×{size}"),
                    pid,
                    Timestamp::from_nanos_since_reference(0),
                )
            })
        } else {
            program
        };
        let start = Timestamp::from_nanos_since_reference(thread.start_ns);
        // The thread's index, for `fill` to find it by; it writes the real tid.
        let track = fx.add_thread(process, index as u32, start, thread.name == "MainThread");
        fx.set_thread_name(track, &thread.name);
        let name = fx.intern_string(&thread.name);
        fx.add_marker(
            track,
            MarkerTiming::Instant(start),
            ThreadMarker {
                name: started,
                thread: name,
            },
        );
        if let Some(end_ns) = thread.end_ns {
            let end = Timestamp::from_nanos_since_reference(end_ns);
            fx.set_thread_end_time(track, end);
            fx.add_marker(
                track,
                MarkerTiming::Instant(end),
                ThreadMarker {
                    name: ended,
                    thread: name,
                },
            );
        }
        let mut stacks = HashMap::new();
        let cpu = CpuShares::of(thread, timeline);
        for sample in &thread.samples {
            let stack = *stacks.entry(sample.stack).or_insert_with(|| {
                let frames = &timeline.stacks[sample.stack as usize];
                let infos: Vec<FrameInfo> = frames
                    .iter()
                    .map(|&id| {
                        let frame = timeline.frames.get(id);
                        // The frame's id, for `fill` to find it by; it writes the real
                        // name, file and line.
                        let label = *labels[id as usize]
                            .get_or_insert_with(|| fx.intern_string(&fill::frame_key(id)));
                        let category = match frame.kind {
                            FrameKind::Python => categories.python,
                            FrameKind::Marker if frame.is_idle() => categories.idle,
                            FrameKind::Marker | FrameKind::Label => categories.marker,
                        };
                        FrameInfo {
                            frame: FxFrame::Label(label),
                            category_pair: category.into(),
                            flags: FrameFlags::empty(),
                        }
                    })
                    .collect();
                fx.intern_stack_frames(track, infos.into_iter())
            });
            let cpu_ns = cpu.of_sample(sample, is_idle(sample, timeline));
            fx.add_sample(
                track,
                Timestamp::from_nanos_since_reference(sample.time_ns),
                stack,
                CpuDelta::from_nanos(cpu_ns),
                // `fill` weighs each sample by its time.
                1,
            );
        }
    }
    fx
}

/// The CPU time each sample of a thread is given. In CPU mode a sample's weight is the
/// CPU time it stands for. In wall mode it is wall time, which is CPU time only for a
/// thread that had a core to itself: the thread's CPU clock reading for the recording is
/// shared among its running samples in proportion to their wall time, and idle samples
/// get none, so waiting draws flat and each thread's CPU is what its clock measured (less
/// what it used between samples that all found it waiting).
struct CpuShares {
    wall_mode: bool,
    /// CPU nanoseconds per nanosecond of a running sample's weight.
    ratio: f64,
}

impl CpuShares {
    fn of(thread: &ThreadTimeline, timeline: &Timeline) -> CpuShares {
        let running: u64 = thread
            .samples
            .iter()
            .filter(|s| !is_idle(s, timeline))
            .map(|s| s.weight_ns)
            .sum();
        // Without a clock reading, running wall time stands for CPU time.
        let cpu = thread.cpu_ns.unwrap_or(running);
        CpuShares {
            wall_mode: !timeline.cpu_mode,
            ratio: if running == 0 {
                0.0
            } else {
                cpu as f64 / running as f64
            },
        }
    }

    fn of_sample(&self, sample: &TimedSample, idle: bool) -> u64 {
        if !self.wall_mode {
            sample.weight_ns
        } else if idle {
            0
        } else {
            (sample.weight_ns as f64 * self.ratio).round() as u64
        }
    }
}

/// True when the sample found its thread waiting (its leaf is `[idle]`).
fn is_idle(sample: &TimedSample, timeline: &Timeline) -> bool {
    timeline.stacks[sample.stack as usize]
        .last()
        .is_some_and(|&leaf| timeline.frames.get(leaf).is_idle())
}

struct Categories {
    python: CategoryHandle,
    idle: CategoryHandle,
    marker: CategoryHandle,
}

/// A thread started or ended.
#[derive(Clone, Debug)]
struct ThreadMarker {
    name: StringHandle,
    thread: StringHandle,
}

impl StaticSchemaMarker for ThreadMarker {
    const UNIQUE_MARKER_TYPE_NAME: &'static str = "RpprofThread";
    const CHART_LABEL: Option<&'static str> = Some("{marker.name}: {marker.data.thread}");
    const TABLE_LABEL: Option<&'static str> = Some("{marker.name}: {marker.data.thread}");
    const FIELDS: &'static [StaticSchemaMarkerField] = &[StaticSchemaMarkerField {
        key: "thread",
        label: "Thread",
        format: fxprof_processed_profile::MarkerFieldFormat::String,
        flags: fxprof_processed_profile::MarkerFieldFlags::SEARCHABLE,
    }];

    fn name(&self, _profile: &mut FxProfile) -> StringHandle {
        self.name
    }

    fn category(&self, _profile: &mut FxProfile) -> CategoryHandle {
        CategoryHandle::OTHER
    }

    fn string_field_value(&self, _field_index: u32) -> StringHandle {
        self.thread
    }

    fn number_field_value(&self, _field_index: u32) -> f64 {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{Frame, FrameTable, IDLE};
    use crate::{ProfileMeta, ValueKind};

    /// A wall-mode timeline: the main thread runs `work` at lines 3 and 4 (10 ms each) and
    /// waits 20 ms; its CPU clock read 8 ms.
    fn timeline() -> Timeline {
        let mut frames = FrameTable::new();
        let main = frames.intern(Frame::python("<module>", "app.py", 9, 1));
        let line3 = frames.intern(Frame::python("work", "app.py", 3, 2));
        let line4 = frames.intern(Frame::python("work", "app.py", 4, 2));
        let idle = frames.intern(Frame::marker(IDLE));
        let sample = |time_ns, stack| TimedSample {
            time_ns,
            weight_ns: 10_000_000,
            stack,
            count: 1,
        };
        Timeline {
            frames,
            stacks: vec![vec![main, line3], vec![main, line4], vec![main, idle]],
            threads: vec![ThreadTimeline {
                name: "MainThread".into(),
                tid: 4242,
                cpu_ns: Some(8_000_000),
                samples: vec![sample(10, 0), sample(20, 1), sample(30, 2), sample(40, 2)],
                ..ThreadTimeline::default()
            }],
            keep_one_in: 1,
            samples_taken: 4,
            ..Timeline::default()
        }
    }

    #[test]
    fn functions_carry_file_and_line_and_samples_their_time() {
        let mut profile = Profile::new(ProfileMeta {
            title: "app.py".into(),
            kinds: vec![ValueKind::SAMPLES, ValueKind::WALL],
            rate_hz: 100,
            ..ProfileMeta::default()
        });
        profile.timeline = Some(std::sync::Arc::new(timeline()));
        let mut out = Vec::new();
        write(&profile, &WriteOptions::default(), &mut out).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let thread = &json["threads"][0];
        assert_eq!(thread["name"], "MainThread");
        assert_eq!(thread["tid"], 4242);
        let strings = thread["stringArray"].as_array().unwrap();
        let text = |v: &serde_json::Value| strings[v.as_u64().unwrap() as usize].clone();
        let funcs = &thread["funcTable"];
        let names: Vec<_> = funcs["name"].as_array().unwrap().iter().map(text).collect();
        // `work`'s two lines are one function, with its file and first line.
        assert_eq!(names, ["<module>", "work", "[idle]"]);
        assert_eq!(text(&funcs["fileName"][1]), "app.py");
        assert_eq!(funcs["lineNumber"][1], 2);
        assert!(funcs["fileName"][2].is_null());
        let frames = &thread["frameTable"];
        let lines: Vec<_> = (0..frames["length"].as_u64().unwrap() as usize)
            .map(|i| {
                (
                    frames["func"][i].as_u64().unwrap(),
                    frames["line"][i].as_u64(),
                )
            })
            .collect();
        assert!(lines.contains(&(1, Some(3))) && lines.contains(&(1, Some(4))));
        let samples = &thread["samples"];
        assert_eq!(samples["weightType"], "tracing-ms");
        assert_eq!(
            samples["weight"],
            serde_json::json!([10.0, 10.0, 10.0, 10.0])
        );
        // The clock's 8 ms go to the two running samples; waiting has none.
        let cpu: Vec<u64> = samples["threadCPUDelta"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap_or(0))
            .collect();
        assert_eq!(cpu, [4_000, 4_000, 0, 0], "microseconds");
    }
}
