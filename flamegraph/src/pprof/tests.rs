//! pprof both ways: the fields the writer sets, and what comes back through the reader.

use label_keys::{thread_state, LabelKey, ValueType, KEYS};
use pprof::protos;

use super::{from_proto, parse, to_proto, write, Message};
use crate::folded;
use crate::frame::Frame;
use crate::options::WriteOptions;
use crate::profile::{ProcessRoot, Profile, ProfileMeta};
use crate::value::{ValueKind, Values};

fn sample() -> Profile {
    folded::parse(
        "MainThread (tid 5);main (a.py:3);work (a.py:9) 4\n\
         worker-1 (tid 6);run (a.py:20);[idle] 2\n\
         worker-1 (tid 6);run (a.py:21) 1\n"
            .as_bytes(),
        ProfileMeta {
            title: "a.py".into(),
            rate_hz: 100,
            duration_ns: 3_000_000_000,
            start_unix_ns: 1_700_000_000_000_000_000,
            ..ProfileMeta::default()
        },
    )
    .unwrap()
}

/// Adds 5 samples (50 ns of CPU) of `handle` labelled `endpoint=/cart` to a thread.
fn add_cart_samples(profile: &mut Profile, thread: &str, tid: i32) {
    let cart = profile
        .frames
        .intern(Frame::user_label("endpoint", "/cart"));
    let handle = profile.frames.intern(Frame::python("handle", "a.py", 5, 1));
    profile
        .thread_mut(thread, tid)
        .add(&[cart, handle], Values::from_slice(&[5, 50]));
}

#[test]
fn proto_fields_follow_the_pprof_conventions() {
    let proto = to_proto(&sample(), None);
    assert_eq!(proto.string_table[0], "");
    let s = |i: i64| proto.string_table[i as usize].as_str();
    let types: Vec<(&str, &str)> = proto
        .sample_type
        .iter()
        .map(|t| (s(t.ty), s(t.unit)))
        .collect();
    assert_eq!(types, [("samples", "count"), ("cpu", "nanoseconds")]);
    assert_eq!(proto.period, 10_000_000);
    assert_eq!(proto.duration_nanos, 3_000_000_000);
    assert_eq!(s(proto.default_sample_type), "cpu");
    // `work` is the leaf: it comes first.
    let main_sample = proto.sample.iter().find(|smp| smp.value[0] == 4).unwrap();
    let leaf = proto
        .location
        .iter()
        .find(|l| l.id == main_sample.location_id[0])
        .unwrap();
    let leaf_fn = proto
        .function
        .iter()
        .find(|f| f.id == leaf.line[0].function_id)
        .unwrap();
    assert_eq!(s(leaf_fn.name), "work");
    assert_eq!(leaf_fn.system_name, 0, "pprof would demangle it");
    assert_eq!(s(leaf_fn.filename), "a.py");
    assert_eq!(proto.mapping.len(), 1);
    assert_eq!(s(proto.mapping[0].filename), "a.py");
    assert!(proto.mapping[0].has_functions && proto.mapping[0].has_line_numbers);
    assert!(proto
        .location
        .iter()
        .all(|l| l.mapping_id == proto.mapping[0].id));
    assert_eq!(leaf.line[0].line, 9);
    assert_eq!(main_sample.value, vec![4, 40_000_000]);
    let labels: Vec<(&str, String)> = main_sample
        .label
        .iter()
        .map(|l| {
            (
                s(l.key),
                if l.str != 0 {
                    s(l.str).to_owned()
                } else {
                    l.num.to_string()
                },
            )
        })
        .collect();
    assert_eq!(
        labels,
        [
            ("thread_name", "MainThread".to_owned()),
            ("thread_id", "5".to_owned()),
            ("thread_state", "running".to_owned())
        ]
    );
    // The idle sample carries its state as a label, not as a frame.
    let idle_sample = proto.sample.iter().find(|smp| smp.value[0] == 2).unwrap();
    assert_eq!(idle_sample.location_id.len(), 1);
    assert!(idle_sample
        .label
        .iter()
        .any(|l| s(l.key) == "thread_state" && s(l.str) == "idle"));
    assert!(proto.function.iter().all(|f| s(f.name) != "[idle]"));
    // One function per (name, file), one location per (function, line).
    assert_eq!(proto.function.len(), 3);
    assert_eq!(proto.location.len(), 4);
}

#[test]
fn tasks_are_labels_and_come_back_as_frames() {
    let original = folded::parse(
        "MainThread (tid 5);task fetch;main (a.py:3);work (a.py:9) 4\n\
         MainThread (tid 5);task fetch;main (a.py:4);[awaiting] 3\n\
         MainThread (tid 5);main (a.py:3) 1\n"
            .as_bytes(),
        ProfileMeta::default(),
    )
    .unwrap();
    let proto = to_proto(&original, None);
    let s = |i: i64| proto.string_table[i as usize].as_str();
    let label = |smp: &protos::Sample, key: &str| {
        smp.label
            .iter()
            .find(|l| s(l.key) == key)
            .map(|l| s(l.str).to_owned())
    };
    let by_count = |n: i64| proto.sample.iter().find(|smp| smp.value[0] == n).unwrap();
    assert_eq!(label(by_count(4), "task").as_deref(), Some("fetch"));
    assert_eq!(
        label(by_count(4), "thread_state").as_deref(),
        Some("running")
    );
    assert_eq!(
        label(by_count(3), "thread_state").as_deref(),
        Some("awaiting")
    );
    assert_eq!(
        by_count(3).location_id.len(),
        1,
        "no task or [awaiting] location"
    );
    assert_eq!(label(by_count(1), "task"), None);
    assert!(proto
        .function
        .iter()
        .all(|f| !s(f.name).starts_with("task ") && s(f.name) != "[awaiting]"));
    let back = parse(&proto.encode_to_vec()).unwrap();
    assert_eq!(
        folded::lines(&back, 0),
        folded::lines(&original, 0),
        "the same stacks after a round trip"
    );
}

#[test]
fn round_trips_through_gzip() {
    let mut original = sample();
    original.threads[1].cpu_time_ns = Some(123_456_789);
    let mut bytes = Vec::new();
    write(&original, &WriteOptions::default(), &mut bytes).unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "gzipped");
    let back = parse(&bytes).unwrap();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    folded::write(&original, &WriteOptions::default(), &mut a).unwrap();
    folded::write(&back, &WriteOptions::default(), &mut b).unwrap();
    assert_eq!(String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap());
    assert_eq!(back.total(), original.total());
    assert_eq!(back.meta.rate_hz, 100);
    assert_eq!(back.meta.duration_ns, 3_000_000_000);
    assert_eq!(
        back.threads[1].cpu_time_ns,
        Some(123_456_789),
        "CPU time in a comment"
    );
    assert_eq!(back.threads[0].cpu_time_ns, None);
}

#[test]
fn child_processes_keep_their_pid_and_root() {
    let mut original = sample();
    let mut child = sample();
    let root = ProcessRoot::child(77, &["work.py".to_owned()]);
    for thread in &mut child.threads {
        thread.process = Some(root.clone());
        thread.cpu_time_ns = Some(5);
    }
    original.merge(&child);
    assert_eq!(original.threads.len(), 4, "a child's threads stay apart");
    let mut bytes = Vec::new();
    write(&original, &WriteOptions::default(), &mut bytes).unwrap();
    let back = parse(&bytes).unwrap();
    let children: Vec<_> = back
        .threads
        .iter()
        .filter(|t| t.process.is_some())
        .collect();
    assert_eq!(children.len(), 2);
    assert!(children
        .iter()
        .all(|t| t.process.as_ref() == Some(&root) && t.cpu_time_ns == Some(5)));
    let lines = folded::lines(&back, 0);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("python-child (pid 77) work.py;MainThread (tid 5);main")),
        "{lines:?}"
    );
    let merged = back.merged_threads();
    assert_eq!(merged.threads.len(), 2, "one merged thread per process");
}

#[test]
fn every_kind_is_written_and_read_back() {
    let mut heap = sample();
    heap.meta.kinds = vec![
        ValueKind::ALLOC_OBJECTS,
        ValueKind::ALLOC_SPACE,
        ValueKind::INUSE_OBJECTS,
        ValueKind::INUSE_SPACE,
    ];
    let proto = to_proto(&heap, None);
    let s = |i: i64| proto.string_table[i as usize].as_str();
    assert_eq!(
        s(proto.default_sample_type),
        "inuse_space",
        "Go's heap default"
    );
    assert!(proto.period_type.is_none(), "no time kind, no time period");
    assert_eq!(proto.sample[0].value.len(), 4);
    let back = from_proto(&proto).unwrap();
    assert_eq!(back.meta.kinds, heap.meta.kinds);
    assert_eq!(back.total(), heap.total());
    let chosen = to_proto(&sample(), Some(0));
    let s = |i: i64| chosen.string_table[i as usize].as_str();
    assert_eq!(s(chosen.default_sample_type), "samples");
}

#[test]
fn a_time_profile_without_counts_gets_samples() {
    let mut proto = to_proto(&sample(), None);
    proto.sample_type.remove(0);
    for smp in &mut proto.sample {
        smp.value.remove(0);
    }
    let back = from_proto(&proto).unwrap();
    assert_eq!(back.meta.kinds, [ValueKind::SAMPLES, ValueKind::CPU]);
    assert_eq!(back.total(), sample().total());
}

#[test]
fn labels_are_sample_labels_and_come_back() {
    let mut profile = sample();
    add_cart_samples(&mut profile, "worker-1", 6);
    let proto = to_proto(&profile, None);
    let s = |i: i64| proto.string_table[i as usize].as_str();
    let labelled = proto.sample.iter().find(|smp| smp.value[0] == 5).unwrap();
    assert!(labelled
        .label
        .iter()
        .any(|l| s(l.key) == "endpoint" && s(l.str) == "/cart"));
    assert_eq!(labelled.location_id.len(), 1, "a label is no location");
    assert!(proto.function.iter().all(|f| s(f.name) != "endpoint"));
    let back = from_proto(&proto).unwrap();
    assert_eq!(back.only_label("endpoint", Some("/cart")).total().get(0), 5);
    assert_eq!(back.total(), profile.total());
}

#[test]
fn garbage_is_a_clear_error() {
    let err = parse(b"\x1f\x8bnot really gzip").unwrap_err();
    assert!(
        err.to_string().starts_with("malformed pprof input: gzip"),
        "{err}"
    );
    let err = parse(b"\xff\xff\xff\xff").unwrap_err();
    assert!(
        err.to_string().starts_with("malformed pprof input"),
        "{err}"
    );
}

/// A profile whose samples carry every one of rpprof's own label keys and every
/// `thread_state`: a thread id, a group, an asyncio task, a child process, user labels.
fn every_key() -> Profile {
    let mut profile = sample();
    let mut child = folded::parse(
        "MainThread (tid 5);task fetch;main (a.py:4);[awaiting] 3\n\
         MainThread (tid 5);task fetch;main (a.py:3) 2\n\
         Thread-2;[idle] lock.acquire 7\n"
            .as_bytes(),
        profile.meta.clone(),
    )
    .unwrap();
    let root = ProcessRoot::child(77, &["work.py".to_owned()]);
    for thread in &mut child.threads {
        thread.process = Some(root.clone());
        thread.group = Some("Thread-N".to_owned());
    }
    profile.merge(&child);
    add_cart_samples(&mut profile, "worker-2", 0);
    profile
}

/// Each sample as text: its labels (sorted), its frames leaf first, its values; sorted.
fn described(proto: &protos::Profile) -> Vec<String> {
    let s = |i: i64| proto.string_table[i as usize].as_str();
    let function = |location: &u64| {
        let location = proto.location.iter().find(|l| l.id == *location).unwrap();
        let line = &location.line[0];
        let f = proto
            .function
            .iter()
            .find(|f| f.id == line.function_id)
            .unwrap();
        format!("{} ({}:{})", s(f.name), s(f.filename), line.line)
    };
    let mut samples: Vec<String> = proto
        .sample
        .iter()
        .map(|smp| {
            let mut labels: Vec<String> = smp
                .label
                .iter()
                .map(|l| match l.str {
                    0 => format!("{}#{}", s(l.key), l.num),
                    text => format!("{}={}", s(l.key), s(text)),
                })
                .collect();
            labels.sort();
            let frames: Vec<String> = smp.location_id.iter().map(function).collect();
            format!("{labels:?} {frames:?} {:?}", smp.value)
        })
        .collect();
    samples.sort();
    samples
}

#[test]
fn own_label_keys_are_written_as_the_table_types_them_and_read_back() {
    let original = every_key();
    let proto = to_proto(&original, None);
    let s = |i: i64| proto.string_table[i as usize].as_str();
    let mut seen = Vec::new();
    let mut states = Vec::new();
    for label in proto.sample.iter().flat_map(|smp| &smp.label) {
        let Some(key) = LabelKey::from_name(s(label.key)) else {
            continue;
        };
        match key.value() {
            ValueType::Number => assert_eq!(label.str, 0, "{key:?} is a number"),
            ValueType::Text => assert_eq!(label.num, 0, "{key:?} is a string"),
        }
        if key == LabelKey::ThreadState {
            states.push(s(label.str));
        }
        seen.push(key);
    }
    for info in KEYS {
        assert!(seen.contains(&info.key), "{} is written", info.name);
    }
    for state in [
        thread_state::RUNNING,
        thread_state::IDLE,
        thread_state::AWAITING,
    ] {
        assert!(states.contains(&state), "{state}");
    }

    let back = from_proto(&proto).unwrap();
    assert_eq!(folded::lines(&back, 0), folded::lines(&original, 0));
    let groups = |p: &Profile| {
        let mut groups: Vec<_> = p
            .threads
            .iter()
            .map(|t| (t.name.clone(), t.group.clone()))
            .collect();
        groups.sort();
        groups
    };
    assert_eq!(groups(&back), groups(&original));
    assert_eq!(
        described(&to_proto(&back, None)),
        described(&proto),
        "encode, decode, encode: the same samples"
    );
}
