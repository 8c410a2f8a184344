//! Replays the fuzzing corpora (`fuzz/corpus/*`) through the parsers and every writer, as
//! the fuzz targets do: inputs that once crashed, or found new paths, stay covered.

mod common;

use flamegraph::{
    folded, pprof, Profile, ProfileError, ProfileMeta, TimelineUse, WriteOptions, FORMATS,
};

/// Every format of the table, showing each kind of value the profile carries.
fn write_everything(profile: &Profile) {
    let mut out = Vec::new();
    for format in FORMATS {
        for value in (0..profile.meta.kinds.len()).map(Some).chain([None]) {
            let options = WriteOptions {
                value,
                ..WriteOptions::default()
            };
            match (format.write)(profile, &options, &mut out) {
                // A parsed profile has no timestamps: the timeline formats refuse it cleanly.
                Err(ProfileError::NoTimeline { .. })
                    if format.timeline == TimelineUse::Required => {}
                result => result.unwrap(),
            }
        }
    }
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = common::root().join("fuzz/corpus").join(target);
    let mut inputs: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "{} has inputs", dir.display());
    inputs
}

#[test]
fn folded_corpus_parses_or_fails_cleanly() {
    let mut parsed = 0;
    for input in corpus("parse_folded") {
        if let Ok(profile) = folded::parse(&input[..], ProfileMeta::default()) {
            write_everything(&profile);
            parsed += 1;
        }
    }
    assert!(parsed > 0);
}

#[test]
fn pprof_corpus_parses_or_fails_cleanly() {
    let mut parsed = 0;
    for input in corpus("parse_pprof") {
        if let Ok(profile) = pprof::parse(&input) {
            write_everything(&profile);
            parsed += 1;
        }
    }
    assert!(parsed > 0);
}
