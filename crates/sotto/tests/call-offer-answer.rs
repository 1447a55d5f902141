//! Calls set up by offer and answer over real loopback UDP: the two lines carry everything
//! (candidates, ICE credentials, `a=zrtp-hash`); connectivity checks find the path, then ZRTP
//! and media run on it. A tampered `a=zrtp-hash` is reported as an attack; an unreachable STUN
//! server delays the offer by a bounded time and its reason reaches the user; a peer that is
//! not there ends the call with no path; an application's own audio and video path plugs in.

#[path = "support/call.rs"]
mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sotto::media::video::PatternSource;
use sotto::media::{AudioInput, AudioSink, SilenceSource, VideoFrame, VideoSink};
use sotto::signal::{Offer, ZrtpHash};
use sotto::{Call, CallConfig, CallEvent, EndReason, PathConfig};
use support::{events_until_end, last_stats, loopback, sas, scratch, STATS_INTERVAL};

fn config(duration: Option<Duration>) -> CallConfig {
    let mut config = CallConfig::new(loopback(), None, scratch("sqlite"));
    config.audio_in = AudioInput::Tone;
    config.duration = duration;
    config.stats_interval = STATS_INTERVAL;
    config
}

fn connected(events: &[CallEvent]) -> (SocketAddr, SocketAddr) {
    events
        .iter()
        .find_map(|e| match e {
            CallEvent::Connected { local, remote } => Some((*local, *remote)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Connected event: {events:?}"))
}

#[test]
fn offer_and_answer_lines_set_up_a_secure_call_with_media() {
    let alice = Call::prepare(config(Some(Duration::from_secs(3))), PathConfig::default())
        .expect("alice prepares");
    let offer = alice.offer().expect("offer");
    assert!(offer.starts_with("sotto1:offer:"), "{offer}");
    assert_eq!(alice.offer().expect("offer"), offer, "an offer is stable");
    assert!(alice.stun_failures().is_empty());

    let bob = Call::prepare(config(None), PathConfig::default()).expect("bob prepares");
    let bob_addr = bob.local_addr();
    let (bob_call, answer) = bob.answer(&offer).expect("bob answers");
    assert!(answer.starts_with("sotto1:answer:"), "{answer}");
    let alice_addr = alice.local_addr();
    let alice_call = alice.accept(&answer).expect("alice accepts");

    let alice_events = events_until_end(&alice_call, Duration::from_secs(25));
    let bob_events = events_until_end(&bob_call, Duration::from_secs(15));
    assert_eq!(alice_call.wait(), EndReason::DurationReached);
    assert_eq!(bob_call.wait(), EndReason::PeerHungUp);

    assert_eq!(connected(&alice_events), (alice_addr, bob_addr));
    assert_eq!(connected(&bob_events), (bob_addr, alice_addr));
    assert_eq!(sas(&alice_events), sas(&bob_events));
    // Both sent a tone for about 3 s at 50 packets a second.
    for events in [&alice_events, &bob_events] {
        let stats = last_stats(events);
        assert!(stats.packets_received > 80, "{stats:?}");
    }
}

#[test]
fn a_hello_that_does_not_match_the_signalled_hash_is_reported_as_an_attack() {
    let alice = Call::prepare(config(None), PathConfig::default()).expect("alice prepares");
    // Someone rewrites the offer's zrtp-hash on its way (the checksum of the line is no
    // protection: anyone can recompute it). Bob's engine must refuse Alice's real Hello.
    let mut offer = Offer::from_line(&alice.offer().expect("offer")).expect("parses");
    offer.0.media[0].zrtp_hash = Some(ZrtpHash::new([0x5a; 32]));
    let mut bob_config = config(None);
    bob_config.handshake_timeout = Duration::from_secs(3);
    let bob = Call::prepare(bob_config, PathConfig::default()).expect("bob prepares");
    let (bob_call, answer) = bob.answer(&offer.to_line()).expect("bob answers");
    let alice_call = alice.accept(&answer).expect("alice accepts");

    let bob_events = events_until_end(&bob_call, Duration::from_secs(20));
    assert!(
        bob_events
            .iter()
            .any(|e| matches!(e, CallEvent::HelloHashMismatch { .. })),
        "{bob_events:?}"
    );
    assert!(
        !bob_events
            .iter()
            .any(|e| matches!(e, CallEvent::Secure { .. } | CallEvent::Sas { .. })),
        "{bob_events:?}"
    );
    match bob_call.wait() {
        EndReason::HandshakeFailed(why) => assert!(why.contains("intercept"), "{why}"),
        other => panic!("ended with {other}"),
    }
    alice_call.hang_up();
    let _ = alice_call.wait();
}

#[test]
fn an_unreachable_stun_server_costs_a_bounded_wait_and_says_why() {
    // A closed port on this machine (answers with ICMP) and an address nothing answers from.
    let closed = std::net::UdpSocket::bind(loopback()).expect("bind");
    let closed_addr = closed.local_addr().expect("addr");
    drop(closed);
    let path = PathConfig {
        stun_servers: vec![closed_addr],
        gather_timeout: Duration::from_millis(800),
        ..PathConfig::default()
    };
    let started = Instant::now();
    let prepared = Call::prepare(config(None), path).expect("prepares without stun");
    let waited = started.elapsed();
    // Bounded by the gathering deadline (plus scheduling), not RFC 8489's 39.5 s.
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    let failures = prepared.stun_failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].server, closed_addr);
    let reason = failures[0].reason.to_string();
    assert!(reason.contains(&closed_addr.to_string()), "{reason}");
    // Host candidates are still there, and the offer still works.
    assert!(!prepared.candidates().is_empty());
    assert!(prepared.offer().is_ok());
}

#[test]
fn a_peer_that_never_answers_the_checks_ends_the_call_with_no_path() {
    let alice = Call::prepare(
        config(None),
        PathConfig {
            connect_timeout: Duration::from_secs(2),
            ..PathConfig::default()
        },
    )
    .expect("alice prepares");
    // Bob answers and vanishes: his socket is closed before any check arrives.
    let bob = Call::prepare(config(None), PathConfig::default()).expect("bob prepares");
    let (bob_call, answer) = bob.answer(&alice.offer().expect("offer")).expect("answer");
    bob_call.hang_up();
    let _ = bob_call.wait();
    let alice_call = alice.accept(&answer).expect("alice accepts");
    let events = events_until_end(&alice_call, Duration::from_secs(15));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, CallEvent::Connected { .. } | CallEvent::Secure { .. })),
        "{events:?}"
    );
    match alice_call.wait() {
        EndReason::NoPath(why) => assert!(why.contains("no network path"), "{why}"),
        other => panic!("ended with {other}"),
    }
}

#[test]
fn lines_that_are_not_an_answer_or_offer_are_refused_with_a_reason() {
    let alice = Call::prepare(config(None), PathConfig::default()).expect("alice prepares");
    let offer = alice.offer().expect("offer");
    let bob = Call::prepare(config(None), PathConfig::default()).expect("bob prepares");
    // Pasting the offer where the answer belongs, or a damaged line.
    let err = alice.accept(&offer).expect_err("an offer is no answer");
    assert!(err.to_string().contains("answer"), "{err}");
    let mut damaged = offer.clone();
    damaged.truncate(offer.len() - 3);
    let err = bob.answer(&damaged).expect_err("damaged");
    assert!(!err.to_string().is_empty());
}

/// Counts the samples written.
struct CountSamples(Arc<AtomicUsize>);

impl AudioSink for CountSamples {
    fn write(&mut self, samples: &[i16]) -> Result<(), sotto::media::Error> {
        self.0.fetch_add(samples.len(), Ordering::Relaxed);
        Ok(())
    }

    fn finish(&mut self) -> Result<(), sotto::media::Error> {
        Ok(())
    }
}

/// Counts the pictures shown.
struct CountPictures(Arc<AtomicUsize>);

impl VideoSink for CountPictures {
    fn write(&mut self, _frame: &VideoFrame) -> Result<(), sotto::media::Error> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn finish(&mut self) -> Result<(), sotto::media::Error> {
        Ok(())
    }
}

#[test]
fn supplied_audio_and_video_go_through_an_offer_and_answer() {
    let (samples, pictures) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let source = PatternSource::new(160, 120).expect("pattern");
    let alice = Call::prepare(config(Some(Duration::from_secs(2))), PathConfig::default())
        .expect("alice prepares")
        .with_video(Some(Box::new(source)), None);
    let offer = alice.offer().expect("offer");
    let sdp = Offer::from_line(&offer).expect("parses").to_sdp();
    assert!(sdp.contains("m=video "), "{sdp}");

    let bob = Call::prepare(config(None), PathConfig::default())
        .expect("bob prepares")
        .with_audio(
            Box::new(SilenceSource),
            Box::new(CountSamples(Arc::clone(&samples))),
        )
        .with_video(None, Some(Box::new(CountPictures(Arc::clone(&pictures)))));
    let (bob_call, answer) = bob.answer(&offer).expect("bob answers");
    let alice_call = alice.accept(&answer).expect("alice accepts");
    let alice_events = events_until_end(&alice_call, Duration::from_secs(25));
    let bob_events = events_until_end(&bob_call, Duration::from_secs(15));
    assert_eq!(alice_call.wait(), EndReason::DurationReached);
    assert_eq!(bob_call.wait(), EndReason::PeerHungUp);
    for events in [&alice_events, &bob_events] {
        assert!(
            events
                .iter()
                .any(|e| matches!(e, CallEvent::VideoSecure { .. })),
            "{events:?}"
        );
    }
    // Bob's own sink played the call (48 kHz) and showed Alice's pictures (30 per second).
    assert!(samples.load(Ordering::Relaxed) > 48_000, "{samples:?}");
    assert!(pictures.load(Ordering::Relaxed) > 20, "{pictures:?}");
}

/// A config bound to IPv6 loopback, or `None` (with the reason printed) where this machine
/// has no IPv6.
fn ipv6_config(duration: Option<Duration>) -> Option<CallConfig> {
    let bind: SocketAddr = "[::1]:0".parse().expect("address");
    if let Err(e) = std::net::UdpSocket::bind(bind) {
        eprintln!("skipped: no IPv6 loopback on this machine ({e})");
        return None;
    }
    let mut config = config(duration);
    config.bind = bind;
    Some(config)
}

#[test]
fn offer_and_answer_work_over_ipv6_and_the_other_family_is_refused_at_once() {
    let (Some(alice), Some(bob)) = (ipv6_config(Some(Duration::from_secs(2))), ipv6_config(None))
    else {
        return;
    };
    let alice = Call::prepare(alice, PathConfig::default()).expect("alice prepares");
    let bob = Call::prepare(bob, PathConfig::default()).expect("bob prepares");
    let (bob_call, answer) = bob.answer(&alice.offer().expect("offer")).expect("answer");
    let alice_call = alice.accept(&answer).expect("alice accepts");
    let alice_events = events_until_end(&alice_call, Duration::from_secs(25));
    let bob_events = events_until_end(&bob_call, Duration::from_secs(15));
    assert_eq!(alice_call.wait(), EndReason::DurationReached);
    assert_eq!(bob_call.wait(), EndReason::PeerHungUp);
    let (local, remote) = connected(&alice_events);
    assert!(local.is_ipv6() && remote.is_ipv6(), "{local} <-> {remote}");
    assert_eq!(sas(&alice_events), sas(&bob_events));
    assert!(last_stats(&bob_events).packets_received > 50);

    // An IPv4 socket cannot answer an IPv6 offer: answering fails, rather than starting a
    // call that would look for a path until its connect timeout.
    let v6 =
        Call::prepare(ipv6_config(None).expect("ipv6"), PathConfig::default()).expect("prepares");
    let v4 = Call::prepare(config(None), PathConfig::default()).expect("prepares");
    let err = v4
        .answer(&v6.offer().expect("offer"))
        .map(|_| ())
        .expect_err("no common address family");
    assert!(
        err.to_string().contains("only be reached over IPv6"),
        "{err}"
    );
}
