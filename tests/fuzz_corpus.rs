//! Replays the fuzzing corpora (`fuzz/corpus/*`) through the parsers and every writer, as
//! the fuzz targets do: inputs that once crashed, or found new paths, stay covered.

mod common;

use flamegraph::{folded, pprof, speedscope, svg, Profile, ProfileMeta, SvgOptions};

fn write_everything(profile: &Profile) {
    let mut out = Vec::new();
    folded::write(profile, &mut out).unwrap();
    pprof::write(profile, &mut out).unwrap();
    speedscope::write(profile, &mut out).unwrap();
    svg::write(profile, &SvgOptions::default(), &mut out).unwrap();
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
