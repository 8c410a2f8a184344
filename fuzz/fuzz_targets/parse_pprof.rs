//! pprof from anywhere (gzipped or not): parsing must never panic, and whatever parses must
//! write out in every format.

#![no_main]

use flamegraph::{pprof, ProfileError, TimelineUse, WriteOptions, FORMATS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(profile) = pprof::parse(data) {
        let mut out = Vec::new();
        for format in FORMATS {
            match (format.write)(&profile, &WriteOptions::default(), &mut out) {
                // A parsed profile has no timestamps: the timeline formats refuse it cleanly.
                Err(ProfileError::NoTimeline { .. })
                    if format.timeline == TimelineUse::Required => {}
                result => result.unwrap(),
            }
        }
    }
});
