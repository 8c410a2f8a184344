//! Helpers shared by the integration tests: run the built `rpprof` binary on real Python
//! scripts and look at what it printed and wrote.

#![allow(dead_code)]

pub mod tmux;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `rpprof` binary cargo built for these tests.
pub fn rpprof() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rpprof"));
    command.env_remove("PYTHONPATH");
    command
}

/// The repository root (where `examples/` lives).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A bundled example script.
pub fn example(name: &str) -> PathBuf {
    root().join("examples").join(name)
}

/// Runs a command and returns its output, with stdout and stderr as text.
pub fn run(command: &mut Command) -> Ran {
    let output = command.output().expect("rpprof starts");
    Ran::from(output)
}

/// A finished process.
pub struct Ran {
    /// Exit status code (None when killed by a signal).
    pub code: Option<i32>,
    /// The signal that killed it, if any.
    pub signal: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl From<Output> for Ran {
    fn from(output: Output) -> Ran {
        use std::os::unix::process::ExitStatusExt;
        Ran {
            code: output.status.code(),
            signal: output.status.signal(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Ran {
    /// Panics with both streams when the exit code is not `code`.
    pub fn expect_code(&self, code: i32) -> &Ran {
        assert_eq!(
            self.code,
            Some(code),
            "exit status\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

/// A fresh temporary directory, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates one under the system temp dir.
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "rpprof-test-{tag}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A path inside it.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes a file inside it and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// True when this machine has CPython 3.11 as `python3`.
pub fn cpython_311() -> bool {
    Command::new("python3")
        .arg("-c")
        .arg("import sys; assert sys.version_info[:2] == (3, 11)")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// A test script under `tests/scripts`.
pub fn script(name: &str) -> PathBuf {
    root().join("tests/scripts").join(name)
}

/// Reads a folded file written by `rpprof record`.
pub fn read_folded(path: &Path) -> flamegraph::Profile {
    let file =
        std::fs::File::open(path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    flamegraph::folded::parse(std::io::BufReader::new(file), Default::default())
        .expect("folded output parses")
}

/// Samples of stacks (over all threads) that hold a frame whose function is `function`.
pub fn samples_in(profile: &flamegraph::Profile, function: &str) -> u64 {
    profile
        .threads
        .iter()
        .flat_map(|t| t.stacks.iter())
        .filter(|(stack, _)| {
            stack
                .iter()
                .any(|&id| profile.frames.get(id).function == function)
        })
        .map(|(_, counts)| counts.get(0))
        .sum()
}

/// Samples of one thread, found by name.
pub fn thread_samples(profile: &flamegraph::Profile, name: &str) -> u64 {
    profile
        .threads
        .iter()
        .filter(|t| t.name == name)
        .map(|t| t.total().get(0))
        .sum()
}

/// `part` as a percentage of `whole`.
pub fn percent(part: u64, whole: u64) -> f64 {
    100.0 * part as f64 / whole.max(1) as f64
}

/// A fixture under `tests/data`.
pub fn data(name: &str) -> PathBuf {
    root().join("tests/data").join(name)
}

/// Compares `actual` with the golden file `tests/golden/NAME`; with `RPPROF_BLESS=1` in the
/// environment, (re)writes the golden file instead.
pub fn assert_golden(name: &str, actual: &str) {
    let path = root().join("tests/golden").join(name);
    if std::env::var_os("RPPROF_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no golden file {}; run with RPPROF_BLESS=1 to create it",
            path.display()
        )
    });
    assert_eq!(
        actual,
        expected,
        "output differs from {} (RPPROF_BLESS=1 to accept the new output)",
        path.display()
    );
}

/// True when `go` is installed (for `go tool pprof`).
pub fn have_go() -> bool {
    Command::new("go")
        .arg("version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// What `go tool pprof -top ARGS FILE` prints; fails the test with Go's message if it fails.
/// `home` becomes `HOME` (Go keeps a cache there).
pub fn go_pprof_top(home: &Path, args: &[&str], file: &Path) -> String {
    let mut all = vec!["-top"];
    all.extend_from_slice(args);
    go_pprof(home, &all, file).0
}

/// What `go tool pprof ARGS FILE` prints, stdout and stderr; fails the test with Go's
/// message if it fails. `home` becomes `HOME` (Go keeps a cache there).
pub fn go_pprof(home: &Path, args: &[&str], file: &Path) -> (String, String) {
    let ran = Command::new("go")
        .args(["tool", "pprof"])
        .args(args)
        .arg(file)
        .env("HOME", home)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&ran.stderr).into_owned();
    assert!(ran.status.success(), "{stderr}");
    (String::from_utf8_lossy(&ran.stdout).into_owned(), stderr)
}

/// Starts `rpprof agent --listen 127.0.0.1:0 --store STORE EXTRA... PROGRAM ARGS...` with
/// its stdout going to `stdout`, and reads where it listens from its first line on stderr.
/// Returns the process, that address and the rest of its stderr.
pub fn start_agent(
    store: &Path,
    extra: &[&str],
    program: &Path,
    args: &[&str],
    stdout: std::process::Stdio,
) -> (
    std::process::Child,
    String,
    std::io::BufReader<std::process::ChildStderr>,
) {
    use std::io::BufRead;
    let mut child = rpprof()
        .args(["agent", "--listen", "127.0.0.1:0", "--store"])
        .arg(store)
        .args(extra)
        .arg(program)
        .args(args)
        .stdout(stdout)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let address = agent_address(&line);
    (child, address, stderr)
}

/// A loopback port nothing listens on now (bound, then closed): for a server a test starts,
/// or one that must not answer.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The address in the agent's first line on stderr (`rpprof: agent on http://ADDR ...`).
pub fn agent_address(line: &str) -> String {
    line.split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("the agent says where it listens: {line}"))
        .to_owned()
}

/// A plain HTTP/1.1 GET over loopback: (status, head, body).
pub fn http_get(address: &str, target: &str, headers: &[(&str, &str)]) -> (u16, String, Vec<u8>) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("connect to the agent");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let mut request = format!("GET {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP response");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let body = response[split + 4..].to_vec();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    (status, head, body)
}
