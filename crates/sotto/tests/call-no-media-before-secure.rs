//! Nothing but ZRTP leaves a call before ZRTP is secure: a peer that answers the Hello but
//! never the Commit sees only ZRTP packets, though the call has a tone to send.

#[path = "support/call.rs"]
mod support;

use std::net::UdpSocket;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{loopback, scratch};

use sotto::media::AudioInput;
use sotto::{Call, CallConfig, CallEvent, EndReason};
use sotto_rtp::{classify, PacketKind};
use sotto_zrtp::cache::MemoryCache;
use sotto_zrtp::{Input, Output, Session, SessionConfig};

#[test]
fn a_stalled_handshake_sends_only_zrtp() {
    let peer = UdpSocket::bind(loopback()).expect("bind");
    let peer_addr = peer.local_addr().expect("addr");
    let mut config = CallConfig::new(loopback(), Some(peer_addr), scratch("sqlite"));
    config.audio_in = AudioInput::Tone;
    config.handshake_timeout = Duration::from_millis(1500);
    let call = Call::start(config).expect("start");
    let call_addr = call.local_addr();

    // The peer answers the first Hello with its own Hello and HelloACK, so the call moves on
    // to committing, then goes deaf.
    let mut session = Session::new(
        SessionConfig::default(),
        Arc::new(MemoryCache::new()),
        &mut rand_core::OsRng,
        Instant::now(),
    )
    .expect("session");
    let mut buf = [0u8; 2048];
    peer.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let mut kinds = Vec::new();
    let mut answered = false;
    let until = Instant::now() + Duration::from_millis(2500);
    while Instant::now() < until {
        let Ok((len, from)) = peer.recv_from(&mut buf) else {
            continue;
        };
        assert_eq!(from, call_addr);
        kinds.push(classify(&buf[..len]));
        if !answered {
            answered = true;
            let _ = session.handle_input(Input::Receive {
                now: Instant::now(),
                packet: &buf[..len],
            });
            while let Output::Transmit(packet) = session.poll_output() {
                peer.send_to(&packet, call_addr).expect("send");
            }
        }
    }
    assert!(kinds.len() >= 3, "{kinds:?}");
    assert!(kinds.iter().all(|k| *k == PacketKind::Zrtp), "{kinds:?}");

    let event = call.next_event(Duration::from_secs(10));
    let Some(CallEvent::Ended(EndReason::HandshakeFailed(why))) = event else {
        panic!("expected a failed handshake, got {event:?}");
    };
    // The peer did answer, so this is not "no answer".
    assert!(why.contains("did not complete"), "{why}");
}
