//! Flamegraph SVG through inferno: each thread is a root frame, Python's palette colours
//! user code apart from the standard library, `[idle]` leaves are grey-blue, and the
//! subtitle says how the profile was taken. The SVG opens in any browser with click-to-zoom
//! and Ctrl-F search.

use std::io::Write;

use inferno::flamegraph::color::{Color, MultiPalette, PaletteMap};
use inferno::flamegraph::{self, Direction, Options, Palette};

use crate::folded;
use crate::frame::{FrameId, IDLE, INTERPRETER, TRUNCATED};
use crate::options::WriteOptions;
pub use crate::options::{SvgOptions, DEFAULT_WIDTH};
use crate::profile::{Profile, ThreadProfile};
use crate::value::{ValueKind, Values};
use crate::ProfileError;

const THREAD_COLOR: Color = Color {
    r: 0x9a,
    g: 0xa8,
    b: 0xc9,
};
const IDLE_COLOR: Color = Color {
    r: 0xb8,
    g: 0xc4,
    b: 0xd6,
};
/// Time inside a builtin (`[native] NAME`): a sand colour apart from Python's palette.
const NATIVE_COLOR: Color = Color {
    r: 0xe0,
    g: 0xc8,
    b: 0x8c,
};
const TRUNCATED_COLOR: Color = Color {
    r: 0xc0,
    g: 0xc0,
    b: 0xc0,
};

/// The one-line description under the title: mode, rate, duration, what is counted (the
/// kind at `value`: `N samples`, `1.5 MiB alloc_space`), drops.
pub fn subtitle(profile: &Profile, value: usize) -> String {
    let meta = &profile.meta;
    let mode = match meta.time_kind().map(|k| k.name.as_ref()) {
        Some("cpu") | None => "CPU",
        Some("wall") => "Wall-clock",
        Some(other) => other,
    };
    let rate = if meta.rate_hz > 0 {
        format!(" at {} Hz", meta.rate_hz)
    } else {
        String::new()
    };
    let overflow = if meta.overflowed > 0 {
        format!(", {} in [overflow]", meta.overflowed)
    } else {
        String::new()
    };
    format!(
        "{mode} profile{rate}, {:.2} s, {}, {} dropped{overflow}",
        meta.duration_ns as f64 / 1e9,
        shown_total(profile, value),
        meta.dropped
    )
}

/// The total of the kind at `value`, with its name: `6 samples`, `1.50 s cpu`.
pub fn shown_total(profile: &Profile, value: usize) -> String {
    let total = profile.total().get(value);
    match profile.meta.kinds.get(value) {
        Some(kind) => format!("{} {}", kind.format(total), kind.name),
        None => format!("{total} samples"),
    }
}

/// What inferno calls the counted unit in its tooltips: `samples`, `cpu nanoseconds`.
pub(crate) fn count_name(profile: &Profile, value: usize) -> String {
    match profile.meta.kinds.get(value) {
        Some(kind) if *kind == ValueKind::SAMPLES => "samples".to_owned(),
        Some(kind) if kind.unit == "count" => kind.name.to_string(),
        Some(kind) => format!("{} {}", kind.name, kind.unit),
        None => "samples".to_owned(),
    }
}

/// Writes the profile as a flamegraph SVG, frame widths by the kind `options.value` names
/// (samples by default).
pub fn write(
    profile: &Profile,
    options: &WriteOptions,
    out: &mut dyn Write,
) -> Result<(), ProfileError> {
    let value = options.value.unwrap_or_else(|| profile.meta.count_index());
    let svg = &options.svg;
    let title = svg.title.clone().unwrap_or_else(|| default_title(profile));
    let pruned = prune(profile, value, svg.min_width_fraction());
    let lines = folded::lines(&pruned, value);
    write_lines(
        lines.iter().map(String::as_str),
        &Heading {
            title: &title,
            subtitle: &subtitle(profile, value),
            count_name: &count_name(profile, value),
        },
        profile,
        svg,
        out,
    )
}

/// What is written above and about the graph.
pub(crate) struct Heading<'a> {
    /// The title.
    pub title: &'a str,
    /// The line under it.
    pub subtitle: &'a str,
    /// The counted unit, for tooltips.
    pub count_name: &'a str,
}

/// Draws folded `lines` (one count, or two for a differential graph); `profile` supplies
/// the thread roots to colour.
pub(crate) fn write_lines<'a>(
    lines: impl IntoIterator<Item = &'a str>,
    heading: &Heading<'_>,
    profile: &Profile,
    options: &SvgOptions,
    out: &mut dyn Write,
) -> Result<(), ProfileError> {
    let lines: Vec<&str> = lines.into_iter().collect();
    if lines.is_empty() {
        return write_empty(heading.title, heading.subtitle, out);
    }
    let mut palette = PaletteMap::default();
    palette.insert(IDLE, IDLE_COLOR);
    for (_, frame) in profile.frames.iter() {
        if frame.is_idle() {
            palette.insert(frame.function.clone(), IDLE_COLOR);
        } else if frame.is_native() {
            palette.insert(frame.function.clone(), NATIVE_COLOR);
        }
    }
    palette.insert(TRUNCATED, TRUNCATED_COLOR);
    palette.insert(INTERPRETER, TRUNCATED_COLOR);
    for thread in profile
        .threads
        .iter()
        .filter(|t| folded::has_thread_root(t))
    {
        palette.insert(thread.label(), THREAD_COLOR);
    }
    for process in profile.threads.iter().filter_map(|t| t.process.as_ref()) {
        palette.insert(process.label.clone(), THREAD_COLOR);
    }
    let mut inferno = Options::default();
    inferno.title = heading.title.to_owned();
    inferno.subtitle = Some(heading.subtitle.to_owned());
    inferno.colors = Palette::Multi(MultiPalette::Python);
    inferno.hash = true;
    inferno.deterministic = true;
    inferno.palette_map = Some(&mut palette);
    inferno.count_name = heading.count_name.to_owned();
    inferno.name_type = "Function:".to_owned();
    inferno.image_width = options.width;
    // inferno takes the minimum width as a percentage of the image.
    inferno.min_width = options.min_width_fraction() * 100.0;
    if options.icicle {
        inferno.direction = Direction::Inverted;
    }
    flamegraph::from_lines(&mut inferno, lines, out)?;
    Ok(())
}

/// The profile with every stack cut just above its first frame that would be narrower than
/// `min_fraction` of the whole graph: such a frame, and everything above it, is not drawn,
/// so its samples count as its parent's own time, exactly as drawn. Stacks that become equal
/// merge. Widths are by the kind at `value`. For a profile with many small stacks this
/// leaves inferno far fewer, shorter lines.
pub fn prune(profile: &Profile, value: usize, min_fraction: f64) -> Profile {
    let min_samples = (profile.total().get(value) as f64 * min_fraction).ceil() as u64;
    if min_samples <= 1 {
        return profile.clone();
    }
    let mut pruned = Profile::new(profile.meta.clone());
    pruned.frames = profile.frames.clone();
    for thread in &profile.threads {
        let target = pruned.thread_mut_in(thread.process.as_ref(), &thread.name, thread.tid);
        target.cpu_time_ns = thread.cpu_time_ns;
        for (stack, values) in cut_narrow_frames(thread, value, min_samples) {
            target.add(stack, values);
        }
    }
    pruned
}

/// One thread's stacks, each cut above its first frame with fewer than `min_samples` under
/// it. Sorted, stacks that share a prefix are neighbours, so the samples under a frame are
/// the sum over a run of neighbours: one pass finds every run and its total.
fn cut_narrow_frames(
    thread: &ThreadProfile,
    value: usize,
    min_samples: u64,
) -> Vec<(&[FrameId], Values)> {
    let mut stacks: Vec<(&[FrameId], Values)> = thread
        .stacks
        .iter()
        .map(|(stack, values)| (stack.as_slice(), *values))
        .collect();
    stacks.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut keep: Vec<usize> = stacks.iter().map(|(stack, _)| stack.len()).collect();
    // For each depth, where the current run of equal prefixes started, and its total.
    let mut runs: Vec<(usize, u64)> = Vec::new();
    let close = |runs: &mut Vec<(usize, u64)>, keep: &mut [usize], depth: usize, end: usize| {
        while runs.len() > depth {
            let level = runs.len() - 1;
            let (start, total) = runs.pop().expect("non-empty");
            if total < min_samples {
                for kept in &mut keep[start..end] {
                    *kept = (*kept).min(level);
                }
            }
        }
    };
    for i in 0..stacks.len() {
        let stack = stacks[i].0;
        let shared = if i == 0 {
            0
        } else {
            let previous = stacks[i - 1].0;
            previous
                .iter()
                .zip(stack)
                .take_while(|(a, b)| a == b)
                .count()
        };
        close(&mut runs, &mut keep, shared, i);
        while runs.len() < stack.len() {
            runs.push((i, 0));
        }
        for run in &mut runs {
            run.1 = run.1.saturating_add(stacks[i].1.get(value));
        }
    }
    close(&mut runs, &mut keep, 0, stacks.len());
    stacks
        .into_iter()
        .zip(keep)
        .map(|((stack, values), kept)| (&stack[..kept], values))
        .collect()
}

fn default_title(profile: &Profile) -> String {
    if profile.meta.title.is_empty() {
        "rpprof".to_owned()
    } else {
        format!("rpprof: {}", profile.meta.title)
    }
}

/// A valid SVG that says there is nothing to draw (inferno would write an error image).
fn write_empty(title: &str, subtitle: &str, out: &mut dyn Write) -> Result<(), ProfileError> {
    write!(
        out,
        r#"<?xml version="1.0" standalone="no"?>
<svg version="1.1" width="1200" height="90" xmlns="http://www.w3.org/2000/svg">
<text x="600" y="24" text-anchor="middle" font-family="Verdana" font-size="17">{}</text>
<text x="600" y="48" text-anchor="middle" font-family="Verdana" font-size="12">{}</text>
<text x="600" y="74" text-anchor="middle" font-family="Verdana" font-size="12">No samples were recorded.</text>
</svg>
"#,
        xml_escape(title),
        xml_escape(subtitle)
    )?;
    Ok(())
}

/// Escapes text for XML or HTML text and attribute values.
pub fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ProfileMeta;

    fn profile(text: &str) -> Profile {
        folded::parse(
            text.as_bytes(),
            ProfileMeta {
                title: "app.py".into(),
                rate_hz: 99,
                duration_ns: 2_000_000_000,
                ..ProfileMeta::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn svg_holds_threads_title_and_subtitle() {
        let p = profile(
            "MainThread (tid 1);main (app.py:3) 4\nworker (tid 2);run (app.py:9);[idle] 2\n",
        );
        let mut out = Vec::new();
        write(&p, &WriteOptions::default(), &mut out).unwrap();
        let svg = String::from_utf8(out).unwrap();
        assert!(svg.contains("rpprof: app.py"));
        assert!(svg.contains("CPU profile at 99 Hz, 2.00 s, 6 samples, 0 dropped"));
        let mut out = Vec::new();
        let cpu = WriteOptions {
            value: Some(1),
            ..WriteOptions::default()
        };
        write(&p, &cpu, &mut out).unwrap();
        let by_cpu = String::from_utf8(out).unwrap();
        assert!(
            by_cpu.contains("CPU profile at 99 Hz, 2.00 s, 0.06 s cpu, 0 dropped"),
            "the subtitle names the value shown"
        );
        assert!(by_cpu.contains("cpu nanoseconds"), "tooltips name its unit");
        assert!(svg.contains("MainThread (tid 1)"));
        assert!(svg.contains("worker (tid 2)"));
        assert!(svg.contains("[idle]"));
        assert!(
            svg.contains("rgb(184,196,214)"),
            "idle frames are coloured apart"
        );
    }

    #[test]
    fn pruning_cuts_stacks_above_narrow_frames() {
        let mut text = String::from("t (tid 1);main (a.py:1);big (a.py:2) 980\n");
        for i in 0..20 {
            text.push_str(&format!(
                "t (tid 1);main (a.py:1);tiny_{i} (a.py:3);deeper (a.py:4) 1\n"
            ));
        }
        let p = profile(&text);
        let options = SvgOptions {
            min_width: 6.0, // 0.5% of 1200 pixels
            ..SvgOptions::default()
        };
        let pruned = prune(&p, 0, options.min_width_fraction());
        assert_eq!(pruned.total(), p.total(), "no sample is lost");
        let lines = folded::lines(&pruned, 0);
        assert_eq!(
            lines,
            [
                "t (tid 1);main (a.py:1) 20",
                "t (tid 1);main (a.py:1);big (a.py:2) 980"
            ]
        );
        // inferno draws the pruned profile with the same frames as the whole one.
        let draw = |p: &Profile| {
            let mut out = Vec::new();
            let lines = folded::lines(p, 0);
            let lines = lines.iter().map(String::as_str);
            let heading = Heading {
                title: "t",
                subtitle: "s",
                count_name: "samples",
            };
            write_lines(lines, &heading, p, &options, &mut out).unwrap();
            String::from_utf8(out).unwrap().matches("<g>").count()
        };
        assert_eq!(draw(&p), draw(&pruned));
        assert!(draw(&p) >= 4, "the wide frames are drawn");
    }

    #[test]
    fn empty_profile_still_gives_an_svg() {
        let p = profile("");
        let mut out = Vec::new();
        write(&p, &WriteOptions::default(), &mut out).unwrap();
        let svg = String::from_utf8(out).unwrap();
        assert!(svg.starts_with("<?xml"));
        assert!(svg.contains("No samples were recorded."));
    }
}
