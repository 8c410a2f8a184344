//! Differential flamegraphs: the AFTER profile's shape, coloured by change from BEFORE
//! (red grew, blue shrank), through inferno's differential mode.

use std::io::Write;

use inferno::differential;

use crate::folded;
use crate::profile::Profile;
use crate::svg::{self, SvgOptions};
use crate::ProfileError;

/// Writes a differential flamegraph SVG of `before` -> `after`. Threads are matched by name
/// (thread ids differ from run to run). With `normalize`, BEFORE is scaled to AFTER's total
/// first, so a longer run does not colour everything red. Both are compared by the kind
/// named `value` (samples by default).
pub fn write(
    before: &Profile,
    after: &Profile,
    normalize: bool,
    value: Option<&str>,
    options: &SvgOptions,
    out: &mut dyn Write,
) -> Result<(), ProfileError> {
    let before_value = before.value_index(value)?;
    let after_value = after.value_index(value)?;
    let before = without_tids(before);
    let after = without_tids(after);
    let before_lines = folded::lines(&before, before_value).join("\n");
    let after_lines = folded::lines(&after, after_value).join("\n");
    let mut merged = Vec::new();
    differential::from_readers(
        differential::Options {
            normalize,
            strip_hex: false,
        },
        before_lines.as_bytes(),
        after_lines.as_bytes(),
        &mut merged,
    )?;
    let merged = String::from_utf8_lossy(&merged);
    let title = options
        .title
        .clone()
        .unwrap_or_else(|| "rpprof: differential".to_owned());
    // Normalized, the colours compare shares of each total, not amounts: say so.
    let scaled = if normalize {
        " (normalized: scaled to the after total)"
    } else {
        ""
    };
    let subtitle = format!(
        "before: {}{scaled}, after: {}; red grew, blue shrank",
        svg::shown_total(&before, before_value),
        svg::shown_total(&after, after_value)
    );
    let heading = svg::Heading {
        title: &title,
        subtitle: &subtitle,
        count_name: &svg::count_name(&after, after_value),
    };
    svg::write_lines(merged.lines(), &heading, &after, options, out)
}

fn without_tids(profile: &Profile) -> Profile {
    let mut copy = profile.clone();
    let mut merged = Profile::new(copy.meta.clone());
    merged.frames = std::mem::take(&mut copy.frames);
    for thread in copy.threads {
        let target = merged.thread_mut(&thread.name, 0);
        for (stack, values) in thread.stacks {
            target.add(&stack, values);
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProfileMeta;

    #[test]
    fn grown_and_shrunk_frames_are_coloured() {
        let before = folded::parse(
            "w (tid 1);main (a.py:1);slow (a.py:5) 80\nw (tid 1);main (a.py:1);fast (a.py:9) 20\n"
                .as_bytes(),
            ProfileMeta::default(),
        )
        .unwrap();
        let after = folded::parse(
            "w (tid 7);main (a.py:1);slow (a.py:5) 20\nw (tid 7);main (a.py:1);fast (a.py:9) 80\n"
                .as_bytes(),
            ProfileMeta::default(),
        )
        .unwrap();
        let mut out = Vec::new();
        write(
            &before,
            &after,
            false,
            None,
            &SvgOptions::default(),
            &mut out,
        )
        .unwrap();
        let svg = String::from_utf8(out).unwrap();
        assert!(svg.contains("fast (a.py:9)"));
        assert!(
            svg.contains("w;") || svg.contains(">w<") || svg.contains("w ("),
            "thread root by name"
        );
        assert!(!svg.contains("tid 7"), "thread ids are left out");
        // inferno marks differences in the tooltip as "+60.00%" / "-60.00%".
        assert!(svg.contains("+60.00%"), "growth shown");
        assert!(svg.contains("-60.00%"), "shrink shown");
        assert!(!svg.contains("normalized"));
        let mut out = Vec::new();
        write(
            &before,
            &after,
            true,
            None,
            &SvgOptions::default(),
            &mut out,
        )
        .unwrap();
        let svg = String::from_utf8(out).unwrap();
        assert!(
            svg.contains("(normalized: scaled to the after total)"),
            "the subtitle says so"
        );
    }
}
