//! Drives two ICE agents toward each other over an in-memory network while the fuzzer drops,
//! replays (from other addresses), bit-flips and forges datagrams and moves time. No input may
//! panic; a refused datagram must change nothing; state stays within its caps; events come in
//! a sane order (Connected first and once, nothing after ConsentLost or Failed).
#![no_main]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sotto_net::{Agent, AgentConfig, Candidate, Event, IceCredentials, Input, Output};

const MAX_REMOTE: usize = 8;
const MAX_PAIRS: usize = 12;

struct Datagram {
    from: SocketAddr,
    to: SocketAddr,
    bytes: Vec<u8>,
}

struct Side {
    agent: Agent,
    addr: SocketAddr,
    events: Vec<Event>,
}

impl Side {
    fn drain(&mut self, wire: &mut VecDeque<Datagram>) {
        loop {
            match self.agent.poll_output() {
                Output::Transmit { from, to, bytes } => {
                    assert_eq!(from, self.addr, "sent from a foreign address");
                    assert!(sotto_net::is_stun(&bytes));
                    if wire.len() < 256 {
                        wire.push_back(Datagram { from, to, bytes });
                    }
                }
                Output::Event(e) => {
                    let closed = self
                        .events
                        .iter()
                        .any(|e| matches!(e, Event::ConsentLost | Event::Failed { .. }));
                    assert!(!closed, "event after the end: {e:?}");
                    match e {
                        Event::Connected { .. } => assert!(self.events.is_empty()),
                        Event::PathChanged { .. } => assert!(!self.events.is_empty()),
                        _ => {}
                    }
                    self.events.push(e);
                }
                Output::Timeout(_) => break,
            }
        }
        assert!(self.agent.remote_candidates().len() <= MAX_REMOTE);
        assert!(self.agent.pair_count() <= MAX_PAIRS);
    }

    /// Feeds a datagram that may be refused; a refusal must change nothing visible.
    fn receive(&mut self, now: Instant, d: &Datagram, wire: &mut VecDeque<Datagram>) {
        // Let due timers fire first so any event below can only come from this datagram.
        let _ = self.agent.handle_input(Input::Timeout(now));
        self.drain(wire);
        let before = (
            self.agent.selected(),
            self.agent.remote_candidates().len(),
            self.agent.is_controlling(),
            self.events.len(),
        );
        let input = Input::Receive {
            now,
            from: d.from,
            to: Some(d.to),
            packet: &d.bytes,
        };
        let refused = self.agent.handle_input(input).is_err();
        self.drain(wire);
        if refused {
            let after = (
                self.agent.selected(),
                self.agent.remote_candidates().len(),
                self.agent.is_controlling(),
                self.events.len(),
            );
            assert_eq!(before, after, "a refused datagram changed the agent");
        }
    }
}

fn side(
    me: &IceCredentials,
    peer: &IceCredentials,
    addr: &str,
    peer_addr: &str,
    controlling: bool,
    rng: &mut ChaCha20Rng,
    now: Instant,
) -> Side {
    let addr: SocketAddr = addr.parse().expect("addr");
    let mut cfg = AgentConfig::new(me.clone(), peer.clone(), controlling);
    cfg.local_candidates = vec![Candidate::host(addr, 65535)];
    cfg.remote_candidates = vec![Candidate::host(peer_addr.parse().expect("addr"), 65535)];
    cfg.max_remote_candidates = MAX_REMOTE;
    cfg.max_pairs = MAX_PAIRS;
    let agent = Agent::new(cfg, rng, now).expect("agent");
    Side {
        agent,
        addr,
        events: Vec::new(),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let (ca, cb) = (
        IceCredentials::generate(&mut rng),
        IceCredentials::generate(&mut rng),
    );
    let start = Instant::now();
    let mut now = start;
    let controlling_b = data.first().is_some_and(|b| b & 1 == 1);
    let mut sides = [
        side(
            &ca,
            &cb,
            "192.0.2.1:5004",
            "192.0.2.2:5004",
            true,
            &mut rng,
            now,
        ),
        side(
            &cb,
            &ca,
            "192.0.2.2:5004",
            "192.0.2.1:5004",
            controlling_b,
            &mut rng,
            now,
        ),
    ];
    let mut wire = VecDeque::new();
    for s in &mut sides {
        s.drain(&mut wire);
    }
    let mut ops = data.iter().copied().skip(1);
    while let Some(op) = ops.next() {
        let arg = ops.next().unwrap_or(0);
        match op % 6 {
            // Advance time (up to ~8 s) and fire timers.
            0 => {
                now += Duration::from_millis(u64::from(arg) * 32);
                for s in &mut sides {
                    let _ = s.agent.handle_input(Input::Timeout(now));
                    s.drain(&mut wire);
                }
            }
            // Drop the next datagram.
            1 => {
                wire.pop_front();
            }
            // Flip bits of the next datagram, then deliver it.
            2 => {
                if let Some(mut d) = wire.pop_front() {
                    if !d.bytes.is_empty() {
                        let i = usize::from(ops.next().unwrap_or(0)) % d.bytes.len();
                        d.bytes[i] ^= arg | 1;
                    }
                    let to = usize::from(d.to == sides[1].addr);
                    sides[to].receive(now, &d, &mut wire);
                }
            }
            // Replay the next datagram from another address (a NAT rebinding, or an attacker).
            3 => {
                if let Some(d) = wire.front() {
                    let from = SocketAddr::from(([198, 51, 100, arg], 1000 + u16::from(arg)));
                    let d = Datagram {
                        from,
                        to: d.to,
                        bytes: d.bytes.clone(),
                    };
                    let to = usize::from(d.to == sides[1].addr);
                    sides[to].receive(now, &d, &mut wire);
                }
            }
            // Forge a datagram from the remaining fuzz bytes.
            4 => {
                let len = usize::from(arg);
                let bytes: Vec<u8> = ops.by_ref().take(len).collect();
                let d = Datagram {
                    from: "192.0.2.2:5004".parse().expect("addr"),
                    to: sides[0].addr,
                    bytes,
                };
                sides[0].receive(now, &d, &mut wire);
            }
            // Deliver the next datagram as sent.
            _ => {
                if let Some(d) = wire.pop_front() {
                    let to = usize::from(d.to == sides[1].addr);
                    sides[to].receive(now, &d, &mut wire);
                }
            }
        }
    }
    // With the fuzzing over, an honest network connects both (unless one already ended).
    for _ in 0..2000 {
        while let Some(d) = wire.pop_front() {
            let to = usize::from(d.to == sides[1].addr);
            sides[to].receive(now, &d, &mut wire);
        }
        if sides
            .iter()
            .all(|s| s.agent.selected().is_some() || s.agent.is_closed())
        {
            break;
        }
        now += Duration::from_millis(10);
        for s in &mut sides {
            let _ = s.agent.handle_input(Input::Timeout(now));
            s.drain(&mut wire);
        }
    }
    if sides.iter().all(|s| !s.agent.is_closed()) {
        let (a, b) = (sides[0].agent.selected(), sides[1].agent.selected());
        assert!(
            a.is_some() && b.is_some(),
            "an honest network did not connect"
        );
        let (a, b) = (a.expect("a"), b.expect("b"));
        assert_eq!((a.0, a.1), (b.1, b.0), "the two ends chose different pairs");
    }
});
