//! A secure call between two hosts that are each behind a real NAT: Linux network namespaces
//! with iptables MASQUERADE routers and coturn as the STUN server (`sotto_testkit::natlab`).
//! `sotto invite` runs on host A, `sotto join` on host B, and the offer and answer are carried
//! between them by the test, as two people would paste them into a chat.

#[path = "support/output.rs"]
#[allow(dead_code, reason = "no listener here announces a port")]
mod output;
#[path = "support/peer.rs"]
mod peer;

use std::fs;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use output::{event, read_wav};
use peer::Peer;
use serde_json::Value;
use sotto_media::AudioSource as _;
use sotto_testkit::natlab::{Host, NatLab, NatLabError};

/// Seconds of call once it is secure (`--duration`).
const CALL_S: u64 = 4;
/// Longest wait for the offer or the answer: gathering candidates is one STUN round trip.
const SIGNAL_WITHIN: Duration = Duration::from_secs(15);
/// Longest wait, once the answer is given, for both ends to find the path, key the call, run
/// it and hang up. Together with the two signalling waits it keeps a broken build's failure
/// under a minute.
const CALL_WITHIN: Duration = Duration::from_secs(CALL_S + 20);

/// The address in a `connected` event's field `field`.
fn connected_addr(connected: &Value, field: &str) -> SocketAddr {
    connected[field]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no IP:PORT in {field} of {connected}"))
}

#[test]
fn a_call_through_two_nats_is_secure_and_carries_audio() {
    let lab = match NatLab::start() {
        Ok(lab) => lab,
        Err(e @ NatLabError::NotPermitted(_)) => {
            eprintln!("skipping: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let dir = std::env::temp_dir().join(format!("sotto-cli-nat-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("temp dir");
    let path = |name: &str| dir.join(name).to_str().expect("utf-8 path").to_owned();
    let common = |input: &str, output: String, cache: String| -> Vec<String> {
        let stun = lab.stun_server().to_string();
        [
            "--stun",
            &stun,
            "--json",
            "--duration",
            &CALL_S.to_string(),
            "--audio-in",
            input,
            "--audio-out",
            &output,
            "--cache",
            &cache,
        ]
        .map(str::to_owned)
        .to_vec()
    };

    let mut invite_args = vec!["invite".to_owned()];
    invite_args.extend(common("tone", "none".to_owned(), path("a.sqlite")));
    let mut invite = lab.command(Host::A, env!("CARGO_BIN_EXE_sotto"));
    invite.args(&invite_args);
    let mut invite = Peer::spawn(invite, "invite", &dir);
    let offer = invite.wait_for_event("offer", Instant::now() + SIGNAL_WITHIN);
    let offer = offer["offer"]
        .as_str()
        .expect("offer is a string")
        .to_owned();
    assert!(offer.starts_with("sotto1:offer:"), "{offer}");

    let mut join_args = vec!["join".to_owned(), offer];
    join_args.extend(common("none", path("b.wav"), path("b.sqlite")));
    let mut join = lab.command(Host::B, env!("CARGO_BIN_EXE_sotto"));
    join.args(&join_args);
    let mut join = Peer::spawn(join, "join", &dir);
    let answer = join.wait_for_event("answer", Instant::now() + SIGNAL_WITHIN);
    let answer = answer["answer"].as_str().expect("answer is a string");
    assert!(answer.starts_with("sotto1:answer:"), "{answer}");
    invite.say(answer);

    let deadline = Instant::now() + CALL_WITHIN;
    let (status_a, events_a, stderr_a) = invite.finish(deadline);
    let (status_b, events_b, stderr_b) = join.finish(deadline);
    assert!(status_a.success(), "invite: {status_a}\n{stderr_a}");
    assert!(status_b.success(), "join: {status_b}\n{stderr_b}");

    // Each end reached the other at its router's public address: through both NATs.
    let (connected_a, connected_b) = (event(&events_a, "connected"), event(&events_b, "connected"));
    let remote_a = connected_addr(connected_a, "remote");
    let remote_b = connected_addr(connected_b, "remote");
    assert_eq!(
        remote_a.ip(),
        IpAddr::V4(lab.router_wan_ip(Host::B)),
        "{connected_a}"
    );
    assert_eq!(
        remote_b.ip(),
        IpAddr::V4(lab.router_wan_ip(Host::A)),
        "{connected_b}"
    );
    connected_addr(connected_a, "local");
    connected_addr(connected_b, "local");

    let (sas_a, sas_b) = (event(&events_a, "sas"), event(&events_b, "sas"));
    assert!(sas_a["sas"].is_string(), "{sas_a}");
    assert_eq!(sas_a["sas"], sas_b["sas"]);
    let (secure_a, secure_b) = (event(&events_a, "secure"), event(&events_b, "secure"));
    assert_ne!(secure_a["role"], secure_b["role"]);
    for field in ["key_agreement", "hash", "cipher", "auth_tag"] {
        assert_eq!(secure_a[field], secure_b[field], "{field}");
    }
    // Stats come once a second; the last covers the whole call: 50 packets a second for
    // CALL_S seconds (201 measured), so three quarters of that is a call that really ran.
    let last_stats = events_b
        .iter()
        .rev()
        .find(|e| e["event"] == "stats")
        .unwrap_or_else(|| panic!("no stats from join: {events_b:?}"));
    let received = last_stats["packets_received"].as_u64().unwrap_or(0);
    assert!(received >= 50 * CALL_S * 3 / 4, "{last_stats}");
    for events in [&events_a, &events_b] {
        let reason = &event(events, "ended")["reason"];
        assert!(
            reason == "duration reached" || reason == "peer hung up",
            "{reason}"
        );
    }

    // B heard A's tone: compared with the engine's own tone half a second at a time, each
    // half aligned on its own (a pure tone matches itself at one lag per period).
    let mut tone = vec![0i16; 48_000 * CALL_S as usize];
    sotto_media::ToneSource::new(sotto::TONE_FREQ_HZ, sotto::TONE_AMPLITUDE)
        .read(&mut tone)
        .expect("tone");
    let heard = read_wav(&dir.join("b.wav"));
    let (mean, segments) = sotto_testkit::speech_similarity(&tone, &heard, 48_000);
    assert!(
        segments.len() >= 4,
        "{} samples heard; segments {segments:?}",
        heard.len()
    );
    assert!(
        mean > 0.9,
        "tone correlation {mean:.2}; per segment (delay ms, r): {segments:.2?}"
    );
    let _ = fs::remove_dir_all(&dir);
}
