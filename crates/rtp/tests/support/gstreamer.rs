//! Running `gst-launch-1.0` as a peer: child processes with deadlines, the SRTP caps and
//! properties that match each of our profiles, the two ends of an SRTP stream on loopback, a
//! WAV reader and the small DSP used to judge what came out of a codec.

// Each test uses its own share of these helpers.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, ErrorKind, Read};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sotto_rtp::srtp::{SrtpProfile, SrtpReceiver, SrtpSender};
use sotto_rtp::{classify, PacketKind, RtpPacket};

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

/// Master key, master salt and SSRC for one run, from a seeded generator so failures replay.
pub fn keying(profile: SrtpProfile, seed: u64) -> (Vec<u8>, [u8; SALT_LEN], u32) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let (_, _, key_len) = gst_names(profile);
    let mut key = vec![0u8; key_len];
    rng.fill_bytes(&mut key);
    let mut salt = [0u8; SALT_LEN];
    rng.fill_bytes(&mut salt);
    (key, salt, rng.next_u32())
}

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

/// What the caps say of an RTP stream besides its SRTP keying.
#[derive(Clone, Copy, Debug)]
pub struct RtpFormat {
    pub payload_type: u8,
    pub clock_rate_hz: u32,
    pub encoding_name: &'static str,
    pub media: &'static str,
}

/// Opus (RFC 7587) as sotto sends it: payload type 111, 48 kHz.
pub const OPUS: RtpFormat = RtpFormat {
    payload_type: 111,
    clock_rate_hz: 48_000,
    encoding_name: "OPUS",
    media: "audio",
};

/// H.264 (RFC 6184) as sotto sends it: payload type 96, 90 kHz.
pub const H264: RtpFormat = RtpFormat {
    payload_type: 96,
    clock_rate_hz: 90_000,
    encoding_name: "H264",
    media: "video",
};

/// Caps for `udpsrc` in front of `srtpdec`. srtpdec looks the crypto context up by SSRC: without
/// `ssrc` here it asks for a key with a signal that gst-launch cannot answer and drops everything.
pub fn srtp_caps(
    format: RtpFormat,
    profile: SrtpProfile,
    ssrc: u32,
    key: &[u8],
    salt: &[u8],
) -> String {
    let (cipher, auth, _) = gst_names(profile);
    let RtpFormat {
        payload_type,
        clock_rate_hz,
        encoding_name,
        media,
    } = format;
    format!(
        "application/x-srtp, payload=(int){payload_type}, ssrc=(uint){ssrc}, \
         srtp-key=(buffer){key}, srtp-cipher=(string){cipher}, srtp-auth=(string){auth}, \
         srtcp-cipher=(string){cipher}, srtcp-auth=(string){SRTCP_AUTH}, roc=(uint)0, \
         clock-rate=(int){clock_rate_hz}, encoding-name=(string){encoding_name}, \
         media=(string){media}",
        key = key_and_salt_hex(key, salt),
    )
}

/// A receiving pipeline: `udpsrc` on loopback `port` with `caps` (see [`srtp_caps`]),
/// `srtpdec`, then the `decode` elements (depayloader, decoder, conversions), each after a `!`,
/// and a `filesink` writing to `path`.
pub fn srtp_to_file(caps: &str, port: u16, decode: &[&str], path: &Path) -> Vec<String> {
    let mut args = vec![
        "udpsrc".to_owned(),
        "address=127.0.0.1".to_owned(),
        format!("port={port}"),
        format!("caps={caps}"),
        "!".to_owned(),
        "srtpdec".to_owned(),
    ];
    for element in decode {
        args.push("!".to_owned());
        args.push((*element).to_owned());
    }
    args.extend([
        "!".to_owned(),
        "filesink".to_owned(),
        format!("location={}", path.display()),
        "buffer-mode=unbuffered".to_owned(),
    ]);
    args
}

/// A sending pipeline: `encode` (source through payloader, with its own `!`s), then `srtpenc`
/// keyed for `profile` and a `udpsink` to loopback `port`.
pub fn srtp_to_udp(
    encode: &[&str],
    profile: SrtpProfile,
    key: &[u8],
    salt: &[u8],
    port: u16,
) -> Vec<String> {
    let (cipher, auth, _) = gst_names(profile);
    let mut args: Vec<String> = encode.iter().map(|&arg| arg.to_owned()).collect();
    args.extend([
        "!".to_owned(),
        "srtpenc".to_owned(),
        format!("key={}", key_and_salt_hex(key, salt)),
        format!("rtp-cipher={cipher}"),
        format!("rtp-auth={auth}"),
        format!("rtcp-cipher={cipher}"),
        format!("rtcp-auth={SRTCP_AUTH}"),
        "!".to_owned(),
        "udpsink".to_owned(),
        "host=127.0.0.1".to_owned(),
        format!("port={port}"),
    ]);
    args
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
    pub fn spawn<S: AsRef<OsStr>>(args: &[S]) -> Self {
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

    /// Waits up to `timeout` for a sending pipeline to finish, and asserts that it succeeded.
    pub fn assert_finished(&mut self, timeout: Duration) {
        let status = self
            .wait_timeout(timeout)
            .unwrap_or_else(|| panic!("gstreamer sender still running:\n{}", self.log()));
        assert!(status.success(), "gst-launch-1.0 failed:\n{}", self.log());
    }

    /// For a pipeline ending in a `filesink` to `path`: waits until the file holds `want` bytes
    /// or `timeout` passes, ends the pipeline with an EOS (so a muxer finishes its header) and
    /// asserts a clean exit. Returns what the file held (and removes it) and its size before the
    /// EOS, for failure messages.
    pub fn finish_file(&mut self, path: &Path, want: u64, timeout: Duration) -> (Vec<u8>, u64) {
        let seen = wait_for_file_len(path, want, timeout);
        let status = self.interrupt_and_wait(Duration::from_secs(5));
        assert!(status.success(), "gst-launch-1.0 failed:\n{}", self.log());
        let bytes = std::fs::read(path).unwrap_or_default();
        let _ = std::fs::remove_file(path);
        (bytes, seen)
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

/// The sending end of one of our SRTP streams to a GStreamer pipeline on loopback.
pub struct SrtpOutbox {
    socket: UdpSocket,
    sender: SrtpSender,
}

impl SrtpOutbox {
    /// A socket connected to loopback `port` and an SRTP sender for the master key and salt.
    pub fn connect(profile: SrtpProfile, key: &[u8], salt: &[u8], port: u16) -> Self {
        let sender = SrtpSender::new(profile, key, salt).expect("srtp sender");
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind sender socket");
        socket.connect(("127.0.0.1", port)).expect("connect to gst");
        SrtpOutbox { socket, sender }
    }

    /// Protects the RTP packet in `packet[..rtp_len]` in place and sends it.
    pub fn send(&mut self, packet: &mut [u8], rtp_len: usize) {
        let srtp_len = self
            .sender
            .protect_rtp(packet, rtp_len)
            .expect("protect_rtp");
        self.socket.send(&packet[..srtp_len]).expect("send to gst");
    }
}

/// The receiving end of a GStreamer SRTP sender: a loopback socket and our SRTP receiver,
/// keeping count of what authenticated and why the rest did not.
pub struct SrtpInbox {
    socket: UdpSocket,
    receiver: SrtpReceiver,
    ssrc: u32,
    payload_type: u8,
    quiet_after_exit: u32,
    /// Packets that authenticated.
    pub accepted: usize,
    /// Why each packet that failed to unprotect failed.
    pub rejected: Vec<String>,
}

impl SrtpInbox {
    /// Binds a loopback socket for a stream of `ssrc` and `payload_type` under the master key
    /// and salt.
    pub fn bind(
        profile: SrtpProfile,
        key: &[u8],
        salt: &[u8],
        ssrc: u32,
        payload_type: u8,
    ) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind receiver socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("read timeout");
        SrtpInbox {
            socket,
            receiver: SrtpReceiver::new(profile, key, salt).expect("srtp receiver"),
            ssrc,
            payload_type,
            quiet_after_exit: 0,
            accepted: 0,
            rejected: Vec::new(),
        }
    }

    /// The port GStreamer's `udpsink` sends to.
    pub fn port(&self) -> u16 {
        self.socket.local_addr().expect("local addr").port()
    }

    /// The next packet from `gst` that authenticates, unprotected into `buf` (its length
    /// returned), after asserting that it is RTP of the expected SSRC and payload type. `None`
    /// at `deadline`, or once `gst` has exited and its last datagrams have had time to land.
    pub fn next_packet(
        &mut self,
        gst: &mut GstProcess,
        buf: &mut [u8],
        deadline: Instant,
    ) -> Option<usize> {
        while Instant::now() < deadline {
            let n = match self.socket.recv(buf) {
                Ok(n) => n,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if gst.has_exited() {
                        self.quiet_after_exit += 1;
                        if self.quiet_after_exit >= 3 {
                            return None;
                        }
                    }
                    continue;
                }
                Err(e) => panic!("recv: {e}"),
            };
            assert_eq!(
                classify(&buf[..n]),
                PacketKind::Rtp,
                "gstreamer sent a non-RTP datagram"
            );
            let len = match self.receiver.unprotect_rtp(&mut buf[..n]) {
                Ok(len) => len,
                Err(e) => {
                    self.rejected.push(e.to_string());
                    continue;
                }
            };
            self.accepted += 1;
            let rtp = RtpPacket::parse(&buf[..len]).expect("parse unprotected rtp");
            assert_eq!(rtp.header.ssrc, self.ssrc);
            assert_eq!(rtp.header.payload_type, self.payload_type);
            return Some(len);
        }
        None
    }

    /// Asserts that every packet authenticated.
    pub fn assert_all_authenticated(&self, profile: SrtpProfile) {
        assert!(
            self.rejected.is_empty(),
            "{profile:?}: {} of {} packets failed to unprotect, first: {}",
            self.rejected.len(),
            self.rejected.len() + self.accepted,
            self.rejected[0]
        );
    }
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
