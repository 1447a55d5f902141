//! A peer that goes silent, or only sends Error messages, ends the handshake with a reason after
//! bounded (virtual) time, on both roles; an unauthenticated Error alone changes nothing.

#[path = "support/pair.rs"]
mod pair;

use std::time::Duration;

use pair::{memory_cache, Injection, Pair, ADDR_A, ADDR_B};
use sotto_netsim::LinkConfig;
use sotto_zrtp::wire::{self, Header, Message};
use sotto_zrtp::{Error, ErrorCode, SessionConfig};

fn pair(seed: u64) -> Pair {
    let link = LinkConfig::perfect().with_delay(Duration::from_millis(10));
    Pair::new(
        SessionConfig::default(),
        memory_cache(),
        SessionConfig::default(),
        memory_cache(),
        seed,
        link,
    )
}

fn cut_the_wire(p: &mut Pair) {
    let (a, b) = (ADDR_A.parse().expect("addr"), ADDR_B.parse().expect("addr"));
    p.net
        .set_link(a, b, LinkConfig::perfect().with_loss(1.0))
        .expect("link");
    p.net
        .set_link(b, a, LinkConfig::perfect().with_loss(1.0))
        .expect("link");
}

#[test]
fn silence_after_commit_times_out_on_both_sides() {
    let mut p = pair(1);
    while ![p.a.session.state_name(), p.b.session.state_name()].contains(&"dhpart1 sent") {
        assert!(p.step(), "handshake stalled before the commit");
    }
    cut_the_wire(&mut p);
    p.run(Duration::from_secs(120));
    assert!(
        matches!(p.a.failed, Some(Error::Timeout)),
        "{:?}",
        p.a.failed
    );
    assert!(
        matches!(p.b.failed, Some(Error::Timeout)),
        "{:?}",
        p.b.failed
    );
    // Initiator: 20 T2 retransmissions; responder: its patience. Both well under a minute.
    assert!(p.elapsed() < Duration::from_secs(40), "{:?}", p.elapsed());
}

#[test]
fn nobody_answering_the_hello_times_out() {
    let mut p = pair(2);
    cut_the_wire(&mut p);
    p.run(Duration::from_secs(120));
    assert!(matches!(p.a.failed, Some(Error::Timeout)));
    assert!(p.elapsed() < Duration::from_secs(10), "{:?}", p.elapsed());
}

fn error_packet(code: ErrorCode) -> Vec<u8> {
    let mut message = Vec::new();
    wire::encode_message(&Message::Error(code), &mut message);
    let mut packet = Vec::new();
    wire::seal_packet(
        Header {
            sequence: 9,
            ssrc: 9,
        },
        &message,
        &mut packet,
    );
    packet
}

#[test]
fn forged_error_messages_do_not_end_the_handshake() {
    let mut p = pair(3);
    p.tamper = Some(Box::new(|_, _| Injection {
        before: vec![error_packet(ErrorCode::HASH_UNSUPPORTED)],
        after: vec![],
    }));
    p.run(Duration::from_secs(30));
    p.assert_agreed();
}

#[test]
fn an_error_is_the_reason_when_the_peer_then_goes_quiet() {
    let mut p = pair(4);
    p.step();
    cut_the_wire(&mut p);
    let now = p.now;
    p.a.receive(now, &error_packet(ErrorCode::KEY_AGREEMENT_UNSUPPORTED));
    p.run(Duration::from_secs(120));
    match &p.a.failed {
        Some(Error::PeerError(code)) => assert_eq!(*code, ErrorCode::KEY_AGREEMENT_UNSUPPORTED),
        other => panic!("expected the peer's error as the reason, got {other:?}"),
    }
}
