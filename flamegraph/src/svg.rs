//! Flamegraph SVG through inferno: each thread is a root frame, Python's palette colours
//! user code apart from the standard library, `[idle]` leaves are grey-blue, and the
//! subtitle says how the profile was taken. The SVG opens in any browser with click-to-zoom
//! and Ctrl-F search.

use std::io::Write;

use inferno::flamegraph::color::{Color, MultiPalette, PaletteMap};
use inferno::flamegraph::{self, Direction, Options, Palette};

use crate::folded;
use crate::frame::{IDLE, INTERPRETER, TRUNCATED};
use crate::profile::{Profile, TimeKind};
use crate::ProfileError;

/// Choices a user can make about the SVG.
#[derive(Clone, Debug, PartialEq)]
pub struct SvgOptions {
    /// The title; the profile's own title when `None`.
    pub title: Option<String>,
    /// Draw an icicle graph (roots at the top) instead of a flame graph.
    pub icicle: bool,
    /// Image width in pixels; inferno's default (1200) when `None`.
    pub width: Option<usize>,
    /// Frames narrower than this many pixels are left out (inferno's default is 0.1).
    pub min_width: f64,
}

impl Default for SvgOptions {
    fn default() -> Self {
        SvgOptions {
            title: None,
            icicle: false,
            width: None,
            min_width: 0.1,
        }
    }
}

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
const TRUNCATED_COLOR: Color = Color {
    r: 0xc0,
    g: 0xc0,
    b: 0xc0,
};

/// The one-line description under the title: mode, rate, duration, samples, drops.
pub fn subtitle(profile: &Profile) -> String {
    let meta = &profile.meta;
    let mode = match meta.time {
        TimeKind::Cpu => "CPU",
        TimeKind::Wall => "Wall-clock",
    };
    let rate = if meta.rate_hz > 0 {
        format!(" at {} Hz", meta.rate_hz)
    } else {
        String::new()
    };
    format!(
        "{mode} profile{rate}, {:.2} s, {} samples, {} dropped",
        meta.duration_ns as f64 / 1e9,
        profile.total().samples,
        meta.dropped
    )
}

/// Writes the profile as a flamegraph SVG.
pub fn write(
    profile: &Profile,
    options: &SvgOptions,
    out: &mut dyn Write,
) -> Result<(), ProfileError> {
    let title = options
        .title
        .clone()
        .unwrap_or_else(|| default_title(profile));
    let lines = folded::lines(profile);
    write_lines(
        lines.iter().map(String::as_str),
        &title,
        &subtitle(profile),
        profile,
        options,
        out,
    )
}

/// Draws folded `lines` (one count, or two for a differential graph); `profile` supplies
/// the thread roots to colour.
pub(crate) fn write_lines<'a>(
    lines: impl IntoIterator<Item = &'a str>,
    title: &str,
    subtitle: &str,
    profile: &Profile,
    options: &SvgOptions,
    out: &mut dyn Write,
) -> Result<(), ProfileError> {
    let lines: Vec<&str> = lines.into_iter().collect();
    if lines.is_empty() {
        return write_empty(title, subtitle, out);
    }
    let mut palette = PaletteMap::default();
    palette.insert(IDLE, IDLE_COLOR);
    palette.insert(TRUNCATED, TRUNCATED_COLOR);
    palette.insert(INTERPRETER, TRUNCATED_COLOR);
    for thread in profile
        .threads
        .iter()
        .filter(|t| folded::has_thread_root(t))
    {
        palette.insert(thread.label(), THREAD_COLOR);
    }
    let mut inferno = Options::default();
    inferno.title = title.to_owned();
    inferno.subtitle = Some(subtitle.to_owned());
    inferno.colors = Palette::Multi(MultiPalette::Python);
    inferno.hash = true;
    inferno.deterministic = true;
    inferno.palette_map = Some(&mut palette);
    inferno.count_name = "samples".to_owned();
    inferno.name_type = "Function:".to_owned();
    inferno.image_width = options.width;
    inferno.min_width = options.min_width;
    if options.icicle {
        inferno.direction = Direction::Inverted;
    }
    flamegraph::from_lines(&mut inferno, lines, out)?;
    Ok(())
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

fn xml_escape(text: &str) -> String {
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
        write(&p, &SvgOptions::default(), &mut out).unwrap();
        let svg = String::from_utf8(out).unwrap();
        assert!(svg.contains("rpprof: app.py"));
        assert!(svg.contains("CPU profile at 99 Hz, 2.00 s, 6 samples, 0 dropped"));
        assert!(svg.contains("MainThread (tid 1)"));
        assert!(svg.contains("worker (tid 2)"));
        assert!(svg.contains("[idle]"));
        assert!(
            svg.contains("rgb(184,196,214)"),
            "idle frames are coloured apart"
        );
    }

    #[test]
    fn empty_profile_still_gives_an_svg() {
        let p = profile("");
        let mut out = Vec::new();
        write(&p, &SvgOptions::default(), &mut out).unwrap();
        let svg = String::from_utf8(out).unwrap();
        assert!(svg.starts_with("<?xml"));
        assert!(svg.contains("No samples were recorded."));
    }
}
