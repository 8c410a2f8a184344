//! Folded stacks from anywhere: parsing must never panic, and whatever parses must write
//! out in every format.

#![no_main]

use flamegraph::{folded, pprof, speedscope, svg, ProfileMeta, SvgOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(profile) = folded::parse(data, ProfileMeta::default()) {
        let mut out = Vec::new();
        folded::write(&profile, &mut out).unwrap();
        pprof::write(&profile, &mut out).unwrap();
        speedscope::write(&profile, &mut out).unwrap();
        svg::write(&profile, &SvgOptions::default(), &mut out).unwrap();
    }
});
