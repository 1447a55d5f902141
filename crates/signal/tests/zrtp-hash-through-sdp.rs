//! The whole binding of RFC 6189 section 8.1 across both crates: each ZRTP session's Hello hash
//! goes into the SDP, through the one-line form, out of [`Negotiated`] into the peer's session,
//! and the handshake completes; a hash altered on the signaling path stops it.

use std::sync::Arc;
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sotto_signal::{Answer, LocalMedia, LocalStream, Offer, ZrtpHash};
use sotto_zrtp::cache::MemoryCache;
use sotto_zrtp::{Event, HelloHash, Input, Output, Session, SessionConfig};

fn session(seed: u64, peer: Option<&ZrtpHash>, now: Instant) -> Session {
    let cfg = SessionConfig {
        peer_hello_hash: peer.map(|h| HelloHash(*h.hash())),
        ..SessionConfig::default()
    };
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    Session::new(cfg, Arc::new(MemoryCache::new()), &mut rng, now).expect("zrtp session")
}

fn local(session: &Session, last_octet: u8) -> LocalMedia {
    // Through the text form, as the engine would if it kept the attribute value.
    let hash = ZrtpHash::parse(&session.hello_hash().to_string()).expect("same format");
    assert_eq!(hash.hash(), session.hello_hash().as_bytes());
    LocalMedia {
        session_id: u64::from(last_octet),
        session_version: 1,
        address: format!("192.0.2.{last_octet}").parse().expect("address"),
        audio: LocalStream::new(5004, Some(hash)),
        video: None,
        ice: None,
    }
}

/// What one drain of a session gave.
#[derive(Default)]
struct Drained {
    traffic: bool,
    secure: bool,
    mismatches: usize,
    deadline: Option<Instant>,
}

/// Drains `from`, handing its datagrams straight to `to`.
fn pump(from: &mut Session, to: &mut Session, now: Instant) -> Drained {
    let mut d = Drained::default();
    loop {
        match from.poll_output() {
            Output::Transmit(p) => {
                d.traffic = true;
                let _ = to.handle_input(Input::Receive { now, packet: &p });
            }
            Output::Event(Event::Secure(_)) => d.secure = true,
            Output::Event(Event::HelloHashMismatch { .. }) => d.mismatches += 1,
            Output::Event(_) => {}
            Output::Timeout(t) => {
                d.deadline = t;
                return d;
            }
        }
    }
}

/// Runs the two sessions over a perfect link in virtual time; returns (secure A, secure B,
/// hash mismatches reported by either).
fn handshake(a: &mut Session, b: &mut Session, mut now: Instant) -> (bool, bool, usize) {
    let (mut secure, mut mismatches) = ([false, false], 0);
    for _ in 0..500 {
        let from_a = pump(a, b, now);
        let from_b = pump(b, a, now);
        secure[0] |= from_a.secure;
        secure[1] |= from_b.secure;
        mismatches += from_a.mismatches + from_b.mismatches;
        if secure == [true, true] || a.is_failed() || b.is_failed() {
            break;
        }
        if !from_a.traffic && !from_b.traffic {
            let Some(next) = [from_a.deadline, from_b.deadline]
                .into_iter()
                .flatten()
                .min()
            else {
                break;
            };
            now = now.max(next);
            for s in [&mut *a, &mut *b] {
                s.handle_input(Input::Timeout(now)).expect("timeout");
            }
        }
    }
    (secure[0], secure[1], mismatches)
}

#[test]
fn hello_hashes_carried_by_the_lines_let_the_handshake_through() {
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let mut alice = session(1, None, now);
    let offer = Offer::new(&local(&alice, 1)).expect("offer");
    let offer_line = offer.to_line();

    // Bob learns Alice's hash from the offer before his session exists.
    let received = Offer::from_line(&offer_line).expect("offer line");
    let their_hash = received.0.media[0].zrtp_hash.clone().expect("alice's hash");
    let mut bob = session(2, Some(&their_hash), now);
    let (answer, _) = received.answer(&local(&bob, 2)).expect("answer");

    // Alice learns Bob's from the answer, her session already running.
    let agreed = offer
        .accept(&Answer::from_line(&answer.to_line()).expect("answer line"))
        .expect("accepted");
    let bob_hash = agreed.audio.remote_zrtp_hash.expect("bob's hash");
    alice.set_peer_hello_hash(HelloHash(*bob_hash.hash()));

    assert_eq!(handshake(&mut alice, &mut bob, now), (true, true, 0));
}

#[test]
fn a_hash_altered_on_the_signaling_path_stops_the_handshake() {
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let mut alice = session(3, None, now);
    let mut offer = Offer::new(&local(&alice, 1)).expect("offer");
    // Whoever relays the offer rewrites the hash (the line's checksum is no signature: it is
    // recomputed) to the Hello of a session of its own.
    let mallory = session(4, None, now);
    offer.0.media[0].zrtp_hash = Some(ZrtpHash::new(mallory.hello_hash().0));
    let received = Offer::from_line(&offer.to_line()).expect("rewritten line reads");
    let mut bob = session(5, received.0.media[0].zrtp_hash.as_ref(), now);

    let (a, b, mismatches) = handshake(&mut alice, &mut bob, now);
    assert!(
        !a && !b,
        "no keys with a Hello the signaling did not vouch for"
    );
    assert!(mismatches >= 1);
}
