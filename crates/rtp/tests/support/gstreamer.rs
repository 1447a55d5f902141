//! Running `gst-launch-1.0` as a peer: child processes with deadlines, the SRTP caps and
//! properties that match each of our profiles, a WAV reader and the small DSP used to judge
//! what came out of a codec.

use std::io::{BufRead, BufReader, Read};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use sotto_rtp::srtp::SrtpProfile;

/// SRTP master salt length for every AES-CM profile (RFC 3711, 112 bits).
pub const SALT_LEN: usize = 14;

/// How GStreamer's srtp elements name a profile: (cipher, SRTP auth, master key length).
pub fn gst_names(profile: SrtpProfile) -> (&'static str, &'static str, usize) {
    match profile {
        SrtpProfile::Aes128CmHmacSha1_80 => ("aes-128-icm", "hmac-sha1-80", 16),
        SrtpProfile::Aes128CmHmacSha1_32 => ("aes-128-icm", "hmac-sha1-32", 16),
        SrtpProfile::Aes256CmHmacSha1_80 => ("aes-256-icm", "hmac-sha1-80", 32),
        SrtpProfile::Aes256CmHmacSha1_32 => ("aes-256-icm", "hmac-sha1-32", 32),
    }
}

/// SRTCP keeps the 80-bit tag in every profile (RFC 3711, RFC 5764), as sotto's SRTCP does.
pub const SRTCP_AUTH: &str = "hmac-sha1-80";

/// Lowercase hex, the form GStreamer parses for `(buffer)` caps fields and `key=` properties.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// srtpenc's `key` property and srtpdec's `srtp-key` are the master key followed by the salt.
pub fn key_and_salt_hex(key: &[u8], salt: &[u8]) -> String {
    let mut both = key.to_vec();
    both.extend_from_slice(salt);
    hex(&both)
}

/// Caps for `udpsrc` in front of `srtpdec`. srtpdec looks the crypto context up by SSRC: without
/// `ssrc` here it asks for a key with a signal that gst-launch cannot answer and drops everything.
pub fn srtp_opus_caps(profile: SrtpProfile, ssrc: u32, key: &[u8], salt: &[u8]) -> String {
    let (cipher, auth, _) = gst_names(profile);
    format!(
        "application/x-srtp, payload=(int)111, ssrc=(uint){ssrc}, srtp-key=(buffer){key}, \
         srtp-cipher=(string){cipher}, srtp-auth=(string){auth}, \
         srtcp-cipher=(string){cipher}, srtcp-auth=(string){SRTCP_AUTH}, roc=(uint)0, \
         clock-rate=(int)48000, encoding-name=(string)OPUS, media=(string)audio",
        key = key_and_salt_hex(key, salt),
    )
}

/// Caps for `udpsrc` in front of `srtpdec` for H.264 video (payload type 96, 90 kHz); the SSRC
/// is required for the same reason as in [`srtp_opus_caps`].
#[allow(dead_code)] // the audio tests include this file too
pub fn srtp_h264_caps(profile: SrtpProfile, ssrc: u32, key: &[u8], salt: &[u8]) -> String {
    let (cipher, auth, _) = gst_names(profile);
    format!(
        "application/x-srtp, payload=(int)96, ssrc=(uint){ssrc}, srtp-key=(buffer){key}, \
         srtp-cipher=(string){cipher}, srtp-auth=(string){auth}, \
         srtcp-cipher=(string){cipher}, srtcp-auth=(string){SRTCP_AUTH}, roc=(uint)0, \
         clock-rate=(int)90000, encoding-name=(string)H264, media=(string)video",
        key = key_and_salt_hex(key, salt),
    )
}

/// `gst-launch-1.0` on PATH, or a panic that says how to install it.
pub fn gst_launch() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("gst-launch-1.0"))
            .find(|candidate| candidate.is_file())
    });
    match found {
        Some(path) => path,
        None => panic!(
            "gst-launch-1.0 not found on PATH: run .ci/setup to install GStreamer \
             (gstreamer1.0-tools, -plugins-base/good/bad, -libav)"
        ),
    }
}

/// A loopback UDP port that was free a moment ago, for a GStreamer `udpsrc` to bind.
pub fn free_udp_port() -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind an ephemeral loopback port");
    socket.local_addr().expect("local address").port()
}

/// A scratch file path in the temp dir, unique to this test process and `name`.
pub fn scratch_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("sotto-rtp-gst-{}-{name}", std::process::id()))
}

/// A running `gst-launch-1.0`. Its output is drained by reader threads (so a full pipe never
/// stalls it) and kept for failure messages; dropping it kills the child if it still runs.
pub struct GstProcess {
    child: Child,
    log: Arc<Mutex<String>>,
    lines: mpsc::Receiver<String>,
}

impl GstProcess {
    /// Starts `gst-launch-1.0 -e <args>`, one pipeline token per argument (so a caps string
    /// with spaces stays whole). `-e` turns SIGINT into an EOS so wavenc finishes its header.
    pub fn spawn(args: &[&str]) -> Self {
        let mut child = Command::new(gst_launch())
            .arg("-e")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start gst-launch-1.0");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        drain(stdout, Arc::clone(&log), Some(tx));
        drain(stderr, Arc::clone(&log), None);
        Self { child, log, lines }
    }

    /// Everything the child printed so far, for assertion messages.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits until gst-launch reports the pipeline PLAYING: by then `udpsrc` has bound its port.
    pub fn wait_until_playing(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains("Setting pipeline to PLAYING") => return,
                Ok(_) => {}
                Err(_) => panic!(
                    "gst-launch-1.0 did not reach PLAYING within {timeout:?}:\n{}",
                    self.log()
                ),
            }
        }
    }

    /// Polls for exit until `timeout`; `None` if the child still runs.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll gst-launch-1.0") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// True once the child has exited.
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Sends SIGINT (with `-e`, an EOS through the pipeline) and waits for a clean exit.
    pub fn interrupt_and_wait(&mut self, timeout: Duration) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -INT {pid} failed");
        match self.wait_timeout(timeout) {
            Some(status) => status,
            None => panic!(
                "gst-launch-1.0 did not stop within {timeout:?} of SIGINT:\n{}",
                self.log()
            ),
        }
    }
}

impl Drop for GstProcess {
    fn drop(&mut self) {
        if !self.has_exited() {
            // Best effort on a failing test: the child is ours and must not outlive it.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn drain(
    stream: impl Read + Send + 'static,
    log: Arc<Mutex<String>>,
    lines: Option<mpsc::Sender<String>>,
) {
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if let Ok(mut log) = log.lock() {
                log.push_str(&line);
                log.push('\n');
            }
            if let Some(tx) = &lines {
                // The receiver is gone once the test stopped listening; keep draining anyway.
                let _ = tx.send(line);
            }
        }
    });
}

/// Waits until `path` holds at least `len` bytes or `timeout` passes; returns the size seen.
pub fn wait_for_file_len(path: &Path, len: u64, timeout: Duration) -> u64 {
    let deadline = Instant::now() + timeout;
    loop {
        let seen = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if seen >= len || Instant::now() >= deadline {
            return seen;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// A PCM WAV file's format and samples (16-bit little-endian only).
#[derive(Debug)]
pub struct Wav {
    /// Sample rate in Hz.
    pub rate_hz: u32,
    /// Interleaved channel count.
    pub channels: u16,
    /// The samples, interleaved.
    pub samples: Vec<i16>,
}

/// Reads a RIFF/WAVE file, walking its chunks with every length checked.
pub fn parse_wav(bytes: &[u8]) -> Result<Wav, String> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err("not a RIFF/WAVE file".into());
    }
    let mut format: Option<(u16, u16, u32, u16)> = None;
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let size = u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]])
            as usize;
        let body_start = at + 8;
        let body_end = body_start
            .checked_add(size)
            .filter(|end| *end <= bytes.len())
            .ok_or("chunk runs past the end of the file")?;
        let body = &bytes[body_start..body_end];
        match id {
            b"fmt " => {
                if body.len() < 16 {
                    return Err("fmt chunk too short".into());
                }
                let tag = u16::from_le_bytes([body[0], body[1]]);
                let channels = u16::from_le_bytes([body[2], body[3]]);
                let rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
                let bits = u16::from_le_bytes([body[14], body[15]]);
                format = Some((tag, channels, rate, bits));
            }
            b"data" => {
                let (tag, channels, rate_hz, bits) = format.ok_or("data chunk before fmt")?;
                if tag != 1 || bits != 16 {
                    return Err(format!(
                        "want 16-bit PCM, got format {tag} with {bits} bits"
                    ));
                }
                let samples = body
                    .chunks_exact(2)
                    .map(|s| i16::from_le_bytes([s[0], s[1]]))
                    .collect();
                return Ok(Wav {
                    rate_hz,
                    channels,
                    samples,
                });
            }
            _ => {}
        }
        // Chunks are padded to an even length.
        at = body_end + (size & 1);
    }
    Err("no data chunk".into())
}

/// Power of `samples` at `freq_hz` (Goertzel), normalised by the length so that different
/// lengths compare.
pub fn goertzel_power(samples: &[i16], rate_hz: u32, freq_hz: f64) -> f64 {
    let omega = 2.0 * std::f64::consts::PI * freq_hz / f64::from(rate_hz);
    let coeff = 2.0 * omega.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    let n = samples.len().max(1) as f64;
    power / (n * n)
}

/// Root mean square of the samples.
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / samples.len() as f64).sqrt()
}

/// The best normalised cross-correlation of `decoded` against `reference` over delays
/// `0..=max_delay` (the decoded signal lags by the codec's lookahead), compared on `window`
/// samples of the reference starting at `start`. Returns (delay, correlation).
pub fn best_alignment(
    reference: &[i16],
    decoded: &[i16],
    start: usize,
    window: usize,
    max_delay: usize,
) -> (usize, f64) {
    let mut best = (0, f64::MIN);
    let Some(reference) = reference.get(start..start + window) else {
        return best;
    };
    for delay in 0..=max_delay {
        let Some(candidate) = decoded.get(start + delay..start + delay + window) else {
            break;
        };
        let (mut xy, mut xx, mut yy) = (0.0f64, 0.0f64, 0.0f64);
        for (&x, &y) in reference.iter().zip(candidate) {
            let (x, y) = (f64::from(x), f64::from(y));
            xy += x * y;
            xx += x * x;
            yy += y * y;
        }
        let r = if xx > 0.0 && yy > 0.0 {
            xy / (xx * yy).sqrt()
        } else {
            0.0
        };
        if r > best.1 {
            best = (delay, r);
        }
    }
    best
}
