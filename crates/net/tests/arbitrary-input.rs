//! Arbitrary bytes, STUN-shaped garbage and bit-flipped genuine checks fed to `handle_input`
//! never panic, never produce an event and never change an agent's or gatherer's state.

#[path = "support/forge.rs"]
mod forge;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sotto_net::{
    Agent, AgentConfig, Candidate, Event, GatherEvent, Gatherer, GathererConfig, IceCredentials,
    Input, Output,
};

const ALICE: &str = "192.0.2.1:5004";
const BOB: &str = "192.0.2.2:5004";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("addr")
}

struct Setup {
    agent: Agent,
    gatherer: Gatherer,
    bob: IceCredentials,
    alice: IceCredentials,
    now: Instant,
}

fn setup() -> Setup {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let (alice, bob) = (
        IceCredentials::generate(&mut rng),
        IceCredentials::generate(&mut rng),
    );
    let mut cfg = AgentConfig::new(alice.clone(), bob.clone(), true);
    cfg.local_candidates = vec![Candidate::host(addr(ALICE), 65535)];
    cfg.remote_candidates = vec![Candidate::host(addr(BOB), 65535)];
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let mut agent = Agent::new(cfg, &mut rng, now).expect("agent");
    let gcfg = GathererConfig::new(vec![addr(ALICE)], vec![addr("198.51.100.1:3478")]);
    let mut gatherer = Gatherer::new(gcfg, &mut rng, now).expect("gatherer");
    drain(&mut agent, &mut gatherer);
    Setup {
        agent,
        gatherer,
        bob,
        alice,
        now,
    }
}

/// Drains both and returns the events they produced.
fn drain(agent: &mut Agent, gatherer: &mut Gatherer) -> (Vec<Event>, Vec<GatherEvent>) {
    let mut events = (Vec::new(), Vec::new());
    while let Output::Transmit { .. } | Output::Event(_) = match agent.poll_output() {
        Output::Event(e) => {
            events.0.push(e);
            Output::Timeout(None)
        }
        o => o,
    } {}
    loop {
        match gatherer.poll_output() {
            Output::Event(e) => events.1.push(e),
            Output::Transmit { .. } => {}
            Output::Timeout(_) => break,
        }
    }
    events
}

fn feed_and_check(s: &mut Setup, from: SocketAddr, packet: &[u8]) -> Result<(), TestCaseError> {
    let before = (
        s.agent.remote_candidates().len(),
        s.agent.pair_count(),
        s.agent.is_controlling(),
    );
    let gathered = s.gatherer.candidates().len();
    let input = Input::Receive {
        now: s.now + Duration::from_millis(10),
        from,
        to: Some(addr(ALICE)),
        packet,
    };
    let indication = packet.len() >= 20 && packet[..2] == [0x00, 0x11];
    // A Binding indication is a keepalive: it may be accepted, and it does nothing.
    let refused = s.agent.handle_input(input).is_err();
    prop_assert!(refused || indication);
    prop_assert!(s.gatherer.handle_input(input).is_err());
    let (events, gather_events) = drain(&mut s.agent, &mut s.gatherer);
    prop_assert!(events.is_empty(), "{:?}", events);
    prop_assert!(gather_events.is_empty(), "{:?}", gather_events);
    let after = (
        s.agent.remote_candidates().len(),
        s.agent.pair_count(),
        s.agent.is_controlling(),
    );
    prop_assert_eq!(before, after);
    prop_assert_eq!(s.gatherer.candidates().len(), gathered);
    prop_assert_eq!(s.agent.selected(), None);
    Ok(())
}

/// A STUN header (any Binding class, the cookie, a matching length) over arbitrary attributes.
fn stun_shaped() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(vec![0x0001u16, 0x0011, 0x0101, 0x0111]),
        any::<[u8; 12]>(),
        prop::collection::vec(any::<u8>(), 0..60),
    )
        .prop_map(|(ty, tid, mut body)| {
            body.truncate(body.len() / 4 * 4);
            let mut p = Vec::with_capacity(20 + body.len());
            p.extend_from_slice(&ty.to_be_bytes());
            p.extend_from_slice(&(body.len() as u16).to_be_bytes());
            p.extend_from_slice(&[0x21, 0x12, 0xa4, 0x42]);
            p.extend_from_slice(&tid);
            p.extend_from_slice(&body);
            p
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes(packet in prop::collection::vec(any::<u8>(), 0..300), port in 1u16..) {
        let mut s = setup();
        feed_and_check(&mut s, SocketAddr::new(addr(BOB).ip(), port), &packet)?;
    }

    #[test]
    fn stun_shaped_garbage(packet in stun_shaped()) {
        let mut s = setup();
        feed_and_check(&mut s, addr(BOB), &packet)?;
        feed_and_check(&mut s, addr("198.51.100.1:3478"), &packet)?;
    }

    #[test]
    fn bit_flipped_genuine_checks(at in any::<prop::sample::Index>(), bit in 0u8..8, use_candidate: bool) {
        let mut s = setup();
        let user = format!("{}:{}", s.alice.ufrag, s.bob.ufrag);
        let genuine = forge::Check {
            tid: [3; 12],
            username: Some(&user),
            pwd: Some(s.alice.pwd.expose_secret()),
            priority: Some(1_853_824_767),
            role: Some((false, 9)),
            use_candidate,
            fingerprint: true,
        }
        .encode();
        let mut flipped = genuine.clone();
        let i = at.index(flipped.len());
        flipped[i] ^= 1 << bit;
        feed_and_check(&mut s, addr("192.0.2.9:9"), &flipped)?;
        // The genuine check itself is accepted: the property above is not vacuous.
        let input = Input::Receive { now: s.now, from: addr("192.0.2.9:9"), to: None, packet: &genuine };
        prop_assert!(s.agent.handle_input(input).is_ok());
        prop_assert_eq!(s.agent.remote_candidates().len(), 2);
    }
}
