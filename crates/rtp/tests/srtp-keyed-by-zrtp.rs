//! SRTP keyed from a completed ZRTP exchange: each side's sender pairs with the other side's
//! receiver (initiator sends with srtpkeyi/srtpsalti, responder with srtpkeyr/srtpsaltr), for
//! every cipher and auth tag ZRTP can negotiate, and the two directions use different keys.

use std::sync::Arc;
use std::time::Instant;

use sotto_rtp::srtp::{self, SrtpProfile, SrtpReceiver, SrtpSender};
use sotto_rtp::OpusPacketizer;
use sotto_zrtp::cache::MemoryCache;
use sotto_zrtp::{
    AuthTag, CipherAlgorithm, Event, Input, Output, SecureInfo, Session, SessionConfig,
};

/// Runs an in-memory ZRTP exchange to completion.
fn handshake(cipher: CipherAlgorithm, tag: AuthTag) -> (Box<SecureInfo>, Box<SecureInfo>) {
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let cfg = SessionConfig {
        ciphers: vec![cipher],
        auth_tags: vec![tag],
        ..SessionConfig::default()
    };
    let mut rng = rand_core::OsRng;
    let mut ends = [
        Session::new(cfg.clone(), Arc::new(MemoryCache::new()), &mut rng, now).expect("a"),
        Session::new(cfg, Arc::new(MemoryCache::new()), &mut rng, now).expect("b"),
    ];
    let mut secure: [Option<Box<SecureInfo>>; 2] = [None, None];
    for _ in 0..16 {
        let mut inbox: [Vec<Vec<u8>>; 2] = [Vec::new(), Vec::new()];
        for (i, end) in ends.iter_mut().enumerate() {
            loop {
                match end.poll_output() {
                    Output::Transmit(p) => inbox[1 - i].push(p),
                    Output::Event(Event::Secure(info)) => secure[i] = Some(info),
                    Output::Event(e) => panic!("{e:?}"),
                    Output::Timeout(_) => break,
                }
            }
        }
        for (i, end) in ends.iter_mut().enumerate() {
            for p in &inbox[i] {
                let _ = end.handle_input(Input::Receive { now, packet: p });
            }
        }
    }
    let [Some(a), Some(b)] = secure else {
        panic!("handshake incomplete")
    };
    (a, b)
}

/// One Opus packet from `tx` to the peer's `rx`; the sender's own receiver (the other
/// direction's key) must refuse it.
fn send(
    opus: &mut OpusPacketizer,
    frame: &[u8],
    tx: &mut SrtpSender,
    rx: &mut SrtpReceiver,
    own_rx: &mut SrtpReceiver,
) {
    let mut buf = [0u8; 128];
    let len = opus.packetize(frame, 960, &mut buf).expect("packetize");
    let plain = buf[..len].to_vec();
    let wire_len = tx.protect_rtp(&mut buf, len).expect("protect");
    assert_eq!(wire_len, len + tx.profile().rtp_tag_len());
    let mut wrong = buf[..wire_len].to_vec();
    assert!(own_rx.unprotect_rtp(&mut wrong).is_err());
    let plain_len = rx
        .unprotect_rtp(&mut buf[..wire_len])
        .expect("peer decrypts");
    assert_eq!(&buf[..plain_len], &plain[..]);
}

#[test]
fn each_direction_decrypts_with_the_peers_receiver() {
    for cipher in [CipherAlgorithm::Aes1, CipherAlgorithm::Aes3] {
        for tag in [AuthTag::Hs32, AuthTag::Hs80] {
            let (a, b) = handshake(cipher, tag);
            let (mut a_tx, mut a_rx) = srtp::from_zrtp(&a).expect("a keys");
            let (mut b_tx, mut b_rx) = srtp::from_zrtp(&b).expect("b keys");
            assert_eq!(Some(a_tx.profile()), SrtpProfile::from_zrtp(cipher, tag));
            let mut opus = OpusPacketizer::new(0xa1, 111, 65_530, 7);
            for n in 0..20u8 {
                send(&mut opus, &[n; 40], &mut a_tx, &mut b_rx, &mut a_rx);
                send(&mut opus, &[n; 40], &mut b_tx, &mut a_rx, &mut b_rx);
            }
        }
    }
}
