//! A tmux server of a test's own, for commands that need a terminal (`top`): start a
//! command in a window, read the screen back, send keys.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A tmux server of this test's own (its own socket), killed when dropped.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// A server running `command` in a 150x40 window; None where tmux is missing.
    pub fn start(tag: &str, command: &str) -> Option<Tmux> {
        let found = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            eprintln!("skipped: tmux is not installed");
            return None;
        }
        let tmux = Tmux {
            socket: format!("rpprof-test-{tag}-{}", std::process::id()),
        };
        let status = tmux
            .command()
            .args(["new-session", "-d", "-x", "150", "-y", "40", command])
            .status()
            .unwrap();
        assert!(status.success());
        Some(tmux)
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new("tmux");
        command.args(["-L", &self.socket]);
        command
    }

    pub fn screen(&self) -> String {
        let out = self
            .command()
            .args(["capture-pane", "-p"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn keys(&self, keys: &str) {
        assert!(self
            .command()
            .args(["send-keys", keys])
            .status()
            .unwrap()
            .success());
    }

    /// Waits (up to 20 s) for the screen to show every one of `texts`; returns it.
    pub fn wait_for(&self, texts: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if texts.iter().all(|t| screen.contains(t)) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{texts:?} never shown:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // The server is gone already when its one command has ended.
        let _ = self
            .command()
            .arg("kill-server")
            .stderr(Stdio::null())
            .status();
    }
}

/// Waits (up to 30 s) for the file a finished command writes its status to.
pub fn wait_for_status(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text.trim().to_owned();
            }
        }
        assert!(Instant::now() < deadline, "the command did not end");
        std::thread::sleep(Duration::from_millis(200));
    }
}
