//! The format table: every file format rpprof writes or reads, in one place. The CLI
//! (`-o`, `--format`), `report`, the in-script API and the agent's HTTP endpoints all look
//! formats up here, by name ([`Format::named`]), by file name ([`Format::for_path`]) or by
//! content ([`parse_any`]).
//!
//! Adding a format is a module with a writer (and a reader, if there is one) and one more
//! row in [`FORMATS`].

use std::io::Write;
use std::path::Path;

use crate::options::WriteOptions;
use crate::{firefox, folded, pprof, speedscope, svg, Profile, ProfileError, ProfileMeta};

/// Writes a profile.
pub type Writer = fn(&Profile, &WriteOptions, &mut dyn Write) -> Result<(), ProfileError>;

/// Reads a profile, when the bytes look like the format.
#[derive(Clone, Copy)]
pub struct Reader {
    /// True when `bytes` are worth trying as this format.
    pub looks_like: fn(&[u8]) -> bool,
    /// Parses them.
    pub parse: fn(&[u8]) -> Result<Profile, ProfileError>,
}

/// What a format does with a recording's samples in time order (`Profile::timeline`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimelineUse {
    /// Nothing: it shows totals.
    Ignored,
    /// Shows them when there (speedscope's per-thread time order), totals otherwise.
    Used,
    /// Cannot be written without them (the Firefox Profiler's timeline).
    Required,
}

/// One row of the table.
pub struct Format {
    /// The name `--format`, `format=` and the Python API take.
    pub name: &'static str,
    /// One line for help texts.
    pub description: &'static str,
    /// File name endings that imply it, lower case; the first is the one to suggest.
    pub extensions: &'static [&'static str],
    /// The HTTP content type.
    pub content_type: &'static str,
    /// True when the format keeps every thread as labels of its samples (pprof): a view
    /// that groups threads then notes each thread's group instead of adding threads up.
    pub threads_as_labels: bool,
    /// Whether it shows the samples in time order: a recording keeps them only for such
    /// formats.
    pub timeline: TimelineUse,
    /// The writer.
    pub write: Writer,
    /// The reader, for formats rpprof reads back.
    pub read: Option<Reader>,
}

impl std::fmt::Debug for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Eq for Format {}

impl PartialEq for Format {
    fn eq(&self, other: &Format) -> bool {
        self.name == other.name
    }
}

/// Every format, in the order help texts list them. Reading by content tries readers in
/// this order too.
pub static FORMATS: &[Format] = &[
    Format {
        name: "svg",
        threads_as_labels: false,
        description: "flamegraph SVG (open it in a browser)",
        extensions: &[".svg"],
        content_type: "image/svg+xml",
        timeline: TimelineUse::Ignored,
        write: svg::write,
        read: None,
    },
    Format {
        name: "folded",
        threads_as_labels: false,
        description: "folded stacks, one `frame;frame;... count` line per stack",
        extensions: &[".folded", ".txt"],
        content_type: "text/plain; charset=utf-8",
        timeline: TimelineUse::Ignored,
        write: |profile, options, out| Ok(folded::write(profile, options, out)?),
        read: Some(Reader {
            looks_like: folded::looks_like,
            parse: |bytes| folded::parse(bytes, ProfileMeta::default()),
        }),
    },
    Format {
        name: "pprof",
        threads_as_labels: true,
        description: "gzipped pprof protobuf (go tool pprof, Grafana, Pyroscope)",
        extensions: &[".pb.gz", ".pb", ".pprof"],
        content_type: "application/octet-stream",
        timeline: TimelineUse::Ignored,
        write: pprof::write,
        read: Some(Reader {
            looks_like: pprof::looks_like,
            parse: pprof::parse,
        }),
    },
    Format {
        name: "speedscope",
        threads_as_labels: false,
        description: "speedscope JSON, one profile per thread (in time order from a recording)",
        extensions: &[".speedscope.json", ".json"],
        content_type: "application/json",
        timeline: TimelineUse::Used,
        write: speedscope::write,
        read: None,
    },
    Format {
        name: "firefox",
        threads_as_labels: false,
        description: "Firefox Profiler timeline: a track per thread, samples at their times \
                      (https://profiler.firefox.com)",
        extensions: &[".json.gz", ".gecko.json", ".gecko.json.gz"],
        content_type: "application/json",
        timeline: TimelineUse::Required,
        write: firefox::write,
        read: None,
    },
];

impl Format {
    /// The format with this name (any case).
    pub fn named(name: &str) -> Option<&'static Format> {
        FORMATS.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The format a user named (any case): the one check of a format name, with the one
    /// message for a name that is none (`--format`, `rpprof.write(format=)`, `format=`).
    pub fn parse(name: &str) -> Result<&'static Format, ProfileError> {
        Format::named(name).ok_or_else(|| ProfileError::UnknownFormat {
            name: name.to_owned(),
            known: Format::names(),
        })
    }

    /// The format a file name implies by its ending (any case); the longest ending that
    /// fits wins (`x.gecko.json` is Firefox's, `x.json` speedscope's).
    pub fn for_path(path: &Path) -> Option<&'static Format> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        FORMATS
            .iter()
            .flat_map(|f| f.extensions.iter().map(move |e| (f, e)))
            .filter(|(_, e)| name.ends_with(*e))
            .max_by_key(|(_, e)| e.len())
            .map(|(f, _)| f)
    }

    /// True when a file of this name should be gzipped on top of what the writer writes:
    /// it ends in `.gz` and the format's own data is not compressed already (pprof is).
    pub fn gzip_for(&self, path: &Path) -> bool {
        let name = path.to_string_lossy().to_ascii_lowercase();
        name.ends_with(".gz") && self.name != "pprof"
    }

    /// Every format's name, for messages: `svg, folded, pprof or speedscope`.
    pub fn names() -> String {
        let names: Vec<&str> = FORMATS.iter().map(|f| f.name).collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.join(""),
        }
    }

    /// The file name endings to suggest, for messages: `.svg, .folded, .pb.gz or ...`.
    pub fn suggested_extensions() -> String {
        let names: Vec<&str> = FORMATS.iter().map(|f| f.extensions[0]).collect();
        names.join(", ")
    }
}

/// Reads a profile whatever its format, told by its content rather than its name: the
/// first reader whose `looks_like` accepts the bytes parses them.
pub fn parse_any(bytes: &[u8]) -> Result<Profile, ProfileError> {
    if bytes.is_empty() {
        return Err(ProfileError::Malformed {
            format: "profile",
            reason: "the file is empty".to_owned(),
        });
    }
    let reader = FORMATS
        .iter()
        .filter_map(|f| f.read)
        .find(|r| (r.looks_like)(bytes))
        .ok_or_else(|| ProfileError::Malformed {
            format: "profile",
            reason: "neither pprof nor folded stacks".to_owned(),
        })?;
    (reader.parse)(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_found_by_name_ending_and_content() {
        let by_path = |p: &str| Format::for_path(Path::new(p)).map(|f| f.name);
        assert_eq!(by_path("a/profile.SVG"), Some("svg"));
        assert_eq!(by_path("p.folded"), Some("folded"));
        assert_eq!(by_path("p.txt"), Some("folded"));
        assert_eq!(by_path("p.pb.gz"), Some("pprof"));
        assert_eq!(by_path("p.pprof"), Some("pprof"));
        assert_eq!(by_path("p.speedscope.json"), Some("speedscope"));
        assert_eq!(by_path("p.json"), Some("speedscope"));
        assert_eq!(by_path("p.gecko.json"), Some("firefox"));
        assert_eq!(by_path("p.json.gz"), Some("firefox"));
        assert_eq!(by_path("p.dat"), None);
        assert_eq!(Format::named("PPROF").map(|f| f.name), Some("pprof"));
        assert!(Format::named("png").is_none());
        assert_eq!(Format::names(), "svg, folded, pprof, speedscope or firefox");

        let folded = parse_any(b"main (a.py:1);f (a.py:2) 3\n").unwrap();
        assert_eq!(folded.total().get(0), 3);
        let mut pb = Vec::new();
        (Format::named("pprof").unwrap().write)(&folded, &WriteOptions::default(), &mut pb)
            .unwrap();
        assert_eq!(parse_any(&pb).unwrap().total().get(0), 3);
        assert!(parse_any(b"").is_err());
        assert!(parse_any(b"not a profile\n").is_err());
        assert!(parse_any(&[0xff, 0xfe, 0x00, 0x01]).is_err());
    }
}
