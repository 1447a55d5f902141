//! Candidate gathering: host candidates from the local addresses, server-reflexive candidates
//! from STUN Binding transactions (RFC 8489 section 6.2.1: RTO 500 ms doubling, Rc = 7,
//! Rm = 16), cut short by a deadline so a dead server delays a call by seconds, not the 39.5 s
//! RFC 8489 allows.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand_core::CryptoRngCore;

use crate::stun::{self, Class, Tid};
use crate::{Candidate, Error, Input, Output};

/// Most local addresses and STUN servers a [`Gatherer`] takes (keeps its state bounded).
const MAX_ADDRS: usize = 8;
const RTO: Duration = Duration::from_millis(500);
const RC: u32 = 7;
const RM: u32 = 16;

/// What to gather from.
#[derive(Clone, Debug)]
pub struct GathererConfig {
    /// Local interface addresses, most preferred first; each becomes a host candidate.
    pub host_addrs: Vec<SocketAddr>,
    /// STUN servers to ask (only those of a host address's family are asked from it).
    pub stun_servers: Vec<SocketAddr>,
    /// Gathering ends by this long after start, answered or not (default 3 s, at most 1 h).
    pub deadline: Duration,
}

impl GathererConfig {
    /// A 3 s deadline.
    pub fn new(host_addrs: Vec<SocketAddr>, stun_servers: Vec<SocketAddr>) -> GathererConfig {
        let deadline = Duration::from_secs(3);
        GathererConfig {
            host_addrs,
            stun_servers,
            deadline,
        }
    }
}

/// A STUN server that gave no server-reflexive candidate for one base.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatherFailure {
    /// The server.
    pub server: SocketAddr,
    /// The local address we asked from.
    pub base: SocketAddr,
    /// Why: [`Error::StunServerSilent`] or [`Error::StunServerError`]; its `Display` is meant
    /// for the user.
    pub reason: Error,
}

/// What a [`Gatherer`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GatherEvent {
    /// A new local candidate, to send to the peer (host ones come at once).
    Candidate(Candidate),
    /// Every server answered, failed or ran out of time; nothing follows.
    GatheringDone {
        /// One entry per server and base that produced no answer.
        failures: Vec<GatherFailure>,
    },
}

#[derive(Debug)]
struct ServerTx {
    server: SocketAddr,
    base: SocketAddr,
    local_preference: u16,
    tid: Tid,
    request: Vec<u8>,
    sent: u32,
    next_at: Instant,
    pending: bool,
}

/// RFC 8489: RTO doubles per try; after the last one, wait Rm times the initial RTO.
fn wait_after(sent: u32) -> Duration {
    match sent {
        RC.. => RTO * RM,
        _ => RTO * (1 << sent.saturating_sub(1)),
    }
}

/// Sans-IO candidate gathering.
///
/// Created with the local addresses, it emits their host candidates and sends one Binding
/// request per (host address, STUN server) of the same family. Only a response with the
/// request's transaction id, from that server's address, counts. After any input, drain
/// [`Gatherer::poll_output`] until it yields [`Output::Timeout`]. Feed it every STUN datagram
/// while gathering; those it does not own it refuses with [`Error::UnknownTransaction`].
#[derive(Debug)]
pub struct Gatherer {
    txs: Vec<ServerTx>,
    candidates: Vec<Candidate>,
    failures: Vec<GatherFailure>,
    out: VecDeque<Output<GatherEvent>>,
    started: Instant,
    deadline: Instant,
    done: bool,
}

impl Gatherer {
    /// Starts gathering at `now`; transaction ids come from `rng`.
    pub fn new(
        config: GathererConfig,
        rng: &mut impl CryptoRngCore,
        now: Instant,
    ) -> Result<Gatherer, Error> {
        let hosts = config.host_addrs.len();
        if hosts == 0 || hosts > MAX_ADDRS || config.stun_servers.len() > MAX_ADDRS {
            return Err(Error::InvalidConfig(
                "give 1..8 host addresses and 0..8 stun servers",
            ));
        }
        if config.deadline > Duration::from_secs(3600) {
            return Err(Error::InvalidConfig("gathering deadline above 1 h"));
        }
        let mut g = Gatherer {
            txs: Vec::new(),
            candidates: Vec::new(),
            failures: Vec::new(),
            out: VecDeque::new(),
            started: now,
            deadline: now + config.deadline,
            done: false,
        };
        for (i, &base) in config.host_addrs.iter().enumerate() {
            // At most 8 addresses: the index fits and the preferences stay distinct.
            let local_preference = 65535 - i as u16;
            g.add_candidate(Candidate::host(base, local_preference));
            for &server in &config.stun_servers {
                let mut tid = [0u8; 12];
                rng.fill_bytes(&mut tid);
                let request = stun::binding_request(tid);
                let Some(request) = request.filter(|_| server.is_ipv4() == base.is_ipv4()) else {
                    continue;
                };
                let bytes = request.clone();
                g.out.push_back(Output::Transmit {
                    from: base,
                    to: server,
                    bytes,
                });
                let next_at = now + wait_after(1);
                let pending = true;
                g.txs.push(ServerTx {
                    server,
                    base,
                    local_preference,
                    tid,
                    request,
                    sent: 1,
                    next_at,
                    pending,
                });
            }
        }
        g.finish_if_settled();
        Ok(g)
    }

    /// Candidates found so far (host first, then server-reflexive ones).
    pub fn candidates(&self) -> &[Candidate] {
        &self.candidates
    }

    /// True once [`GatherEvent::GatheringDone`] has been emitted.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Feeds a datagram or an expired deadline.
    pub fn handle_input(&mut self, input: Input<'_>) -> Result<(), Error> {
        let (now, result) = match input {
            Input::Timeout(now) => (now, Ok(())),
            Input::Receive {
                now,
                from,
                to,
                packet,
            } => (now, self.on_receive(from, to, packet)),
        };
        self.on_timeout(now);
        result
    }

    /// The next thing to do; see [`Output`].
    #[must_use]
    pub fn poll_output(&mut self) -> Output<GatherEvent> {
        if let Some(o) = self.out.pop_front() {
            return o;
        }
        let pending = self.txs.iter().filter(|t| t.pending).map(|t| t.next_at);
        Output::Timeout((!self.done).then(|| pending.fold(self.deadline, Instant::min)))
    }

    fn add_candidate(&mut self, c: Candidate) {
        self.candidates.push(c.clone());
        self.out.push_back(Output::Event(GatherEvent::Candidate(c)));
    }

    fn fail(&mut self, i: usize, reason: Error) {
        let tx = &mut self.txs[i];
        tx.pending = false;
        let (server, base) = (tx.server, tx.base);
        self.failures.push(GatherFailure {
            server,
            base,
            reason,
        });
    }

    fn on_receive(
        &mut self,
        from: SocketAddr,
        to: Option<SocketAddr>,
        packet: &[u8],
    ) -> Result<(), Error> {
        let (class, tid, _) = stun::peek(packet)?;
        let i = (self.txs.iter())
            .position(|t| t.tid == tid && t.pending && t.server == from)
            .filter(|&i| to.is_none_or(|to| to == self.txs[i].base))
            .filter(|_| matches!(class, Class::Success | Class::Failure))
            .ok_or(Error::UnknownTransaction(from))?;
        let msg = stun::decode(packet, None)?;
        if class == Class::Failure {
            let (code, reason) = stun::error_code(&msg).ok_or(Error::Malformed("no error code"))?;
            self.fail(
                i,
                Error::StunServerError {
                    server: from,
                    code,
                    reason,
                },
            );
        } else {
            let mapped = stun::xor_mapped(&msg).ok_or(Error::Malformed("no xor-mapped-address"))?;
            let tx = &mut self.txs[i];
            tx.pending = false;
            let (base, pref) = (tx.base, tx.local_preference);
            // A mapping equal to the base (no NAT) or already known adds nothing (RFC 8445 5.1.3).
            let known = self
                .candidates
                .iter()
                .any(|c| c.addr == mapped && c.base == base);
            if mapped != base && !known {
                self.add_candidate(Candidate::server_reflexive(mapped, base, from, pref));
            }
        }
        self.finish_if_settled();
        Ok(())
    }

    fn on_timeout(&mut self, now: Instant) {
        for i in 0..self.txs.len() {
            let tx = &mut self.txs[i];
            if !tx.pending || (now < tx.next_at && now < self.deadline) {
                continue;
            }
            if now >= self.deadline || tx.sent >= RC {
                let waited_ms = u64::try_from((now - self.started).as_millis()).unwrap_or(u64::MAX);
                let server = tx.server;
                self.fail(i, Error::StunServerSilent { server, waited_ms });
            } else {
                tx.sent += 1;
                tx.next_at = now + wait_after(tx.sent);
                let (from, to, bytes) = (tx.base, tx.server, tx.request.clone());
                self.out.push_back(Output::Transmit { from, to, bytes });
            }
        }
        self.finish_if_settled();
    }

    fn finish_if_settled(&mut self) {
        if !self.done && self.txs.iter().all(|t| !t.pending) {
            self.done = true;
            let failures = std::mem::take(&mut self.failures);
            self.out
                .push_back(Output::Event(GatherEvent::GatheringDone { failures }));
        }
    }
}
