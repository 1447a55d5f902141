//! A tiny virtual-time internet for sotto-net tests: peers (each a Gatherer then an Agent),
//! NATs in front of them, a STUN server, and datagrams that take a fixed delay. Every step
//! jumps to the next delivery or timer, so tests never sleep.
//!
//! The NATs map endpoint-independently (one public port per inside address and port, whatever
//! the destination) and filter address-and-port-dependently: a datagram from outside is let in
//! only from an address and port the inside host has sent to. That is a port-restricted cone
//! NAT, which is how Linux MASQUERADE (conntrack) behaves.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sotto_net::{
    Agent, AgentConfig, Candidate, Error, Event, GatherEvent, Gatherer, GathererConfig,
    IceCredentials, Input, Output,
};
use stun_rs::attributes::stun::XorMappedAddress;
use stun_rs::methods::BINDING;
use stun_rs::{MessageClass, MessageDecoderBuilder, MessageEncoderBuilder, StunMessageBuilder};

pub fn addr(s: &str) -> SocketAddr {
    s.parse().expect("literal address")
}

/// How a NAT decides what may come in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filtering {
    /// Only from an address and port the inside host sent to (port-restricted cone).
    AddressAndPort,
    /// Endpoint-independent filtering: anything to a mapped port gets in (full cone).
    None,
}

#[derive(Debug)]
pub struct Nat {
    pub public_ip: IpAddr,
    pub inside: Vec<IpAddr>,
    pub filtering: Filtering,
    /// A NAT that is down drops everything (an uplink that went away).
    pub down: bool,
    map: HashMap<SocketAddr, u16>,
    rev: HashMap<u16, SocketAddr>,
    sent_to: HashSet<(SocketAddr, SocketAddr)>,
    next_port: u16,
}

impl Nat {
    pub fn new(public_ip: &str, inside: &[&str]) -> Nat {
        Nat {
            public_ip: public_ip.parse().expect("ip"),
            inside: inside.iter().map(|i| i.parse().expect("ip")).collect(),
            filtering: Filtering::AddressAndPort,
            down: false,
            map: HashMap::new(),
            rev: HashMap::new(),
            sent_to: HashSet::new(),
            next_port: 40000,
        }
    }

    /// The public address `inside` is mapped to, if it has sent anything out yet.
    pub fn mapping(&self, inside: SocketAddr) -> Option<SocketAddr> {
        self.map
            .get(&inside)
            .map(|&p| SocketAddr::new(self.public_ip, p))
    }

    fn outbound(&mut self, from: SocketAddr, to: SocketAddr) -> SocketAddr {
        let port = match self.map.get(&from) {
            Some(&p) => p,
            None => {
                let p = self.next_port;
                self.next_port += 1;
                self.map.insert(from, p);
                self.rev.insert(p, from);
                p
            }
        };
        self.sent_to.insert((from, to));
        SocketAddr::new(self.public_ip, port)
    }

    fn inbound(&self, from: SocketAddr, port: u16) -> Option<SocketAddr> {
        let inside = *self.rev.get(&port)?;
        let allowed = match self.filtering {
            Filtering::AddressAndPort => self.sent_to.contains(&(inside, from)),
            Filtering::None => true,
        };
        allowed.then_some(inside)
    }
}

pub struct Peer {
    pub name: &'static str,
    pub hosts: Vec<SocketAddr>,
    pub creds: IceCredentials,
    pub gatherer: Option<Gatherer>,
    pub agent: Option<Agent>,
    pub gather_timer: Option<Instant>,
    pub agent_timer: Option<Instant>,
    pub gather_events: Vec<(Instant, GatherEvent)>,
    pub events: Vec<(Instant, Event)>,
    /// Datagrams the agent refused, with why.
    pub refused: Vec<Error>,
    /// Non-STUN datagrams received: (when, from, payload).
    pub data: Vec<(Instant, SocketAddr, Vec<u8>)>,
    /// Every STUN datagram this peer sent: (when, from, to, bytes).
    pub sent: Vec<(Instant, SocketAddr, SocketAddr, Vec<u8>)>,
    /// A vanished peer receives and sends nothing.
    pub vanished: bool,
}

impl Peer {
    pub fn connected(&self) -> Option<(SocketAddr, SocketAddr)> {
        self.events.iter().find_map(|(_, e)| match e {
            Event::Connected { local, remote } => Some((*local, *remote)),
            _ => None,
        })
    }

    pub fn connected_at(&self) -> Option<Instant> {
        self.events
            .iter()
            .find(|(_, e)| matches!(e, Event::Connected { .. }))
            .map(|(t, _)| *t)
    }

    pub fn gathered(&self) -> Vec<Candidate> {
        self.gather_events
            .iter()
            .filter_map(|(_, e)| match e {
                GatherEvent::Candidate(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn gathering_done(&self) -> bool {
        self.gather_events
            .iter()
            .any(|(_, e)| matches!(e, GatherEvent::GatheringDone { .. }))
    }
}

struct InFlight {
    at: Instant,
    seq: u64,
    from: SocketAddr,
    to: SocketAddr,
    bytes: Vec<u8>,
}

pub struct World {
    pub start: Instant,
    pub now: Instant,
    pub delay: Duration,
    pub nats: Vec<Nat>,
    pub peers: Vec<Peer>,
    pub stun_server: Option<SocketAddr>,
    /// The STUN server is switched off (or firewalled): it answers nothing.
    pub stun_server_silent: bool,
    pub stun_requests_seen: usize,
    /// Datagrams delivered to addresses no peer or server owns (an attacker's mailbox).
    pub mailbox: Vec<(SocketAddr, SocketAddr, Vec<u8>)>,
    pub rng: ChaCha20Rng,
    queue: Vec<InFlight>,
    seq: u64,
}

impl World {
    pub fn new(seed: u64) -> World {
        // Virtual time starts at an arbitrary instant and only moves by jumps.
        #[allow(clippy::disallowed_methods)]
        let start = Instant::now();
        World {
            start,
            now: start,
            delay: Duration::from_millis(20),
            nats: Vec::new(),
            peers: Vec::new(),
            stun_server: None,
            stun_server_silent: false,
            stun_requests_seen: 0,
            mailbox: Vec::new(),
            rng: ChaCha20Rng::seed_from_u64(seed),
            queue: Vec::new(),
            seq: 0,
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    pub fn add_peer(&mut self, name: &'static str, hosts: &[&str]) -> usize {
        self.peers.push(Peer {
            name,
            hosts: hosts.iter().map(|h| addr(h)).collect(),
            creds: IceCredentials::generate(&mut self.rng),
            gatherer: None,
            agent: None,
            gather_timer: None,
            agent_timer: None,
            gather_events: Vec::new(),
            events: Vec::new(),
            refused: Vec::new(),
            data: Vec::new(),
            sent: Vec::new(),
            vanished: false,
        });
        self.peers.len() - 1
    }

    pub fn start_gathering(&mut self, peer: usize) {
        let cfg = GathererConfig::new(
            self.peers[peer].hosts.clone(),
            self.stun_server.into_iter().collect(),
        );
        let g = Gatherer::new(cfg, &mut self.rng, self.now).expect("gatherer starts");
        self.peers[peer].gatherer = Some(g);
        self.drain(peer);
    }

    /// Offer/answer: each side's gathered candidates travel as SDP lines and are parsed back.
    pub fn start_agents(&mut self, a: usize, b: usize, tweak: impl Fn(&mut AgentConfig)) {
        for (me, other, controlling) in [(a, b, true), (b, a, false)] {
            let sdp: Vec<String> = self.peers[other]
                .gathered()
                .iter()
                .map(Candidate::to_sdp)
                .collect();
            let remote = sdp
                .iter()
                .map(|line| Candidate::parse_sdp(line).expect("own sdp parses"))
                .collect();
            let mut cfg = AgentConfig::new(
                self.peers[me].creds.clone(),
                self.peers[other].creds.clone(),
                controlling,
            );
            cfg.local_candidates = self.peers[me].gathered();
            cfg.remote_candidates = remote;
            tweak(&mut cfg);
            let agent = Agent::new(cfg, &mut self.rng, self.now).expect("agent starts");
            self.peers[me].agent = Some(agent);
            self.drain(me);
        }
    }

    /// Sends an application datagram over the peer's selected pair.
    pub fn send_data(&mut self, peer: usize, payload: &[u8]) {
        let (local, remote) = self.peers[peer]
            .agent
            .as_ref()
            .and_then(Agent::selected)
            .expect("connected");
        self.send(local, remote, payload.to_vec());
    }

    /// Puts a datagram on the wire as if `from` sent it (an attacker may spoof anything).
    pub fn send(&mut self, from: SocketAddr, to: SocketAddr, bytes: Vec<u8>) {
        let Some((from, to)) = self.route(from, to) else {
            return;
        };
        self.seq += 1;
        self.queue.push(InFlight {
            at: self.now + self.delay,
            seq: self.seq,
            from,
            to,
            bytes,
        });
    }

    fn nat_of(&self, ip: IpAddr) -> Option<usize> {
        self.nats.iter().position(|n| n.inside.contains(&ip))
    }

    /// Applies the NATs on the way out and the way in: where the datagram appears to come
    /// from, and which address it reaches, or `None` when some NAT drops it.
    fn route(&mut self, from: SocketAddr, to: SocketAddr) -> Option<(SocketAddr, SocketAddr)> {
        let src_nat = self.nat_of(from.ip());
        if let Some(n) = src_nat {
            if self.nats[n].inside.contains(&to.ip()) {
                return Some((from, to)); // same LAN
            }
        }
        let seen_from = match src_nat {
            Some(n) if self.nats[n].down => return None,
            Some(n) => self.nats[n].outbound(from, to),
            None => from,
        };
        if let Some(n) = self.nats.iter().position(|n| n.public_ip == to.ip()) {
            if self.nats[n].down {
                return None;
            }
            let inside = self.nats[n].inbound(seen_from, to.port())?;
            return Some((seen_from, inside));
        }
        // Private addresses behind another NAT are not routable from here.
        if self.nat_of(to.ip()).is_some() {
            return None;
        }
        Some((seen_from, to))
    }

    fn next_time(&self) -> Option<Instant> {
        let q = self.queue.iter().map(|d| d.at);
        let timers = self
            .peers
            .iter()
            .filter(|p| !p.vanished)
            .flat_map(|p| [p.gather_timer, p.agent_timer])
            .flatten();
        q.chain(timers).min()
    }

    /// Advances to the next delivery or timer and handles everything due. False when idle.
    pub fn step(&mut self) -> bool {
        let Some(next) = self.next_time() else {
            return false;
        };
        self.now = self.now.max(next);
        let now = self.now;
        self.queue.sort_by_key(|d| (d.at, d.seq));
        while self.queue.first().is_some_and(|d| d.at <= now) {
            let d = self.queue.remove(0);
            self.deliver(d);
        }
        for p in 0..self.peers.len() {
            if self.peers[p].vanished {
                continue;
            }
            if self.peers[p].gather_timer.is_some_and(|t| t <= now) {
                if let Some(g) = self.peers[p].gatherer.as_mut() {
                    g.handle_input(Input::Timeout(now)).expect("timeout");
                }
            }
            if self.peers[p].agent_timer.is_some_and(|t| t <= now) {
                if let Some(a) = self.peers[p].agent.as_mut() {
                    a.handle_input(Input::Timeout(now)).expect("timeout");
                }
            }
            self.drain(p);
        }
        true
    }

    /// Steps until `done` holds or `limit` of virtual time passes; returns whether it held.
    pub fn run_until(&mut self, limit: Duration, done: impl Fn(&World) -> bool) -> bool {
        let end = self.now + limit;
        while !done(self) {
            if self.next_time().is_none_or(|t| t > end) {
                self.now = self.now.max(end);
                return done(self);
            }
            self.step();
        }
        true
    }

    pub fn run_for(&mut self, d: Duration) {
        self.run_until(d, |_| false);
    }

    fn deliver(&mut self, d: InFlight) {
        if Some(d.to) == self.stun_server {
            if !self.stun_server_silent {
                self.stun_requests_seen += 1;
                if let Some(resp) = stun_server_answer(&d.bytes, d.from) {
                    let server = d.to;
                    self.send(server, d.from, resp);
                }
            }
            return;
        }
        let Some(p) = self.peers.iter().position(|p| p.hosts.contains(&d.to)) else {
            self.mailbox.push((d.from, d.to, d.bytes));
            return;
        };
        let peer = &mut self.peers[p];
        if peer.vanished {
            return;
        }
        if !sotto_net::is_stun(&d.bytes) {
            peer.data.push((self.now, d.from, d.bytes));
            return;
        }
        let input = Input::Receive {
            now: self.now,
            from: d.from,
            to: Some(d.to),
            packet: &d.bytes,
        };
        let gathered = match peer.gatherer.as_mut() {
            Some(g) if !g.is_done() => g.handle_input(input).is_ok(),
            _ => false,
        };
        if !gathered {
            if let Some(a) = peer.agent.as_mut() {
                if let Err(e) = a.handle_input(input) {
                    peer.refused.push(e);
                }
            }
        }
        self.drain(p);
    }

    /// Drains both state machines of a peer, sending what they transmit.
    pub fn drain(&mut self, p: usize) {
        let now = self.now;
        let mut out = Vec::new();
        let peer = &mut self.peers[p];
        if let Some(g) = peer.gatherer.as_mut() {
            loop {
                match g.poll_output() {
                    Output::Transmit { from, to, bytes } => out.push((from, to, bytes)),
                    Output::Event(e) => peer.gather_events.push((now, e)),
                    Output::Timeout(t) => {
                        peer.gather_timer = t;
                        break;
                    }
                }
            }
        }
        if let Some(a) = peer.agent.as_mut() {
            loop {
                match a.poll_output() {
                    Output::Transmit { from, to, bytes } => out.push((from, to, bytes)),
                    Output::Event(e) => peer.events.push((now, e)),
                    Output::Timeout(t) => {
                        peer.agent_timer = t;
                        break;
                    }
                }
            }
        }
        for (from, to, bytes) in out {
            assert!(
                self.peers[p].hosts.contains(&from),
                "sent from a foreign address"
            );
            self.peers[p].sent.push((now, from, to, bytes.clone()));
            self.send(from, to, bytes);
        }
    }
}

/// A minimal RFC 8489 server: a Binding success response with the source as it saw it.
fn stun_server_answer(request: &[u8], from: SocketAddr) -> Option<Vec<u8>> {
    let (msg, _) = MessageDecoderBuilder::default()
        .build()
        .decode(request)
        .ok()?;
    if msg.method() != BINDING || msg.class() != MessageClass::Request {
        return None;
    }
    let resp = StunMessageBuilder::new(BINDING, MessageClass::SuccessResponse)
        .with_transaction_id(*msg.transaction_id())
        .with_attribute(XorMappedAddress::from(from))
        .build();
    let mut buf = [0u8; 128];
    let n = MessageEncoderBuilder::default()
        .build()
        .encode(&mut buf, &resp)
        .ok()?;
    Some(buf[..n].to_vec())
}

/// The common setup: two peers, each behind its own port-restricted NAT, a public STUN server.
pub fn two_peers_behind_nats(seed: u64) -> World {
    let mut w = World::new(seed);
    w.stun_server = Some(addr("198.51.100.1:3478"));
    w.nats.push(Nat::new("203.0.113.10", &["10.0.0.2"]));
    w.nats.push(Nat::new("203.0.113.20", &["192.168.1.5"]));
    w.add_peer("alice", &["10.0.0.2:5004"]);
    w.add_peer("bob", &["192.168.1.5:6000"]);
    w
}

/// Gathers on both peers, exchanges candidates and runs until both are connected.
pub fn connect(w: &mut World, tweak: impl Fn(&mut AgentConfig)) {
    w.start_gathering(0);
    w.start_gathering(1);
    assert!(w.run_until(Duration::from_secs(5), |w| w
        .peers
        .iter()
        .all(Peer::gathering_done)));
    w.start_agents(0, 1, tweak);
    assert!(
        w.run_until(Duration::from_secs(15), |w| w
            .peers
            .iter()
            .all(|p| p.connected().is_some())),
        "not connected: {:?} / {:?}",
        w.peers[0].events,
        w.peers[1].events
    );
}
