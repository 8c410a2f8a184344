//! `rpprof agent` through the binary, on real services: the endpoints over loopback,
//! window rotation and pruning, push to a Pyroscope-like receiver, SIGTERM flush, tokens
//! and bad requests.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{have_go, http_get, rpprof, script, TempDir};

/// A running agent and the address it listens on.
struct RunningAgent {
    child: Child,
    address: String,
    stderr: BufReader<std::process::ChildStderr>,
}

impl RunningAgent {
    fn start(dir: &TempDir, extra: &[&str], seconds: &str) -> RunningAgent {
        let (child, address, stderr) = common::start_agent(
            &dir.join("store"),
            extra,
            &script("service_for.py"),
            &[seconds],
            Stdio::piped(),
        );
        RunningAgent {
            child,
            address,
            stderr,
        }
    }

    fn get(&self, target: &str) -> (u16, String, Vec<u8>) {
        http_get(&self.address, target, &[])
    }

    fn finish(mut self) -> common::Ran {
        let mut rest = String::new();
        self.stderr.read_to_string(&mut rest).unwrap();
        let status = self.child.wait().unwrap();
        let mut stdout = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        common::Ran {
            code: status.code(),
            signal: status.signal(),
            stdout,
            stderr: rest,
        }
    }
}

fn stored_windows(dir: &TempDir) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("store/windows"))
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn endpoints_answer_over_loopback() {
    let dir = TempDir::new("agent-endpoints");
    let agent = RunningAgent::start(&dir, &["--window", "1s"], "6");

    // Twice: the second request comes just after a slice ended, when a slice in progress
    // that started long before the request must not be counted in.
    let (_, _, first) = agent.get("/debug/pprof/profile?seconds=1");
    let (status, _, body) = agent.get("/debug/pprof/profile?seconds=1");
    assert_eq!(status, 200);
    for answer in [&first, &body] {
        let profile =
            flamegraph::format::parse_any(answer).expect("pprof from /debug/pprof/profile");
        let span = profile.meta.duration_ns;
        assert!(
            (500_000_000..=1_500_000_000).contains(&span),
            "{span} ns, not one second"
        );
    }
    let profile = flamegraph::format::parse_any(&body).expect("pprof from /debug/pprof/profile");
    let names: Vec<&str> = profile.threads.iter().map(|t| t.name.as_str()).collect();
    assert!(
        names.contains(&"handler-0") && names.contains(&"handler-1"),
        "{names:?}"
    );
    let saved = dir.join("live.pb.gz");
    std::fs::write(&saved, &body).unwrap();
    if have_go() {
        assert!(common::go_pprof_top(dir.path(), &[], &saved).contains("handle_requests"));
    }

    std::thread::sleep(Duration::from_millis(1500));
    let (status, head, body) = agent.get("/profile?from=now-5m&format=svg");
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("image/svg+xml"), "{head}");
    let svg = String::from_utf8(body).unwrap();
    let mut reader = quick_xml::Reader::from_str(&svg);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("SVG is not well-formed: {e}"),
        }
    }
    assert!(svg.contains("handler-0 (tid"), "the SVG shows the threads");

    let (status, _, body) = agent.get("/profile?from=now-5m&format=folded&thread=handler-1");
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    let (header, stacks) = text.split_once('\n').unwrap_or_default();
    assert!(header.starts_with("# rpprof folded: rate_hz="), "{text}");
    assert!(
        stacks.lines().count() > 0 && stacks.lines().all(|l| l.starts_with("handler-1 (tid")),
        "{text}"
    );

    let (status, _, body) = agent.get("/threads");
    assert_eq!(status, 200);
    let threads: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let listed: Vec<&str> = threads
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        listed.contains(&"MainThread") && listed.contains(&"handler-0"),
        "{listed:?}"
    );
    assert!(threads[0]["state"].is_string());

    let (status, _, body) = agent.get("/metrics");
    assert_eq!(status, 200);
    let metrics = String::from_utf8(body).unwrap();
    for name in [
        "rpprof_samples_total",
        "rpprof_samples_dropped_total",
        "rpprof_windows_stored_total",
        "rpprof_store_bytes",
        "rpprof_pushes_failed_total",
        "rpprof_overhead_ratio",
    ] {
        assert!(
            metrics.contains(&format!("\n{name} ")) || metrics.starts_with(name),
            "{name} in\n{metrics}"
        );
    }
    // The process's memory and the aggregator's own tables, for a service owner watching
    // the profiler's footprint.
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} in\n{metrics}"))
    };
    assert!(value("process_resident_memory_bytes") > 4e6);
    let heap = value("rpprof_malloc_in_use_bytes");
    assert!(heap > 1e6 && heap < value("process_resident_memory_bytes") * 2.0);
    assert!(value("rpprof_aggregator_frames") >= 1.0, "{metrics}");
    assert!(value("rpprof_aggregator_stacks") >= 1.0, "{metrics}");
    assert!(value("rpprof_aggregator_threads") >= 1.0, "{metrics}");

    let (status, _, body) = agent.get("/");
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("/profile?from=now-5m&amp;format=svg"));

    for (target, code, reason) in [
        ("/profile?format=png", 400, "unknown format `png`"),
        (
            "/debug/pprof/profile?seconds=0",
            400,
            "seconds must be 1 to 300",
        ),
        (
            "/debug/pprof/profile?seconds=abc",
            400,
            "seconds must be 1 to 300",
        ),
        ("/profile?from=now&until=now-1h", 400, "must be before"),
        ("/profile?from=0&until=now", 400, "at most 86400 s"),
        ("/profile?frm=now-5m", 400, "unknown parameter `frm`"),
        ("/profile?from=tomorrow", 400, "is not a time"),
        ("/nothing-here", 404, "no endpoint"),
    ] {
        let (status, _, body) = agent.get(target);
        assert_eq!(status, code, "{target}");
        assert!(
            String::from_utf8_lossy(&body).contains(reason),
            "{target}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let long = format!("/profile?from={}", "9".repeat(3000));
    assert_eq!(agent.get(&long).0, 414);

    let ran = agent.finish();
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert_eq!(ran.stdout, "service done\n");
    assert!(ran.stderr.contains("agent stored"), "{}", ran.stderr);
}

#[test]
fn windows_rotate_and_old_ones_are_pruned() {
    let dir = TempDir::new("agent-windows");
    let agent = RunningAgent::start(&dir, &["--window", "1s", "--retain", "3s"], "6");
    let ran = agent.finish();
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let windows = stored_windows(&dir);
    assert!(
        (2..=5).contains(&windows.len()),
        "about the last 3 s of 1 s windows are kept: {windows:?}"
    );
    let bounds: Vec<(u64, u64)> = windows
        .iter()
        .map(|name| {
            let (from, until) = name
                .strip_suffix(".pb.gz")
                .unwrap()
                .split_once('-')
                .unwrap();
            (from.parse().unwrap(), until.parse().unwrap())
        })
        .collect();
    for pair in bounds.windows(2) {
        assert!(
            pair[0].1 <= pair[1].0 + 50,
            "windows follow each other: {bounds:?}"
        );
    }
    let index = std::fs::read_to_string(dir.join("store/index.jsonl")).unwrap();
    assert!(index.contains(&windows[0]), "{index}");
    for name in &windows {
        let bytes = std::fs::read(dir.join("store/windows").join(name)).unwrap();
        assert!(
            flamegraph::format::parse_any(&bytes).is_ok(),
            "{name} is whole"
        );
    }
}

/// A Pyroscope-like receiver: accepts requests on loopback and hands each one's request
/// line and body to the test.
fn receiver() -> (String, mpsc::Receiver<(String, Vec<u8>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let (sender, received) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .unwrap();
            let _ = sender.send((request_line, body));
        }
    });
    (address, received)
}

/// The parts of a multipart/form-data body, by name.
fn form_parts(body: &[u8]) -> Vec<(String, Vec<u8>)> {
    let text = String::from_utf8_lossy(body);
    let boundary = text.lines().next().unwrap().trim().to_owned();
    let mut parts = Vec::new();
    let mut rest = body;
    while let Some(start) = find(rest, boundary.as_bytes()) {
        rest = &rest[start + boundary.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let head_end = find(rest, b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&rest[..head_end]).into_owned();
        let name = head
            .split("name=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        let data_start = head_end + 4;
        let data_end = data_start + find(&rest[data_start..], boundary.as_bytes()).unwrap() - 2;
        parts.push((name, rest[data_start..data_end].to_vec()));
        rest = &rest[data_end..];
    }
    parts
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn windows_are_pushed_to_pyroscope_and_sigterm_flushes() {
    let dir = TempDir::new("agent-push");
    let (address, received) = receiver();
    let url = format!("http://{address}");
    // Windows of 30 s: none completes before SIGTERM; the flush must write and push it.
    let agent = RunningAgent::start(
        &dir,
        &[
            "--window",
            "30s",
            "--push",
            &url,
            "--app-name",
            "shop",
            "--label",
            "env=test",
            "--label",
            "team=perf",
        ],
        "60",
    );
    std::thread::sleep(Duration::from_millis(2500));
    // SAFETY: kill sends a signal to our own child process.
    unsafe { libc::kill(agent.child.id() as i32, libc::SIGTERM) };
    let started = Instant::now();
    let ran = agent.finish();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(
        ran.signal == Some(libc::SIGTERM) || ran.code == Some(143),
        "ended as SIGTERM does: {:?} {:?}\n{}",
        ran.code,
        ran.signal,
        ran.stderr
    );
    assert_eq!(
        stored_windows(&dir).len(),
        1,
        "the partial window was flushed to the store"
    );

    let (request_line, body) = received
        .recv_timeout(Duration::from_secs(10))
        .expect("a push");
    let target = request_line.split_whitespace().nth(1).unwrap();
    let (path, query) = target.split_once('?').unwrap();
    assert_eq!(path, "/ingest");
    assert!(request_line.starts_with("POST "));
    let params: std::collections::HashMap<&str, &str> = query
        .split('&')
        .map(|p| p.split_once('=').unwrap())
        .collect();
    assert_eq!(
        params["name"], "shop%7Benv%3Dtest%2Cteam%3Dperf%7D",
        "the app name and its labels, encoded"
    );
    assert_eq!(params["format"], "pprof");
    assert_eq!(params["sampleRate"], "99");
    assert_eq!(params["spyName"], "rpprof");
    let from: u64 = params["from"].parse().unwrap();
    let until: u64 = params["until"].parse().unwrap();
    assert!(from < until && until - from <= 30, "{from}..{until}");
    let parts = form_parts(&body);
    let names: Vec<&str> = parts.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["profile", "sample_type_config"]);
    let profile = flamegraph::format::parse_any(&parts[0].1).expect("a pprof profile");
    assert!(profile.threads.iter().any(|t| t.name == "handler-0"));
    let config: serde_json::Value = serde_json::from_slice(&parts[1].1).unwrap();
    assert_eq!(config["cpu"]["display-name"], "cpu");
    assert_eq!(config["cpu"]["aggregation"], "sum");
}

#[test]
fn a_down_push_target_is_counted_not_fatal() {
    let dir = TempDir::new("agent-pushdown");
    // Nothing listens on this port.
    let free = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let agent = RunningAgent::start(
        &dir,
        &["--window", "1s", "--push", &format!("http://{free}")],
        "3",
    );
    let ran = agent.finish();
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(ran.stderr.contains("0 ok"), "{}", ran.stderr);
    assert!(!stored_windows(&dir).is_empty(), "windows are still stored");
}

#[test]
fn tokens_guard_the_endpoints() {
    let dir = TempDir::new("agent-token");
    let refused = common::run(
        rpprof()
            .args(["agent", "--listen", "0.0.0.0:0", "--store"])
            .arg(dir.join("store"))
            .env_remove("RPPROF_AGENT_TOKEN")
            .arg(script("service_for.py"))
            .arg("1"),
    );
    assert_eq!(refused.code, Some(1));
    assert_eq!(refused.stdout, "", "the program never started");
    assert!(
        refused.stderr.contains("without a token"),
        "{}",
        refused.stderr
    );
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);

    let agent = RunningAgent::start(&dir, &["--token", "s3cret"], "3");
    let (status, head, _) = agent.get("/metrics");
    assert_eq!(status, 401);
    assert!(head.contains("WWW-Authenticate: Bearer"), "{head}");
    let (status, _, _) = http_get(
        &agent.address,
        "/metrics",
        &[("Authorization", "Bearer wrong")],
    );
    assert_eq!(status, 401);
    let (status, _, _) = http_get(
        &agent.address,
        "/metrics",
        &[("Authorization", "Bearer s3cret")],
    );
    assert_eq!(status, 200);
    assert_eq!(agent.finish().code, Some(0));
}

#[test]
fn bad_agent_flags_are_usage_errors() {
    for args in [
        vec!["agent", "--window", "soon"],
        vec!["agent", "--retain", "-1d"],
        vec!["agent", "--push", "https://pyroscope.example"],
        vec!["agent", "--label", "novalue"],
        vec!["agent", "--listen", "not-an-address"],
    ] {
        let ran = common::run(rpprof().args(&args).arg(script("service_for.py")));
        assert_eq!(ran.code, Some(2), "{args:?}: {}", ran.stderr);
        assert!(ran.stderr.starts_with("error:"), "{args:?}: {}", ran.stderr);
    }
}

#[test]
fn labelled_windows_are_pushed_as_one_series_per_label_set() {
    let dir = TempDir::new("agent-push-labels");
    let (address, received) = receiver();
    let url = format!("http://{address}");
    let (child, _, stderr) = common::start_agent(
        &dir.join("store"),
        &[
            "--window",
            "30s",
            "--push",
            &url,
            "--app-name",
            "shop",
            "--label",
            "env=test",
        ],
        &script("labels_service.py"),
        &["100000"],
        Stdio::piped(),
    );
    let agent = RunningAgent {
        child,
        address: String::new(),
        stderr,
    };
    std::thread::sleep(Duration::from_millis(3000));
    // SAFETY: kill sends a signal to our own child process.
    unsafe { libc::kill(agent.child.id() as i32, libc::SIGTERM) };
    agent.finish();
    let mut series = std::collections::HashMap::new();
    while let Ok((request_line, body)) = received.recv_timeout(Duration::from_secs(5)) {
        let target = request_line.split_whitespace().nth(1).unwrap();
        let name = target
            .split('&')
            .find_map(|p| p.split_once("name="))
            .map(|(_, v)| v.to_owned())
            .unwrap();
        let profile = flamegraph::format::parse_any(&form_parts(&body)[0].1).unwrap();
        series.insert(name, profile);
    }
    let cart = "shop%7Benv%3Dtest%2Cendpoint%3D%2Fcart%2Ctenant%3Dacme%7D";
    let home = "shop%7Benv%3Dtest%2Cendpoint%3D%2Fhome%2Ctenant%3Dglobex%7D";
    let names: Vec<&String> = series.keys().collect();
    assert!(
        series.contains_key(cart) && series.contains_key(home),
        "{names:?}"
    );
    assert!(
        series.contains_key("shop%7Benv%3Dtest%7D"),
        "the unlabelled samples: {names:?}"
    );
    let pushed = &series[cart];
    assert!(pushed.total().get(0) > 0);
    assert_eq!(
        pushed.only_label("endpoint", Some("/cart")).total(),
        pushed.total(),
        "a series holds its label set's samples only"
    );
}
