//! A real ZRTP peer for interop tests: `bzrtp_peer.c` linked against Debian's libbzrtp 5.1.x
//! (`libbzrtp-dev`), compiled once per test run into `CARGO_TARGET_TMPDIR` and run as a child
//! process that speaks ZRTP over UDP on 127.0.0.1.
//!
//! ```ignore
//! #[path = "support/bzrtp.rs"]
//! mod bzrtp;
//!
//! let peer = bzrtp::BzrtpPeer::spawn(&bzrtp::PeerConfig {
//!     remote_port: our_socket_port,
//!     key_agreements: vec!["X255"],
//!     hashes: vec!["S384"],
//!     ..Default::default()
//! })?;
//! // run our handshake against 127.0.0.1:peer.local_port() ...
//! let report = peer.wait()?; // Ok even when bzrtp failed: check `report.error`
//! ```
//!
//! The peer prints `listening <port>` once its socket is bound (so `spawn` returns only when
//! packets can reach it), then one flat JSON object when it is done: secure plus
//! [`PeerConfig::linger_ms`] so its last answers (Conf2ACK, DHPart1/Confirm1 repeats) go out, or
//! [`PeerConfig::timeout_ms`] without getting secure. Its stderr goes to [`BzrtpPeer::log_path`];
//! set [`PeerConfig::verbose`] for a per-packet trace.
//!
//! With [`PeerConfig::capture_ms`] the peer also records every non-ZRTP datagram it receives
//! (the SRTP and SRTCP its peer sends) into [`PeerReport::captured`], and stays that long after
//! secure so a streaming peer's media is in it. bzrtp's
//! [`PeerReport::peer_srtp_key`]/[`PeerReport::peer_srtp_salt`] decrypt it.
//!
//! # How bzrtp 5.1 behaves on the wire (read from its source, checked bzrtp against bzrtp)
//!
//! - **Roles.** bzrtp starts sending Hello at once and commits as soon as it has both received
//!   the peer's Hello and a HelloACK (in either order); it becomes responder only when a Commit
//!   arrives before it has committed (or it loses the hvi contention). So:
//!   - to make bzrtp the *initiator*: send Hello, answer its Hello with HelloACK, never commit;
//!   - to make bzrtp the *responder*: send Hello but never a HelloACK; once its Hello (and its
//!     HelloACK for ours) has arrived, send Commit. bzrtp accepts a Commit in place of the
//!     HelloACK it waits for. It rejects a Commit that arrives before our Hello.
//!
//!   Between two bzrtp peers, [`PeerConfig::ignore_hello_ack`] makes that peer the responder.
//!   Against a peer that commits only once its Hello is acknowledged (sotto's
//!   `RolePolicy::Auto`), [`PeerConfig::ignore_hello_ack`] makes bzrtp the responder and
//!   [`PeerConfig::withhold_hello_ack`] the initiator, with no Commit contention either way.
//! - **Sequence numbers.** bzrtp drops every packet whose sequence number is not strictly
//!   greater than the last one it accepted (no wrap handling), so a retransmission must carry a
//!   new, higher sequence number (only the message is identical), and sequence number 0 is never
//!   accepted as the first packet. bzrtp itself starts at a random value in 1..=0x1000 and
//!   increments for every packet, retransmissions included.
//! - **Retransmission.** As sent by bzrtp (time from the first send): Hello at 0, 100, 300, 500,
//!   then every 200 ms, 21 sends in all (about 4 s), restarted from scratch when the peer's Hello
//!   arrives. Commit, DHPart2 and Confirm2 (initiator only): 0, 150, 450, 1050, 2250, then every
//!   1200 ms, 12 sends in all. The responder has no timer: it resends DHPart1 / Confirm1 /
//!   Conf2ACK only when the initiator's Commit / DHPart2 / Confirm2 arrives again.
//! - **HelloACK.** bzrtp sends a HelloACK for the first peer Hello and for each repeat while it
//!   waits for a HelloACK or Commit; once it has committed, a repeated Hello is ignored.
//! - **Conf2ACK is required.** As initiator bzrtp reports secure (and releases its sender keys)
//!   only on Conf2ACK; SRTP traffic does not stand in for it.
//! - **MACs.** Hello/Commit/DHPart MACs and the hash chain use SHA-256 (implicit hash) and are
//!   truncated to 8 bytes whatever hash was negotiated; hvi and the Confirm MAC use the
//!   negotiated hash. A repeated message is accepted only if byte-identical (header excluded).
//! - **Hello.** Version `1.10`, client id `BZRTPv1.1` padded with NUL bytes (not spaces), S, M
//!   and P flags 0. Its lists are what [`PeerConfig`] asks for, filtered to what bzrtp implements
//!   (X255, X448, DH3k, DH2k; S256, S384; AES1, AES3; HS32, HS80; B32, B256; no EC25, no
//!   Skein, no Twofish) followed by the mandatory types it appends: S256, AES1, HS32+HS80,
//!   DH3k+Mult, B32. The report's `offered_*` fields show the list as sent.
//! - **Algorithm choice.** bzrtp reads the peer's Hello lists as if they also held the
//!   mandatory types above, listed or not, so it may pick S256, AES1, HS32, DH3k or B32 from a
//!   Hello that omits them. As initiator it takes for the key agreement the faster of the two
//!   sides' first common choices (DH2k < X255 < X448 < DH3k) and for the rest the first of its
//!   own list the peer has; as responder it adopts the Commit's choices without checking them
//!   against its Hello.
//! - **Confirm.** `sig_len` 0, cache expiration 0xFFFFFFFF, E/A/D 0, V from its cache's pvs flag.
//! - **SAS.** B32: 4 lower-case z-base-32 characters (`"4nas"`). B256: the two PGP words joined
//!   by a colon, in the word list's own case (`"backward:Saturday"`).
//! - **Verified flag.** `sas_verified` is bzrtp's `verified` argument: its cache's pvs flag AND
//!   the peer's V flag. Set pvs with [`PeerConfig::sas_verified`] in one call; the next call
//!   between the same caches reports `true` on both sides.
//! - **Cache mismatch.** With no matching rs1/rs2 (RFC 6189 section 4.3.2) bzrtp clears pvs,
//!   reports `cache_mismatch`, and does not update its retained secrets until the SAS is
//!   confirmed, so the mismatch repeats on every later call until then.
//! - **Exported key.** bzrtp only exposes `KDF(ExportedKey, label, KDF_Context, hash length)`
//!   where `ExportedKey = KDF(s0, "Exported key", KDF_Context, hash length)` (RFC 6189 section
//!   4.5.2); the report's `exported_key` is that, for [`PeerConfig::export_label`].
//! - **SSRC.** The channel SSRC ([`PeerConfig::ssrc`]) goes in every packet header; bzrtp never
//!   checks the peer's.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::OnceLock;

const SOURCE: &str = include_str!("bzrtp_peer.c");
const PKG_CONFIG_PACKAGES: [&str; 3] = ["libbzrtp", "bctoolbox", "sqlite3"];
const INSTALL_HINT: &str = "install libbzrtp-dev libbctoolbox-dev libsqlite3-dev pkg-config \
                            (the project's .ci/setup does)";

/// How to run the bzrtp peer. Lists hold RFC 6189 names (`"X255"`, `"S384"`, `"B32"`) in
/// preference order; an empty list keeps bzrtp's defaults.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// UDP port on 127.0.0.1 for the peer; 0 picks a free one (see [`BzrtpPeer::local_port`]).
    pub local_port: u16,
    /// Where the peer sends on 127.0.0.1; 0 answers whoever sends the first ZRTP packet.
    pub remote_port: u16,
    /// Key agreements, e.g. `["X255"]`.
    pub key_agreements: Vec<&'static str>,
    /// Hashes, e.g. `["S384"]`.
    pub hashes: Vec<&'static str>,
    /// Ciphers, e.g. `["AES3"]`.
    pub ciphers: Vec<&'static str>,
    /// SRTP auth tags, e.g. `["HS80"]`.
    pub auth_tags: Vec<&'static str>,
    /// SAS renderings, e.g. `["B256"]`.
    pub sas_types: Vec<&'static str>,
    /// bzrtp's SQLite ZID cache, created if missing; `None` runs cacheless (fresh ZID).
    pub cache_path: Option<PathBuf>,
    /// Local URI the cache binds the ZID and retained secrets to.
    pub self_uri: &'static str,
    /// Peer URI the cache binds the retained secrets to.
    pub peer_uri: &'static str,
    /// SSRC of the channel, carried in every ZRTP packet header.
    pub ssrc: u32,
    /// Give up when not secure after this long.
    pub timeout_ms: u32,
    /// Keep answering this long once secure.
    pub linger_ms: u32,
    /// Label handed to `bzrtp_exportKey`.
    pub export_label: &'static str,
    /// Call `bzrtp_SASVerified` once secure (sets the cache's pvs flag for later calls).
    pub sas_verified: bool,
    /// Call `bzrtp_resetSASVerified` once secure (clears it).
    pub sas_reset: bool,
    /// Drop incoming HelloACKs, so bzrtp never commits and can only become responder.
    pub ignore_hello_ack: bool,
    /// Never send a HelloACK, so a peer that waits for one before committing leaves the
    /// Commit to bzrtp, which becomes initiator.
    pub withhold_hello_ack: bool,
    /// Record the non-ZRTP datagrams received into [`PeerReport::captured`] and stay at least
    /// this many milliseconds after secure (the linger still applies if longer).
    pub capture_ms: Option<u32>,
    /// Trace every packet to the log.
    pub verbose: bool,
}

impl Default for PeerConfig {
    fn default() -> Self {
        Self {
            local_port: 0,
            remote_port: 0,
            key_agreements: Vec::new(),
            hashes: Vec::new(),
            ciphers: Vec::new(),
            auth_tags: Vec::new(),
            sas_types: Vec::new(),
            cache_path: None,
            self_uri: "bob@sotto.test",
            peer_uri: "alice@sotto.test",
            ssrc: 0xb0b0_2b2b,
            timeout_ms: 10_000,
            linger_ms: 1_000,
            export_label: "sotto-test-export",
            sas_verified: false,
            sas_reset: false,
            ignore_hello_ack: false,
            withhold_hello_ack: false,
            capture_ms: None,
            verbose: false,
        }
    }
}

/// What the bzrtp peer saw and derived. Strings are empty and byte fields empty where bzrtp
/// never got that far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerReport {
    /// Why bzrtp did not get secure, or `None` when it did.
    pub error: Option<String>,
    /// `"initiator"` or `"responder"`.
    pub role: String,
    /// The SAS as bzrtp renders it (`"4nas"`, `"backward:Saturday"`).
    pub sas: String,
    /// bzrtp's `verified` flag: its cached pvs flag and the peer's V flag.
    pub sas_verified: bool,
    /// bzrtp found no matching retained secret although it had one.
    pub cache_mismatch: bool,
    /// Negotiated hash, e.g. `"S384"`.
    pub hash: String,
    /// Negotiated cipher, e.g. `"AES3"`.
    pub cipher: String,
    /// Negotiated SRTP auth tag, e.g. `"HS80"`.
    pub auth_tag: String,
    /// Negotiated key agreement, e.g. `"X255"`.
    pub key_agreement: String,
    /// Negotiated SAS rendering, e.g. `"B256"`.
    pub sas_type: String,
    /// SRTP master key bzrtp encrypts with.
    pub self_srtp_key: Vec<u8>,
    /// SRTP master salt bzrtp encrypts with.
    pub self_srtp_salt: Vec<u8>,
    /// SRTP master key bzrtp decrypts with.
    pub peer_srtp_key: Vec<u8>,
    /// SRTP master salt bzrtp decrypts with.
    pub peer_srtp_salt: Vec<u8>,
    /// The label used for `exported_key`.
    pub export_label: String,
    /// `KDF(ExportedKey, export_label, KDF_Context, hash length)`.
    pub exported_key: Vec<u8>,
    /// bzrtp's ZID, from its Hello.
    pub self_zid: String,
    /// The peer's ZID, from the peer's Hello.
    pub peer_zid: String,
    /// SSRC in bzrtp's packet headers.
    pub ssrc: u32,
    /// SSRC in the peer's packet headers.
    pub peer_ssrc: Option<u32>,
    /// Client identifier from the peer's Hello, trailing spaces and NULs removed.
    pub peer_client_id: String,
    /// Hashes in bzrtp's Hello, in order.
    pub offered_hashes: Vec<String>,
    /// Ciphers in bzrtp's Hello, in order.
    pub offered_ciphers: Vec<String>,
    /// Auth tags in bzrtp's Hello, in order.
    pub offered_auth_tags: Vec<String>,
    /// Key agreements in bzrtp's Hello, in order.
    pub offered_key_agreements: Vec<String>,
    /// SAS types in bzrtp's Hello, in order.
    pub offered_sas_types: Vec<String>,
    /// Trust status of `peer_uri` in bzrtp's cache at exit: `"unknown"`, `"valid"`,
    /// `"invalid"`; `None` without a cache.
    pub peer_status: Option<String>,
    /// Milliseconds from start to secure.
    pub secure_ms: u64,
    /// ZRTP packets bzrtp sent.
    pub packets_sent: u64,
    /// ZRTP packets bzrtp received.
    pub packets_received: u64,
    /// With [`PeerConfig::capture_ms`]: every non-ZRTP datagram received, in arrival order.
    pub captured: Vec<Vec<u8>>,
    /// How many of [`PeerReport::captured`] arrived before bzrtp was secure.
    pub captured_before_secure: u64,
    /// The peer's stderr.
    pub log_path: PathBuf,
}

/// A running bzrtp peer. Dropping it kills the process.
#[derive(Debug)]
pub struct BzrtpPeer {
    child: Option<Child>,
    stdout: Option<BufReader<ChildStdout>>,
    local_port: u16,
    log_path: PathBuf,
    capture_path: Option<PathBuf>,
}

impl BzrtpPeer {
    /// Builds the peer if needed, starts it and waits until its socket is bound.
    pub fn spawn(config: &PeerConfig) -> io::Result<Self> {
        let binary = peer_binary()?;
        let log_path = next_log_path()?;
        let log = File::create(&log_path)?;
        let capture_path = config
            .capture_ms
            .map(|_| log_path.with_extension("capture"));
        let mut child = Command::new(binary)
            .args(arguments(config, capture_path.as_deref()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("bzrtp peer stdout not captured"))?;
        let mut peer = Self {
            child: Some(child),
            stdout: Some(BufReader::new(stdout)),
            local_port: 0,
            log_path,
            capture_path,
        };
        let mut line = String::new();
        if let Some(stdout) = peer.stdout.as_mut() {
            stdout.read_line(&mut line)?;
        }
        match line
            .trim()
            .strip_prefix("listening ")
            .map(str::parse::<u16>)
        {
            Some(Ok(port)) => {
                peer.local_port = port;
                Ok(peer)
            }
            _ => {
                let mut rest = String::new();
                if let Some(stdout) = peer.stdout.as_mut() {
                    stdout.read_to_string(&mut rest)?;
                }
                Err(io::Error::other(format!(
                    "bzrtp peer did not start: {}{}\n{}",
                    line.trim(),
                    rest.trim(),
                    peer.log_tail()
                )))
            }
        }
    }

    /// The UDP port the peer listens on (127.0.0.1).
    pub fn local_port(&self) -> u16 {
        self.local_port
    }

    /// Where the peer's stderr goes.
    pub fn log_path(&self) -> &std::path::Path {
        &self.log_path
    }

    /// Waits for the peer to finish and parses its report. bzrtp failing to get secure is not
    /// an `Err` (see [`PeerReport::error`]); a crash or an unreadable report is.
    pub fn wait(mut self) -> io::Result<PeerReport> {
        let mut out = String::new();
        if let Some(mut stdout) = self.stdout.take() {
            stdout.read_to_string(&mut out)?;
        }
        let status = match self.child.take() {
            Some(mut child) => child.wait()?,
            None => return Err(io::Error::other("bzrtp peer already waited for")),
        };
        let Some(json) = out.lines().rev().find(|l| l.starts_with('{')) else {
            return Err(io::Error::other(format!(
                "bzrtp peer exited ({status}) without a report\n{}",
                self.log_tail()
            )));
        };
        let (mut report, declared) = PeerReport::from_json(json).map_err(|e| {
            io::Error::other(format!(
                "bad bzrtp peer report ({e}): {json}\n{}",
                self.log_tail()
            ))
        })?;
        report.log_path = self.log_path.clone();
        if status.success() != report.error.is_none() {
            return Err(io::Error::other(format!(
                "bzrtp peer exited ({status}) against its report: {json}\n{}",
                self.log_tail()
            )));
        }
        if let Some(path) = &self.capture_path {
            report.captured = read_records(&fs::read(path)?)
                .map_err(|e| io::Error::other(format!("bad capture {} ({e})", path.display())))?;
            if u64::try_from(report.captured.len()).ok() != Some(declared) {
                return Err(io::Error::other(format!(
                    "capture {} holds {} datagrams, the report says {declared}",
                    path.display(),
                    report.captured.len()
                )));
            }
        }
        Ok(report)
    }

    fn log_tail(&self) -> String {
        let log = fs::read_to_string(&self.log_path).unwrap_or_default();
        let start = log.len().saturating_sub(4000);
        let start = (start..log.len())
            .find(|&i| log.is_char_boundary(i))
            .unwrap_or(log.len());
        format!("--- {} ---\n{}", self.log_path.display(), &log[start..])
    }
}

impl Drop for BzrtpPeer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Already exited is fine: kill only fails then.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Splits `[u32 BE length][bytes]` records.
fn read_records(mut data: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut records = Vec::new();
    while !data.is_empty() {
        let Some((len, rest)) = data.split_first_chunk::<4>() else {
            return Err("ends inside a length".to_owned());
        };
        let len = u32::from_be_bytes(*len) as usize;
        let Some(record) = rest.get(..len) else {
            return Err("ends inside a datagram".to_owned());
        };
        records.push(record.to_vec());
        data = &rest[len..];
    }
    Ok(records)
}

fn arguments(config: &PeerConfig, capture_path: Option<&std::path::Path>) -> Vec<String> {
    let mut args = vec![
        "--local-port".to_owned(),
        config.local_port.to_string(),
        "--remote-port".to_owned(),
        config.remote_port.to_string(),
        "--self-uri".to_owned(),
        config.self_uri.to_owned(),
        "--peer-uri".to_owned(),
        config.peer_uri.to_owned(),
        "--ssrc".to_owned(),
        config.ssrc.to_string(),
        "--timeout-ms".to_owned(),
        config.timeout_ms.to_string(),
        "--linger-ms".to_owned(),
        config.linger_ms.to_string(),
        "--export-label".to_owned(),
        config.export_label.to_owned(),
    ];
    for (flag, list) in [
        ("--key-agreements", &config.key_agreements),
        ("--hashes", &config.hashes),
        ("--ciphers", &config.ciphers),
        ("--auth-tags", &config.auth_tags),
        ("--sas-types", &config.sas_types),
    ] {
        if !list.is_empty() {
            args.push(flag.to_owned());
            args.push(list.join(","));
        }
    }
    if let Some(path) = &config.cache_path {
        args.push("--cache".to_owned());
        args.push(path.display().to_string());
    }
    if let (Some(path), Some(ms)) = (capture_path, config.capture_ms) {
        args.push("--capture".to_owned());
        args.push(path.display().to_string());
        args.push("--capture-ms".to_owned());
        args.push(ms.to_string());
    }
    for (flag, on) in [
        ("--sas-verified", config.sas_verified),
        ("--sas-reset", config.sas_reset),
        ("--ignore-hello-ack", config.ignore_hello_ack),
        ("--withhold-hello-ack", config.withhold_hello_ack),
        ("--verbose", config.verbose),
    ] {
        if on {
            args.push(flag.to_owned());
        }
    }
    args
}

fn target_tmpdir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

fn next_log_path() -> io::Result<PathBuf> {
    sotto_testkit::scratch_path(&target_tmpdir().join("bzrtp-peer-logs"), "log")
}

/// The compiled peer, built at most once per process (and reused across runs until the
/// source changes).
fn peer_binary() -> io::Result<PathBuf> {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            sotto_testkit::CTool {
                name: "bzrtp_peer",
                source: SOURCE,
                pkg_config: &PKG_CONFIG_PACKAGES,
                install_hint: INSTALL_HINT,
            }
            .build(&target_tmpdir())
        })
        .clone()
        .map_err(io::Error::other)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Null,
    Bool(bool),
    Number(u64),
    Text(String),
}

impl PeerReport {
    /// The report and the number of datagrams the peer says it captured: the JSON carries
    /// only that count, `wait` reads the datagrams from the capture file.
    fn from_json(json: &str) -> Result<(Self, u64), String> {
        let fields = parse_flat_json(json)?;
        let get = |key: &str| fields.get(key).ok_or_else(|| format!("missing \"{key}\""));
        let text = |key: &str| match get(key)? {
            Value::Text(s) => Ok(s.clone()),
            Value::Null => Ok(String::new()),
            other => Err(format!("\"{key}\" is {other:?}, not a string")),
        };
        let opt_text = |key: &str| match get(key)? {
            Value::Text(s) => Ok(Some(s.clone())),
            Value::Null => Ok(None),
            other => Err(format!("\"{key}\" is {other:?}, not a string")),
        };
        let flag = |key: &str| match get(key)? {
            Value::Bool(b) => Ok(*b),
            other => Err(format!("\"{key}\" is {other:?}, not a bool")),
        };
        let number = |key: &str| match get(key)? {
            Value::Number(n) => Ok(*n),
            other => Err(format!("\"{key}\" is {other:?}, not a number")),
        };
        let opt_u32 = |key: &str| match get(key)? {
            Value::Number(n) => u32::try_from(*n)
                .map(Some)
                .map_err(|_| format!("\"{key}\" out of range")),
            Value::Null => Ok(None),
            other => Err(format!("\"{key}\" is {other:?}, not a number")),
        };
        let bytes =
            |key: &str| decode_hex(&text(key)?).ok_or_else(|| format!("\"{key}\" is not hex"));
        let list = |key: &str| {
            text(key).map(|s| {
                s.split(',')
                    .filter(|x| !x.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
        };
        let ok = flag("ok")?;
        let error = opt_text("error")?;
        if ok == error.is_some() {
            return Err("\"ok\" disagrees with \"error\"".to_owned());
        }
        let report = Self {
            error,
            role: text("role")?,
            sas: text("sas")?,
            sas_verified: flag("sas_verified")?,
            cache_mismatch: flag("cache_mismatch")?,
            hash: text("hash")?,
            cipher: text("cipher")?,
            auth_tag: text("auth_tag")?,
            key_agreement: text("key_agreement")?,
            sas_type: text("sas_type")?,
            self_srtp_key: bytes("self_srtp_key")?,
            self_srtp_salt: bytes("self_srtp_salt")?,
            peer_srtp_key: bytes("peer_srtp_key")?,
            peer_srtp_salt: bytes("peer_srtp_salt")?,
            export_label: text("export_label")?,
            exported_key: bytes("exported_key")?,
            self_zid: text("self_zid")?,
            peer_zid: text("peer_zid")?,
            ssrc: opt_u32("ssrc")?.ok_or("\"ssrc\" is null")?,
            peer_ssrc: opt_u32("peer_ssrc")?,
            peer_client_id: text("peer_client_id")?,
            offered_hashes: list("offered_hashes")?,
            offered_ciphers: list("offered_ciphers")?,
            offered_auth_tags: list("offered_auth_tags")?,
            offered_key_agreements: list("offered_key_agreements")?,
            offered_sas_types: list("offered_sas_types")?,
            peer_status: opt_text("peer_status")?,
            secure_ms: number("secure_ms")?,
            packets_sent: number("packets_sent")?,
            packets_received: number("packets_received")?,
            captured: Vec::new(),
            captured_before_secure: number("captured_before_secure")?,
            log_path: PathBuf::new(),
        };
        Ok((report, number("captured")?))
    }
}

/// Parses the one-level object the peer prints: string, bool, null and unsigned integer values.
fn parse_flat_json(json: &str) -> Result<HashMap<String, Value>, String> {
    let mut chars = json.trim().chars().peekable();
    let mut fields = HashMap::new();
    if chars.next() != Some('{') {
        return Err("not an object".to_owned());
    }
    loop {
        skip_spaces(&mut chars);
        match chars.next() {
            Some('}') if fields.is_empty() => break,
            Some('"') => {}
            other => return Err(format!("expected a key, found {other:?}")),
        }
        let key = parse_string(&mut chars)?;
        skip_spaces(&mut chars);
        if chars.next() != Some(':') {
            return Err(format!("expected ':' after \"{key}\""));
        }
        skip_spaces(&mut chars);
        let value = match chars.peek().copied() {
            Some('"') => {
                chars.next();
                Value::Text(parse_string(&mut chars)?)
            }
            Some(c) if c.is_ascii_digit() => {
                let mut n: u64 = 0;
                while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                    n = n
                        .checked_mul(10)
                        .and_then(|n| n.checked_add(u64::from(d)))
                        .ok_or_else(|| format!("\"{key}\" overflows"))?;
                    chars.next();
                }
                Value::Number(n)
            }
            _ => {
                let word: String =
                    std::iter::from_fn(|| chars.next_if(char::is_ascii_alphabetic)).collect();
                match word.as_str() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "null" => Value::Null,
                    _ => return Err(format!("bad value for \"{key}\"")),
                }
            }
        };
        fields.insert(key, value);
        skip_spaces(&mut chars);
        match chars.next() {
            Some(',') => {}
            Some('}') => break,
            other => return Err(format!("expected ',' or '}}', found {other:?}")),
        }
    }
    skip_spaces(&mut chars);
    match chars.next() {
        None => Ok(fields),
        Some(c) => Err(format!("trailing {c:?}")),
    }
}

fn skip_spaces(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
}

/// Reads a string body after its opening quote.
fn parse_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<String, String> {
    let mut out = String::new();
    loop {
        match chars.next() {
            None => return Err("unterminated string".to_owned()),
            Some('"') => return Ok(out),
            Some('\\') => match chars.next() {
                Some('"') => out.push('"'),
                Some('\\') => out.push('\\'),
                Some('/') => out.push('/'),
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let code = u32::from_str_radix(&hex, 16)
                        .ok()
                        .filter(|_| hex.len() == 4)
                        .ok_or_else(|| format!("bad \\u escape {hex:?}"))?;
                    out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
                }
                other => return Err(format!("bad escape {other:?}")),
            },
            Some(c) => out.push(c),
        }
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() % 2 != 0 {
        return None;
    }
    hex.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digits = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(digits, 16).ok()
        })
        .collect()
}
