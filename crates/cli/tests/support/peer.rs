//! A `sotto` process driven through its `--json` events: for the tests of `invite` and
//! `join`, which must read one process's line and hand it to the other while both run.

use std::fs::{self, File};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::output::{json_events, wait_bounded};

/// A `sotto` process. Its stdout lines arrive on a channel as they
/// are printed (so waits on them are bounded) and its stderr goes to a file; it is killed if
/// the test fails while it runs.
pub struct Peer {
    what: &'static str,
    child: Option<Child>,
    /// Held open until the process ends: a person at a terminal does not close it either.
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    /// Every stdout line received so far.
    seen: Vec<String>,
    stderr: PathBuf,
}

impl Peer {
    /// Starts `command` (a `sotto` command line, run directly or through `ip netns exec`)
    /// with its stderr in `dir`.
    pub fn spawn(mut command: Command, what: &'static str, dir: &Path) -> Peer {
        let stderr = dir.join(format!("{what}.stderr"));
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(File::create(&stderr).expect("stderr file"))
            .spawn()
            .unwrap_or_else(|e| panic!("{what} starts: {e}"));
        let stdout = child.stdout.take().expect("piped");
        let (tx, lines) = mpsc::channel();
        // Ends at EOF, when the process exits or is killed.
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Peer {
            what,
            stdin: child.stdin.take(),
            child: Some(child),
            lines,
            seen: Vec::new(),
            stderr,
        }
    }

    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The first stdout line that is the JSON event `name`, waiting at most until `deadline`.
    pub fn wait_for_event(&mut self, name: &str, deadline: Instant) -> Value {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(line) => line,
                Err(RecvTimeoutError::Timeout) => panic!(
                    "{}: no {name} event in time; stdout so far:\n{}\nstderr:\n{}",
                    self.what,
                    self.seen.join("\n"),
                    self.stderr()
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "{} exited before its {name} event; stdout:\n{}\nstderr:\n{}",
                    self.what,
                    self.seen.join("\n"),
                    self.stderr()
                ),
            };
            self.seen.push(line.clone());
            if let Ok(value) = serde_json::from_str::<Value>(&line) {
                if value["event"] == name {
                    return value;
                }
            }
        }
    }

    /// Sends one line on the process's stdin.
    pub fn say(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|e| panic!("{} stdin: {e}\nstderr:\n{}", self.what, self.stderr()));
    }

    /// Waits (until `deadline` at most) for the process to end; its exit status, every event it
    /// printed and its stderr.
    pub fn finish(mut self, deadline: Instant) -> (ExitStatus, Vec<Value>, String) {
        let child = self.child.take().expect("still running");
        let left = deadline.saturating_duration_since(Instant::now());
        self.seen.extend(self.lines.try_iter());
        let context = format!(
            "stdout so far:\n{}\nstderr in {}",
            self.seen.join("\n"),
            self.stderr.display()
        );
        let status = wait_bounded(child, left, self.what, &context).status;
        self.stdin = None;
        // The process has exited, so the reader reaches EOF and closes the channel.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        let events = json_events(self.seen.join("\n").as_bytes());
        (status, events, self.stderr())
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
