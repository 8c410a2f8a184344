//! Every output format, through the binary: pprof (decoded field by field, and read by
//! `go tool pprof` where Go is installed), speedscope (checked against its published schema
//! where available), folded goldens, `report`, `diff`, and the in-script `rpprof` API.

mod common;

use std::collections::HashMap;
use std::process::Command;

use common::{
    assert_golden, data, example, go_pprof_top, have_go, read_folded, rpprof, run, samples_in,
    TempDir,
};
use flamegraph::pprof::Message;

fn decode_pprof(path: &std::path::Path) -> flamegraph::pprof::Proto {
    use std::io::Read;
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "pprof output is gzipped");
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_end(&mut raw)
        .unwrap();
    flamegraph::pprof::Proto::decode(&raw[..]).unwrap()
}

#[test]
fn pprof_from_a_recording_has_the_fields_that_matter() {
    let dir = TempDir::new("pprof");
    let out = dir.join("threads.pb.gz");
    run(rpprof()
        .args(["record", "--rate", "199", "-o"])
        .arg(&out)
        .arg(example("threads.py"))
        .arg("6"))
    .expect_code(0);
    let proto = decode_pprof(&out);
    let s = |i: i64| proto.string_table[i as usize].as_str();
    assert_eq!(proto.string_table[0], "");
    let types: Vec<(&str, &str)> = proto
        .sample_type
        .iter()
        .map(|t| (s(t.ty), s(t.unit)))
        .collect();
    assert_eq!(types, [("samples", "count"), ("cpu", "nanoseconds")]);
    let period_type = proto.period_type.as_ref().unwrap();
    assert_eq!(
        (s(period_type.ty), s(period_type.unit)),
        ("cpu", "nanoseconds")
    );
    assert_eq!(proto.period, 1_000_000_000 / 199);
    assert!(proto.duration_nanos > 0);
    assert!(
        proto.time_nanos > 1_600_000_000_000_000_000,
        "wall-clock start time"
    );

    let functions: HashMap<u64, (&str, &str, i64)> = proto
        .function
        .iter()
        .map(|f| (f.id, (s(f.name), s(f.filename), f.start_line)))
        .collect();
    let locations: HashMap<u64, &flamegraph::pprof::Location> =
        proto.location.iter().map(|l| (l.id, l)).collect();
    let (checksum_name, checksum_file, checksum_start) = functions
        .values()
        .find(|f| f.0 == "checksum")
        .copied()
        .unwrap();
    assert_eq!(
        (checksum_name, checksum_file, checksum_start),
        ("checksum", "examples/threads.py", 18)
    );
    // One Function per (name, file); one Location per (function, line).
    let mut seen = std::collections::HashSet::new();
    for f in functions.values() {
        assert!(seen.insert((f.0, f.1)), "duplicate function {f:?}");
    }
    let mut seen = std::collections::HashSet::new();
    for l in locations.values() {
        assert_eq!(l.line.len(), 1);
        assert!(seen.insert((l.line[0].function_id, l.line[0].line)));
    }

    let mut threads_seen = std::collections::HashSet::new();
    for sample in &proto.sample {
        assert_eq!(sample.value.len(), 2);
        let labels: HashMap<&str, &flamegraph::pprof::Label> =
            sample.label.iter().map(|l| (s(l.key), l)).collect();
        let name = s(labels["thread_name"].str);
        assert!(labels["thread_id"].num > 0);
        assert_eq!(s(labels["thread_state"].str), "running");
        threads_seen.insert(name.to_owned());
        if name.ends_with("-worker") && !sample.location_id.is_empty() {
            // Leaf first: the innermost frame comes first, the thread's bootstrap last.
            let function_of = |id: &u64| functions[&locations[id].line[0].function_id].0;
            let leaf = function_of(&sample.location_id[0]);
            let root = function_of(sample.location_id.last().unwrap());
            if leaf == "checksum" {
                assert_eq!(root, "Thread._bootstrap");
            }
        }
    }
    for name in ["resize-worker", "encode-worker", "index-worker"] {
        assert!(threads_seen.contains(name), "{name} labelled");
    }
}

#[test]
fn go_tool_pprof_reads_it_and_filters_by_thread() {
    if !have_go() {
        eprintln!(
            "skipped: `go` is not installed (apt-get install golang-go); .ci/run installs it"
        );
        return;
    }
    let dir = TempDir::new("gopprof");
    let out = dir.join("threads.pb.gz");
    run(rpprof()
        .args(["record", "--rate", "199", "-o"])
        .arg(&out)
        .arg(example("threads.py"))
        .arg("6"))
    .expect_code(0);
    let text = go_pprof_top(dir.path(), &[], &out);
    assert!(text.contains("checksum"), "{text}");
    assert!(text.contains("resize_images"), "{text}");
    let text = go_pprof_top(dir.path(), &["-tagfocus", "thread_name=index-worker"], &out);
    assert!(text.contains("build_index"), "{text}");
    assert!(
        !text.contains("resize_images"),
        "only index-worker kept:\n{text}"
    );
}

#[test]
fn speedscope_is_one_profile_per_thread_and_matches_the_schema() {
    let dir = TempDir::new("speedscope");
    let out = dir.join("threads.speedscope.json");
    run(rpprof()
        .args(["record", "--rate", "199", "-o"])
        .arg(&out)
        .arg(example("threads.py"))
        .arg("4"))
    .expect_code(0);
    let text = std::fs::read_to_string(&out).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        json["$schema"],
        "https://www.speedscope.app/file-format-schema.json"
    );
    let frames = json["shared"]["frames"].as_array().unwrap();
    let profiles = json["profiles"].as_array().unwrap();
    let names: Vec<&str> = profiles
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for worker in [
        "resize-worker (tid",
        "encode-worker (tid",
        "index-worker (tid",
    ] {
        assert!(
            names.iter().any(|n| n.starts_with(worker)),
            "{worker} in {names:?}"
        );
    }
    for profile in profiles {
        assert_eq!(profile["type"], "sampled");
        let samples = profile["samples"].as_array().unwrap();
        let weights = profile["weights"].as_array().unwrap();
        assert_eq!(samples.len(), weights.len());
        let total: u64 = weights.iter().map(|w| w.as_u64().unwrap()).sum();
        assert_eq!(profile["endValue"].as_u64().unwrap(), total);
        for stack in samples {
            for index in stack.as_array().unwrap() {
                assert!((index.as_u64().unwrap() as usize) < frames.len());
            }
        }
    }
    // The published schema, where CI fetched it (npm package `speedscope`).
    let Some(schema) = std::env::var_os("SPEEDSCOPE_SCHEMA") else {
        eprintln!("skipped schema check: set SPEEDSCOPE_SCHEMA (.ci/run fetches it)");
        return;
    };
    let check = Command::new("python3")
        .args([
            "-c",
            "import json, sys, jsonschema\n\
             schema = json.load(open(sys.argv[1]))\n\
             jsonschema.validate(json.load(open(sys.argv[2])), schema)\n\
             print('valid')",
        ])
        .arg(&schema)
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "speedscope output fails the schema: {}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn several_outputs_from_one_recording_agree() {
    let dir = TempDir::new("multi");
    let ran = run(rpprof()
        .args(["record", "--rate", "199", "-o"])
        .arg(dir.join("p.svg"))
        .arg("-o")
        .arg(dir.join("p.pb.gz"))
        .arg("-o")
        .arg(dir.join("p.folded"))
        .arg("-o")
        .arg(dir.join("p.speedscope.json"))
        .arg(example("threads.py"))
        .arg("3"));
    ran.expect_code(0);
    for name in ["p.svg", "p.pb.gz", "p.folded", "p.speedscope.json"] {
        assert!(dir.join(name).is_file(), "{name} written");
        assert!(ran.stderr.contains(name), "{}", ran.stderr);
    }
    let folded = read_folded(&dir.join("p.folded"));
    let from_pprof = rpprof::input::read_profile(&dir.join("p.pb.gz")).unwrap();
    assert_eq!(folded.total().get(0), from_pprof.total().get(0));
    assert_eq!(
        samples_in(&folded, "checksum"),
        samples_in(&from_pprof, "checksum")
    );
}

#[test]
fn value_kinds_choose_what_one_value_views_show() {
    let dir = TempDir::new("values");
    let ran = run(rpprof()
        .args(["record", "--rate", "199", "--value", "cpu", "-o"])
        .arg(dir.join("cpu.folded"))
        .arg("-o")
        .arg(dir.join("p.pb.gz"))
        .arg(example("threads.py"))
        .arg("3"));
    ran.expect_code(0);
    let by_samples = rpprof::input::read_profile(&dir.join("p.pb.gz")).unwrap();
    let kinds: Vec<String> = by_samples
        .meta
        .kinds
        .iter()
        .map(|k| k.to_string())
        .collect();
    assert_eq!(kinds, ["samples/count", "cpu/nanoseconds"]);
    // The folded file counts nanoseconds of CPU: the pprof's cpu value, stack by stack.
    let cpu_text = std::fs::read_to_string(dir.join("cpu.folded")).unwrap();
    let (header, stacks) = cpu_text.split_once('\n').unwrap();
    assert!(header.ends_with(" counts=cpu/nanoseconds"), "{header}");
    let folded_total: u64 = stacks
        .lines()
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
        .sum();
    assert_eq!(folded_total, by_samples.total().get(1));
    assert!(
        folded_total > 100 * by_samples.total().get(0),
        "nanoseconds, not samples"
    );
    // report and its top table take --value too.
    let pb = dir.join("p.pb.gz");
    let pb = pb.to_str().unwrap();
    let text = report_stdout(&[pb, "--value", "cpu", "--top", "3"]);
    assert!(text.starts_with("all threads: "), "{text}");
    assert!(text.lines().next().unwrap().ends_with(" s cpu"), "{text}");
    // A kind the profile lacks is a one-line error, before any work for record.
    let ran = run(rpprof().args(["report", pb, "--value", "wall"]));
    ran.expect_code(1);
    assert!(
        ran.stderr
            .contains("has no value `wall` (it has: samples, cpu)"),
        "{}",
        ran.stderr
    );
    let ran = run(rpprof()
        .args(["record", "--value", "alloc_space", "-o"])
        .arg(dir.join("never.svg"))
        .args(["-c", "print('ran')"]));
    ran.expect_code(2);
    assert_eq!(ran.stdout, "", "the program did not run");
    assert!(ran.stderr.starts_with("error:"), "{}", ran.stderr);
}

fn report_stdout(args: &[&str]) -> String {
    let ran = run(rpprof().arg("report").args(args));
    ran.expect_code(0);
    ran.stdout
}

#[test]
fn report_goldens() {
    let dir = TempDir::new("goldens");
    let before = data("before.folded");
    let before = before.to_str().unwrap();
    let cases: [(&str, Vec<&str>); 4] = [
        ("function.folded", vec!["--function"]),
        ("merged.folded", vec!["--threads", "merged"]),
        ("worker-2.folded", vec!["--thread", "worker-2"]),
        ("foreign.folded", vec![]),
    ];
    for (golden, extra) in cases {
        let out = dir.join(golden);
        let input = if golden == "foreign.folded" {
            data("foreign.folded")
        } else {
            before.into()
        };
        run(rpprof()
            .arg("report")
            .arg(&input)
            .args(&extra)
            .arg("-o")
            .arg(&out))
        .expect_code(0);
        assert_golden(golden, &std::fs::read_to_string(&out).unwrap());
    }
    assert_golden("top.txt", &report_stdout(&[before, "--top", "4"]));
}

#[test]
fn report_converts_between_formats_and_merges_inputs() {
    let dir = TempDir::new("convert");
    let pb = dir.join("before.pb.gz");
    run(rpprof()
        .arg("report")
        .arg(data("before.folded"))
        .arg("-o")
        .arg(&pb))
    .expect_code(0);
    let back = dir.join("back.folded");
    run(rpprof().arg("report").arg(&pb).arg("-o").arg(&back)).expect_code(0);
    // A foreign folded file (no header): samples of unknown rate, and so they stay.
    assert_eq!(
        std::fs::read_to_string(&back).unwrap(),
        format!(
            "# rpprof folded: counts=samples/count\n{}",
            std::fs::read_to_string(data("before.folded")).unwrap()
        ),
        "folded -> pprof -> folded is lossless"
    );
    // Two inputs merge: same-named threads with the same tid add up.
    let merged = dir.join("twice.folded");
    run(rpprof()
        .arg("report")
        .arg(data("before.folded"))
        .arg(&pb)
        .arg("-o")
        .arg(&merged))
    .expect_code(0);
    let once = read_folded(&data("before.folded")).total().get(0);
    assert_eq!(read_folded(&merged).total().get(0), 2 * once);
    // The default without -o is the top table.
    let text = report_stdout(&[pb.to_str().unwrap()]);
    assert!(text.starts_with("all threads: 140 samples"), "{text}");
    assert!(text.contains("worker-1 (tid 101): 60 samples"), "{text}");
}

#[test]
fn report_rejects_bad_input_with_one_line() {
    let dir = TempDir::new("badinput");
    let garbage = dir.write("garbage.pb.gz", "");
    std::fs::write(&garbage, [0x1f, 0x8b, 0x08, 0x00, 0xff, 0x13]).unwrap();
    let text = dir.write("words.txt", "this is not a profile\n");
    for input in [garbage, text, dir.join("missing.folded")] {
        let ran = run(rpprof().arg("report").arg(&input));
        ran.expect_code(1);
        assert_eq!(ran.stderr.lines().count(), 1, "{}", ran.stderr);
        assert!(
            ran.stderr.starts_with("rpprof: cannot read"),
            "{}",
            ran.stderr
        );
    }
    let ran = run(rpprof()
        .arg("report")
        .arg(data("before.folded"))
        .args(["--thread", "nope"]));
    ran.expect_code(1);
    assert_eq!(
        ran.stderr,
        "rpprof: no thread named 'nope' (threads: MainThread, worker-1, worker-2)\n"
    );
}

#[test]
fn diff_colours_growth_and_shrinkage() {
    let dir = TempDir::new("diff");
    let out = dir.join("diff.svg");
    let ran = run(rpprof()
        .arg("diff")
        .arg(data("before.folded"))
        .arg(data("after.folded"))
        .arg("-o")
        .arg(&out));
    ran.expect_code(0);
    assert!(
        ran.stderr.contains("140 samples before, 112 after"),
        "{}",
        ran.stderr
    );
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.contains("save (app.py:27)"));
    assert!(
        !svg.contains("(tid "),
        "threads are matched by name, not tid"
    );
    // save grew from 8 to 40 samples: red; worker-1's score shrank: blue.
    assert!(
        svg.contains("+400.00%") || svg.contains("+"),
        "growth is annotated"
    );
    let normalized = dir.join("norm.svg");
    run(rpprof()
        .args(["diff", "--normalize", "--function", "-o"])
        .arg(&normalized)
        .arg(data("before.folded"))
        .arg(data("after.folded")))
    .expect_code(0);
    assert!(std::fs::read_to_string(&normalized)
        .unwrap()
        .contains("save (app.py)"));
}

#[test]
fn svg_options_title_icicle_and_width() {
    let dir = TempDir::new("svgopts");
    let out = dir.join("o.svg");
    run(rpprof()
        .arg("report")
        .arg(data("before.folded"))
        .args([
            "--title",
            "Nightly build",
            "--icicle",
            "--width",
            "800",
            "--min-width",
            "2",
            "-o",
        ])
        .arg(&out))
    .expect_code(0);
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.contains("Nightly build"));
    assert!(svg.contains("width=\"800\""), "image width");
    let plain = dir.join("p.svg");
    run(rpprof()
        .arg("report")
        .arg(data("before.folded"))
        .arg("-o")
        .arg(&plain))
    .expect_code(0);
    let plain = std::fs::read_to_string(&plain).unwrap();
    assert_ne!(svg, plain, "icicle and width change the drawing");
}

#[test]
fn python_api_profiles_part_of_a_script() {
    let dir = TempDir::new("api");
    let script = dir.write(
        "api_user.py",
        r#"
import sys, threading
import rpprof

def busy(n):
    t = 0
    for i in range(n):
        t = (t + i) % 977
    return t

def not_profiled():
    return busy(300_000)

not_profiled()
out = sys.argv[1]
with rpprof.profile(out + "/block.folded", rate=199):
    helper = threading.Thread(target=busy, args=(600_000,), name="helper")
    helper.start()
    busy(600_000)
    helper.join()
print("running after with:", rpprof.is_running())

rpprof.start(rate=199)
busy(300_000)
count = rpprof.stop()
print("stopped with samples:", count > 0)
rpprof.write(out + "/manual.pb.gz")
rpprof.write(out + "/manual.txt", format="speedscope")

for bad in (lambda: rpprof.stop(), lambda: rpprof.start(rate=0), lambda: rpprof.start(mode="gpu")):
    try:
        bad()
    except (RuntimeError, ValueError) as e:
        print(type(e).__name__)
"#,
    );
    let ran = run(rpprof().arg("run").arg(&script).arg(dir.path()));
    ran.expect_code(0);
    assert_eq!(
        ran.stdout,
        "running after with: False\nstopped with samples: True\nRuntimeError\nValueError\nValueError\n"
    );
    let block = read_folded(&dir.join("block.folded"));
    assert!(samples_in(&block, "busy") > 0);
    assert_eq!(
        samples_in(&block, "not_profiled"),
        0,
        "only the block was profiled"
    );
    let names: Vec<&str> = block.threads.iter().map(|t| t.name.as_str()).collect();
    assert!(
        names.contains(&"helper") && names.contains(&"MainThread"),
        "{names:?}"
    );
    assert!(rpprof::input::read_profile(&dir.join("manual.pb.gz")).is_ok());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manual.txt")).unwrap()).unwrap();
    assert_eq!(json["profiles"][0]["type"], "sampled");

    // Under `rpprof record` the program is already profiled: start() raises.
    let ran = run(rpprof()
        .args(["record", "-o"])
        .arg(dir.join("whole.svg"))
        .args([
            "-c",
            "import rpprof\ntry:\n    rpprof.start()\nexcept RuntimeError:\n    print('refused')",
        ]));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "refused\n");
}
