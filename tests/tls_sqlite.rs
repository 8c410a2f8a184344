//! `ssl` and `sqlite3` are built in: a profiled program fetches a page over HTTPS from a
//! local TLS server (itself run by `rpprof run`), and a multithreaded SQLite workload is
//! recorded with its worker threads' SQLite-calling functions in the profile.

mod common;

use common::{root, rpprof, run, TempDir};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

/// The HTTPS server process; killed when dropped (it also stops when its stdin closes).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn https_request_from_a_profiled_program() {
    let data = root().join("tests/data");
    // A CA and a server certificate it signed (CN=localhost, SAN localhost and 127.0.0.1,
    // valid until 2126), made once with the openssl CLI; the CA's key was thrown away.
    let mut server = Server(
        rpprof()
            .arg("run")
            .arg(root().join("tests/scripts/https_server.py"))
            .arg(data.join("tls_cert.pem"))
            .arg(data.join("tls_key.pem"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("rpprof starts"),
    );
    let mut port = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let port = port.trim();
    assert!(
        port.parse::<u16>().is_ok(),
        "the server printed {port:?} instead of its port"
    );

    let dir = TempDir::new("https");
    let folded = dir.join("client.folded");
    let ran = run(rpprof()
        .args(["record", "-o"])
        .arg(&folded)
        .arg(root().join("tests/scripts/https_client.py"))
        .arg(port)
        .arg(data.join("tls_ca.pem")));
    ran.expect_code(0);
    assert_eq!(
        ran.stdout,
        "localhost 200 hello over tls\n\
         127.0.0.1 200 hello over tls\n\
         untrusted: SSLCertVerificationError\n",
        "stderr:\n{}",
        ran.stderr
    );
    assert!(folded.exists(), "{}", ran.stderr);
}

#[test]
fn sqlite_threads_show_in_the_profile() {
    let dir = TempDir::new("sqlite");
    let folded = dir.join("db.folded");
    let ran = run(rpprof()
        .args(["record", "--function", "-o"])
        .arg(&folded)
        .arg(root().join("tests/scripts/sqlite_threads.py"))
        .arg(dir.join("items.db")));
    ran.expect_code(0);
    assert_eq!(ran.stdout, "rows 20000\nthreads ok 4 items.db\n");

    // Folded lines: "thread;frame;frame... count", outermost frame first.
    let text = std::fs::read_to_string(&folded).unwrap();
    for worker in 0..4 {
        let thread = format!("db-{worker} (tid ");
        let samples: u64 = text
            .lines()
            .filter(|line| line.starts_with(&thread))
            .filter(|line| line.contains(";worker (") && line.contains(";query_rows ("))
            .map(|line| line.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
            .sum();
        // Each worker burns about 0.3 CPU s in its queries: ~30 samples at 99 Hz.
        assert!(
            samples >= 5,
            "db-{worker}: {samples} samples in worker;query_rows\n{text}"
        );
    }
}
