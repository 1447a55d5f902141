//! The ZRTP state machine of RFC 6189: discovery, commit, key agreement, confirmation.
//!
//! [`Session`] is sans-IO. Feed it datagrams and timeouts through [`Session::handle_input`], then
//! drain [`Session::poll_output`] until it yields [`Output::Timeout`]: every datagram it returns
//! goes to the peer, every event goes to the application, and the timeout says when to call back
//! with [`Input::Timeout`]. The session never reads a clock, sleeps or touches a socket.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRngCore, RngCore, SeedableRng};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::algo::{AlgoId, AuthTag, CipherAlgorithm, HashAlgorithm, KeyAgreement, SasType};
use crate::cache::{CacheEntry, ZidCache};
use crate::crypto::{self, DhResult, KeyAgreementSecret};
use crate::wire::{
    self, Commit, CommitMode, Confirm, ConfirmBody, ConfirmFlags, DhPart, Header, Hello, Message,
    PingAck,
};
use crate::{Error, ErrorCode, RetainedSecret, SecretBytes, Zid};

/// T1: Hello retransmission starts at 50 ms and doubles up to 200 ms, 20 times at most.
const T1: Timer = Timer {
    first: Duration::from_millis(50),
    cap: Duration::from_millis(200),
    tries: 20,
};
/// T2: Commit, DHPart2 and Confirm2 retransmission: 150 ms doubling to 1200 ms. RFC 6189
/// section 6 suggests giving up after 10; each try needs a round trip (only the initiator
/// retransmits), so at 30% loss per direction 10 tries still fail one handshake in 1700. sotto
/// tries 20 times (about 22 s), at no cost on a good link and invisibly to the peer.
const T2: Timer = Timer {
    first: Duration::from_millis(150),
    cap: Duration::from_millis(1200),
    tries: 20,
};
/// How long a responder waits for the initiator's next message before giving up: a little more
/// than the initiator's whole T2 budget, since only the initiator retransmits.
const RESPONDER_PATIENCE: Duration = Duration::from_secs(25);
/// Cache expiration we announce: never (RFC 6189 section 4.9 recommends it).
const CACHE_FOREVER: u32 = 0xFFFF_FFFF;
/// The client identifier in our Hello, 16 bytes.
pub const CLIENT_ID: [u8; 16] = *b"sotto 0.1       ";

#[derive(Clone, Copy, Debug)]
struct Timer {
    first: Duration,
    cap: Duration,
    tries: u32,
}

mod api;
mod hello_hash;
mod keys;
mod retained;

pub use api::{
    Algorithms, Event, Input, MultistreamKey, Output, Role, RolePolicy, SecureInfo, SessionConfig,
    SrtpSecrets,
};
pub use hello_hash::HelloHash;
use keys::{dh_key_schedule, multistream_key_schedule, KeySchedule};
use retained::{RetainedIds, SecretMatch};

#[derive(Clone, Zeroize, ZeroizeOnDrop)]
struct HashChain {
    h: [[u8; 32]; 4],
}

impl HashChain {
    fn new(rng: &mut impl RngCore) -> Self {
        let mut h = [[0u8; 32]; 4];
        rng.fill_bytes(&mut h[0]);
        for i in 1..4 {
            h[i] = crypto::sha256(&[&h[i - 1]]);
        }
        HashChain { h }
    }
}

struct Retransmit {
    message: Vec<u8>,
    next: Instant,
    interval: Duration,
    remaining: u32,
    timer: Timer,
}

impl Retransmit {
    fn start(message: Vec<u8>, now: Instant, timer: Timer) -> Self {
        Retransmit {
            message,
            next: now + timer.first,
            interval: timer.first,
            remaining: timer.tries,
            timer,
        }
    }
}

/// What we learned from the peer's Hello.
struct PeerHello {
    raw: Vec<u8>,
    msg: Hello,
}

/// Initiator, Commit sent.
struct Committed {
    alg: Algorithms,
    commit_raw: Vec<u8>,
    mode: CommitMode,
    dh: Option<(KeyAgreementSecret, Vec<u8>)>,
}

/// Responder, DHPart1 sent.
struct AnsweredCommit {
    alg: Algorithms,
    commit_raw: Vec<u8>,
    commit: Commit,
    secret: KeyAgreementSecret,
    dhpart1_raw: Vec<u8>,
}

/// Keys agreed, Confirm exchange under way.
struct Keyed {
    role: Role,
    keys: KeySchedule,
    matched: SecretMatch,
    /// The peer's H1 from its DHPart (DH mode) or H-chain anchor to check H0 against.
    peer_h1: Option<[u8; 32]>,
    /// The peer's DHPart message, whose MAC (keyed by its H0) is checked on its Confirm.
    peer_dhpart_raw: Option<Vec<u8>>,
    /// Multistream responder: the initiator's Commit H2, which its H0 must reach.
    peer_commit_h2: Option<[u8; 32]>,
    /// The message whose retransmission from the peer we answer by resending `reply`.
    trigger_raw: Vec<u8>,
    reply: Vec<u8>,
}

/// Secure (or, for the initiator, waiting only for Conf2ACK).
struct Done {
    info: SecureInfo,
    /// The peer message whose retransmission we answer with `reply` (responder: Confirm2).
    trigger_raw: Vec<u8>,
    reply: Vec<u8>,
    /// A new rs1 not yet stored because of a cache mismatch, stored once the SAS is verified.
    pending: Option<CacheEntry>,
}

enum State {
    Discovery,
    Committed(Box<Committed>),
    AnsweredCommit(Box<AnsweredCommit>),
    Keyed(Box<Keyed>),
    /// Initiator, Confirm2 sent, waiting for Conf2ACK.
    AwaitConf2Ack(Box<Done>),
    Secure(Box<Done>),
    Failed,
}

impl State {
    fn name(&self) -> &'static str {
        match self {
            State::Discovery => "discovery",
            State::Committed(_) => "commit sent",
            State::AnsweredCommit(_) => "dhpart1 sent",
            State::Keyed(_) => "confirming",
            State::AwaitConf2Ack(_) => "confirm2 sent",
            State::Secure(_) => "secure",
            State::Failed => "failed",
        }
    }
}

/// One ZRTP stream's handshake (RFC 6189), sans-IO. See the module docs for the driver loop.
pub struct Session {
    cfg: SessionConfig,
    cache: Arc<dyn ZidCache>,
    rng: ChaCha20Rng,
    zid: Zid,
    chain: HashChain,
    hello: Vec<u8>,
    seq: u16,
    state: State,
    peer: Option<PeerHello>,
    retained: Option<RetainedIds>,
    hello_acked: bool,
    hello_rtx: Option<Retransmit>,
    rtx: Option<Retransmit>,
    /// Responder only: give up if the initiator is silent past this.
    patience: Option<Instant>,
    /// The code of an Error message the peer sent, reported if the handshake then times out.
    peer_error: Option<ErrorCode>,
    /// Why we refused a Hello, reported if no acceptable one follows.
    rejected_hello: Option<Error>,
    /// The last Hello hash reported as not matching the signaling, so that an attacker's
    /// retransmissions raise one event, not twenty.
    reported_mismatch: Option<HelloHash>,
    out: VecDeque<Output>,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("zid", &self.zid)
            .field("state", &self.state.name())
            .field("peer_zid", &self.peer.as_ref().map(|p| p.msg.zid))
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Starts a session at `now`: the first Hello is ready in [`Session::poll_output`].
    /// `rng` seeds the session's own CSPRNG (H0, DH secrets, IVs, nonces); `cache` holds our
    /// ZID and the retained secrets.
    pub fn new(
        config: SessionConfig,
        cache: Arc<dyn ZidCache>,
        rng: &mut impl CryptoRngCore,
        now: Instant,
    ) -> Result<Self, Error> {
        let cfg = config.effective()?;
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let mut rng = ChaCha20Rng::from_seed(seed);
        seed.zeroize();
        let zid = cache.self_zid(&mut rng)?;
        let chain = HashChain::new(&mut rng);
        let hello = Message::Hello(Hello {
            version: wire::VERSION,
            client_id: CLIENT_ID,
            h3: chain.h[3],
            zid,
            signature_capable: false,
            mitm: false,
            passive: cfg.role == RolePolicy::Responder,
            hashes: cfg.hashes.iter().map(|a| a.id()).collect(),
            ciphers: cfg.ciphers.iter().map(|a| a.id()).collect(),
            auth_tags: cfg.auth_tags.iter().map(|a| a.id()).collect(),
            key_agreements: cfg.key_agreements.iter().map(|a| a.id()).collect(),
            sas_types: cfg.sas_types.iter().map(|a| a.id()).collect(),
            mac: [0; 8],
        });
        let hello = encode_with_mac(&hello, &chain.h[2]);
        let mut session = Session {
            cfg,
            cache,
            rng,
            zid,
            chain,
            hello,
            seq: 1,
            state: State::Discovery,
            peer: None,
            retained: None,
            hello_acked: false,
            hello_rtx: None,
            rtx: None,
            patience: None,
            peer_error: None,
            rejected_hello: None,
            reported_mismatch: None,
            out: VecDeque::new(),
        };
        session.send(session.hello.clone());
        session.hello_rtx = Some(Retransmit::start(session.hello.clone(), now, T1));
        Ok(session)
    }

    /// Our ZID.
    pub fn zid(&self) -> Zid {
        self.zid
    }

    /// The peer's ZID, once a Hello was accepted: until then anyone may turn out to be the
    /// peer (a listener knows whom it talks to from here on).
    pub fn peer_zid(&self) -> Option<Zid> {
        self.peer.as_ref().map(|peer| peer.msg.zid)
    }

    /// The hash of our Hello as sent (every retransmission carries the same message), for the
    /// `a=zrtp-hash` attribute of our SDP: `format!("a=zrtp-hash:{}", session.hello_hash())`.
    pub fn hello_hash(&self) -> HelloHash {
        HelloHash::of_message(&self.hello)
    }

    /// Sets the peer's `a=zrtp-hash` once the signaling brings it, as
    /// [`SessionConfig::peer_hello_hash`] does at the start. A Hello already accepted is
    /// checked now: if it does not match, [`Event::HelloHashMismatch`] comes out and the session
    /// either drops that peer and waits for the right Hello (still in discovery: nothing but
    /// HelloACK went to it) or, past that, fails, since it has keyed with the wrong peer.
    pub fn set_peer_hello_hash(&mut self, hash: HelloHash) {
        self.cfg.peer_hello_hash = Some(hash);
        let Some(peer) = &self.peer else { return };
        if hash.matches(&peer.raw) {
            return;
        }
        let received = HelloHash::of_message(&peer.raw);
        self.report_hello_mismatch(hash, received);
        if matches!(self.state, State::Discovery) {
            // Only our Hello and a HelloACK went to that peer, and the Hello is public anyway:
            // forget it, and let the genuine Hello (refused so far as a changed Hello) in.
            self.peer = None;
            self.retained = None;
            self.rejected_hello = Some(hello_hash_refusal());
        } else {
            self.fail(hello_hash_refusal(), false);
        }
    }

    /// True once the handshake has completed.
    pub fn is_secure(&self) -> bool {
        matches!(self.state, State::Secure(_))
    }

    /// True once the session has failed.
    pub fn is_failed(&self) -> bool {
        matches!(self.state, State::Failed)
    }

    /// A short name of the current state, for logs and status lines.
    pub fn state_name(&self) -> &'static str {
        self.state.name()
    }

    /// Feeds one input. An `Err` means the input was dropped and nothing changed (a damaged,
    /// stray or unauthenticated packet); failures of the session itself come out as
    /// [`Event::Failed`].
    pub fn handle_input(&mut self, input: Input<'_>) -> Result<(), Error> {
        match input {
            Input::Receive { now, packet } => self.handle_receive(now, packet),
            Input::Timeout(now) => {
                self.handle_timeout(now);
                Ok(())
            }
            Input::SetSasVerified(verified) => self.handle_set_verified(verified),
        }
    }

    /// The next output; drain until [`Output::Timeout`].
    #[must_use]
    pub fn poll_output(&mut self) -> Output {
        if let Some(o) = self.out.pop_front() {
            return o;
        }
        let deadline = [self.hello_rtx.as_ref(), self.rtx.as_ref()]
            .into_iter()
            .flatten()
            .map(|r| r.next)
            .chain(self.patience)
            .min();
        Output::Timeout(deadline)
    }

    fn send(&mut self, message: Vec<u8>) {
        let mut packet = Vec::with_capacity(message.len() + wire::HEADER_LEN + 4);
        wire::seal_packet(
            Header {
                sequence: self.seq,
                ssrc: self.cfg.ssrc,
            },
            &message,
            &mut packet,
        );
        self.seq = self.seq.wrapping_add(1);
        self.out.push_back(Output::Transmit(packet));
    }

    fn send_message(&mut self, message: &Message) {
        let mut bytes = Vec::new();
        wire::encode_message(message, &mut bytes);
        self.send(bytes);
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.patience.is_some_and(|p| p <= now) {
            let reason = self.timeout_error();
            self.fail(reason, false);
            return;
        }
        for slot in 0..2 {
            let rtx = if slot == 0 {
                &mut self.hello_rtx
            } else {
                &mut self.rtx
            };
            let Some(r) = rtx else { continue };
            if now < r.next {
                continue;
            }
            if r.remaining == 0 {
                *rtx = None;
                if slot == 1 || matches!(self.state, State::Discovery) {
                    let reason = self.timeout_error();
                    self.fail(reason, false);
                }
                continue;
            }
            r.remaining -= 1;
            r.interval = (r.interval * 2).min(r.timer.cap);
            r.next = now + r.interval;
            let message = r.message.clone();
            self.send(message);
        }
    }

    /// Why the handshake stalled: the Hello we refused, else the Error the peer sent, else
    /// silence.
    fn timeout_error(&mut self) -> Error {
        match (self.rejected_hello.take(), self.peer_error) {
            (Some(refused), _) => refused,
            (None, Some(code)) => Error::PeerError(code),
            (None, None) => Error::Timeout,
        }
    }

    /// Ends the session. `notify` sends an Error message with the RFC code for `error`.
    fn fail(&mut self, error: Error, notify: bool) {
        if matches!(self.state, State::Failed) {
            return;
        }
        self.state = State::Failed;
        self.hello_rtx = None;
        self.rtx = None;
        self.patience = None;
        if notify {
            if let Some(code) = Option::<ErrorCode>::from(&error) {
                let mut bytes = Vec::new();
                wire::encode_message(&Message::Error(code), &mut bytes);
                self.send(bytes);
            }
        }
        self.out.push_back(Output::Event(Event::Failed(error)));
    }

    fn handle_receive(&mut self, now: Instant, datagram: &[u8]) -> Result<(), Error> {
        let packet = wire::parse_packet(datagram)?;
        let raw = packet.raw;
        match packet.message {
            Message::Ping(ping) => {
                let ack = Message::PingAck(PingAck {
                    version: wire::VERSION,
                    source_endpoint_hash: self.endpoint_hash(),
                    received_endpoint_hash: ping.endpoint_hash,
                    ssrc: packet.header.ssrc,
                });
                self.send_message(&ack);
                return Ok(());
            }
            Message::PingAck(_) | Message::ErrorAck | Message::ClearAck | Message::RelayAck => {
                return Ok(());
            }
            Message::Error(code) => {
                // Error messages carry no MAC (RFC 6189 section 5.9), so anyone can send one:
                // acknowledge it and remember it as the reason if the handshake then stalls,
                // but let no unauthenticated packet end the session.
                self.send_message(&Message::ErrorAck);
                if matches!(self.state, State::Secure(_) | State::Failed) {
                    return Err(Error::Unexpected("Error"));
                }
                self.peer_error = Some(code);
                return Ok(());
            }
            Message::GoClear { .. } => {
                // sotto never falls back to clear media.
                self.send_message(&Message::Error(ErrorCode::GOCLEAR_NOT_ALLOWED));
                return Err(Error::GoClearRefused);
            }
            Message::SasRelay(_) => {
                // Only an enrolled trusted MiTM (a PBX) may relay a SAS; sotto enrolls none.
                self.send_message(&Message::Error(ErrorCode::UNTRUSTED_MITM));
                return Err(Error::Unexpected("SASrelay"));
            }
            _ => {}
        }
        if matches!(self.state, State::Failed) {
            return Err(Error::WrongState("session failed"));
        }
        match packet.message {
            Message::Hello(hello) => self.on_hello(now, raw, hello),
            Message::HelloAck => self.on_hello_ack(now),
            Message::Commit(commit) => self.on_commit(now, raw, commit),
            Message::DhPart1(part) => self.on_dhpart1(now, raw, part),
            Message::DhPart2(part) => self.on_dhpart2(now, raw, part),
            Message::Confirm1(confirm) => self.on_confirm1(now, raw, confirm),
            Message::Confirm2(confirm) => self.on_confirm2(raw, confirm),
            Message::Conf2Ack => self.on_conf2ack(),
            other => Err(Error::Unexpected(other.name())),
        }
    }

    fn endpoint_hash(&self) -> [u8; 8] {
        let h = crypto::sha256(&[&self.zid.0]);
        let mut out = [0u8; 8];
        out.copy_from_slice(&h[..8]);
        out
    }

    fn on_hello(&mut self, now: Instant, raw: &[u8], hello: Hello) -> Result<(), Error> {
        if let Some(peer) = &self.peer {
            // A retransmission: acknowledge it. A different Hello is ignored (a stray or a
            // forgery cannot replace the peer we are talking to).
            if peer.raw != raw {
                return Err(Error::HelloMismatch);
            }
            if matches!(self.state, State::Discovery) || self.cfg.role != RolePolicy::Initiator {
                self.send_message(&Message::HelloAck);
            }
            return Ok(());
        }
        if let Some(expected) = self.cfg.peer_hello_hash {
            // Checked first: a Hello the signaling does not vouch for gets no answer at all.
            if !expected.matches(raw) {
                self.report_hello_mismatch(expected, HelloHash::of_message(raw));
                let reason = hello_hash_refusal();
                let shown = reason.to_string();
                self.rejected_hello = Some(reason);
                return Err(Error::HelloRefused(shown));
            }
        }
        if let Err(e) = self.acceptable_hello(&hello) {
            // Anyone can send a Hello: answer with the RFC's error, but latch onto nothing and
            // keep waiting; if no acceptable Hello comes, this is the reason we give up.
            if let Some(code) = Option::<ErrorCode>::from(&e) {
                self.send_message(&Message::Error(code));
            }
            let reason = Error::PeerIncompatible(Box::new(e));
            let shown = reason.to_string();
            self.rejected_hello = Some(reason);
            return Err(Error::HelloRefused(shown));
        }
        let alg = self.negotiate(&hello)?;
        let entry = match self.cache.load(&hello.zid) {
            Ok(entry) => entry.unwrap_or_default(),
            Err(e) => {
                self.fail(e, true);
                return Ok(());
            }
        };
        self.retained = Some(RetainedIds::new(entry, alg.hash, &mut self.rng));
        self.peer = Some(PeerHello {
            raw: raw.to_vec(),
            msg: hello,
        });
        match self.cfg.role {
            RolePolicy::Initiator => self.commit(now, alg),
            RolePolicy::Auto if self.hello_acked => {
                self.send_message(&Message::HelloAck);
                self.commit(now, alg)
            }
            _ => {
                self.send_message(&Message::HelloAck);
                Ok(())
            }
        }
    }

    fn report_hello_mismatch(&mut self, expected: HelloHash, received: HelloHash) {
        if self.reported_mismatch != Some(received) {
            self.reported_mismatch = Some(received);
            self.out.push_back(Output::Event(Event::HelloHashMismatch {
                expected,
                received,
            }));
        }
    }

    /// Checks a first Hello: version 1.1x, a ZID other than ours, the ZID of the session a
    /// Multistream stream continues, and algorithms in common.
    fn acceptable_hello(&self, hello: &Hello) -> Result<(), Error> {
        if &hello.version[..3] != b"1.1" {
            return Err(Error::UnsupportedVersion);
        }
        if hello.zid == self.zid {
            return Err(Error::EqualZids);
        }
        if self
            .cfg
            .multistream
            .as_ref()
            .is_some_and(|ms| ms.peer_zid != hello.zid)
        {
            return Err(Error::NoSharedSecret);
        }
        self.negotiate(hello).map(|_| ())
    }

    fn on_hello_ack(&mut self, now: Instant) -> Result<(), Error> {
        self.hello_acked = true;
        self.hello_rtx = None;
        if !matches!(self.state, State::Discovery) {
            return Ok(());
        }
        match (&self.peer, self.cfg.role) {
            (Some(peer), RolePolicy::Auto) => {
                let alg = self.negotiate(&peer.msg)?;
                self.commit(now, alg)
            }
            _ => Ok(()),
        }
    }

    /// RFC 6189 section 4.1.2: each kind from our list in our order, except the key agreement,
    /// where differing first choices resolve to the faster of the two.
    fn negotiate(&self, hello: &Hello) -> Result<Algorithms, Error> {
        fn pick<T: Copy>(ours: &[T], theirs: &[AlgoId], id: fn(T) -> AlgoId) -> Option<T> {
            ours.iter().copied().find(|a| theirs.contains(&id(*a)))
        }
        let first_unknown = |list: &[AlgoId]| list.first().copied().unwrap_or(AlgoId(*b"    "));
        let hash = pick(&self.cfg.hashes, &hello.hashes, HashAlgorithm::id)
            .ok_or(Error::UnsupportedHash(first_unknown(&hello.hashes)))?;
        let cipher = pick(&self.cfg.ciphers, &hello.ciphers, CipherAlgorithm::id)
            .ok_or(Error::UnsupportedCipher(first_unknown(&hello.ciphers)))?;
        let auth_tag = pick(&self.cfg.auth_tags, &hello.auth_tags, AuthTag::id)
            .ok_or(Error::UnsupportedAuthTag(first_unknown(&hello.auth_tags)))?;
        let sas_type = pick(&self.cfg.sas_types, &hello.sas_types, SasType::id)
            .ok_or(Error::UnsupportedSasType(first_unknown(&hello.sas_types)))?;
        let ours = pick(
            &self.cfg.key_agreements,
            &hello.key_agreements,
            KeyAgreement::id,
        )
        .ok_or(Error::UnsupportedKeyAgreement(first_unknown(
            &hello.key_agreements,
        )))?;
        let theirs = hello
            .key_agreements
            .iter()
            .filter_map(|id| KeyAgreement::from_id(*id))
            .find(|ka| self.cfg.key_agreements.contains(ka))
            .unwrap_or(ours);
        let key_agreement =
            if ours == KeyAgreement::Mult || theirs.speed_rank() >= ours.speed_rank() {
                ours
            } else {
                theirs
            };
        Ok(Algorithms {
            hash,
            cipher,
            auth_tag,
            key_agreement,
            sas_type,
        })
    }

    /// Sends our Commit (we intend to be initiator).
    fn commit(&mut self, now: Instant, alg: Algorithms) -> Result<(), Error> {
        if !matches!(self.state, State::Discovery) {
            return Ok(());
        }
        let Some(peer) = &self.peer else {
            return Ok(());
        };
        let (mode, dh) = if alg.key_agreement == KeyAgreement::Mult {
            let mut nonce = [0u8; 16];
            self.rng.fill_bytes(&mut nonce);
            (CommitMode::Multistream { nonce }, None)
        } else {
            let secret =
                KeyAgreementSecret::generate(alg.key_agreement, &mut self.rng, alg.cipher)?;
            let dhpart2 = self.dhpart_message(Role::Initiator, &secret);
            let hvi_full = alg.hash.hash(&[&dhpart2, &peer.raw]);
            let mut hvi = [0u8; 32];
            hvi.copy_from_slice(&hvi_full.as_ref()[..32]);
            (CommitMode::Dh { hvi }, Some((secret, dhpart2)))
        };
        let commit = Message::Commit(Commit {
            h2: self.chain.h[2],
            zid: self.zid,
            hash: alg.hash.id(),
            cipher: alg.cipher.id(),
            auth_tag: alg.auth_tag.id(),
            key_agreement: alg.key_agreement.id(),
            sas_type: alg.sas_type.id(),
            mode: mode.clone(),
            mac: [0; 8],
        });
        let commit_raw = encode_with_mac(&commit, &self.chain.h[1]);
        self.send(commit_raw.clone());
        self.rtx = Some(Retransmit::start(commit_raw.clone(), now, T2));
        self.state = State::Committed(Box::new(Committed {
            alg,
            commit_raw,
            mode,
            dh,
        }));
        Ok(())
    }

    /// Our DHPart for `role`, MAC keyed by H0.
    fn dhpart_message(&self, role: Role, secret: &KeyAgreementSecret) -> Vec<u8> {
        let (rs1_id, rs2_id, aux_secret_id, pbx_secret_id) = self
            .retained
            .as_ref()
            .map(|r| r.ours(role))
            .unwrap_or_default();
        let part = DhPart {
            h1: self.chain.h[1],
            rs1_id,
            rs2_id,
            aux_secret_id,
            pbx_secret_id,
            public_value: secret.public_value(),
            mac: [0; 8],
        };
        let message = match role {
            Role::Initiator => Message::DhPart2(part),
            Role::Responder => Message::DhPart1(part),
        };
        encode_with_mac(&message, &self.chain.h[0])
    }

    /// Checks a peer hash image against the peer's Hello H3 and, once H2 is known, the Hello MAC.
    fn check_peer_hello_with_h2(&self, h2: &[u8; 32]) -> Result<(), Error> {
        let peer = self
            .peer
            .as_ref()
            .ok_or(Error::Unexpected("message before Hello"))?;
        if !bool::from(crypto::sha256(&[h2]).ct_eq(&peer.msg.h3)) {
            return Err(Error::HashChainMismatch);
        }
        check_mac(&peer.raw, h2)
    }

    fn on_commit(&mut self, now: Instant, raw: &[u8], commit: Commit) -> Result<(), Error> {
        match &self.state {
            State::Discovery => {}
            State::Committed(ours) => {
                // Commit contention (RFC 6189 section 4.2): the lower hvi or nonce backs off.
                let peer_wins = match (&ours.mode, &commit.mode) {
                    (CommitMode::Dh { hvi: a }, CommitMode::Dh { hvi: b }) => a < b,
                    (
                        CommitMode::Multistream { nonce: a },
                        CommitMode::Multistream { nonce: b },
                    ) => a < b,
                    (CommitMode::Multistream { .. }, CommitMode::Dh { .. }) => true,
                    _ => false,
                };
                if !peer_wins {
                    return Err(Error::Unexpected("Commit (contention won)"));
                }
            }
            State::AnsweredCommit(s) if s.commit_raw == raw => {
                let reply = s.dhpart1_raw.clone();
                self.send(reply);
                return Ok(());
            }
            State::Keyed(s) if s.role == Role::Responder && s.trigger_raw == raw => {
                // Multistream: our Confirm1 answers the Commit directly.
                let reply = s.reply.clone();
                self.send(reply);
                return Ok(());
            }
            _ => return Err(Error::Unexpected("Commit")),
        }
        if self.cfg.role == RolePolicy::Initiator && matches!(self.state, State::Discovery) {
            return Err(Error::Unexpected("Commit (configured as initiator)"));
        }
        self.check_peer_hello_with_h2(&commit.h2)?;
        if self.peer.as_ref().map(|p| p.msg.zid) != Some(commit.zid) {
            return Err(Error::Unexpected("Commit from another ZID"));
        }
        let alg = match self.commit_algorithms(&commit) {
            Ok(alg) => alg,
            Err(e) => {
                self.fail(e, true);
                return Ok(());
            }
        };
        // Backing off or answering: our Hello needs no more retransmission, nor our Commit.
        self.hello_rtx = None;
        self.rtx = None;
        self.patience = Some(now + RESPONDER_PATIENCE);
        if alg.key_agreement == KeyAgreement::Mult {
            return self.answer_multistream_commit(raw, &commit, alg);
        }
        if let Some(r) = &mut self.retained {
            // The IDs must be keyed with the hash the initiator chose.
            let entry = core::mem::take(&mut r.entry);
            *r = RetainedIds::new(entry, alg.hash, &mut self.rng);
        }
        // Backing off from our own Commit: its DH secret serves the responder role as well when
        // the key agreement and exponent length match, saving a modular exponentiation.
        let reused = match core::mem::replace(&mut self.state, State::Discovery) {
            State::Committed(ours)
                if ours.alg.key_agreement == alg.key_agreement && ours.alg.cipher == alg.cipher =>
            {
                ours.dh.map(|(secret, _)| secret)
            }
            _ => None,
        };
        let secret = match reused {
            Some(secret) => secret,
            None => KeyAgreementSecret::generate(alg.key_agreement, &mut self.rng, alg.cipher)?,
        };
        let dhpart1_raw = self.dhpart_message(Role::Responder, &secret);
        self.send(dhpart1_raw.clone());
        self.state = State::AnsweredCommit(Box::new(AnsweredCommit {
            alg,
            commit_raw: raw.to_vec(),
            commit,
            secret,
            dhpart1_raw,
        }));
        Ok(())
    }

    /// The algorithms of a peer Commit, each of which must be in our Hello.
    fn commit_algorithms(&self, commit: &Commit) -> Result<Algorithms, Error> {
        fn offered<T: Copy + PartialEq>(
            ours: &[T],
            id: AlgoId,
            from: fn(AlgoId) -> Option<T>,
            err: fn(AlgoId) -> Error,
        ) -> Result<T, Error> {
            from(id).filter(|a| ours.contains(a)).ok_or(err(id))
        }
        let alg = Algorithms {
            hash: offered(
                &self.cfg.hashes,
                commit.hash,
                HashAlgorithm::from_id,
                Error::UnsupportedHash,
            )?,
            cipher: offered(
                &self.cfg.ciphers,
                commit.cipher,
                CipherAlgorithm::from_id,
                Error::UnsupportedCipher,
            )?,
            auth_tag: offered(
                &self.cfg.auth_tags,
                commit.auth_tag,
                AuthTag::from_id,
                Error::UnsupportedAuthTag,
            )?,
            key_agreement: offered(
                &self.cfg.key_agreements,
                commit.key_agreement,
                KeyAgreement::from_id,
                Error::UnsupportedKeyAgreement,
            )?,
            sas_type: offered(
                &self.cfg.sas_types,
                commit.sas_type,
                SasType::from_id,
                Error::UnsupportedSasType,
            )?,
        };
        let mode_ok = matches!(
            (&commit.mode, alg.key_agreement),
            (CommitMode::Multistream { .. }, KeyAgreement::Mult)
        ) || (matches!(commit.mode, CommitMode::Dh { .. })
            && alg.key_agreement != KeyAgreement::Mult);
        if !mode_ok {
            return Err(Error::Malformed(
                "commit mode does not match its key agreement",
            ));
        }
        Ok(alg)
    }

    fn on_dhpart1(&mut self, now: Instant, raw: &[u8], part: DhPart) -> Result<(), Error> {
        let State::Committed(ours) = &self.state else {
            return Err(Error::Unexpected("DHPart1"));
        };
        let Some((secret, dhpart2_raw)) = &ours.dh else {
            return Err(Error::Unexpected("DHPart1 in Multistream mode"));
        };
        let h2 = crypto::sha256(&[&part.h1]);
        self.check_peer_hello_with_h2(&h2)?;
        let alg = ours.alg;
        if part.public_value.len() != alg.key_agreement.public_value_len() {
            return Err(Error::Malformed("DHPart1 public value length"));
        }
        // The DHPart1 MAC is checked only on Confirm1, so a bad public value may be a forgery
        // spliced onto a genuine H1: drop it and wait for the real one.
        let dh_result = secret.agree(&part.public_value)?;
        // Everything that can refuse the packet runs before the state is taken.
        let (keys, matched) = self.dh_keys(
            Role::Initiator,
            alg,
            &part,
            &dh_result,
            [&ours.commit_raw, raw, dhpart2_raw],
        )?;
        let dhpart2_raw = dhpart2_raw.clone();
        // A DHPart1 means the peer has our Hello.
        self.hello_rtx = None;
        self.send(dhpart2_raw.clone());
        self.rtx = Some(Retransmit::start(dhpart2_raw.clone(), now, T2));
        self.state = State::Keyed(Box::new(Keyed {
            role: Role::Initiator,
            keys,
            matched,
            peer_h1: Some(part.h1),
            peer_dhpart_raw: Some(raw.to_vec()),
            peer_commit_h2: None,
            trigger_raw: Vec::new(),
            reply: dhpart2_raw,
        }));
        Ok(())
    }

    fn on_dhpart2(&mut self, now: Instant, raw: &[u8], part: DhPart) -> Result<(), Error> {
        match &self.state {
            State::AnsweredCommit(_) => {}
            State::Keyed(s) if s.role == Role::Responder && s.trigger_raw == raw => {
                let reply = s.reply.clone();
                self.send(reply);
                return Ok(());
            }
            _ => return Err(Error::Unexpected("DHPart2")),
        }
        let State::AnsweredCommit(ans) = &self.state else {
            return Err(Error::Unexpected("DHPart2"));
        };
        // H1 must hash to the H2 the Commit revealed, and H1 keys the Commit's MAC.
        if !bool::from(crypto::sha256(&[&part.h1]).ct_eq(&ans.commit.h2)) {
            return Err(Error::HashChainMismatch);
        }
        check_mac(&ans.commit_raw, &part.h1)?;
        let alg = ans.alg;
        if part.public_value.len() != alg.key_agreement.public_value_len() {
            return Err(Error::Malformed("DHPart2 public value length"));
        }
        let CommitMode::Dh { hvi } = &ans.commit.mode else {
            return Err(Error::Unexpected("DHPart2"));
        };
        let computed = alg.hash.hash(&[raw, &self.hello]);
        if !bool::from(computed.as_ref()[..32].ct_eq(hvi)) {
            // Not what the initiator committed to (RFC 6189 4.4.1.1). Its MAC cannot be checked
            // yet, so it may be a forgery on a genuine H1: drop it and wait for the real one.
            return Err(Error::BadHvi);
        }
        let dh_result = ans.secret.agree(&part.public_value)?;
        // Everything that can refuse the packet runs before the state changes.
        let (keys, matched) = self.dh_keys(
            Role::Responder,
            alg,
            &part,
            &dh_result,
            [&ans.commit_raw, &ans.dhpart1_raw, raw],
        )?;
        self.patience = Some(now + RESPONDER_PATIENCE);
        let confirm1 = self.confirm_message(&keys, Role::Responder, &matched);
        self.send(confirm1.clone());
        self.state = State::Keyed(Box::new(Keyed {
            role: Role::Responder,
            keys,
            matched,
            peer_h1: Some(part.h1),
            peer_dhpart_raw: Some(raw.to_vec()),
            peer_commit_h2: None,
            trigger_raw: raw.to_vec(),
            reply: confirm1,
        }));
        Ok(())
    }

    /// Matches retained secrets and derives the DH-mode key schedule once both DHParts are
    /// known. `messages` are Commit, DHPart1 and DHPart2 as sent, which with the responder's
    /// Hello make up total_hash (RFC 6189 section 4.4.1.4).
    fn dh_keys(
        &self,
        role: Role,
        alg: Algorithms,
        peer_part: &DhPart,
        dh_result: &DhResult,
        messages: [&[u8]; 3],
    ) -> Result<(KeySchedule, SecretMatch), Error> {
        let (Some(peer), Some(retained)) = (&self.peer, &self.retained) else {
            return Err(Error::Unexpected("DHPart before Hello"));
        };
        let matched = retained.match_peer(role, peer_part);
        let (responder_hello, zid_i, zid_r) = match role {
            Role::Initiator => (&peer.raw, &self.zid, &peer.msg.zid),
            Role::Responder => (&self.hello, &peer.msg.zid, &self.zid),
        };
        let [commit, dhpart1, dhpart2] = messages;
        let total_hash = alg.hash.hash(&[responder_hello, commit, dhpart1, dhpart2]);
        let keys = dh_key_schedule(
            alg,
            zid_i,
            zid_r,
            total_hash.as_ref(),
            dh_result.expose_secret(),
            &matched,
        );
        Ok((keys, matched))
    }

    fn answer_multistream_commit(
        &mut self,
        raw: &[u8],
        commit: &Commit,
        alg: Algorithms,
    ) -> Result<(), Error> {
        let Some(ms) = &self.cfg.multistream else {
            self.fail(Error::NoSharedSecret, true);
            return Ok(());
        };
        let peer = self
            .peer
            .as_ref()
            .ok_or(Error::Unexpected("Commit before Hello"))?;
        let total_hash = alg.hash.hash(&[&self.hello, raw]);
        let keys = multistream_key_schedule(
            alg,
            &ms.zrtp_sess,
            &peer.msg.zid,
            &self.zid,
            total_hash.as_ref(),
        );
        let matched = SecretMatch {
            s1: None,
            cache_mismatch: false,
        };
        let confirm1 = self.confirm_message(&keys, Role::Responder, &matched);
        self.send(confirm1.clone());
        // No DHPart in Multistream mode: the initiator's H0 is checked against the Commit's H2.
        self.state = State::Keyed(Box::new(Keyed {
            role: Role::Responder,
            keys,
            matched,
            peer_h1: None,
            peer_dhpart_raw: None,
            peer_commit_h2: Some(commit.h2),
            trigger_raw: raw.to_vec(),
            reply: confirm1,
        }));
        Ok(())
    }

    /// Our Confirm1 (responder) or Confirm2 (initiator).
    fn confirm_message(
        &mut self,
        keys: &KeySchedule,
        role: Role,
        matched: &SecretMatch,
    ) -> Vec<u8> {
        let verified =
            self.retained.as_ref().is_some_and(|r| r.entry.sas_verified) && !matched.cache_mismatch;
        let body = ConfirmBody {
            h0: self.chain.h[0],
            flags: ConfirmFlags {
                pbx_enrollment_e: false,
                sas_verified_v: verified,
                allow_clear_a: false,
                disclosure_d: false,
            },
            cache_expiration: CACHE_FOREVER,
            signature: Vec::new(),
        };
        let mut plain = Vec::new();
        body.encode(&mut plain);
        let mut iv = [0u8; 16];
        self.rng.fill_bytes(&mut iv);
        let (mac_key, cipher_key) = keys.confirm_keys(role);
        crypto::cfb_encrypt(keys.alg.cipher, cipher_key.expose_secret(), &iv, &mut plain);
        let mut confirm_mac = [0u8; 8];
        confirm_mac.copy_from_slice(
            &keys
                .alg
                .hash
                .hmac(mac_key.expose_secret(), &[&plain])
                .as_ref()[..8],
        );
        let confirm = Confirm {
            confirm_mac,
            iv,
            encrypted: plain,
        };
        let message = match role {
            Role::Responder => Message::Confirm1(confirm),
            Role::Initiator => Message::Confirm2(confirm),
        };
        let mut bytes = Vec::new();
        wire::encode_message(&message, &mut bytes);
        bytes
    }

    /// Verifies and decrypts the peer's Confirm, then checks its H0 against the peer's chain.
    fn open_confirm(&self, keyed: &Keyed, confirm: &Confirm) -> Result<ConfirmBody, Error> {
        let peer_role = match keyed.role {
            Role::Initiator => Role::Responder,
            Role::Responder => Role::Initiator,
        };
        let (mac_key, cipher_key) = keyed.keys.confirm_keys(peer_role);
        let mac = keyed
            .keys
            .alg
            .hash
            .hmac(mac_key.expose_secret(), &[&confirm.encrypted]);
        if !bool::from(mac.as_ref()[..8].ct_eq(&confirm.confirm_mac)) {
            return Err(Error::BadConfirmMac);
        }
        let mut plain = confirm.encrypted.clone();
        crypto::cfb_decrypt(
            keyed.keys.alg.cipher,
            cipher_key.expose_secret(),
            &confirm.iv,
            &mut plain,
        );
        let body = ConfirmBody::parse(&plain);
        plain.zeroize();
        let body = body?;
        let h1 = crypto::sha256(&[&body.h0]);
        match (&keyed.peer_h1, &keyed.peer_dhpart_raw) {
            (Some(peer_h1), Some(dhpart)) => {
                if !bool::from(h1.ct_eq(peer_h1)) {
                    return Err(Error::HashChainMismatch);
                }
                check_mac(dhpart, &body.h0)?;
            }
            _ => {
                // Multistream: H0 -> H1 -> H2 must reach the peer's committed or Hello chain.
                let h2 = crypto::sha256(&[&h1]);
                match keyed.role {
                    Role::Responder => {
                        let commit_h2 =
                            keyed.peer_commit_h2.ok_or(Error::Unexpected("Confirm2"))?;
                        if !bool::from(h2.ct_eq(&commit_h2)) {
                            return Err(Error::HashChainMismatch);
                        }
                        // The Commit's MAC is keyed by the initiator's H1.
                        check_mac(&keyed.trigger_raw, &h1)?;
                    }
                    Role::Initiator => self.check_peer_hello_with_h2(&h2)?,
                }
            }
        }
        Ok(body)
    }

    fn on_confirm1(&mut self, now: Instant, raw: &[u8], confirm: Confirm) -> Result<(), Error> {
        // Multistream initiator: Confirm1 answers the Commit directly.
        if let State::Committed(ours) = &self.state {
            if ours.alg.key_agreement != KeyAgreement::Mult {
                return Err(Error::Unexpected("Confirm1"));
            }
            let (Some(peer), Some(ms)) = (&self.peer, &self.cfg.multistream) else {
                return Err(Error::Unexpected("Confirm1"));
            };
            let total_hash = ours.alg.hash.hash(&[&peer.raw, &ours.commit_raw]);
            let keys = multistream_key_schedule(
                ours.alg,
                &ms.zrtp_sess,
                &self.zid,
                &peer.msg.zid,
                total_hash.as_ref(),
            );
            let keyed = Keyed {
                role: Role::Initiator,
                keys,
                matched: SecretMatch {
                    s1: None,
                    cache_mismatch: false,
                },
                peer_h1: None,
                peer_dhpart_raw: None,
                peer_commit_h2: None,
                trigger_raw: Vec::new(),
                reply: Vec::new(),
            };
            // Verify before any state changes.
            self.open_confirm(&keyed, &confirm)?;
            self.state = State::Keyed(Box::new(keyed));
        }
        let State::Keyed(keyed) = &self.state else {
            if let State::AwaitConf2Ack(done) | State::Secure(done) = &self.state {
                if done.trigger_raw == raw {
                    let reply = done.reply.clone();
                    self.send(reply);
                    return Ok(());
                }
            }
            return Err(Error::Unexpected("Confirm1"));
        };
        if keyed.role != Role::Initiator {
            return Err(Error::Unexpected("Confirm1"));
        }
        let body = self.open_confirm(keyed, &confirm)?;
        let State::Keyed(keyed) = core::mem::replace(&mut self.state, State::Discovery) else {
            return Err(Error::Unexpected("Confirm1"));
        };
        let confirm2 = self.confirm_message(&keyed.keys, Role::Initiator, &keyed.matched);
        let mut done = self.finish(*keyed, &body);
        done.trigger_raw = raw.to_vec();
        done.reply = confirm2.clone();
        self.send(confirm2.clone());
        self.rtx = Some(Retransmit::start(confirm2, now, T2));
        self.state = State::AwaitConf2Ack(Box::new(done));
        Ok(())
    }

    fn on_confirm2(&mut self, raw: &[u8], confirm: Confirm) -> Result<(), Error> {
        match &self.state {
            State::Keyed(k) if k.role == Role::Responder => {}
            State::Secure(done) if done.trigger_raw == raw => {
                self.send_message(&Message::Conf2Ack);
                return Ok(());
            }
            _ => return Err(Error::Unexpected("Confirm2")),
        }
        let State::Keyed(keyed) = &self.state else {
            return Err(Error::Unexpected("Confirm2"));
        };
        let body = self.open_confirm(keyed, &confirm)?;
        let State::Keyed(keyed) = core::mem::replace(&mut self.state, State::Discovery) else {
            return Err(Error::Unexpected("Confirm2"));
        };
        let mut done = self.finish(*keyed, &body);
        done.trigger_raw = raw.to_vec();
        self.send_message(&Message::Conf2Ack);
        self.secure(done);
        Ok(())
    }

    fn on_conf2ack(&mut self) -> Result<(), Error> {
        let State::AwaitConf2Ack(_) = &self.state else {
            return Err(Error::Unexpected("Conf2ACK"));
        };
        let State::AwaitConf2Ack(done) = core::mem::replace(&mut self.state, State::Discovery)
        else {
            return Err(Error::Unexpected("Conf2ACK"));
        };
        self.rtx = None;
        self.secure(*done);
        Ok(())
    }

    /// Derives the SRTP keys, SAS and new retained secret once the peer's Confirm checked out.
    fn finish(&mut self, keyed: Keyed, peer_confirm: &ConfirmBody) -> Done {
        let Keyed {
            role,
            keys,
            matched,
            ..
        } = keyed;
        let alg = keys.alg;
        let key_len = alg.cipher.key_len();
        let (keyi, salti) = (
            keys.derive(b"Initiator SRTP master key", key_len),
            keys.derive(b"Initiator SRTP master salt", 14),
        );
        let (keyr, saltr) = (
            keys.derive(b"Responder SRTP master key", key_len),
            keys.derive(b"Responder SRTP master salt", 14),
        );
        let srtp = match role {
            Role::Initiator => SrtpSecrets {
                local_key: keyi,
                local_salt: salti,
                remote_key: keyr,
                remote_salt: saltr,
            },
            Role::Responder => SrtpSecrets {
                local_key: keyr,
                local_salt: saltr,
                remote_key: keyi,
                remote_salt: salti,
            },
        };
        let hash_len = alg.hash.output_len();
        let peer_zid = self.peer.as_ref().map(|p| p.msg.zid).unwrap_or(self.zid);
        let multistream = alg.key_agreement == KeyAgreement::Mult;
        let (sas, zrtp_sess) = if multistream {
            let parent = self.cfg.multistream.as_ref().map(|m| m.zrtp_sess.clone());
            (None, parent.unwrap_or_else(|| SecretBytes::zeroed(0)))
        } else {
            let sas_hash = keys.derive(b"SAS", 32);
            (
                Some(crypto::render_sas(alg.sas_type, sas_hash.expose_secret())),
                keys.derive(b"ZRTP Session Key", hash_len),
            )
        };
        let old = self
            .retained
            .as_ref()
            .map(|r| r.entry.clone())
            .unwrap_or_default();
        let pending = if multistream || peer_confirm.cache_expiration == 0 {
            None
        } else {
            let rs1 = keys.derive(b"retained secret", 32);
            Some(CacheEntry {
                rs1: RetainedSecret::from_slice(rs1.expose_secret()),
                rs2: old.rs1.clone(),
                sas_verified: old.sas_verified && !matched.cache_mismatch,
            })
        };
        let sas_verified = !multistream
            && old.sas_verified
            && peer_confirm.flags.sas_verified_v
            && matched.s1.is_some()
            && !matched.cache_mismatch;
        let info = SecureInfo {
            role,
            algorithms: alg,
            sas,
            sas_verified,
            cache_mismatch: matched.cache_mismatch,
            secret_matched: matched.s1.is_some(),
            peer_zid,
            srtp,
            exported_key: keys.derive(b"Exported key", hash_len),
            multistream: MultistreamKey {
                zrtp_sess,
                peer_zid,
            },
            kdf_context: keys.kdf_context.clone(),
        };
        Done {
            info,
            trigger_raw: Vec::new(),
            reply: Vec::new(),
            pending,
        }
    }

    /// Enters the secure state: stores the new retained secret (unless a cache mismatch holds
    /// it back until the user verifies the SAS) and reports the keys.
    fn secure(&mut self, mut done: Done) {
        self.hello_rtx = None;
        self.rtx = None;
        self.patience = None;
        let peer = done.info.peer_zid;
        if done.info.cache_mismatch {
            // RFC 6189 section 4.3.2: clear the verified flag; keep the new secret back so a
            // man in the middle cannot replace the real peer's secret unless the SAS is read.
            if let Some(r) = &mut self.retained {
                r.entry.sas_verified = false;
            }
            if let Err(e) = self.cache.set_sas_verified(&peer, false) {
                self.out.push_back(Output::Event(Event::CacheFailed(e)));
            }
        } else if let Some(entry) = done.pending.take() {
            if let Err(e) = self.cache.store(&peer, &entry) {
                self.out.push_back(Output::Event(Event::CacheFailed(e)));
            }
        }
        self.out
            .push_back(Output::Event(Event::Secure(Box::new(done.info.clone()))));
        self.state = State::Secure(Box::new(done));
    }

    fn handle_set_verified(&mut self, verified: bool) -> Result<(), Error> {
        let State::Secure(done) = &mut self.state else {
            return Err(Error::WrongState(
                "the SAS can be marked only once the session is secure",
            ));
        };
        let peer = done.info.peer_zid;
        let result = match (verified, done.pending.take()) {
            (true, Some(mut entry)) => {
                entry.sas_verified = true;
                self.cache.store(&peer, &entry)
            }
            (v, _) => self.cache.set_sas_verified(&peer, v),
        };
        done.info.sas_verified = verified && done.info.sas_verified;
        result
    }
}

/// Why a Hello the signaling does not vouch for was refused.
fn hello_hash_refusal() -> Error {
    Error::HelloRefused(
        "the peer's hello does not match the a=zrtp-hash from the signaling: the signaling and \
         the media path disagree, possibly a man in the middle; check the path to the peer"
            .to_owned(),
    )
}

/// Encodes a message whose last 8 bytes are a MAC keyed by a hash-chain value.
fn encode_with_mac(message: &Message, key: &[u8; 32]) -> Vec<u8> {
    let mut bytes = Vec::new();
    wire::encode_message(message, &mut bytes);
    let split = bytes.len().saturating_sub(8);
    let mac = crypto::hmac_sha256_64(key, &bytes[..split]);
    bytes[split..].copy_from_slice(&mac);
    bytes
}

/// Checks the trailing 8-byte MAC of a stored message against a hash-chain key.
fn check_mac(raw: &[u8], key: &[u8; 32]) -> Result<(), Error> {
    if raw.len() < 8 {
        return Err(Error::Malformed("message too short for a mac"));
    }
    let split = raw.len() - 8;
    let mac = crypto::hmac_sha256_64(key, &raw[..split]);
    if bool::from(mac.ct_eq(&raw[split..])) {
        Ok(())
    } else {
        Err(Error::BadMessageMac)
    }
}
