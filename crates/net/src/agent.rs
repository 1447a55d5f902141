//! ICE-style connectivity checks: an RFC 8445 subset for one component (RTP and RTCP muxed)
//! with regular nomination, plus RFC 7675 consent freshness.
//!
//! Departures from RFC 8445, all on purpose:
//! - no frozen state or foundations across streams: with one stream and one component every
//!   pair starts Waiting;
//! - regular nomination only (aggressive nomination is deprecated by RFC 8445): the controlling
//!   agent nominates the best working pair once no better pair is still being checked, or
//!   [`AgentConfig::nomination_delay`] after the first pair worked;
//! - check retransmissions start at 250 ms and are capped at 1 s (7 tries): hole punching
//!   only works once the peer's first check has opened its NAT, so retries must keep coming;
//! - when consent checks on the selected pair go unanswered, the agent re-checks the other
//!   pairs and the controlling side nominates one that works ([`Event::PathChanged`]); the
//!   controlled side follows whatever pair the controlling side nominates last.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRngCore, RngCore, SeedableRng};
use stun_rs::HMACKey;

use crate::stun::{self, Class, RoleAttr, Tid};
use crate::COMPONENT_RTP;
use crate::{candidate_priority, Candidate, CandidateKind, Error, IceCredentials, Input, Output};

/// RFC 8445 section 14.2 pacing: one new check per Ta.
const TA: Duration = Duration::from_millis(50);
const CHECK_RTO: Duration = Duration::from_millis(250);
const CHECK_RTO_MAX: Duration = Duration::from_secs(1);
const CHECK_TRANSMISSIONS: u32 = 7;
/// A consent check is sent at 0, 0.5 and 1.5 s and given up at 2.5 s, well inside the 4..6 s
/// until the next one.
const CONSENT_RTO: Duration = Duration::from_millis(500);
const CONSENT_TRANSMISSIONS: u32 = 3;
const MAX_LOCALS: usize = 8;

/// How an [`Agent`] behaves. [`AgentConfig::new`] fills in the defaults.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// Our ufrag and password (sent in our offer or answer).
    pub local_credentials: IceCredentials,
    /// The peer's, from its offer or answer.
    pub remote_credentials: IceCredentials,
    /// RFC 8445: the offerer is controlling. A role conflict is settled by tie-breakers.
    pub controlling: bool,
    /// Our candidates; the host ones (at most 8) are where checks leave from, the others are
    /// ignored (RFC 8445 section 6.1.2.4 pairs a reflexive candidate through its base).
    pub local_candidates: Vec<Candidate>,
    /// The peer's candidates known at start; more via [`Agent::add_remote_candidate`].
    pub remote_candidates: Vec<Candidate>,
    /// [`Event::Failed`] when no pair is nominated by then (default 10 s).
    pub connect_timeout: Duration,
    /// Longest the controlling agent waits for a better pair once one works (default 100 ms).
    /// Behind NATs the host-to-host pairs rank highest and never answer, so this wait is part
    /// of every call's set-up time; a better pair that would work (a host pair on one LAN) is
    /// checked first and usually answers before any reflexive pair does.
    pub nomination_delay: Duration,
    /// Mean spacing of consent checks, randomised by +-20% (RFC 7675: 5 s).
    pub consent_interval: Duration,
    /// [`Event::ConsentLost`] after this long without an answer (RFC 7675: 30 s).
    pub consent_timeout: Duration,
    /// Remote candidates kept, signalled and peer-reflexive together (default 32).
    pub max_remote_candidates: usize,
    /// Candidate pairs kept (default 100, RFC 8445 section 6.1.2.5).
    pub max_pairs: usize,
}

impl AgentConfig {
    /// Defaults for everything but credentials, role and candidates.
    pub fn new(
        local_credentials: IceCredentials,
        remote_credentials: IceCredentials,
        controlling: bool,
    ) -> AgentConfig {
        AgentConfig {
            local_credentials,
            remote_credentials,
            controlling,
            local_candidates: Vec::new(),
            remote_candidates: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            nomination_delay: Duration::from_millis(100),
            consent_interval: Duration::from_secs(5),
            consent_timeout: Duration::from_secs(30),
            max_remote_candidates: 32,
            max_pairs: 100,
        }
    }
}

/// What an [`Agent`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A pair was nominated: send media from `local` (our host address) to `remote`.
    Connected {
        /// Our host address to send from.
        local: SocketAddr,
        /// The peer address to send to.
        remote: SocketAddr,
    },
    /// The network changed and another pair now carries the call.
    PathChanged {
        /// Our host address to send from.
        local: SocketAddr,
        /// The peer address to send to.
        remote: SocketAddr,
    },
    /// The peer stopped answering consent checks (RFC 7675): stop sending media. Final.
    ConsentLost,
    /// No pair could be nominated. Final.
    Failed {
        /// Why, in words the user can act on.
        reason: Error,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PairState {
    Waiting,
    InProgress,
    Succeeded,
    Failed,
}

#[derive(Debug)]
struct Pair {
    local: usize,
    remote: usize,
    priority: u64,
    state: PairState,
    /// Controlled side: the peer nominated this pair before our own check on it succeeded.
    nominate_on_success: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    Check,
    Nominate,
    Consent,
}

#[derive(Debug)]
struct Tx {
    tid: Tid,
    pair: usize,
    purpose: Purpose,
    /// Our role when sent: a 487 for an old role must not flip us back.
    controlling: bool,
    bytes: Vec<u8>,
    sent: u32,
    rto: Duration,
    next_at: Instant,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Checking,
    Connected,
    Closed,
}

/// Sans-IO ICE agent for one component.
///
/// Feed it every STUN datagram ([`crate::is_stun`]) and every expired deadline through
/// [`Agent::handle_input`]; after any input, drain [`Agent::poll_output`] until it yields
/// [`Output::Timeout`]. It answers the peer's checks, checks candidate pairs (one new check per
/// 50 ms), emits [`Event::Connected`] or [`Event::Failed`] within
/// [`AgentConfig::connect_timeout`], then keeps consent on the selected pair. Unauthenticated
/// datagrams never change its state; its memory is bounded by the configured caps.
pub struct Agent {
    /// Timers and caps; its candidate lists are moved out at start.
    cfg: AgentConfig,
    username_in: String,
    username_out: String,
    local_key: HMACKey,
    remote_key: HMACKey,
    controlling: bool,
    tie_breaker: u64,
    /// Our host candidates: checks leave from these.
    locals: Vec<Candidate>,
    remotes: Vec<Candidate>,
    pairs: Vec<Pair>,
    triggered: VecDeque<usize>,
    /// Controlling side: the pair whose USE-CANDIDATE check is due or in flight.
    nominate: Option<usize>,
    txs: Vec<Tx>,
    rng: ChaCha20Rng,
    phase: Phase,
    selected: Option<usize>,
    /// Latest time seen; deadlines are never reported before it.
    now: Instant,
    started: Instant,
    first_valid_at: Option<Instant>,
    pace_at: Instant,
    recovering: bool,
    consent_next_at: Instant,
    consent_fresh_at: Instant,
    out: VecDeque<Output<Event>>,
}

impl core::fmt::Debug for Agent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The HMAC keys are the ICE passwords: never printed.
        f.debug_struct("Agent")
            .field("username_out", &self.username_out)
            .field("controlling", &self.controlling)
            .field("phase", &self.phase)
            .field("selected", &self.selected())
            .field("pairs", &self.pairs.len())
            .finish_non_exhaustive()
    }
}

fn pair_priority(controlling: bool, local: u32, remote: u32) -> u64 {
    // RFC 8445 section 6.1.2.3, G = controlling agent's candidate, D = controlled agent's.
    let (g, d) = match controlling {
        true => (u64::from(local), u64::from(remote)),
        false => (u64::from(remote), u64::from(local)),
    };
    (g.min(d) << 32) + 2 * g.max(d) + u64::from(g > d)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Agent {
    /// Starts checking at `now`. `rng` seeds the agent's own CSPRNG (tie-breaker, transaction
    /// ids, consent jitter).
    pub fn new(
        mut cfg: AgentConfig,
        rng: &mut impl CryptoRngCore,
        now: Instant,
    ) -> Result<Agent, Error> {
        let hour = Duration::from_secs(3600);
        let valid = cfg.connect_timeout <= hour
            && cfg.nomination_delay <= cfg.connect_timeout
            && (Duration::from_secs(1)..=Duration::from_secs(60)).contains(&cfg.consent_interval)
            && (cfg.consent_interval..=hour).contains(&cfg.consent_timeout)
            && (1..=1000).contains(&cfg.max_remote_candidates)
            && (1..=1000).contains(&cfg.max_pairs);
        if !valid {
            return Err(Error::InvalidConfig(
                "timeouts up to 1 h, consent interval 1..60 s and below its timeout, caps 1..1000",
            ));
        }
        let mut locals = std::mem::take(&mut cfg.local_candidates);
        locals.retain(|c| c.kind == CandidateKind::Host);
        if locals.is_empty() || locals.len() > MAX_LOCALS {
            return Err(Error::InvalidConfig("give 1..8 local host candidates"));
        }
        let key = |c: &IceCredentials| {
            HMACKey::new_short_term(c.pwd.expose_secret())
                .map_err(|_| Error::BadCredentials("password is not a valid opaque string"))
        };
        let (local, remote) = (&cfg.local_credentials, &cfg.remote_credentials);
        let (username_in, username_out) = (
            format!("{}:{}", local.ufrag, remote.ufrag),
            format!("{}:{}", remote.ufrag, local.ufrag),
        );
        let (local_key, remote_key) = (key(local)?, key(remote)?);
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let mut rng = ChaCha20Rng::from_seed(seed);
        let remote_candidates = std::mem::take(&mut cfg.remote_candidates);
        let mut agent = Agent {
            controlling: cfg.controlling,
            cfg,
            username_in,
            username_out,
            local_key,
            remote_key,
            tie_breaker: rng.next_u64(),
            locals,
            remotes: Vec::new(),
            pairs: Vec::new(),
            triggered: VecDeque::new(),
            nominate: None,
            txs: Vec::new(),
            rng,
            phase: Phase::Checking,
            selected: None,
            now,
            started: now,
            first_valid_at: None,
            pace_at: now,
            recovering: false,
            consent_next_at: now,
            consent_fresh_at: now,
            out: VecDeque::new(),
        };
        for c in remote_candidates {
            agent.add_remote_candidate(c)?;
        }
        agent.tick(now);
        Ok(agent)
    }

    /// Adds a candidate the peer signalled (trickled) after start; then drain
    /// [`Agent::poll_output`]. A candidate already known is ignored.
    pub fn add_remote_candidate(&mut self, candidate: Candidate) -> Result<(), Error> {
        if candidate.component != COMPONENT_RTP {
            return Err(Error::BadCandidate("only component 1 is used (rtcp-mux)"));
        }
        if self.remotes.iter().any(|r| r.addr == candidate.addr) {
            return Ok(());
        }
        if self.remotes.len() >= self.cfg.max_remote_candidates {
            return Err(Error::BadCandidate("too many remote candidates"));
        }
        self.push_remote(candidate, None);
        Ok(())
    }

    /// The selected pair as (our host address, peer address), once connected.
    pub fn selected(&self) -> Option<(SocketAddr, SocketAddr)> {
        self.selected.map(|p| self.pair_addrs(p))
    }

    /// True while this agent is the controlling one (it may change on a role conflict).
    pub fn is_controlling(&self) -> bool {
        self.controlling
    }

    /// The peer's candidates: signalled ones and those learned from its checks.
    pub fn remote_candidates(&self) -> &[Candidate] {
        &self.remotes
    }

    /// Number of candidate pairs formed.
    pub fn pair_count(&self) -> usize {
        self.pairs.len()
    }

    /// True after [`Event::Failed`] or [`Event::ConsentLost`].
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Feeds a STUN datagram or an expired deadline. An error for a datagram means it was
    /// dropped or refused (perhaps answered with a STUN error) and changed nothing.
    pub fn handle_input(&mut self, input: Input<'_>) -> Result<(), Error> {
        let (now, result) = match input {
            Input::Timeout(now) => (now, Ok(())),
            Input::Receive { .. } if self.phase == Phase::Closed => return Err(Error::Closed),
            Input::Receive {
                now,
                from,
                to,
                packet,
            } => {
                self.now = self.now.max(now);
                (now, self.on_receive(from, to, packet))
            }
        };
        self.tick(now);
        result
    }

    /// The next thing to do; see [`Output`].
    #[must_use]
    pub fn poll_output(&mut self) -> Output<Event> {
        if let Some(o) = self.out.pop_front() {
            return o;
        }
        let mut next = self.txs.iter().map(|t| t.next_at).min();
        let mut at = |t: Instant| next = Some(next.map_or(t, |n: Instant| n.min(t)));
        match self.phase {
            Phase::Closed => return Output::Timeout(None),
            Phase::Checking => {
                at(self.started + self.cfg.connect_timeout);
                let nominate_at = self.first_valid_at.map(|t| t + self.cfg.nomination_delay);
                // Only a future nomination time: a past one already had its chance.
                if let Some(t) = nominate_at.filter(|&t| self.controlling && t > self.now) {
                    at(t);
                }
            }
            Phase::Connected => {
                at(self.consent_next_at);
                at(self.consent_fresh_at + self.cfg.consent_timeout);
            }
        }
        if self.pick_check().is_some() {
            at(self.pace_at);
        }
        Output::Timeout(next.map(|t| t.max(self.now)))
    }

    fn pair_addrs(&self, p: usize) -> (SocketAddr, SocketAddr) {
        let pair = &self.pairs[p];
        (self.locals[pair.local].addr, self.remotes[pair.remote].addr)
    }

    /// Adds a remote candidate and its pairs, with every local of its family or only `local`.
    fn push_remote(&mut self, candidate: Candidate, local: Option<usize>) {
        for (l, loc) in self.locals.iter().enumerate() {
            let same_family = loc.addr.is_ipv4() == candidate.addr.is_ipv4();
            if same_family
                && local.is_none_or(|only| only == l)
                && self.pairs.len() < self.cfg.max_pairs
            {
                self.pairs.push(Pair {
                    local: l,
                    remote: self.remotes.len(),
                    priority: pair_priority(self.controlling, loc.priority, candidate.priority),
                    state: PairState::Waiting,
                    nominate_on_success: false,
                });
            }
        }
        self.remotes.push(candidate);
    }

    fn trigger(&mut self, p: usize) {
        self.pairs[p].state = PairState::Waiting;
        if !self.triggered.contains(&p) {
            self.triggered.push_back(p);
        }
    }

    fn on_receive(
        &mut self,
        from: SocketAddr,
        to: Option<SocketAddr>,
        packet: &[u8],
    ) -> Result<(), Error> {
        let local = match to {
            None => None,
            Some(to) => Some(
                self.locals
                    .iter()
                    .position(|l| l.addr == to)
                    .ok_or(Error::NotLocal(to))?,
            ),
        };
        let (class, tid, fingerprint) = stun::peek(packet)?;
        match class {
            // ICE requires FINGERPRINT on checks: without it, this may not be STUN at all.
            Class::Request if !fingerprint => Err(Error::BadFingerprint),
            Class::Request => self.on_request(local.unwrap_or(0), from, tid, packet),
            Class::Success | Class::Failure => self.on_response(local, from, class, tid, packet),
            // Binding indications are keepalives (RFC 8445 section 11): nothing to do.
            Class::Indication => Ok(()),
        }
    }

    fn send(&mut self, local: usize, to: SocketAddr, bytes: Option<Vec<u8>>) {
        if let Some(bytes) = bytes {
            let from = self.locals[local].addr;
            self.out.push_back(Output::Transmit { from, to, bytes });
        }
    }

    fn on_request(
        &mut self,
        local: usize,
        from: SocketAddr,
        tid: Tid,
        packet: &[u8],
    ) -> Result<(), Error> {
        let msg = match stun::decode(packet, Some(&self.local_key)) {
            Ok(msg) => msg,
            Err(e) => {
                if e == Error::Unauthenticated {
                    // RFC 8489 section 9.1.3: a wrong MESSAGE-INTEGRITY is answered 401.
                    self.send(local, from, stun::error_response(tid, 401, None));
                }
                return Err(e);
            }
        };
        // RFC 8489 section 9.1.3: 400 without USERNAME or MESSAGE-INTEGRITY, 401 for others' ufrags.
        let refusal = match stun::username(&msg) {
            _ if !stun::has_integrity(&msg) => Some(400),
            None => Some(400),
            Some(u) if u != self.username_in => Some(401),
            Some(_) => None,
        };
        if let Some(code) = refusal {
            self.send(local, from, stun::error_response(tid, code, None));
            return Err(Error::Unauthenticated);
        }
        let attrs = stun::check_attrs(&msg);
        let Some(priority) = attrs.priority else {
            let reply = stun::error_response(tid, 400, Some(&self.local_key));
            self.send(local, from, reply);
            return Err(Error::Malformed("check without priority"));
        };

        // RFC 8445 section 7.3.1.1: the larger tie-breaker keeps (or takes) the controlling role.
        let (same_role, ours_wins) = match (self.controlling, attrs.role) {
            (true, Some(RoleAttr::Controlling(theirs))) => (true, self.tie_breaker >= theirs),
            (false, Some(RoleAttr::Controlled(theirs))) => (true, self.tie_breaker < theirs),
            _ => (false, false),
        };
        if same_role && ours_wins {
            let reply = stun::error_response(tid, 487, Some(&self.local_key));
            self.send(local, from, reply);
            return Err(Error::RoleConflict);
        } else if same_role {
            self.switch_role();
        }
        let reply = stun::success_response(tid, from, &self.local_key);
        self.send(local, from, reply);

        let remote = match self.remotes.iter().position(|r| r.addr == from) {
            Some(r) => r,
            None if self.remotes.len() < self.cfg.max_remote_candidates => {
                // RFC 8445 section 7.3.1.3: a peer-reflexive candidate, paired only where it arrived.
                let base = self.locals[local].addr;
                self.push_remote(Candidate::peer_reflexive(from, base, priority), Some(local));
                self.remotes.len() - 1
            }
            None => return Ok(()),
        };
        let Some(p) = self
            .pairs
            .iter()
            .position(|p| p.local == local && p.remote == remote)
        else {
            return Ok(());
        };
        if attrs.use_candidate && !self.controlling {
            match self.pairs[p].state {
                PairState::Succeeded => self.select(p),
                _ => self.pairs[p].nominate_on_success = true,
            }
        }
        // RFC 8445 section 7.3.1.4 triggered check.
        if matches!(self.pairs[p].state, PairState::Waiting | PairState::Failed) {
            self.trigger(p);
        }
        Ok(())
    }

    fn on_response(
        &mut self,
        local: Option<usize>,
        from: SocketAddr,
        class: Class,
        tid: Tid,
        packet: &[u8],
    ) -> Result<(), Error> {
        let unknown = Error::UnknownTransaction(from);
        let i = self
            .txs
            .iter()
            .position(|t| t.tid == tid)
            .ok_or(unknown.clone())?;
        let p = self.txs[i].pair;
        // Checks must be symmetric (RFC 8445 section 7.2.5.2.1).
        let (pair_local, pair_remote) = (self.pairs[p].local, self.pairs[p].remote);
        if self.remotes[pair_remote].addr != from || local.is_some_and(|l| l != pair_local) {
            return Err(unknown);
        }
        let msg = stun::decode(packet, Some(&self.remote_key))?;
        if !stun::has_integrity(&msg) {
            return Err(Error::Unauthenticated);
        }
        if class == Class::Success && stun::xor_mapped(&msg).is_none() {
            return Err(Error::Malformed(
                "success response without xor-mapped-address",
            ));
        }
        let tx = self.txs.swap_remove(i);
        if class == Class::Success {
            self.on_success(tx);
        } else if stun::error_code(&msg).is_some_and(|(code, _)| code == 487) {
            if tx.controlling == self.controlling {
                self.switch_role();
            }
            if tx.purpose != Purpose::Consent {
                self.trigger(p); // retry in the new role
            }
        } else {
            self.on_tx_failed(tx);
        }
        Ok(())
    }

    fn on_success(&mut self, tx: Tx) {
        let p = tx.pair;
        if Some(p) == self.selected {
            self.consent_fresh_at = self.now;
            self.recovering = false;
        }
        if tx.purpose == Purpose::Consent {
            return;
        }
        self.pairs[p].state = PairState::Succeeded;
        self.first_valid_at.get_or_insert(self.now);
        if tx.purpose == Purpose::Nominate && self.nominate == Some(p) {
            self.nominate = None;
        }
        let nominated = match tx.purpose {
            Purpose::Nominate => self.controlling,
            _ => !self.controlling && self.pairs[p].nominate_on_success,
        };
        if nominated {
            self.select(p);
        }
    }

    fn on_tx_failed(&mut self, tx: Tx) {
        let p = tx.pair;
        match tx.purpose {
            Purpose::Check if self.pairs[p].state == PairState::InProgress => {
                self.pairs[p].state = PairState::Failed;
            }
            Purpose::Nominate => {
                self.pairs[p].state = PairState::Failed;
                if self.nominate == Some(p) {
                    self.nominate = None;
                }
            }
            Purpose::Consent if Some(p) == self.selected => self.start_recovery(),
            _ => {}
        }
    }

    /// The selected pair stopped answering: look for another (the network may have changed).
    fn start_recovery(&mut self) {
        let fresh = !self.recovering;
        self.recovering = true;
        for (i, pair) in self.pairs.iter_mut().enumerate() {
            // What worked before the change proves nothing now; what failed may work now.
            let retry = match pair.state {
                PairState::InProgress => false,
                PairState::Failed => true,
                PairState::Succeeded | PairState::Waiting => fresh,
            };
            if retry && Some(i) != self.selected {
                pair.state = PairState::Waiting;
                pair.nominate_on_success = false;
            }
        }
    }

    fn select(&mut self, p: usize) {
        let (local, remote) = self.pair_addrs(p);
        let event = match self.selected {
            None => Some(Event::Connected { local, remote }),
            Some(old) if old != p => Some(Event::PathChanged { local, remote }),
            Some(_) => None,
        };
        if self.selected.is_none() {
            self.consent_next_at = self.now + self.consent_wait();
        }
        // Consent on the old path no longer matters.
        self.txs
            .retain(|t| t.purpose != Purpose::Consent || t.pair == p);
        self.selected = Some(p);
        self.phase = Phase::Connected;
        self.recovering = false;
        self.consent_fresh_at = self.now;
        self.pairs[p].nominate_on_success = false;
        if let Some(event) = event {
            self.out.push_back(Output::Event(event));
        }
    }

    fn switch_role(&mut self) {
        self.controlling = !self.controlling;
        self.nominate = None;
        for pair in &mut self.pairs {
            let (l, r) = (
                self.locals[pair.local].priority,
                self.remotes[pair.remote].priority,
            );
            pair.priority = pair_priority(self.controlling, l, r);
            pair.nominate_on_success = false;
        }
    }

    /// RFC 7675 section 5.1: uniformly 0.8..1.2 times the interval.
    fn consent_wait(&mut self) -> Duration {
        let permille = 800 + self.rng.next_u32() % 401;
        self.cfg.consent_interval * permille / 1000
    }

    /// The check the next pacing slot sends: a nomination, a triggered check (with its place
    /// in the queue), or (while checking or recovering) the best Waiting pair.
    fn pick_check(&self) -> Option<(usize, Purpose, Option<usize>)> {
        if let Some(p) = self.nominate {
            if !self.txs.iter().any(|t| t.purpose == Purpose::Nominate) {
                return Some((p, Purpose::Nominate, None));
            }
        }
        let waiting = |&p: &usize| self.pairs[p].state == PairState::Waiting;
        if let Some(at) = self.triggered.iter().position(waiting) {
            return Some((self.triggered[at], Purpose::Check, Some(at)));
        }
        if self.phase == Phase::Checking || self.recovering {
            let best = (0..self.pairs.len())
                .filter(waiting)
                .max_by_key(|&i| self.pairs[i].priority);
            return best.map(|p| (p, Purpose::Check, None));
        }
        None
    }

    fn send_check(&mut self, p: usize, purpose: Purpose) {
        let mut tid = [0u8; 12];
        self.rng.fill_bytes(&mut tid);
        let role = match self.controlling {
            true => RoleAttr::Controlling(self.tie_breaker),
            false => RoleAttr::Controlled(self.tie_breaker),
        };
        let (local, remote) = (self.pairs[p].local, self.remotes[self.pairs[p].remote].addr);
        // PRIORITY carries our candidate's priority as if peer-reflexive (RFC 8445 7.2.2).
        let pref = self.locals[local].local_preference();
        let priority = candidate_priority(CandidateKind::PeerReflexive, pref, COMPONENT_RTP);
        let use_candidate = purpose == Purpose::Nominate;
        let bytes = stun::check_request(
            tid,
            &self.username_out,
            priority,
            role,
            use_candidate,
            &self.remote_key,
        );
        let Some(bytes) = bytes else {
            return;
        };
        if purpose == Purpose::Check {
            self.pairs[p].state = PairState::InProgress;
        }
        let rto = if purpose == Purpose::Consent {
            CONSENT_RTO
        } else {
            CHECK_RTO
        };
        self.send(local, remote, Some(bytes.clone()));
        let controlling = self.controlling;
        let next_at = self.now + rto;
        self.txs.push(Tx {
            tid,
            pair: p,
            purpose,
            controlling,
            bytes,
            sent: 1,
            rto,
            next_at,
        });
    }

    fn close(&mut self, event: Event) {
        self.phase = Phase::Closed;
        self.txs.clear();
        self.triggered.clear();
        self.nominate = None;
        self.out.push_back(Output::Event(event));
    }

    fn tick(&mut self, now: Instant) {
        self.now = self.now.max(now);
        let now = self.now;
        if self.phase == Phase::Closed {
            return;
        }
        // Retransmissions and transaction timeouts.
        let mut i = 0;
        while i < self.txs.len() {
            let tx = &mut self.txs[i];
            let (max_sent, max_rto) = match tx.purpose {
                Purpose::Consent => (CONSENT_TRANSMISSIONS, Duration::MAX),
                _ => (CHECK_TRANSMISSIONS, CHECK_RTO_MAX),
            };
            if tx.next_at > now {
                i += 1;
            } else if tx.sent < max_sent {
                tx.sent += 1;
                tx.rto = (tx.rto * 2).min(max_rto);
                tx.next_at = now + tx.rto;
                let (bytes, p) = (tx.bytes.clone(), tx.pair);
                let (local, remote) = self.pair_addrs(p);
                self.out.push_back(Output::Transmit {
                    from: local,
                    to: remote,
                    bytes,
                });
                i += 1;
            } else {
                let tx = self.txs.swap_remove(i);
                self.on_tx_failed(tx);
            }
        }

        match self.phase {
            Phase::Checking if now >= self.started + self.cfg.connect_timeout => {
                let reason = Error::ConnectTimeout {
                    waited_ms: millis(now - self.started),
                    pairs: self.pairs.len(),
                    working: (self.pairs.iter())
                        .filter(|p| p.state == PairState::Succeeded)
                        .count(),
                };
                return self.close(Event::Failed { reason });
            }
            Phase::Connected if now >= self.consent_fresh_at + self.cfg.consent_timeout => {
                return self.close(Event::ConsentLost);
            }
            Phase::Connected if now >= self.consent_next_at => {
                if let Some(p) = self.selected {
                    self.txs.retain(|t| t.purpose != Purpose::Consent);
                    self.send_check(p, Purpose::Consent);
                }
                self.consent_next_at = now + self.consent_wait();
            }
            _ => {}
        }

        // Regular nomination by the controlling side.
        let searching = self.phase == Phase::Checking || self.recovering;
        if self.controlling && searching && self.nominate.is_none() {
            let best = (0..self.pairs.len())
                .filter(|&i| {
                    self.pairs[i].state == PairState::Succeeded && Some(i) != self.selected
                })
                .max_by_key(|&i| self.pairs[i].priority);
            if let Some(best) = best {
                let better_pending = self.pairs.iter().any(|p| {
                    p.priority > self.pairs[best].priority
                        && matches!(p.state, PairState::Waiting | PairState::InProgress)
                });
                let delay_over = self
                    .first_valid_at
                    .is_some_and(|t| now >= t + self.cfg.nomination_delay);
                if self.recovering || !better_pending || delay_over {
                    self.nominate = Some(best);
                }
            }
        }

        if now >= self.pace_at {
            if let Some((p, purpose, queued_at)) = self.pick_check() {
                // Entries ahead of the picked one are stale (no longer Waiting).
                if let Some(at) = queued_at {
                    self.triggered.drain(..=at);
                }
                self.send_check(p, purpose);
                self.pace_at = now + TA;
            }
        }
    }
}
