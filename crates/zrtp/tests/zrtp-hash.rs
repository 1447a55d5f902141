//! `a=zrtp-hash` (RFC 6189 section 8.1): each end's Hello hash, carried by the signaling,
//! binds the media path to it. A Hello that does not hash to what the signaling said is refused
//! and reported, whether the hash came before the Hello or after it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sotto_zrtp::cache::MemoryCache;
use sotto_zrtp::wire::{self, Message};
use sotto_zrtp::{
    Error, Event, HelloHash, Input, Output, RolePolicy, SecureInfo, Session, SessionConfig,
};

/// One endpoint and what came out of it.
struct Endpoint {
    session: Session,
    deadline: Option<Instant>,
    secure: Option<Box<SecureInfo>>,
    failed: Option<Error>,
    mismatches: Vec<(HelloHash, HelloHash)>,
    refused: Vec<Error>,
}

impl Endpoint {
    fn new(cfg: SessionConfig, seed: u64, now: Instant) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let session =
            Session::new(cfg, Arc::new(MemoryCache::new()), &mut rng, now).expect("session");
        Endpoint {
            session,
            deadline: None,
            secure: None,
            failed: None,
            mismatches: Vec::new(),
            refused: Vec::new(),
        }
    }

    /// Drains the session: returns the datagrams, records the events.
    fn drain(&mut self) -> Vec<Vec<u8>> {
        let mut sent = Vec::new();
        loop {
            match self.session.poll_output() {
                Output::Transmit(packet) => sent.push(packet),
                Output::Event(Event::Secure(info)) => self.secure = Some(info),
                Output::Event(Event::Failed(e)) => self.failed = Some(e),
                Output::Event(Event::HelloHashMismatch { expected, received }) => {
                    self.mismatches.push((expected, received))
                }
                Output::Event(other) => panic!("unexpected event {other:?}"),
                Output::Timeout(deadline) => {
                    self.deadline = deadline;
                    return sent;
                }
            }
        }
    }

    fn receive(&mut self, now: Instant, packet: &[u8]) {
        if let Err(e) = self.session.handle_input(Input::Receive { now, packet }) {
            self.refused.push(e);
        }
    }

    fn done(&self) -> bool {
        self.secure.is_some() || self.failed.is_some()
    }
}

fn start() -> Instant {
    // Virtual time starts at an arbitrary instant and only moves by jumps.
    #[allow(clippy::disallowed_methods)]
    Instant::now()
}

/// Runs A and B over a perfect, instant link in virtual time until both are done or `limit`
/// passes. Datagrams A sends go to B only when `a_reaches_b` (an endpoint may be talking to an
/// attacker who keeps what it hears to itself).
fn run(a: &mut Endpoint, b: &mut Endpoint, now: &mut Instant, limit: Duration, a_reaches_b: bool) {
    let end = *now + limit;
    let mut to_a: VecDeque<Vec<u8>> = VecDeque::new();
    let mut to_b: VecDeque<Vec<u8>> = VecDeque::new();
    while !(a.done() && b.done()) && *now < end {
        let from_a = a.drain();
        if a_reaches_b {
            to_b.extend(from_a);
        }
        to_a.extend(b.drain());
        if to_a.is_empty() && to_b.is_empty() {
            let Some(next) = [a.deadline, b.deadline].into_iter().flatten().min() else {
                return;
            };
            *now = (*now).max(next);
            for ep in [&mut *a, &mut *b] {
                if ep.deadline.is_some_and(|d| d <= *now) {
                    ep.session
                        .handle_input(Input::Timeout(*now))
                        .expect("timeouts are accepted");
                }
            }
            continue;
        }
        while let Some(p) = to_b.pop_front() {
            b.receive(*now, &p);
        }
        while let Some(p) = to_a.pop_front() {
            a.receive(*now, &p);
        }
    }
}

/// The Hello message (no packet header, no CRC) of a datagram, if it carries one.
fn hello_message(datagram: &[u8]) -> Option<Vec<u8>> {
    let packet = wire::parse_packet(datagram).ok()?;
    matches!(packet.message, Message::Hello(_)).then(|| packet.raw.to_vec())
}

fn config(peer_hello_hash: Option<HelloHash>) -> SessionConfig {
    SessionConfig {
        peer_hello_hash,
        ..SessionConfig::default()
    }
}

fn assert_agreed(a: &Endpoint, b: &Endpoint) {
    let (Some(sa), Some(sb)) = (&a.secure, &b.secure) else {
        panic!(
            "not both secure: A {:?} refused {:?}, B {:?} refused {:?}",
            a.failed, a.refused, b.failed, b.refused
        );
    };
    assert_eq!(sa.sas, sb.sas);
    assert_eq!(sa.srtp.local_key, sb.srtp.remote_key);
    assert_eq!(sa.peer_zid, b.session.zid());
    assert_eq!(sb.peer_zid, a.session.zid());
}

/// The offer/answer flow: the answerer knows the offerer's hash from the start, the offerer
/// learns the answerer's from the answer, after the session began.
#[test]
fn matching_hashes_from_the_signaling_let_the_handshake_complete() {
    let mut now = start();
    let mut offerer = Endpoint::new(config(None), 1, now);
    let offer_hash = offerer.session.hello_hash();
    let mut answerer = Endpoint::new(config(Some(offer_hash)), 2, now);
    offerer
        .session
        .set_peer_hello_hash(answerer.session.hello_hash());

    // What goes on the wire hashes to what the signaling carries.
    let first = offerer.drain();
    let hello = hello_message(&first[0]).expect("a Hello first");
    assert_eq!(HelloHash::of_message(&hello), offer_hash);
    for packet in &first {
        answerer.receive(now, packet);
    }

    run(
        &mut offerer,
        &mut answerer,
        &mut now,
        Duration::from_secs(30),
        true,
    );
    assert_agreed(&offerer, &answerer);
    assert!(offerer.mismatches.is_empty() && answerer.mismatches.is_empty());
}

#[test]
fn the_hello_hash_is_stable_across_hello_retransmissions() {
    let mut now = start();
    let mut alone = Endpoint::new(config(None), 3, now);
    let hash = alone.session.hello_hash();
    let mut hellos = Vec::new();
    let mut sequences = Vec::new();
    for _ in 0..6 {
        for packet in alone.drain() {
            let parsed = wire::parse_packet(&packet).expect("our own packet");
            sequences.push(parsed.header.sequence);
            hellos.push(hello_message(&packet).expect("only Hellos while nobody answers"));
        }
        now = alone.deadline.expect("Hello retransmission timer");
        alone
            .session
            .handle_input(Input::Timeout(now))
            .expect("timeout");
    }
    assert!(hellos.len() >= 6, "{} Hellos", hellos.len());
    // Each packet is new (fresh sequence number), the message and so its hash are not.
    sequences.dedup();
    assert_eq!(sequences.len(), hellos.len());
    for hello in &hellos {
        assert_eq!(HelloHash::of_message(hello), hash);
    }
    assert_eq!(alone.session.hello_hash(), hash);
    assert_eq!(
        hash.to_string(),
        format!("1.10 {}", hex(hash.as_bytes())),
        "the a=zrtp-hash value, as bzrtp renders it"
    );
}

/// A man in the middle on the media path races the genuine peer with a Hello of its own: it is
/// refused, reported once, answered with nothing, and the genuine peer then gets through.
#[test]
fn a_hello_the_signaling_does_not_vouch_for_is_refused_and_reported() {
    let mut now = start();
    let mut bob = Endpoint::new(config(None), 5, now);
    let mut alice = Endpoint::new(config(Some(bob.session.hello_hash())), 4, now);
    let mut mallory = Endpoint::new(config(None), 6, now);
    let forged = mallory.drain();
    let mallory_hash = mallory.session.hello_hash();

    let _ = alice.drain();
    for _ in 0..3 {
        // The first Hello and two retransmissions of it.
        for packet in &forged {
            alice.receive(now, packet);
        }
        assert!(
            alice.drain().is_empty(),
            "a refused Hello gets no HelloACK, Commit or Error"
        );
    }
    assert_eq!(
        alice.mismatches,
        vec![(bob.session.hello_hash(), mallory_hash)],
        "reported once, naming both hashes"
    );
    assert_eq!(alice.refused.len(), 3);
    assert!(alice
        .refused
        .iter()
        .all(|e| matches!(e, Error::HelloRefused(why) if why.contains("zrtp-hash"))));
    assert_eq!(alice.session.state_name(), "discovery");
    assert!(!alice.session.is_secure() && !alice.session.is_failed());

    // Nothing was latched: the genuine peer completes the handshake.
    run(
        &mut alice,
        &mut bob,
        &mut now,
        Duration::from_secs(30),
        true,
    );
    assert_agreed(&alice, &bob);
    assert_eq!(alice.mismatches.len(), 1);
}

/// When only the man in the middle answers, the session never goes secure, and once its Hello
/// retransmissions run out it ends with the mismatch as its reason.
#[test]
fn with_only_a_mismatching_peer_the_session_fails_with_the_reason() {
    let mut now = start();
    let expected = HelloHash([0x5a; 32]);
    let mut alice = Endpoint::new(config(Some(expected)), 7, now);
    let mut mallory = Endpoint::new(config(None), 8, now);
    // Mallory hears nothing from Alice (her Hello goes astray) but keeps sending its own.
    run(
        &mut alice,
        &mut mallory,
        &mut now,
        Duration::from_secs(60),
        false,
    );
    assert!(alice.secure.is_none());
    let failed = alice.failed.as_ref().expect("alice gave up");
    assert!(
        matches!(failed, Error::HelloRefused(why) if why.contains("man in the middle")),
        "{failed}"
    );
    assert_eq!(
        alice.mismatches,
        vec![(expected, mallory.session.hello_hash())]
    );
}

/// The answer (and with it the peer's hash) can arrive after a Hello was accepted. Still in
/// discovery, the wrong peer is dropped and the genuine one gets through.
#[test]
fn a_hash_that_arrives_late_drops_a_wrong_peer_still_in_discovery() {
    let mut now = start();
    let responder = SessionConfig {
        role: RolePolicy::Responder,
        ..SessionConfig::default()
    };
    let mut alice = Endpoint::new(responder, 9, now);
    let mut bob = Endpoint::new(config(None), 10, now);
    let mut mallory = Endpoint::new(config(None), 11, now);
    let _ = alice.drain();
    for packet in mallory.drain() {
        alice.receive(now, &packet);
    }
    assert!(
        alice.refused.is_empty(),
        "accepted before the hash was known"
    );

    alice.session.set_peer_hello_hash(bob.session.hello_hash());
    let _ = alice.drain();
    assert_eq!(
        alice.mismatches,
        vec![(bob.session.hello_hash(), mallory.session.hello_hash())]
    );
    assert!(alice.failed.is_none());
    run(
        &mut alice,
        &mut bob,
        &mut now,
        Duration::from_secs(30),
        true,
    );
    assert_agreed(&alice, &bob);
}

/// Past discovery with the wrong peer, keys may already have been derived with it: a hash that
/// arrives then ends the session, secure or not.
#[test]
fn a_hash_that_arrives_after_keying_with_the_wrong_peer_fails_the_session() {
    let mut now = start();
    let mut alice = Endpoint::new(config(None), 12, now);
    let mut mallory = Endpoint::new(config(None), 13, now);
    run(
        &mut alice,
        &mut mallory,
        &mut now,
        Duration::from_secs(30),
        true,
    );
    assert_agreed(&alice, &mallory);

    let bob_hash = HelloHash([0x42; 32]);
    alice.session.set_peer_hello_hash(bob_hash);
    let _ = alice.drain();
    assert_eq!(
        alice.mismatches,
        vec![(bob_hash, mallory.session.hello_hash())]
    );
    assert!(alice.session.is_failed());
    assert!(matches!(alice.failed, Some(Error::HelloRefused(_))));

    // The same hash, right this time, changes nothing on a good session.
    let mut carol = Endpoint::new(config(None), 14, now);
    let mut dave = Endpoint::new(config(None), 15, now);
    run(
        &mut carol,
        &mut dave,
        &mut now,
        Duration::from_secs(30),
        true,
    );
    carol.session.set_peer_hello_hash(dave.session.hello_hash());
    let _ = carol.drain();
    assert!(carol.mismatches.is_empty() && carol.session.is_secure());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
