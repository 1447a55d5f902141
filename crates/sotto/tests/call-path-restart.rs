//! A call through two real NATs (`sotto_testkit::natlab`) survives the caller's network
//! changing under it: its router gets a new public address, the old path is dead in both
//! directions (the peer's NAT lets nothing in from the new address), and a path restart (a new
//! offer and answer carried by the application) moves the running call to the new path
//! without a new handshake; both ends are told when their peer goes quiet. Where namespaces
//! are not permitted the test says so and skips.

#[path = "support/call.rs"]
mod support;

use std::io;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use sotto::media::AudioInput;
use sotto::{Call, CallConfig, CallEvent, CallStats, EndReason, PathConfig, PreparedCall};
use sotto_testkit::natlab::{Host, NatLab, NatLabError};
use support::{sas, scratch};

fn prepare(lab: &NatLab, host: Host, duration: Option<Duration>) -> PreparedCall {
    let mut config = CallConfig::new("0.0.0.0:0".parse().expect("addr"), None, scratch("sqlite"));
    config.audio_in = AudioInput::Tone;
    config.duration = duration;
    config.stats_interval = Duration::from_millis(250);
    let path = PathConfig {
        stun_servers: vec![lab.stun_server()],
        ..PathConfig::default()
    };
    lab.run_in(host, || {
        Call::prepare(config, path).map_err(io::Error::other)
    })
    .expect("prepares in the namespace")
}

/// Waits for an event that `wanted` picks, at most `limit`; every event seen is kept.
fn wait_for<T>(
    call: &Call,
    seen: &mut Vec<CallEvent>,
    limit: Duration,
    wanted: impl Fn(&CallEvent) -> Option<T>,
) -> T {
    let end = Instant::now() + limit;
    while let Some(event) = call.next_event(end.saturating_duration_since(Instant::now())) {
        let found = wanted(&event);
        let ended = matches!(event, CallEvent::Ended(_));
        seen.push(event);
        if let Some(found) = found {
            return found;
        }
        assert!(!ended, "the call ended: {seen:?}");
    }
    panic!("not within {limit:?}: {seen:?}");
}

/// Packets the call received over `window` (the first stats in it to the last), from its
/// stats events.
fn received_over(call: &Call, seen: &mut Vec<CallEvent>, window: Duration) -> u64 {
    let end = Instant::now() + window;
    let mut counts = Vec::new();
    while let Some(event) = call.next_event(end.saturating_duration_since(Instant::now())) {
        counts.extend(stats(&event).map(|s| s.packets_received));
        seen.push(event);
    }
    match (counts.first(), counts.last()) {
        (Some(first), Some(last)) => last - first,
        _ => panic!("no stats within {window:?}: {seen:?}"),
    }
}

fn stats(event: &CallEvent) -> Option<CallStats> {
    match event {
        CallEvent::Stats(stats) => Some(*stats),
        _ => None,
    }
}

#[test]
fn a_path_restart_moves_a_running_call_to_the_callers_new_address() {
    let mut lab = match NatLab::start() {
        Ok(lab) => lab,
        Err(e @ NatLabError::NotPermitted(_)) => {
            eprintln!("skipping: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let alice = prepare(&lab, Host::A, Some(Duration::from_secs(12)));
    let bob = prepare(&lab, Host::B, None);
    let offer = alice.offer().expect("offer");
    let (bob, answer) = bob.answer(&offer).expect("bob answers");
    let alice = alice.accept(&answer).expect("alice accepts");
    let (mut alice_seen, mut bob_seen) = (Vec::new(), Vec::new());
    let secure = |e: &CallEvent| matches!(e, CallEvent::Secure { .. }).then_some(());
    wait_for(&alice, &mut alice_seen, Duration::from_secs(15), secure);
    wait_for(&bob, &mut bob_seen, Duration::from_secs(15), secure);
    let old_wan = IpAddr::V4(lab.router_wan_ip(Host::A));

    // Alice's network changes: her packets now leave from a new address, which Bob's NAT
    // drops, and Bob's packets to her old one go nowhere.
    let new_wan = IpAddr::V4(lab.renumber(Host::A).expect("renumbers"));
    for (call, seen) in [(&bob, &mut bob_seen), (&alice, &mut alice_seen)] {
        assert_eq!(
            received_over(call, seen, Duration::from_millis(1500)),
            0,
            "{seen:?}"
        );
    }
    // Both ends are told their peer went quiet: the application's cue to restart.
    for (call, seen) in [(&bob, &mut bob_seen), (&alice, &mut alice_seen)] {
        let quiet = |e: &CallEvent| matches!(e, CallEvent::PeerQuiet { .. }).then_some(());
        if !seen.iter().any(|e| quiet(e).is_some()) {
            wait_for(call, seen, Duration::from_secs(5), quiet);
        }
    }
    let restart = alice.restart_path().expect("restart offer");
    assert!(restart.starts_with("sotto1:offer:"), "{restart}");
    let restart_answer = bob
        .answer_path_restart(&restart)
        .expect("bob answers the restart");
    alice
        .accept_path_restart(&restart_answer)
        .expect("alice accepts the restart answer");

    // Bob now reaches alice at her new address, and audio flows both ways again.
    let remote = wait_for(&bob, &mut bob_seen, Duration::from_secs(10), |e| match e {
        CallEvent::Connected { remote, .. } if remote.ip() != old_wan => Some(*remote),
        _ => None,
    });
    assert_eq!(remote.ip(), new_wan, "{bob_seen:?}");
    for (call, seen) in [(&bob, &mut bob_seen), (&alice, &mut alice_seen)] {
        let before = seen
            .iter()
            .rev()
            .find_map(stats)
            .map_or(0, |s| s.packets_received);
        wait_for(call, seen, Duration::from_secs(10), |e| {
            stats(e).filter(|s| s.packets_received > before + 50)
        });
    }

    // The call is the same one: same SAS on both ends, no second handshake; it ends as set.
    let alice_rest = support::events_until_end(&alice, Duration::from_secs(20));
    let bob_rest = support::events_until_end(&bob, Duration::from_secs(15));
    alice_seen.extend(alice_rest);
    bob_seen.extend(bob_rest);
    assert_eq!(sas(&alice_seen), sas(&bob_seen));
    let secures = |seen: &[CallEvent]| {
        seen.iter()
            .filter(|e| matches!(e, CallEvent::Secure { .. }))
            .count()
    };
    assert_eq!((secures(&alice_seen), secures(&bob_seen)), (1, 1));
    assert_eq!(alice.wait(), EndReason::DurationReached);
    assert_eq!(bob.wait(), EndReason::PeerHungUp);
}

#[test]
fn only_a_negotiated_call_can_restart_and_an_answer_needs_an_offer() {
    let listener = support::start_listener(|_| {});
    let err = listener
        .restart_path()
        .expect_err("not set up by offer and answer");
    assert!(err.to_string().contains("Call::prepare"), "{err}");
    listener.hang_up();
    let _ = listener.wait();

    let config = || {
        let mut config = CallConfig::new(support::loopback(), None, scratch("sqlite"));
        config.duration = Some(Duration::from_secs(30));
        config
    };
    let alice = Call::prepare(config(), PathConfig::default()).expect("prepares");
    let bob = Call::prepare(config(), PathConfig::default()).expect("prepares");
    let (bob, answer) = bob.answer(&alice.offer().expect("offer")).expect("answers");
    let alice = alice.accept(&answer).expect("accepts");
    let err = alice
        .accept_path_restart(&answer)
        .expect_err("no restart offer was made");
    assert!(err.to_string().contains("restart offer first"), "{err}");
    let err = bob
        .answer_path_restart("sotto1:offer:garbage")
        .expect_err("garbage");
    assert!(!err.to_string().is_empty());
    for call in [alice, bob] {
        call.hang_up();
        let _ = call.wait();
    }
}
