//! Two sotto-zrtp endpoints driven in virtual time over a seeded simulated network: each step
//! jumps to the next deadline or delivery, so tests never sleep.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sotto_netsim::{Datagram, LinkConfig, Network};
use sotto_zrtp::cache::{MemoryCache, ZidCache};
use sotto_zrtp::{Error, Event, Input, Output, SecureInfo, Session, SessionConfig};

pub const ADDR_A: &str = "10.0.0.1:5004";
pub const ADDR_B: &str = "10.0.0.2:5004";

pub struct Endpoint {
    pub session: Session,
    pub addr: SocketAddr,
    pub deadline: Option<Instant>,
    pub secure: Option<Box<SecureInfo>>,
    pub failed: Option<Error>,
    /// Inputs the session refused (dropped packets).
    pub rejected: Vec<Error>,
    /// Every datagram this endpoint sent, in order.
    pub sent: Vec<Vec<u8>>,
}

impl Endpoint {
    pub fn new(
        cfg: SessionConfig,
        cache: Arc<dyn ZidCache>,
        seed: u64,
        addr: &str,
        now: Instant,
    ) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let session = Session::new(cfg, cache, &mut rng, now).expect("session starts");
        Endpoint {
            session,
            addr: addr.parse().expect("address"),
            deadline: None,
            secure: None,
            failed: None,
            rejected: Vec::new(),
            sent: Vec::new(),
        }
    }

    /// Drains outputs into the network and records events.
    pub fn drain(&mut self, net: &mut Network, to: SocketAddr, now: Instant) {
        loop {
            match self.session.poll_output() {
                Output::Transmit(bytes) => {
                    self.sent.push(bytes.clone());
                    net.send(
                        now,
                        Datagram {
                            from: self.addr,
                            to,
                            payload: bytes,
                        },
                    );
                }
                Output::Event(Event::Secure(info)) => self.secure = Some(info),
                Output::Event(Event::Failed(e)) => self.failed = Some(e),
                Output::Event(other) => panic!("unexpected event {other:?}"),
                Output::Timeout(deadline) => {
                    self.deadline = deadline;
                    return;
                }
            }
        }
    }

    pub fn receive(&mut self, now: Instant, packet: &[u8]) {
        if let Err(e) = self.session.handle_input(Input::Receive { now, packet }) {
            self.rejected.push(e);
        }
    }

    pub fn done(&self) -> bool {
        self.secure.is_some() || self.failed.is_some()
    }
}

pub fn memory_cache() -> Arc<dyn ZidCache> {
    Arc::new(MemoryCache::new())
}

/// Packets to inject around one delivery: `before` reach the receiver ahead of the genuine
/// datagram, `after` right behind it.
#[derive(Default)]
pub struct Injection {
    pub before: Vec<Vec<u8>>,
    pub after: Vec<Vec<u8>>,
}

/// Called with (receiver is B, genuine datagram) for every delivery.
pub type Tamper = Box<dyn FnMut(bool, &[u8]) -> Injection>;

pub struct Pair {
    pub a: Endpoint,
    pub b: Endpoint,
    pub net: Network,
    pub start: Instant,
    pub now: Instant,
    pub tamper: Option<Tamper>,
}

impl Pair {
    /// A (seed `seed`) and B (seed `seed + 1`) start at the same virtual instant.
    pub fn new(
        cfg_a: SessionConfig,
        cache_a: Arc<dyn ZidCache>,
        cfg_b: SessionConfig,
        cache_b: Arc<dyn ZidCache>,
        seed: u64,
        link: LinkConfig,
    ) -> Self {
        // Virtual time starts at an arbitrary real instant and only moves by jumps.
        #[allow(clippy::disallowed_methods)]
        let start = Instant::now();
        let mut pair = Pair {
            a: Endpoint::new(cfg_a, cache_a, seed, ADDR_A, start),
            b: Endpoint::new(cfg_b, cache_b, seed.wrapping_add(1), ADDR_B, start),
            net: Network::new(seed, link).expect("valid link"),
            start,
            now: start,
            tamper: None,
        };
        pair.drain();
        pair
    }

    pub fn drain(&mut self) {
        let (a_addr, b_addr) = (self.a.addr, self.b.addr);
        self.a.drain(&mut self.net, b_addr, self.now);
        self.b.drain(&mut self.net, a_addr, self.now);
    }

    /// Advances to the next delivery or deadline and processes it. False when nothing is left.
    pub fn step(&mut self) -> bool {
        let next = [self.net.next_delivery(), self.a.deadline, self.b.deadline]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = next else { return false };
        self.now = self.now.max(next);
        while let Some(d) = self.net.poll_deliver(self.now) {
            let to_b = d.to == self.b.addr;
            let injection = match &mut self.tamper {
                Some(tamper) => tamper(to_b, &d.payload),
                None => Injection::default(),
            };
            let receiver = if to_b { &mut self.b } else { &mut self.a };
            for forged in &injection.before {
                receiver.receive(self.now, forged);
            }
            receiver.receive(self.now, &d.payload);
            for forged in &injection.after {
                receiver.receive(self.now, forged);
            }
            self.drain();
        }
        for ep in [&mut self.a, &mut self.b] {
            if ep.deadline.is_some_and(|d| d <= self.now) {
                ep.session
                    .handle_input(Input::Timeout(self.now))
                    .expect("timeouts are accepted");
            }
        }
        self.drain();
        true
    }

    /// Runs until both ends are secure or failed, or `limit` of virtual time has passed.
    pub fn run(&mut self, limit: Duration) {
        while !(self.a.done() && self.b.done()) && self.now - self.start < limit {
            if !self.step() {
                break;
            }
        }
        // Let the last Conf2ACK or retransmission land.
        let settle = self.now + Duration::from_secs(2);
        while self.now < settle && self.step() {}
    }

    fn why(&self, ep: &Endpoint) -> String {
        format!(
            "{:?} in state {}, rejected {:?}, after {:?}",
            ep.failed,
            ep.session.state_name(),
            ep.rejected,
            self.elapsed()
        )
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Both ends secure with mirrored keys and the same SAS; returns (A, B).
    pub fn assert_agreed(&self) -> (&SecureInfo, &SecureInfo) {
        let a = self
            .a
            .secure
            .as_deref()
            .unwrap_or_else(|| panic!("A not secure: {}", self.why(&self.a)));
        let b = self
            .b
            .secure
            .as_deref()
            .unwrap_or_else(|| panic!("B not secure: {}", self.why(&self.b)));
        assert_ne!(a.role, b.role, "one initiator, one responder");
        assert_eq!(a.algorithms, b.algorithms);
        assert_eq!(a.sas, b.sas, "same SAS on both ends");
        assert_eq!(a.srtp.local_key, b.srtp.remote_key);
        assert_eq!(a.srtp.local_salt, b.srtp.remote_salt);
        assert_eq!(a.srtp.remote_key, b.srtp.local_key);
        assert_eq!(a.srtp.remote_salt, b.srtp.local_salt);
        assert_ne!(
            a.srtp.local_key, a.srtp.remote_key,
            "each direction has its own key"
        );
        assert_eq!(a.exported_key, b.exported_key);
        (a, b)
    }
}
