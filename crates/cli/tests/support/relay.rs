//! A `sotto relay` process for the tests: started on loopback, stopped with Ctrl-C.

use std::io::{BufRead as _, BufReader, Read as _};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, Stdio};

/// A running `sotto relay` with its addresses, stopped by SIGINT.
pub struct Relay {
    child: Child,
    stdout: BufReader<ChildStdout>,
    /// Where clients send.
    pub listen: SocketAddr,
    /// The port it forwards from.
    pub upstream_port: u16,
}

impl Relay {
    /// Starts `sotto relay` forwarding to `to`, with `extra` flags (loss, seed, delay).
    pub fn start(to: SocketAddr, extra: &[&str]) -> Relay {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sotto"))
            .args(["relay", "--listen", "127.0.0.1:0", "--to", &to.to_string()])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("relay starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut first = String::new();
        stdout.read_line(&mut first).expect("start line");
        // "relay: listening on 127.0.0.1:P from port U, forwarding to ..."
        let listen = first
            .split_whitespace()
            .nth(3)
            .and_then(|s| s.trim_end_matches(',').parse().ok())
            .unwrap_or_else(|| panic!("no listen address in {first:?}"));
        let upstream_port = first
            .split("from port ")
            .nth(1)
            .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no upstream port in {first:?}"));
        Relay {
            child,
            stdout,
            listen,
            upstream_port,
        }
    }

    /// Stops the relay with Ctrl-C and returns its last summary line.
    pub fn interrupt(mut self) -> String {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest).expect("relay output");
        let exit = self.child.wait().expect("relay exits");
        assert!(exit.success(), "relay exit {exit:?}: {rest}");
        rest.lines().last().unwrap_or_default().to_owned()
    }
}
