//! Real servers under the profiler: a thread-per-request WSGI service (`wsgiref` with
//! `ThreadingMixIn`, as `http.server` and most development servers run) driven by concurrent
//! HTTP clients while the agent runs; its request handlers must land in one thread group.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{example, go_pprof_top, have_go, http_get, rpprof, TempDir};

/// Concurrent clients hitting both endpoints until `deadline`; returns the requests served.
fn drive(service: &str, deadline: Instant) -> usize {
    let clients: Vec<_> = (0..4)
        .map(|i| {
            let service = service.to_owned();
            std::thread::spawn(move || {
                let mut served = 0;
                while Instant::now() < deadline {
                    let path = if (served + i) % 2 == 0 {
                        "/cart"
                    } else {
                        "/search"
                    };
                    let (status, _, _) = http_get(&service, path, &[]);
                    assert_eq!(status, 200);
                    served += 1;
                }
                served
            })
        })
        .collect();
    clients.into_iter().map(|c| c.join().unwrap()).sum()
}

#[test]
fn a_thread_per_request_server_is_one_thread_group() {
    let dir = TempDir::new("wsgi");
    let (mut child, agent, _stderr) = common::start_agent(
        &dir.join("store"),
        &[],
        &example("wsgi_service.py"),
        &["0", "30"],
        Stdio::piped(),
    );
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let port = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("the service says its port: {line}"));
    let service = format!("127.0.0.1:{port}");

    let deadline = Instant::now() + Duration::from_secs(4);
    let load = std::thread::spawn(move || drive(&service, deadline));
    std::thread::sleep(Duration::from_millis(500));
    let (status, _, body) = http_get(&agent, "/debug/pprof/profile?seconds=2", &[]);
    assert_eq!(status, 200);
    let served = load.join().unwrap();
    assert!(served > 20, "the service answered: {served}");
    // SAFETY: kill(2) on the child we started; SIGTERM makes the agent flush and exit.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();

    let profile = flamegraph::format::parse_any(&body).unwrap();
    let group = "Thread-N (process_request_thread)";
    let requests: Vec<_> = profile
        .threads
        .iter()
        .filter(|t| t.group.as_deref() == Some(group))
        .collect();
    assert!(
        requests.len() >= 5,
        "request threads carry their group: {:?}",
        profile
            .threads
            .iter()
            .map(|t| (&t.name, &t.group))
            .collect::<Vec<_>>()
    );
    let in_requests = |function: &str| -> u64 {
        requests
            .iter()
            .flat_map(|t| &t.stacks)
            .filter(|(stack, _)| {
                stack
                    .iter()
                    .any(|&id| profile.frames.get(id).function == function)
            })
            .map(|(_, values)| values.get(0))
            .sum()
    };
    assert!(
        in_requests("price_cart") > 0,
        "the /cart handler is sampled"
    );
    assert!(
        in_requests("score_catalogue") > 0,
        "the /search handler is sampled"
    );

    // The SVG view of the same data draws the group as one root.
    let file = dir.join("web.pb.gz");
    std::fs::write(&file, &body).unwrap();
    let folded = dir.join("web.folded");
    common::run(rpprof().arg("report").arg(&file).arg("-o").arg(&folded)).expect_code(0);
    let text = std::fs::read_to_string(&folded).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("Thread-N (process_request_thread) ×")),
        "{text}"
    );
    assert!(
        !text.lines().any(|l| l.starts_with("Thread-1")),
        "no root per request"
    );

    if !have_go() {
        eprintln!("skipping the go tool pprof check: go is not installed");
        return;
    }
    let text = go_pprof_top(
        dir.path(),
        &["-tagfocus", "thread_group=process_request_thread"],
        &file,
    );
    assert!(text.contains("price_cart"), "{text}");
    assert!(text.contains("score_catalogue"), "{text}");
}
