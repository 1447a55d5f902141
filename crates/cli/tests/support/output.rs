//! Running `sotto` and reading what it prints: the `--json` event stream (one JSON object per
//! line on stdout) and the port a listener announces on stderr; waiting for one to finish; the
//! WAV it wrote.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `sotto` binary under test.
#[allow(dead_code, reason = "not every test file runs it directly")]
pub fn sotto() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sotto"))
}

/// A fresh, empty directory for one test's files.
#[allow(dead_code, reason = "not every test file writes files")]
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("sotto-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Every line of `stdout` as JSON; a line that is not JSON fails the test.
pub fn json_events(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect()
}

/// The first event named `name`.
pub fn event<'a>(events: &'a [Value], name: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["event"] == name)
        .unwrap_or_else(|| panic!("no {name} event in {events:?}"))
}

/// Starts a `sotto listen` command line (stdin closed, stdout and stderr piped) and reads its
/// stderr until it names its port: the process, the rest of its stderr, and the port.
#[allow(dead_code, reason = "not every test file runs a listener")]
pub fn start_listener(command: &mut Command) -> (Child, BufReader<ChildStderr>, u16) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sotto listen starts");
    let mut stderr = BufReader::new(child.stderr.take().expect("piped"));
    let port = wait_for_port(&mut stderr);
    (child, stderr, port)
}

/// Reads a `sotto listen` process's stderr until it names its port.
fn wait_for_port(stderr: &mut BufReader<ChildStderr>) -> u16 {
    let mut line = String::new();
    loop {
        line.clear();
        let n = stderr.read_line(&mut line).expect("listener stderr");
        assert!(n > 0, "sotto listen exited before it was ready");
        if let Some(rest) = line.split("on port ").nth(1) {
            return rest
                .split_whitespace()
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| panic!("no port in {line:?}"));
        }
    }
}

/// Waits for `child` at most `limit`, killing it after that, so a call that never ends fails
/// the test instead of hanging it; `context` is added to the failure message.
#[allow(dead_code, reason = "not every test file waits on a process")]
pub fn wait_bounded(mut child: Child, limit: Duration, what: &str, context: &str) -> Output {
    let start = Instant::now();
    loop {
        match child.try_wait().expect("child status") {
            Some(_) => return child.wait_with_output().expect("child output"),
            None if start.elapsed() > limit => {
                let _ = child.kill();
                let out = child.wait_with_output().expect("child output");
                panic!(
                    "{what} still running after {limit:?}; stdout:\n{}\n{context}",
                    String::from_utf8_lossy(&out.stdout)
                );
            }
            None => thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// The samples of a WAV file a process wrote (at most 10 s at 48 kHz).
#[allow(dead_code, reason = "not every test file reads a WAV")]
pub fn read_wav(path: &std::path::Path) -> Vec<i16> {
    use sotto_media::AudioSource as _;
    let mut source = sotto_media::WavSource::open(path).expect("WAV opens");
    let mut samples = vec![0i16; 48_000 * 10];
    let n = source.read(&mut samples).expect("WAV reads");
    samples.truncate(n);
    samples
}
