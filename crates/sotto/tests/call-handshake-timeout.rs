//! A caller to a port where nobody answers gives up with HandshakeFailed after its handshake
//! timeout (the ICMP errors it gets on the way do not end it sooner); a listener nobody calls
//! waits until hung up.

#[path = "support/call.rs"]
mod support;

use std::net::UdpSocket;
use std::time::Duration;
use support::{loopback, scratch};

use sotto::{Call, CallConfig, CallEvent, EndReason};

#[test]
fn calling_nobody_ends_with_handshake_failed() {
    // A port that was just free: datagrams to it draw ICMP port unreachable.
    let nobody = UdpSocket::bind(loopback())
        .and_then(|s| s.local_addr())
        .expect("free port");
    let mut config = CallConfig::new(loopback(), Some(nobody), scratch("sqlite"));
    config.handshake_timeout = Duration::from_millis(800);
    let call = Call::start(config).expect("start");
    let event = call.next_event(Duration::from_secs(10));
    let Some(CallEvent::Ended(EndReason::HandshakeFailed(why))) = event else {
        panic!("expected the handshake to fail, got {event:?}");
    };
    assert!(why.contains("no zrtp answer"), "{why}");
    assert!(why.contains(&nobody.to_string()), "{why}");
    assert!(matches!(call.wait(), EndReason::HandshakeFailed(_)));
}

#[test]
fn a_listener_waits_for_its_caller_until_hung_up() {
    let mut config = CallConfig::new(loopback(), None, scratch("sqlite"));
    config.handshake_timeout = Duration::from_millis(100);
    let call = Call::start(config).expect("start");
    // Several handshake timeouts pass: a listener's clock starts with its first caller.
    assert_eq!(call.next_event(Duration::from_millis(500)), None);
    call.hang_up();
    assert_eq!(
        call.next_event(Duration::from_secs(10)),
        Some(CallEvent::Ended(EndReason::HungUp))
    );
    assert_eq!(call.wait(), EndReason::HungUp);
}
