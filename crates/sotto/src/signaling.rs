//! Calls set up by an offer and an answer that the application carries over its own channel
//! (a chat message, say), for peers that know nothing of each other's addresses and may sit
//! behind NATs.
//!
//! [`Call::prepare`] binds the call's socket, opens its ZID cache, creates its ZRTP session
//! and gathers candidates on that socket (host addresses, and what STUN servers see of it
//! through the NAT). The offer or answer it writes is one line of text carrying SDP: codecs,
//! candidates, ICE credentials and `a=zrtp-hash` (RFC 6189 section 8.1), which binds the
//! signaling to the ZRTP Hello that follows on the media path. Once both lines are across, the
//! call's network thread checks candidate pairs (ICE-style, with the credentials from the
//! signaling), punches through the NATs, and starts ZRTP on the path found. STUN, ZRTP and
//! SRTP share the one socket.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use rand_core::{OsRng, RngCore};
use sotto_net::{
    is_stun, Agent, AgentConfig, Candidate, CandidateKind, GatherEvent, GatherFailure, Gatherer,
    GathererConfig, IceCredentials, Input, Output,
};
use sotto_signal::{Answer, LocalMedia, LocalStream, Negotiated, Offer};
use sotto_zrtp::HelloHash;

use sotto_media::{AudioSink, AudioSource, VideoSink, VideoSource};

use crate::call::{Bound, Media};
use crate::{Call, CallConfig, Error};

/// Most local addresses offered as host candidates (sotto-net's limit).
const MAX_HOST_ADDRS: usize = 8;

/// How a prepared call finds its way to the peer.
#[derive(Clone, Debug)]
pub struct PathConfig {
    /// STUN servers that tell us our address as the internet sees it (none: host candidates
    /// only, enough on one network).
    pub stun_servers: Vec<SocketAddr>,
    /// Gathering ends by this long, answered or not (default 3 s): an unreachable STUN server
    /// delays the offer by this much and no more.
    pub gather_timeout: Duration,
    /// The call ends with [`EndReason::NoPath`](crate::EndReason::NoPath) when no path to
    /// the peer is found within this long of the offer and answer being across (default 10 s).
    pub connect_timeout: Duration,
}

impl Default for PathConfig {
    fn default() -> Self {
        PathConfig {
            stun_servers: Vec::new(),
            gather_timeout: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// A call that has its socket, identity and candidates, waiting for the other side's offer or
/// answer. Made by [`Call::prepare`]; the offerer calls [`PreparedCall::offer`] and later
/// [`PreparedCall::accept`], the answerer [`PreparedCall::answer`].
///
/// ```no_run
/// use sotto::{Call, CallConfig, PathConfig};
///
/// let config = |cache: &str| CallConfig::new("0.0.0.0:0".parse().unwrap(), None, cache.into());
/// // Alice's side writes an offer; her chat carries it to Bob.
/// let alice = Call::prepare(config("alice.sqlite"), PathConfig::default())?;
/// let offer: String = alice.offer()?;
/// // Bob's side answers it, and the answer goes back.
/// let (bob_call, answer) = Call::prepare(config("bob.sqlite"), PathConfig::default())?.answer(&offer)?;
/// let alice_call = alice.accept(&answer)?;
/// # let _ = (bob_call, alice_call);
/// # Ok::<(), sotto::Error>(())
/// ```
pub struct PreparedCall {
    config: CallConfig,
    media: Media,
    bound: Bound,
    local: LocalPath,
    path: PathConfig,
    session_id: u64,
}

impl fmt::Debug for PreparedCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedCall")
            .field("local_addr", &self.bound.local_addr)
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

/// One end's share of a path set-up: fresh ICE credentials and the candidates gathered on the
/// call's socket. A restart makes new ones.
#[derive(Clone, Debug)]
pub(crate) struct LocalPath {
    /// Redacted in Debug by its own type.
    credentials: IceCredentials,
    candidates: Vec<Candidate>,
    stun_failures: Vec<GatherFailure>,
}

impl LocalPath {
    /// Gathers on `socket` (bounded by `path.gather_timeout`); datagrams that are not the STUN
    /// servers' answers go to `other`.
    pub(crate) fn gather(
        socket: &UdpSocket,
        path: &PathConfig,
        other: impl FnMut(SocketAddr, &mut [u8]),
    ) -> Result<LocalPath, Error> {
        let hosts = host_addresses(socket.local_addr()?)?;
        let (candidates, stun_failures) = gather(socket, hosts, path, other)?;
        Ok(LocalPath {
            credentials: IceCredentials::generate(&mut OsRng),
            candidates,
            stun_failures,
        })
    }

    /// The connectivity checks towards what the peer's offer or answer said.
    pub(crate) fn agent(
        &self,
        negotiated: &Negotiated,
        controlling: bool,
        connect_timeout: Duration,
    ) -> Result<Agent, Error> {
        let audio = &negotiated.audio;
        let remote_ice = audio
            .remote_ice
            .as_ref()
            .ok_or(Error::Signal(sotto_signal::Error::Missing("a=ice-ufrag")))?;
        let remote_credentials = IceCredentials::new(remote_ice.ufrag(), remote_ice.pwd())?;
        // Candidates the agent cannot use (relay, mDNS, TCP) are skipped; the peer's default
        // address stands in when none is left.
        let mut remote_candidates: Vec<Candidate> = audio
            .remote_candidates
            .iter()
            .filter_map(|c| Candidate::parse_sdp(c.as_str()).ok())
            .collect();
        if remote_candidates.is_empty() {
            remote_candidates.push(Candidate::host(audio.remote, u16::MAX));
        }
        // Checks pair addresses of one family: a peer reachable only over the other one
        // cannot be reached from this socket at all.
        let ours_v4 = self.candidates.iter().all(|c| c.addr.is_ipv4());
        if remote_candidates
            .iter()
            .all(|c| c.addr.is_ipv4() != ours_v4)
        {
            let family = |v4: bool| if v4 { "IPv4" } else { "IPv6" };
            return Err(Error::Config(format!(
                "the peer can only be reached over {} and this call's socket is {}; prepare \
                 the call on {} to reach it",
                family(!ours_v4),
                family(ours_v4),
                if ours_v4 { "[::]:0" } else { "0.0.0.0:0" }
            )));
        }
        let mut config =
            AgentConfig::new(self.credentials.clone(), remote_credentials, controlling);
        config.local_candidates = self.candidates.clone();
        config.remote_candidates = remote_candidates;
        config.connect_timeout = connect_timeout;
        Ok(Agent::new(config, &mut OsRng, Instant::now())?)
    }
}

/// What a call's offers and answers say besides the path; the network thread keeps it to
/// write the offers and answers of restarts.
#[derive(Clone, Debug)]
pub(crate) struct Description {
    session_id: u64,
    /// Of the last offer or answer written (RFC 3264: each new one counts up).
    version: u64,
    hello_hash: sotto_signal::ZrtpHash,
    video_on: bool,
    /// The socket's address, the default when no candidate was gathered.
    local_addr: SocketAddr,
    /// How candidates are gathered and checks run.
    pub(crate) path: PathConfig,
}

impl Description {
    /// Our side of an offer or answer with `local`'s candidates.
    fn local_media(&self, local: &LocalPath) -> Result<LocalMedia, Error> {
        // The default address (c= and m= lines) is the one most likely to work for a peer that
        // does not do ICE: the NAT's, if a STUN server told us, else our first host address.
        let default = local
            .candidates
            .iter()
            .find(|c| c.kind == CandidateKind::ServerReflexive)
            .or_else(|| local.candidates.first())
            .map_or(self.local_addr, |c| c.addr);
        let candidates = local
            .candidates
            .iter()
            .map(|c| sotto_signal::Candidate::new(&c.to_sdp()))
            .collect::<Result<Vec<_>, _>>()?;
        let audio = LocalStream {
            candidates,
            ..LocalStream::new(default.port(), Some(self.hello_hash.clone()))
        };
        // The video stream's ZRTP session (Multistream) only exists once audio is secure, so
        // its m-line carries no hash; it shares the audio stream's socket and candidates.
        let video = self
            .video_on
            .then(|| LocalStream::new(default.port(), None));
        let ice = sotto_signal::IceCredentials::new(
            &local.credentials.ufrag,
            local.credentials.pwd.expose_secret(),
        )?;
        Ok(LocalMedia {
            session_id: self.session_id,
            session_version: self.version,
            address: default.ip(),
            audio,
            video,
            ice: Some(ice),
        })
    }

    /// A restart's offer (the next version) with `local`'s new candidates.
    pub(crate) fn restart_offer(&mut self, local: &LocalPath) -> Result<Offer, Error> {
        self.version += 1;
        Ok(Offer::new(&self.local_media(local)?)?)
    }

    /// The answer to a restart's offer, and what it agrees.
    pub(crate) fn restart_answer(
        &mut self,
        offer: &Offer,
        local: &LocalPath,
    ) -> Result<(Answer, Negotiated), Error> {
        self.version += 1;
        Ok(offer.answer(&self.local_media(local)?)?)
    }
}

impl Call {
    /// Prepares a call set up by offer and answer: binds `config.bind`, opens the ZID cache,
    /// creates the ZRTP session and gathers candidates, waiting at most
    /// `path.gather_timeout` for the STUN servers. `config.peer` is not used: the path comes
    /// from the candidates. A STUN server that does not answer is no error (the call may still
    /// work on one network); [`PreparedCall::stun_failures`] says which and why.
    pub fn prepare(config: CallConfig, path: PathConfig) -> Result<PreparedCall, Error> {
        config.validate()?;
        let media = Media::named(&config);
        let bound = Bound::new(&config)?;
        // Nothing else is expected on a socket nobody knows yet.
        let local = LocalPath::gather(&bound.socket, &path, |_, _| {})?;
        Ok(PreparedCall {
            config,
            media,
            bound,
            local,
            path,
            // RFC 8866: a number below 2^63 keeps it a positive 64-bit integer everywhere.
            session_id: OsRng.next_u64() >> 1,
        })
    }
}

impl PreparedCall {
    /// The call will read `source` and write `sink` instead of opening `config.audio_in` and
    /// `config.audio_out`, exactly as [`Call::start_with_audio`] does: for applications with
    /// an audio path of their own.
    pub fn with_audio(mut self, source: Box<dyn AudioSource>, sink: Box<dyn AudioSink>) -> Self {
        self.media.supply_audio(source, sink);
        self
    }

    /// The call will read video from `source` and show it on `sink` (each if given), as
    /// [`Call::start_with_video`] does; giving either turns video on, and the offer or answer
    /// then carries a video stream.
    pub fn with_video(
        mut self,
        source: Option<Box<dyn VideoSource>>,
        sink: Option<Box<dyn VideoSink>>,
    ) -> Self {
        self.media.supply_video(source, sink);
        self
    }

    /// The local address of the call's socket.
    pub fn local_addr(&self) -> SocketAddr {
        self.bound.local_addr
    }

    /// Our candidates: host addresses first, then server-reflexive ones.
    pub fn candidates(&self) -> &[Candidate] {
        &self.local.candidates
    }

    /// The STUN servers that gave no address, each with the reason in words for the user.
    pub fn stun_failures(&self) -> &[GatherFailure] {
        &self.local.stun_failures
    }

    /// The offer, as one line of text for the application to carry to the peer. The same
    /// prepared call writes the same offer every time.
    pub fn offer(&self) -> Result<String, Error> {
        Ok(self.first_offer()?.to_line())
    }

    /// Answers the peer's offer line: starts the call (it first finds a path to the peer,
    /// then runs ZRTP on it) and returns it with the answer line to carry back.
    pub fn answer(self, offer: &str) -> Result<(Call, String), Error> {
        let local_media = self.description().local_media(&self.local)?;
        let (answer, negotiated) = Offer::from_line(offer)?.answer(&local_media)?;
        let call = self.start(&negotiated, false)?;
        Ok((call, answer.to_line()))
    }

    /// Takes the peer's answer to [`PreparedCall::offer`] and starts the call.
    pub fn accept(self, answer: &str) -> Result<Call, Error> {
        let negotiated = self.first_offer()?.accept(&Answer::from_line(answer)?)?;
        self.start(&negotiated, true)
    }

    fn first_offer(&self) -> Result<Offer, Error> {
        Ok(Offer::new(&self.description().local_media(&self.local)?)?)
    }

    fn description(&self) -> Description {
        Description {
            session_id: self.session_id,
            version: 1,
            hello_hash: sotto_signal::ZrtpHash::new(*self.bound.session.hello_hash().as_bytes()),
            video_on: self.media.video_on(),
            local_addr: self.bound.local_addr,
            path: self.path.clone(),
        }
    }

    fn start(mut self, negotiated: &Negotiated, controlling: bool) -> Result<Call, Error> {
        if let Some(hash) = &negotiated.audio.remote_zrtp_hash {
            self.bound
                .session
                .set_peer_hello_hash(HelloHash(*hash.hash()));
        }
        let agent = self
            .local
            .agent(negotiated, controlling, self.path.connect_timeout)?;
        let ice = IceSetup {
            agent,
            description: self.description(),
        };
        Call::launch(self.config, self.media, self.bound, Some(ice))
    }
}

/// What the network thread of a call set up by offer and answer gets: its connectivity
/// checks, and what it needs to restart them.
#[derive(Debug)]
pub(crate) struct IceSetup {
    pub(crate) agent: Agent,
    pub(crate) description: Description,
}

/// The addresses a peer may reach our socket at: the bound address if it names one, else
/// every address of this machine's interfaces in the socket's family, loopback only when
/// there is nothing else (a peer on another machine could not use it).
pub(crate) fn host_addresses(local: SocketAddr) -> Result<Vec<SocketAddr>, Error> {
    if !local.ip().is_unspecified() {
        return Ok(vec![local]);
    }
    let interfaces = if_addrs::get_if_addrs()?;
    let usable = |ip: &IpAddr| {
        ip.is_ipv4() == local.is_ipv4()
            && match ip {
                // Link-local IPv6 needs a scope id that a candidate line cannot carry.
                IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
                IpAddr::V4(v4) => !v4.is_link_local(),
            }
    };
    let ips: Vec<IpAddr> = interfaces.iter().map(|i| i.ip()).filter(usable).collect();
    let mut chosen: Vec<SocketAddr> = ips
        .iter()
        .filter(|ip| !ip.is_loopback())
        .chain(ips.iter().filter(|ip| ip.is_loopback()).take(1))
        .take(MAX_HOST_ADDRS)
        .map(|&ip| SocketAddr::new(ip, local.port()))
        .collect();
    if chosen.len() > 1 {
        chosen.retain(|a| !a.ip().is_loopback());
    }
    if chosen.is_empty() {
        return Err(Error::Config(format!(
            "this machine has no {} address to call from; bind an address with a network interface",
            if local.is_ipv4() { "IPv4" } else { "IPv6" }
        )));
    }
    Ok(chosen)
}

/// Runs candidate gathering on the call's socket until it is done (bounded by
/// `path.gather_timeout`).
fn gather(
    socket: &UdpSocket,
    hosts: Vec<SocketAddr>,
    path: &PathConfig,
    mut other: impl FnMut(SocketAddr, &mut [u8]),
) -> Result<(Vec<Candidate>, Vec<GatherFailure>), Error> {
    let mut config = GathererConfig::new(hosts, path.stun_servers.clone());
    config.deadline = path.gather_timeout;
    let mut gatherer = Gatherer::new(config, &mut OsRng, Instant::now())?;
    let mut buf = [0u8; 1500];
    loop {
        let deadline = loop {
            match gatherer.poll_output() {
                // A lost request is retransmitted; a failing server ends up in the failures.
                Output::Transmit { to, bytes, .. } => {
                    let _ = socket.send_to(&bytes, to);
                }
                Output::Event(GatherEvent::GatheringDone { failures }) => {
                    return Ok((gatherer.candidates().to_vec(), failures));
                }
                Output::Event(GatherEvent::Candidate(_)) => {}
                Output::Timeout(deadline) => break deadline,
            }
        };
        let now = Instant::now();
        let wait = deadline
            .map_or(path.gather_timeout, |d| d.saturating_duration_since(now))
            .max(Duration::from_millis(1));
        socket.set_read_timeout(Some(wait))?;
        match socket.recv_from(&mut buf) {
            Ok((len, from)) => {
                let datagram = &mut buf[..len];
                let ours = is_stun(datagram)
                    && gatherer
                        .handle_input(Input::Receive {
                            now: Instant::now(),
                            from,
                            to: None,
                            packet: datagram,
                        })
                        .is_ok();
                if !ours {
                    other(from, datagram);
                }
            }
            Err(e) if is_transient(&e) => {
                gatherer.handle_input(Input::Timeout(Instant::now()))?;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Receive errors that only mean "nothing this time": a timeout, or an ICMP error for an
/// earlier send (a STUN server that is not there).
pub(crate) fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock
            | io::ErrorKind::TimedOut
            | io::ErrorKind::Interrupted
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
    )
}
