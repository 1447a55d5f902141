//! ZrtpOverUdp on real loopback sockets: a listener latches onto the first peer whose ZRTP its
//! session accepts; garbage and non-ZRTP datagrams from elsewhere are dropped and counted.

use std::net::UdpSocket;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sotto::zrtp_udp::ZrtpOverUdp;
use sotto_zrtp::cache::MemoryCache;
use sotto_zrtp::{Session, SessionConfig};

fn session() -> Session {
    Session::new(
        SessionConfig::default(),
        Arc::new(MemoryCache::new()),
        &mut rand_core::OsRng,
        Instant::now(),
    )
    .expect("session")
}

#[test]
fn listener_latches_onto_the_caller_and_ignores_noise() {
    let listener = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let listen_addr = listener.local_addr().expect("addr");
    let noise = UdpSocket::bind("127.0.0.1:0").expect("bind");
    // Before the caller: an RTP-looking datagram, a STUN-looking one and a ZRTP-looking one
    // with a bad CRC, all from a third address.
    for datagram in [
        &[0x80u8, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1][..],
        &[0u8, 1, 0, 0][..],
        &[
            0x10, 0, 0, 1, 0x5a, 0x52, 0x54, 0x50, 0, 0, 0, 0, 1, 2, 3, 4,
        ][..],
    ] {
        noise.send_to(datagram, listen_addr).expect("send");
    }
    let listening = std::thread::spawn(move || {
        let mut link = ZrtpOverUdp::new(listener, None, session());
        let info = link
            .handshake(Duration::from_secs(10))
            .expect("listener handshake");
        link.serve_until(Instant::now() + Duration::from_millis(300))
            .expect("serve");
        (info, link.peer(), link.stats())
    });
    std::thread::sleep(Duration::from_millis(50));
    let caller = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let caller_addr = caller.local_addr().expect("addr");
    let mut link = ZrtpOverUdp::new(caller, Some(listen_addr), session());
    let ours = link
        .handshake(Duration::from_secs(10))
        .expect("caller handshake");
    link.serve_until(Instant::now() + Duration::from_millis(300))
        .expect("serve");
    let (theirs, latched, stats) = listening.join().expect("listener thread");
    assert_eq!(latched, Some(caller_addr));
    assert_eq!(ours.sas, theirs.sas);
    assert_eq!(ours.srtp.local_key, theirs.srtp.remote_key);
    assert!(stats.dropped >= 3, "{stats:?}");
}

#[test]
fn nobody_calling_is_a_clear_error_after_the_deadline() {
    let listener = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let mut link = ZrtpOverUdp::new(listener, None, session());
    let err = link
        .handshake(Duration::from_millis(300))
        .expect_err("no caller");
    assert!(err.to_string().contains("no zrtp answer"), "{err}");
}
