//! The `sotto` binary against bzrtp (Linphone's ZRTP library) in both roles: `sotto call`
//! commits to a bzrtp responder, and a bzrtp initiator calls `sotto listen`. bzrtp captures
//! what sotto sends once secure; libsrtp2, keyed with the SRTP keys bzrtp derived, must
//! decrypt every packet, and the RTP payloads must decode as Opus carrying the engine's tone.

#[path = "../../sotto/tests/support/bzrtp.rs"]
mod bzrtp;
#[path = "../../rtp/tests/support/libsrtp.rs"]
mod libsrtp;

#[path = "support/output.rs"]
mod output;

use output::{event, json_events, sotto, start_listener, temp_dir, wait_bounded};
use std::io::Read as _;
use std::process::{Output, Stdio};
use std::time::Duration;

use bzrtp::{BzrtpPeer, PeerConfig, PeerReport};
use libsrtp::{Kind, Mode};
use sotto_media::OpusDecoder;
use sotto_rtp::{classify, opus_payload, PacketKind, RtpPacket};
use sotto_testkit::goertzel::energy_fraction;

/// Seconds sotto streams once secure (`--duration`).
const DURATION_S: u32 = 3;
/// Audio per packet (`--ptime`, the default).
const PTIME_MS: u32 = 20;
/// bzrtp keeps capturing a little longer than sotto streams, so the last packets are in.
const CAPTURE_MS: u32 = DURATION_S * 1000 + 700;
/// A process that has not finished by then is stuck: the whole test is meant to take seconds.
const PROCESS_LIMIT: Duration = Duration::from_secs(20);

/// `listen`/`call` options shared by both roles.
fn call_args(cache: &std::path::Path) -> Vec<String> {
    [
        "--audio-in",
        "tone",
        "--audio-out",
        "none",
        "--duration",
        &DURATION_S.to_string(),
        "--ptime",
        &PTIME_MS.to_string(),
        "--json",
        "--cache",
        cache.to_str().expect("utf-8 path"),
    ]
    .map(str::to_owned)
    .to_vec()
}

/// libsrtp's name for the SRTP profile ZRTP negotiated.
fn srtp_profile(cipher: &str, auth_tag: &str) -> &'static str {
    match (cipher, auth_tag) {
        ("AES1", "HS80") => "aes128_hmac80",
        ("AES1", "HS32") => "aes128_hmac32",
        ("AES3", "HS80") => "aes256_hmac80",
        ("AES3", "HS32") => "aes256_hmac32",
        other => panic!("no libsrtp profile for {other:?}"),
    }
}

/// Checks one finished call: what sotto printed (`role` is sotto's) against bzrtp's report,
/// then the captured media through libsrtp2 and the Opus decoder.
fn assert_call(sotto_out: &Output, sotto_stderr: &str, report: &PeerReport, role: &str) {
    let log = report.log_path.display();
    assert_eq!(report.error, None, "bzrtp failed; its log: {log}");
    assert!(
        sotto_out.status.success(),
        "sotto exited {}: {sotto_stderr}\nbzrtp log: {log}",
        sotto_out.status
    );
    let events = json_events(&sotto_out.stdout);
    let sas = event(&events, "sas");
    assert_eq!(
        sas["sas"],
        report.sas.as_str(),
        "same SAS; bzrtp log: {log}"
    );
    assert_eq!(sas["sas_type"], report.sas_type.as_str());
    let secure = event(&events, "secure");
    assert_eq!(secure["role"], role, "sotto's role; bzrtp log: {log}");
    let bzrtp_role = if role == "initiator" {
        "responder"
    } else {
        "initiator"
    };
    assert_eq!(report.role, bzrtp_role);
    for (field, theirs) in [
        ("key_agreement", &report.key_agreement),
        ("hash", &report.hash),
        ("cipher", &report.cipher),
        ("auth_tag", &report.auth_tag),
    ] {
        assert_eq!(secure[field], theirs.as_str(), "{field}; bzrtp log: {log}");
    }
    assert_eq!(event(&events, "ended")["ok"], true, "{events:?}");

    // Secure comes first: nothing but SRTP and SRTCP after it, and none of it before.
    assert_eq!(
        report.captured_before_secure, 0,
        "sotto sent media before bzrtp was secure; bzrtp log: {log}"
    );
    let (mut rtp, mut rtcp) = (Vec::new(), Vec::new());
    for datagram in &report.captured {
        match classify(datagram) {
            PacketKind::Rtp => rtp.push(datagram.clone()),
            PacketKind::Rtcp => rtcp.push(datagram.clone()),
            other => panic!("sotto sent a {other:?} datagram once secure: {datagram:02x?}"),
        }
    }

    let profile = srtp_profile(&report.cipher, &report.auth_tag);
    let (key, salt) = (&report.peer_srtp_key, &report.peer_srtp_salt);
    let unprotect = |kind: Kind, packets: &[Vec<u8>]| -> Vec<Vec<u8>> {
        libsrtp::run(Mode::Unprotect, kind, profile, key, salt, packets)
            .expect("libsrtp tool runs")
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                r.unwrap_or_else(|status| {
                    panic!(
                        "{kind:?} packet {i} of {} fails {profile} with bzrtp's keys: srtp \
                         status {status}; bzrtp log: {log}",
                        packets.len()
                    )
                })
            })
            .collect()
    };
    let plain_rtp = unprotect(Kind::Rtp, &rtp);
    let plain_rtcp = unprotect(Kind::Rtcp, &rtcp);
    assert!(!plain_rtcp.is_empty(), "no RTCP in {DURATION_S} s");

    // About one packet per ptime for the call's duration, none lost on loopback.
    let expected = DURATION_S * 1000 / PTIME_MS;
    let count = u32::try_from(plain_rtp.len()).expect("count");
    assert!(
        count * 10 >= expected * 9 && count * 10 <= expected * 11,
        "{count} RTP packets, expected about {expected}; bzrtp log: {log}"
    );
    // Loopback neither drops nor reorders: the sequence numbers run on without a gap.
    let seqs: Vec<u16> = plain_rtp
        .iter()
        .map(|p| RtpPacket::parse(p).expect("RTP header").header.sequence)
        .collect();
    for pair in seqs.windows(2) {
        assert_eq!(pair[1], pair[0].wrapping_add(1), "sequence gap: {seqs:?}");
    }

    let mut decoder = OpusDecoder::new().expect("decoder");
    let mut frame = vec![0i16; 5760];
    let mut audio = Vec::new();
    for packet in &plain_rtp {
        let payload = opus_payload(packet).expect("Opus payload");
        let n = decoder
            .decode(payload, &mut frame)
            .expect("decodes as Opus");
        assert_eq!(n, 48 * PTIME_MS as usize, "one ptime per packet");
        audio.extend(frame[..n].iter().map(|&s| f64::from(s)));
    }
    // Whole 100 ms windows past the codec's start-up hold the tone and little else.
    let freq = f64::from(sotto::TONE_FREQ_HZ);
    let shares: Vec<f64> = audio
        .chunks_exact(4800)
        .skip(2)
        .map(|w| energy_fraction(w, 48_000, freq))
        .collect();
    assert!(shares.len() >= 20, "only {} windows of audio", shares.len());
    assert!(
        shares.iter().all(|&s| s > 0.9),
        "the {freq} Hz tone does not dominate the decoded audio: {shares:?}"
    );
}

#[test]
fn sotto_calls_a_bzrtp_responder_and_bzrtps_keys_decrypt_its_media() {
    let dir = temp_dir("call");
    // bzrtp ignores sotto's HelloACK, never commits, and answers sotto's Commit.
    let peer = BzrtpPeer::spawn(&PeerConfig {
        ignore_hello_ack: true,
        capture_ms: Some(CAPTURE_MS),
        cache_path: Some(dir.join("bzrtp.sqlite")),
        ..PeerConfig::default()
    })
    .expect("bzrtp peer starts (run .ci/setup to install libbzrtp-dev)");
    let log = peer.log_path().display().to_string();
    let caller = sotto()
        .args(["call", &format!("127.0.0.1:{}", peer.local_port())])
        .args(call_args(&dir.join("sotto.sqlite")))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sotto call starts");
    let out = wait_bounded(
        caller,
        PROCESS_LIMIT,
        "sotto call",
        &format!("bzrtp log: {log}"),
    );
    let report = peer.wait().expect("bzrtp report");
    assert_call(
        &out,
        &String::from_utf8_lossy(&out.stderr),
        &report,
        "initiator",
    );
}

#[test]
fn bzrtp_calls_sotto_listen_and_bzrtps_keys_decrypt_its_media() {
    let dir = temp_dir("listen");
    let (mut listener, mut stderr, port) = start_listener(
        sotto()
            .args(["listen", "--port", "0"])
            .args(call_args(&dir.join("sotto.sqlite"))),
    );
    // bzrtp offers AES-256 and 80-bit tags first and, as initiator, picks them.
    let peer = BzrtpPeer::spawn(&PeerConfig {
        remote_port: port,
        withhold_hello_ack: true,
        ciphers: vec!["AES3"],
        auth_tags: vec!["HS80"],
        capture_ms: Some(CAPTURE_MS),
        cache_path: Some(dir.join("bzrtp.sqlite")),
        ..PeerConfig::default()
    })
    .expect("bzrtp peer starts (run .ci/setup to install libbzrtp-dev)");
    let log = peer.log_path().display().to_string();
    let report = peer.wait().expect("bzrtp report");
    if report.error.is_some() {
        let _ = listener.kill();
    }
    let out = wait_bounded(
        listener,
        PROCESS_LIMIT,
        "sotto listen",
        &format!("bzrtp log: {log}"),
    );
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).expect("listener stderr");
    assert_eq!(
        (report.cipher.as_str(), report.auth_tag.as_str()),
        ("AES3", "HS80")
    );
    assert_call(&out, &rest, &report, "responder");
}
