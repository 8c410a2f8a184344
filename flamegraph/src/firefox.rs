//! The Firefox Profiler's format (<https://profiler.firefox.com>), written with the
//! `fxprof-processed-profile` crate (samply's): a timeline with one track per thread, each
//! sample at its real time with its CPU use (so idle stretches draw flat), running and
//! idle samples in categories of their own (`Python`, `Idle`), markers where threads start
//! and end, and the command line, mode, rate and any merging of samples in the metadata.
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
use crate::timeline::Timeline;
use crate::ProfileError;

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
    let json = serde_json::to_vec(&fx).map_err(std::io::Error::from)?;
    out.write_all(&with_extra_meta(json, profile, timeline))?;
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
    for thread in &timeline.threads {
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
        let track = fx.add_thread(
            process,
            thread.tid.max(0) as u32,
            start,
            thread.name == "MainThread",
        );
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
        for sample in &thread.samples {
            let stack = *stacks.entry(sample.stack).or_insert_with(|| {
                let frames = &timeline.stacks[sample.stack as usize];
                let infos: Vec<FrameInfo> = frames
                    .iter()
                    .map(|&id| {
                        let frame = timeline.frames.get(id);
                        let label = *labels[id as usize]
                            .get_or_insert_with(|| fx.intern_string(&frame.label()));
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
            let idle = timeline.stacks[sample.stack as usize]
                .last()
                .is_some_and(|&leaf| timeline.frames.get(leaf).is_idle());
            // CPU mode weights are CPU time; in wall mode a running sample's wall time is
            // taken as CPU time and an idle one's as none, so waiting draws flat.
            let cpu_ns = if idle && !timeline.cpu_mode {
                0
            } else {
                sample.weight_ns
            };
            fx.add_sample(
                track,
                Timestamp::from_nanos_since_reference(sample.time_ns),
                stack,
                CpuDelta::from_nanos(cpu_ns),
                i32::try_from(sample.count).unwrap_or(i32::MAX),
            );
        }
    }
    fx
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

/// Adds what the crate has no setter for to the profile's `meta`: `arguments` (the
/// command line) and an `extra` section the profiler shows in its profile-info panel
/// (mode, rate, samples taken and kept, and how many each kept one stands for). The crate
/// writes `meta` first, so the fields go right after its opening brace; were that ever
/// not so, the profile is written without them.
fn with_extra_meta(json: Vec<u8>, profile: &Profile, timeline: &Timeline) -> Vec<u8> {
    const START: &[u8] = b"{\"meta\":{";
    if !json.starts_with(START) {
        return json;
    }
    let entry = |label: &str, value: String| serde_json::json!({"label": label, "format": "string", "value": value});
    let mode = if timeline.cpu_mode { "cpu" } else { "wall" };
    let extra = serde_json::json!([{
        "label": "rpprof",
        "entries": [
            entry("Command line", timeline.command_line.clone()),
            entry("Mode", mode.to_owned()),
            entry("Rate", format!("{} Hz per thread", profile.meta.rate_hz)),
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
    }]);
    let fields = serde_json::json!({
        "arguments": timeline.command_line,
        "extra": extra,
        "rpprofKeepOneIn": timeline.keep_one_in,
    });
    let fields = serde_json::to_vec(&fields).expect("plain JSON");
    let mut out = Vec::with_capacity(json.len() + fields.len());
    out.extend_from_slice(START);
    out.extend_from_slice(&fields[1..fields.len() - 1]);
    out.push(b',');
    out.extend_from_slice(&json[START.len()..]);
    out
}
