//! A real SRTP peer for interop tests: `libsrtp_tool.c` linked against Debian's libsrtp2
//! (`libsrtp2-dev`), compiled once per test run into `CARGO_TARGET_TMPDIR` and run as a filter
//! process, one crypto context per [`run`].
//!
//! ```ignore
//! #[path = "support/libsrtp.rs"]
//! mod libsrtp;
//!
//! let out = libsrtp::run(Mode::Unprotect, Kind::Rtp, "aes128_hmac80", &key, &salt, &packets)?;
//! // out[i] is Ok(plaintext) or Err(srtp_err_status_t), e.g. AUTH_FAIL
//! ```
//!
//! # How libsrtp 2.5 is set up here
//!
//! - Profiles `aes128_hmac80`, `aes128_hmac32`, `aes256_hmac80`, `aes256_hmac32`. In the `_32`
//!   profiles only SRTP carries the 32-bit tag: SRTCP uses the 80-bit one, as RFC 4568
//!   section 6.2 defines those suites and libsrtp's callers (GStreamer's srtpenc,
//!   mediastreamer2) configure them. libsrtp has no rule of its own: it applies whatever tag
//!   length its rtcp policy names, 32 bits included.
//! - Protect uses `ssrc_any_outbound`, unprotect `ssrc_any_inbound`; a new SSRC starts with
//!   rollover counter 0. Replay window 1024 packets for SRTP (SRTCP's is fixed at 128),
//!   `allow_repeat_tx` 0, so protecting a sequence number twice fails with `REPLAY_FAIL`.
//! - libsrtp's first SRTCP index is 1, not the 0 RFC 3711 section 3.4 asks for; receivers
//!   accept either.
#![allow(dead_code)]

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

const SOURCE: &str = include_str!("libsrtp_tool.c");
const INSTALL_HINT: &str = "install libsrtp2-dev pkg-config (the project's .ci/setup does)";

/// `srtp_err_status_auth_fail`: the tag does not verify.
pub const AUTH_FAIL: i32 = 7;
/// `srtp_err_status_replay_fail`: the index was seen before (or, protecting, is not new).
pub const REPLAY_FAIL: i32 = 9;
/// `srtp_err_status_replay_old`: the index is older than the replay window.
pub const REPLAY_OLD: i32 = 10;

/// Which way packets go through libsrtp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `srtp_protect` / `srtp_protect_rtcp`.
    Protect,
    /// `srtp_unprotect` / `srtp_unprotect_rtcp`.
    Unprotect,
}

/// SRTP or SRTCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// RTP packets.
    Rtp,
    /// RTCP compound packets.
    Rtcp,
}

/// Passes `packets`, in order, through one libsrtp context keyed with `key` and `salt`. Each
/// result is the output packet or libsrtp's `srtp_err_status_t` for that packet; a later
/// packet still sees the state the earlier ones left (replay window, rollover counter).
/// `Err` means the tool could not run, not that a packet was rejected.
pub fn run(
    mode: Mode,
    kind: Kind,
    profile: &str,
    key: &[u8],
    salt: &[u8],
    packets: &[Vec<u8>],
) -> io::Result<Vec<Result<Vec<u8>, i32>>> {
    let binary = tool_binary()?;
    // Input goes through a file, not a pipe: writing every record before reading any answer
    // would deadlock once both pipe buffers fill.
    let input_path = next_scratch_path("in")?;
    {
        let mut input = BufWriter::new(File::create(&input_path)?);
        for packet in packets {
            let len = u32::try_from(packet.len())
                .map_err(|_| io::Error::other("packet longer than 4 GiB"))?;
            input.write_all(&len.to_be_bytes())?;
            input.write_all(packet)?;
        }
        input.flush()?;
    }
    let output = Command::new(binary)
        .arg(match mode {
            Mode::Protect => "protect",
            Mode::Unprotect => "unprotect",
        })
        .arg(match kind {
            Kind::Rtp => "rtp",
            Kind::Rtcp => "rtcp",
        })
        .arg(profile)
        .arg(hex(key))
        .arg(hex(salt))
        .stdin(Stdio::from(File::open(&input_path)?))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output();
    let _ = fs::remove_file(&input_path);
    let output = output?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "libsrtp_tool {mode:?} {kind:?} {profile} exited ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let results = parse_records(&output.stdout)?;
    if results.len() != packets.len() {
        return Err(io::Error::other(format!(
            "libsrtp_tool answered {} records for {} packets",
            results.len(),
            packets.len()
        )));
    }
    Ok(results)
}

/// Mean nanoseconds per `srtp_protect` and per `srtp_unprotect` of `count` RTP packets of
/// `size` bytes (header included) with fresh sequence numbers.
pub fn bench(profile: &str, size: usize, count: usize) -> io::Result<(f64, f64)> {
    let output = Command::new(tool_binary()?)
        .args(["bench", profile, &size.to_string(), &count.to_string()])
        .stdin(Stdio::null())
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "libsrtp_tool bench exited ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let field = |name: &str| {
        stdout
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| io::Error::other(format!("no {name} in bench output: {stdout}")))
    };
    Ok((field("protect_ns")?, field("unprotect_ns")?))
}

fn parse_records(mut out: &[u8]) -> io::Result<Vec<Result<Vec<u8>, i32>>> {
    let mut results = Vec::new();
    while !out.is_empty() {
        let (Some(status), Some(len)) = (out.get(0..4), out.get(4..8)) else {
            return Err(io::Error::other(
                "libsrtp_tool output ends inside a record header",
            ));
        };
        let status = i32::from_be_bytes([status[0], status[1], status[2], status[3]]);
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let Some(bytes) = out.get(8..8 + len) else {
            return Err(io::Error::other("libsrtp_tool output ends inside a packet"));
        };
        results.push(if status == 0 {
            Ok(bytes.to_vec())
        } else {
            Err(status)
        });
        out = &out[8 + len..];
    }
    Ok(results)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn target_tmpdir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

fn next_scratch_path(what: &str) -> io::Result<PathBuf> {
    sotto_testkit::scratch_path(&target_tmpdir().join("libsrtp-tool"), what)
}

/// The compiled tool, built at most once per process (and reused across runs until the
/// source changes).
fn tool_binary() -> io::Result<PathBuf> {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            sotto_testkit::CTool {
                name: "libsrtp_tool",
                source: SOURCE,
                pkg_config: &["libsrtp2"],
                install_hint: INSTALL_HINT,
            }
            .build(&target_tmpdir())
        })
        .clone()
        .map_err(io::Error::other)
}
