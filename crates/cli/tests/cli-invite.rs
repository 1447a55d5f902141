//! `sotto invite` and `sotto join` on this machine: the two lines set up a secure call; a STUN
//! server that does not answer costs a bounded wait and the user is told why; bad lines are
//! one-line errors.

#[path = "support/output.rs"]
#[allow(dead_code, reason = "no listener here announces a port")]
mod output;
#[path = "support/peer.rs"]
mod peer;

use std::net::UdpSocket;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use output::{event, sotto, temp_dir};
use peer::Peer;

/// Starts `sotto invite` (with `invite_flags`) and `sotto join`, both sending a tone with their
/// own caches in `dir`, and carries the offer and the answer line between them.
fn invite_and_join(dir: &Path, invite_flags: &[&str]) -> (Peer, Peer) {
    let cache = |name: &str| dir.join(name).to_str().expect("utf-8").to_owned();
    let within = || Instant::now() + Duration::from_secs(15);
    let mut invite = sotto();
    invite.args(["invite", "--json", "--audio-in", "tone"]);
    invite.args(invite_flags);
    invite.args(["--audio-out", "none", "--cache"]);
    invite.arg(cache("a.sqlite"));
    let mut invite = Peer::spawn(invite, "invite", dir);
    let offer = invite.wait_for_event("offer", within());
    let mut join = sotto();
    join.args(["join", offer["offer"].as_str().expect("a line"), "--json"]);
    join.args(["--audio-in", "tone", "--audio-out", "none", "--cache"]);
    join.arg(cache("b.sqlite"));
    let mut join = Peer::spawn(join, "join", dir);
    let answer = join.wait_for_event("answer", within());
    invite.say(answer["answer"].as_str().expect("a line"));
    (invite, join)
}

/// Waits for both ends of a call to exit (25 s at most), which must both succeed; the events
/// each printed.
fn both_end_well(invite: Peer, join: Peer) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let deadline = Instant::now() + Duration::from_secs(25);
    let (status_a, events_a, stderr_a) = invite.finish(deadline);
    let (status_b, events_b, stderr_b) = join.finish(deadline);
    assert!(status_a.success(), "invite: {status_a}\n{stderr_a}");
    assert!(status_b.success(), "join: {status_b}\n{stderr_b}");
    (events_a, events_b)
}

#[test]
fn invite_and_join_set_up_a_call_and_a_silent_stun_server_is_reported() {
    let dir = temp_dir("invite");
    // A port nobody listens on: the STUN request is answered by ICMP or not at all.
    let silent = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let silent_addr = silent.local_addr().expect("addr").to_string();
    drop(silent);
    let cache = |name: &str| dir.join(name).to_str().expect("utf-8").to_owned();

    let mut invite = sotto();
    invite.args([
        "invite",
        "--json",
        "--stun",
        &silent_addr,
        "--duration",
        "2",
    ]);
    invite.args(["--audio-in", "tone", "--audio-out", "none", "--cache"]);
    invite.arg(cache("a.sqlite"));
    let started = Instant::now();
    let mut invite = Peer::spawn(invite, "invite", &dir);
    let failed = invite.wait_for_event("stun_failed", Instant::now() + Duration::from_secs(15));
    let offer = invite.wait_for_event("offer", Instant::now() + Duration::from_secs(15));
    // The gathering deadline (3 s) bounds the wait, not RFC 8489's 39.5 s of retries.
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(failed["server"], silent_addr.as_str());
    let reason = failed["reason"].as_str().expect("a reason");
    assert!(reason.contains(&silent_addr), "{reason}");
    let offer = offer["offer"].as_str().expect("a line").to_owned();

    let mut join = sotto();
    join.args(["join", &offer, "--json", "--audio-in", "tone"]);
    join.args(["--audio-out", "none", "--cache"]);
    join.arg(cache("b.sqlite"));
    let mut join = Peer::spawn(join, "join", &dir);
    let answer = join.wait_for_event("answer", Instant::now() + Duration::from_secs(15));
    invite.say(answer["answer"].as_str().expect("a line"));

    let (events_a, events_b) = both_end_well(invite, join);
    assert_eq!(
        event(&events_a, "sas")["sas"],
        event(&events_b, "sas")["sas"]
    );
    assert_eq!(
        event(&events_a, "connected")["remote"],
        event(&events_b, "connected")["local"]
    );
    assert_eq!(event(&events_b, "ended")["reason"], "peer hung up");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `sotto` with `args` (audio off, stdin closed, its cache in `dir`): it must exit 2 with
/// one `error:` line that mentions `mentions`.
fn assert_error(args: &[&str], dir: &Path, mentions: &str) {
    let out = sotto()
        .args(args)
        .args(["--audio-in", "none", "--audio-out", "none", "--cache"])
        .arg(dir.join("c.sqlite"))
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(mentions), "{stderr}");
}

#[test]
fn bad_offer_and_answer_lines_are_one_line_errors() {
    let dir = temp_dir("bad-lines");
    assert_error(
        &["join", "sotto1:offer:bm90IGFuIG9mZmVy"],
        &dir,
        "sotto invite",
    );
    // An IPv6 call cannot ask an IPv4 STUN server.
    let ipv6_with_ipv4_stun = ["invite", "--ipv6", "--stun", "127.0.0.1:3478"];
    assert_error(&ipv6_with_ipv4_stun, &dir, "name an IPv6 STUN server");
    // `invite` whose stdin ends before an answer comes says what to do.
    assert_error(&["invite"], &dir, "no answer line");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_running_call_restarts_its_path_through_pasted_lines() {
    let dir = temp_dir("restart");
    let within = || Instant::now() + Duration::from_secs(15);
    let (mut invite, mut join) = invite_and_join(&dir, &["--duration", "4"]);
    invite.wait_for_event("secure", within());
    join.wait_for_event("secure", within());

    // The inviter asks for a restart; the two lines cross as the first two did.
    invite.say("restart");
    let restart = invite.wait_for_event("restart_offer", within());
    let restart = restart["offer"].as_str().expect("a line");
    assert!(restart.starts_with("sotto1:offer:"), "{restart}");
    join.say(restart);
    let restart_answer = join.wait_for_event("restart_answer", within());
    invite.say(restart_answer["answer"].as_str().expect("a line"));
    // Each end reports the path the restarted checks found.
    invite.wait_for_event("connected", within());
    join.wait_for_event("connected", within());

    let (events_a, events_b) = both_end_well(invite, join);
    // One handshake: the restart moved the call, it did not make a new one.
    for events in [&events_a, &events_b] {
        let count = |name: &str| events.iter().filter(|e| e["event"] == name).count();
        assert_eq!(count("secure"), 1, "{events:?}");
        assert_eq!(count("connected"), 2, "{events:?}");
    }
    assert_eq!(event(&events_a, "ended")["reason"], "duration reached");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_ipv6_invite_is_joined_over_ipv6() {
    if let Err(e) = UdpSocket::bind("[::1]:0") {
        eprintln!("skipped: no IPv6 loopback on this machine ({e})");
        return;
    }
    let dir = temp_dir("ipv6");
    let (invite, join) = invite_and_join(&dir, &["--ipv6", "--duration", "2"]);
    let (events_a, events_b) = both_end_well(invite, join);
    // `join` followed the offer to IPv6 without being told.
    let connected = event(&events_b, "connected");
    for end in ["local", "remote"] {
        let addr: std::net::SocketAddr = (connected[end].as_str())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("an address in {connected}"));
        assert!(addr.is_ipv6(), "{connected}");
    }
    assert_eq!(
        event(&events_a, "sas")["sas"],
        event(&events_b, "sas")["sas"]
    );
    assert_eq!(event(&events_b, "ended")["reason"], "peer hung up");
    let _ = std::fs::remove_dir_all(&dir);
}
