//! The network thread: ZRTP, then SRTP and SRTCP, on the call's one socket. The video
//! stream's share of it (its Multistream ZRTP, SRTP, receiver and RTCP) is in
//! [`video_net`](crate::video_net).

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rand_core::RngCore;
use sotto_net::Agent;
use sotto_rt::JitterInput;
use sotto_rtp::opus::{DEFAULT_PAYLOAD_TYPE, OPUS_CLOCK_RATE_HZ};
use sotto_rtp::rtcp::{self, RtcpPacket};
use sotto_rtp::srtp::{self, SrtpReceiver, SrtpSender};
use sotto_rtp::stats::ReceiveStats;
use sotto_rtp::{classify, header_ssrc, OpusPacketizer, PacketKind, RtpPacket};
use sotto_signal::{Answer, Offer};
use sotto_zrtp::{Event, Input, SecureInfo, Session};

use crate::audio::{MediaThread, SenderGo};
use crate::call::{Command, Shared};
use crate::reports::{expected_received, interval_loss_percent, per_second, RtcpOut};
use crate::signaling::{is_transient, Description, IceSetup, LocalPath};
use crate::video_net::{Taken, VideoNet, VideoNetSetup};
use crate::zrtp_udp::ZrtpLink;
use crate::Error;
use crate::{CallConfig, CallEvent, CallStats, EndReason};

/// RTCP report interval (RFC 3550's 5 s minimum, without the randomisation: one stream, two
/// members). The first report goes after half of it.
const RTCP_INTERVAL: Duration = Duration::from_secs(5);
/// Nothing from the peer for this long is worth telling the application (Opus DTX still sends
/// a frame every 400 ms, RTCP every 5 s): see [`CallEvent::PeerQuiet`].
const PEER_QUIET: Duration = Duration::from_secs(3);
/// The longest the thread blocks even without a deadline, in case a wake-up datagram is lost.
const MAX_WAIT: Duration = Duration::from_secs(1);
/// Receive buffer: larger than any datagram a peer of ours sends.
const RECEIVE_BUFFER_LEN: usize = 2048;

/// Identifiers of our stream, random as RFC 3550 asks.
#[derive(Clone, Debug)]
pub(crate) struct MediaIds {
    pub(crate) ssrc: u32,
    pub(crate) sequence: u16,
    pub(crate) timestamp: u32,
    /// RFC 7022 short-term CNAME: random, so it reveals nothing about the host. Both of a
    /// call's streams carry the same one.
    pub(crate) cname: String,
}

impl MediaIds {
    pub(crate) fn random() -> Self {
        let mut rng = rand_core::OsRng;
        let mut cname = [0u8; 12];
        rng.fill_bytes(&mut cname);
        MediaIds {
            ssrc: rng.next_u32(),
            sequence: rng.next_u32() as u16,
            timestamp: rng.next_u32(),
            cname: cname.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    /// Identifiers of a second stream of the same call: its own random SSRC (never the
    /// first's), sequence and timestamp, and the same CNAME.
    pub(crate) fn another_stream(&self) -> Self {
        let mut rng = rand_core::OsRng;
        let mut ssrc = rng.next_u32();
        while ssrc == self.ssrc {
            ssrc = rng.next_u32();
        }
        MediaIds {
            ssrc,
            sequence: rng.next_u32() as u16,
            timestamp: rng.next_u32(),
            cname: self.cname.clone(),
        }
    }
}

/// Everything the network thread owns.
#[derive(Debug)]
pub(crate) struct NetSetup {
    pub(crate) config: CallConfig,
    pub(crate) socket: UdpSocket,
    pub(crate) session: Session,
    pub(crate) ids: MediaIds,
    pub(crate) jitter: JitterInput,
    pub(crate) shared: Arc<Shared>,
    pub(crate) commands: Receiver<Command>,
    pub(crate) events: Sender<CallEvent>,
    pub(crate) sender: MediaThread<SenderGo>,
    pub(crate) playout: MediaThread<()>,
    /// The video stream, when the call has video on.
    pub(crate) video: Option<VideoNetSetup>,
    /// For a call set up by offer and answer: finds the path to the peer before ZRTP starts,
    /// then keeps consent on it.
    pub(crate) ice: Option<IceSetup>,
}

/// The connectivity checks of a call set up by offer and answer.
#[derive(Debug)]
struct Ice {
    agent: Agent,
    deadline: Option<Instant>,
    connected_at: Option<Instant>,
    /// What restart offers and answers say besides the path.
    description: Description,
    /// Our restart offer waiting for its answer, with the candidates it carries.
    restart: Option<(LocalPath, Offer)>,
}

/// Starts the network thread; it returns why the call ended.
pub(crate) fn spawn(setup: NetSetup) -> io::Result<JoinHandle<EndReason>> {
    thread::Builder::new()
        .name("sotto-net".to_owned())
        .spawn(move || Net::new(setup).run())
}

fn not_negotiated() -> Error {
    Error::Config(
        "only a call set up by offer and answer (Call::prepare) can restart its path".to_owned(),
    )
}

impl Ice {
    /// Replaces the checks with a restart's: the call moves once they find a path.
    fn restart_with(&mut self, agent: Agent) {
        self.agent = agent;
        self.deadline = Some(Instant::now());
    }
}

/// State of a secure call.
#[derive(Debug)]
struct Media {
    peer: SocketAddr,
    srtp_rx: SrtpReceiver,
    /// Protects our RTCP only. The sender thread has its own `SrtpSender` for RTP under the
    /// same master key: SRTP and SRTCP use separate session keys and indices, so the two
    /// never share keystream.
    rtcp_tx: SrtpSender,
    peer_ssrc: Option<u32>,
    rx_stats: Option<ReceiveStats>,
    secure_at: Instant,
    last_heard: Instant,
    /// The `last_heard` a [`CallEvent::PeerQuiet`] was emitted for: once per quiet spell.
    quiet_reported: Option<Instant>,
    next_rtcp: Instant,
    next_stats: Instant,
    rtt: Option<Duration>,
    packets_received: u64,
    bytes_received: u64,
    rejected: u64,
    /// Counters at the previous stats event, for the per-interval figures.
    previous: Interval,
}

#[derive(Clone, Copy, Debug)]
struct Interval {
    at: Instant,
    bytes_sent: u64,
    bytes_received: u64,
    expected: u32,
    received: u32,
}

#[derive(Debug)]
struct Net {
    socket: UdpSocket,
    link: ZrtpLink,
    ids: MediaIds,
    jitter: JitterInput,
    shared: Arc<Shared>,
    commands: Receiver<Command>,
    events: Sender<CallEvent>,
    /// The sender and playout threads; taken when the call ends.
    threads: Option<(MediaThread<SenderGo>, MediaThread<()>)>,
    listening: bool,
    handshake_timeout: Duration,
    peer_timeout: Duration,
    duration: Option<Duration>,
    stats_interval: Duration,
    started: Instant,
    first_heard: Option<Instant>,
    /// A SAS verdict given before the call was secure, applied once it is.
    pending_verified: Option<bool>,
    media: Option<Media>,
    /// SSRC in the header of the peer's audio-stream ZRTP packets: its other ZRTP packets are
    /// the video stream's.
    peer_zrtp_ssrc: Option<u32>,
    video: Option<VideoNet>,
    ice: Option<Ice>,
    /// A Hello that did not match the signalled `a=zrtp-hash` was refused.
    hello_hash_mismatch: bool,
    /// The call ended (the peer said goodbye) while candidates were gathered for a restart.
    ended_meanwhile: Option<EndReason>,
}

impl Net {
    fn new(setup: NetSetup) -> Self {
        let NetSetup {
            config,
            socket,
            session,
            ids,
            jitter,
            shared,
            commands,
            events,
            sender,
            playout,
            video,
            ice,
        } = setup;
        Net {
            socket,
            link: ZrtpLink::new(config.peer, session),
            ids,
            jitter,
            shared,
            commands,
            events,
            threads: Some((sender, playout)),
            listening: config.peer.is_none(),
            handshake_timeout: config.handshake_timeout,
            peer_timeout: config.peer_timeout,
            duration: config.duration,
            stats_interval: config.stats_interval,
            started: Instant::now(),
            first_heard: None,
            pending_verified: None,
            media: None,
            peer_zrtp_ssrc: None,
            video: video.map(VideoNet::new),
            ice: ice.map(|IceSetup { agent, description }| Ice {
                agent,
                // Due at once: the first checks are queued already.
                deadline: Some(Instant::now()),
                connected_at: None,
                description,
                restart: None,
            }),
            hello_hash_mismatch: false,
            ended_meanwhile: None,
        }
    }

    /// The driver loop: commands, timers, ZRTP output, then wait for a datagram or the next
    /// deadline.
    fn run(mut self) -> EndReason {
        let mut buf = [0u8; RECEIVE_BUFFER_LEN];
        let reason = loop {
            if let Some(reason) = self.step(&mut buf) {
                break reason;
            }
        };
        self.finish(reason)
    }

    fn step(&mut self, buf: &mut [u8]) -> Option<EndReason> {
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Command::HangUp => return Some(EndReason::HungUp),
                Command::Failed(message) => return Some(EndReason::Failed(message)),
                Command::SetSasVerified(verified) => self.set_sas_verified(verified),
                // The decode thread raised its flag; the video timers below act on it.
                Command::VideoKeyframe => {}
                Command::VideoInputEnded => self.emit(CallEvent::VideoInputEnded),
                Command::RestartPath(reply) => {
                    let _ = reply.send(self.restart_offer());
                }
                Command::AnswerRestart(offer, reply) => {
                    let _ = reply.send(self.answer_restart(&offer));
                }
                Command::AcceptRestart(answer, reply) => {
                    let _ = reply.send(self.accept_restart(&answer));
                }
            }
            if let Some(reason) = self.ended_meanwhile.take() {
                return Some(reason);
            }
        }
        let now = Instant::now();
        if let Some(reason) = self.drive_ice(now, None) {
            return Some(reason);
        }
        self.link.handle_timeout(now);
        if let Some(reason) = self.flush_zrtp(now) {
            return Some(reason);
        }
        if let Some(video) = &mut self.video {
            let events = &self.events;
            video.drive_zrtp(&self.socket, &self.shared, now, &mut |event| {
                let _ = events.send(event);
            });
        }
        if let Some(reason) = self.check_timers(now) {
            return Some(reason);
        }
        let wait = self
            .next_deadline()
            .map_or(MAX_WAIT, |d| d.saturating_duration_since(now).min(MAX_WAIT))
            .max(Duration::from_millis(1));
        if let Err(e) = self.socket.set_read_timeout(Some(wait)) {
            return Some(EndReason::Failed(format!("udp socket: {e}")));
        }
        match self.socket.recv_from(buf) {
            Ok((len, from)) => self.handle_datagram(from, &mut buf[..len], Instant::now()),
            // A timeout, or an ICMP port unreachable (the peer not up yet, or gone for a
            // moment): the timeouts decide whether the call goes on.
            Err(e) if is_transient(&e) => None,
            Err(e) => Some(EndReason::Failed(format!("udp socket: {e}"))),
        }
    }

    fn set_sas_verified(&mut self, verified: bool) {
        let session = self.link.session_mut();
        if session.is_secure() {
            // A cache write failure comes out as Event::CacheFailed; the call goes on.
            let _ = session.handle_input(Input::SetSasVerified(verified));
        } else {
            self.pending_verified = Some(verified);
        }
    }

    /// Sends what ZRTP queued and acts on its events.
    fn flush_zrtp(&mut self, now: Instant) -> Option<EndReason> {
        for event in self.link.flush_best_effort(&self.socket) {
            match event {
                Event::Secure(info) => {
                    if let Some(reason) = self.on_secure(&info, now) {
                        return Some(reason);
                    }
                }
                Event::Failed(e) if self.media.is_none() => {
                    return Some(EndReason::HandshakeFailed(e.to_string()))
                }
                Event::Failed(e) => return Some(EndReason::Failed(format!("zrtp: {e}"))),
                Event::HelloHashMismatch { .. } => {
                    self.hello_hash_mismatch = true;
                    if let Some(from) = self.link.peer() {
                        self.emit(CallEvent::HelloHashMismatch { from });
                    }
                }
                // The SAS flag could not be stored: the call itself is unaffected.
                _ => {}
            }
        }
        None
    }

    /// Keys SRTP, reports the SAS, and starts the media threads.
    fn on_secure(&mut self, info: &SecureInfo, now: Instant) -> Option<EndReason> {
        let Some(peer) = self.link.peer() else {
            return Some(EndReason::Failed(
                "zrtp became secure without a peer address".to_owned(),
            ));
        };
        let keyed = srtp::from_zrtp(info).and_then(|(rtp_tx, srtp_rx)| {
            let (rtcp_tx, _) = srtp::from_zrtp(info)?;
            Ok((rtp_tx, srtp_rx, rtcp_tx))
        });
        let (rtp_tx, srtp_rx, rtcp_tx) = match keyed {
            Ok(keyed) => keyed,
            Err(e) => return Some(EndReason::Failed(format!("keying srtp: {e}"))),
        };
        if let Some(sas) = &info.sas {
            self.emit(CallEvent::Sas {
                sas: sas.clone(),
                sas_type: info.algorithms.sas_type,
                verified: info.sas_verified,
                cache_mismatch: info.cache_mismatch,
            });
        }
        self.emit(CallEvent::Secure {
            role: info.role,
            algorithms: info.algorithms,
            peer,
        });
        if let Some(verified) = self.pending_verified.take() {
            self.set_sas_verified(verified);
        }
        self.shared.set_peer(peer);
        if let Some((sender, playout)) = &self.threads {
            sender.start(SenderGo {
                srtp: rtp_tx,
                packetizer: OpusPacketizer::new(
                    self.ids.ssrc,
                    DEFAULT_PAYLOAD_TYPE,
                    self.ids.sequence,
                    self.ids.timestamp,
                ),
            });
            playout.start(());
        }
        if let Some(video) = &mut self.video {
            let events = &self.events;
            video.start_zrtp(info, peer, now, &mut |event| {
                let _ = events.send(event);
            });
        }
        self.media = Some(Media {
            peer,
            srtp_rx,
            rtcp_tx,
            peer_ssrc: None,
            rx_stats: None,
            secure_at: now,
            last_heard: now,
            quiet_reported: None,
            next_rtcp: now + RTCP_INTERVAL / 2,
            next_stats: now + self.stats_interval,
            rtt: None,
            packets_received: 0,
            bytes_received: 0,
            rejected: 0,
            previous: Interval {
                at: now,
                bytes_sent: 0,
                bytes_received: 0,
                expected: 0,
                received: 0,
            },
        });
        None
    }

    /// When ZRTP must have completed by; `None` for a listener nobody has called yet.
    fn handshake_deadline(&self) -> Option<Instant> {
        let from = match &self.ice {
            // Finding the path has its own deadline; ZRTP's counts from there.
            Some(ice) => ice.connected_at?,
            None if self.listening => self.first_heard?,
            None => self.started,
        };
        Some(from + self.handshake_timeout)
    }

    fn check_timers(&mut self, now: Instant) -> Option<EndReason> {
        let Some(media) = &self.media else {
            if self.handshake_deadline().is_some_and(|d| now >= d) {
                return Some(EndReason::HandshakeFailed(self.handshake_timed_out()));
            }
            return None;
        };
        if now >= media.last_heard + self.peer_timeout {
            return Some(EndReason::PeerGone);
        }
        let quiet = |m: &&mut Media| m.quiet_due().is_some_and(|due| due <= now);
        if let Some(media) = self.media.as_mut().filter(quiet) {
            media.quiet_reported = Some(media.last_heard);
            let silent = now.saturating_duration_since(media.last_heard);
            let _ = self.events.send(CallEvent::PeerQuiet { silent });
        }
        let Some(media) = &self.media else {
            return None;
        };
        if self.duration.is_some_and(|d| now >= media.secure_at + d) {
            return Some(EndReason::DurationReached);
        }
        let (rtcp_due, stats_due) = (now >= media.next_rtcp, now >= media.next_stats);
        if let Some(video) = &mut self.video {
            video.set_audio_rtt(media.rtt);
            video.handle_timeout(&self.socket, media.peer, &self.shared, now);
        }
        if rtcp_due {
            self.send_rtcp(now, false);
        }
        if stats_due {
            self.emit_stats(now);
        }
        None
    }

    fn handshake_timed_out(&mut self) -> String {
        if self.hello_hash_mismatch {
            "the peer's zrtp hello did not match the hash in its offer or answer: someone on \
             the path may be trying to intercept the call"
                .to_owned()
        } else if self.link.stats().accepted == 0 {
            Error::NoAnswer {
                peer: self
                    .link
                    .peer()
                    .map_or_else(|| "*".to_owned(), |p| p.to_string()),
                waited: self.handshake_timeout,
            }
            .to_string()
        } else {
            format!(
                "zrtp did not complete within {:?} (stuck at: {}); is the peer's network dropping packets?",
                self.handshake_timeout,
                self.link.session_mut().state_name()
            )
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let ice = self.ice.as_ref().and_then(|ice| ice.deadline);
        let mut deadlines = [
            self.link.deadline(),
            self.handshake_deadline(),
            ice,
            None,
            None,
            None,
        ];
        if let Some(media) = &self.media {
            deadlines = [
                self.link.deadline(),
                media
                    .quiet_due()
                    .into_iter()
                    .chain([media.last_heard + self.peer_timeout])
                    .min(),
                Some(media.next_rtcp.min(media.next_stats)),
                self.duration.map(|d| media.secure_at + d),
                self.video.as_ref().and_then(VideoNet::deadline),
                ice,
            ];
        }
        deadlines.into_iter().flatten().min()
    }

    fn handle_datagram(
        &mut self,
        from: SocketAddr,
        datagram: &mut [u8],
        now: Instant,
    ) -> Option<EndReason> {
        // Empty datagrams are our own wake-ups; no protocol sends them.
        if datagram.is_empty() {
            return None;
        }
        match classify(datagram) {
            // Until the checks found the path, nobody is known to be the peer.
            PacketKind::Zrtp if self.ice.as_ref().is_some_and(|i| i.connected_at.is_none()) => None,
            PacketKind::Stun if self.ice.is_some() => self.drive_ice(now, Some((from, &*datagram))),
            PacketKind::Zrtp => {
                let accepted = if self.is_video_zrtp(datagram) {
                    self.video
                        .as_mut()
                        .is_some_and(|video| video.handle_zrtp(from, datagram, now))
                } else {
                    let accepted = self.link.handle_datagram(from, datagram, now);
                    if accepted && self.peer_zrtp_ssrc.is_none() {
                        self.peer_zrtp_ssrc = header_ssrc(datagram, PacketKind::Zrtp);
                    }
                    accepted
                };
                if accepted {
                    self.first_heard.get_or_insert(now);
                    if let Some(media) = &mut self.media {
                        media.last_heard = now;
                    }
                }
                None
            }
            PacketKind::Rtp => {
                if !self.is_audio_srtp(false, from, datagram, now) {
                    return None;
                }
                let media = self.media.as_mut()?;
                if let Some(timestamp) = media.handle_rtp(datagram, &mut self.jitter, now) {
                    if let Some(video) = &mut self.video {
                        // The packet plays after the jitter buffer's current wait.
                        let wait = self.shared.jitter_buffer_ms.load(Ordering::Relaxed);
                        video.on_audio_played(timestamp, now + Duration::from_millis(wait));
                    }
                }
                None
            }
            PacketKind::Rtcp => {
                if !self.is_audio_srtp(true, from, datagram, now) {
                    return None;
                }
                let media = self.media.as_mut()?;
                media.handle_rtcp(
                    datagram,
                    &self.shared,
                    self.ids.ssrc,
                    self.video.as_mut(),
                    now,
                )
            }
            PacketKind::Stun | PacketKind::Unknown => {
                if let Some(media) = &mut self.media {
                    media.rejected += 1;
                }
                None
            }
        }
    }

    /// Gathers candidates again for a restart on the call's socket; what else arrives meanwhile
    /// is handled as usual.
    fn gather_again(&mut self) -> Result<LocalPath, Error> {
        let path = match &self.ice {
            Some(ice) => ice.description.path.clone(),
            None => return Err(not_negotiated()),
        };
        let socket = self.socket.try_clone()?;
        LocalPath::gather(&socket, &path, |from, datagram| {
            if let Some(reason) = self.handle_datagram(from, datagram, Instant::now()) {
                self.ended_meanwhile.get_or_insert(reason);
            }
        })
    }

    /// [`Call::restart_path`](crate::Call::restart_path) on the network thread.
    fn restart_offer(&mut self) -> Result<String, Error> {
        let local = self.gather_again()?;
        let ice = self.ice.as_mut().ok_or_else(not_negotiated)?;
        let offer = ice.description.restart_offer(&local)?;
        let line = offer.to_line();
        ice.restart = Some((local, offer));
        Ok(line)
    }

    /// [`Call::answer_path_restart`](crate::Call::answer_path_restart) on the network thread.
    fn answer_restart(&mut self, line: &str) -> Result<String, Error> {
        // A garbled line is refused before anything is gathered.
        let offer = Offer::from_line(line)?;
        let local = self.gather_again()?;
        let ice = self.ice.as_mut().ok_or_else(not_negotiated)?;
        let (answer, negotiated) = ice.description.restart_answer(&offer, &local)?;
        let timeout = ice.description.path.connect_timeout;
        ice.restart_with(local.agent(&negotiated, false, timeout)?);
        Ok(answer.to_line())
    }

    /// [`Call::accept_path_restart`](crate::Call::accept_path_restart) on the network thread.
    fn accept_restart(&mut self, line: &str) -> Result<(), Error> {
        let answer = Answer::from_line(line)?;
        let ice = self.ice.as_mut().ok_or_else(not_negotiated)?;
        let Some((local, offer)) = &ice.restart else {
            return Err(Error::Config(
                "no path restart is waiting for an answer; make a restart offer first".to_owned(),
            ));
        };
        let negotiated = offer.accept(&answer)?;
        let agent = local.agent(&negotiated, true, ice.description.path.connect_timeout)?;
        ice.restart = None;
        ice.restart_with(agent);
        Ok(())
    }

    /// Feeds the connectivity checks a STUN datagram (`received`) or the time, sends what they
    /// ask, and acts on what they report: ZRTP starts on the path found.
    fn drive_ice(
        &mut self,
        now: Instant,
        received: Option<(SocketAddr, &[u8])>,
    ) -> Option<EndReason> {
        let ice = self.ice.as_mut()?;
        match received {
            // A refused datagram (unauthenticated, unknown) changes nothing.
            Some((from, packet)) => {
                let _ = ice.agent.handle_input(sotto_net::Input::Receive {
                    now,
                    from,
                    to: None,
                    packet,
                });
            }
            None if ice.deadline.is_some_and(|d| d <= now) => {
                let _ = ice.agent.handle_input(sotto_net::Input::Timeout(now));
            }
            None => return None,
        }
        loop {
            match ice.agent.poll_output() {
                // A lost check is retransmitted.
                sotto_net::Output::Transmit { to, bytes, .. } => {
                    let _ = self.socket.send_to(&bytes, to);
                }
                // The first path, or (after a restart) a new one.
                sotto_net::Output::Event(
                    sotto_net::Event::Connected { local, remote }
                    | sotto_net::Event::PathChanged { local, remote },
                ) => {
                    ice.connected_at.get_or_insert(now);
                    self.link.set_peer(remote);
                    if let Some(media) = &mut self.media {
                        media.peer = remote;
                    }
                    if let Some(video) = &mut self.video {
                        video.set_peer(remote);
                    }
                    self.shared.set_peer(remote);
                    let _ = self.events.send(CallEvent::Connected { local, remote });
                }
                sotto_net::Output::Event(sotto_net::Event::ConsentLost) => {
                    return Some(EndReason::NoPath(
                        "the peer stopped answering consent checks (RFC 7675)".to_owned(),
                    ))
                }
                sotto_net::Output::Event(sotto_net::Event::Failed { reason }) => {
                    return Some(EndReason::NoPath(reason.to_string()))
                }
                sotto_net::Output::Event(_) => {}
                sotto_net::Output::Timeout(deadline) => {
                    ice.deadline = deadline;
                    return None;
                }
            }
        }
    }

    /// Whether an SRTP (or, with `rtcp`, SRTCP) datagram is the audio stream's to unprotect:
    /// the call is secure, the datagram came from the peer (anything else is counted as
    /// rejected), and the video stream did not take it.
    fn is_audio_srtp(
        &mut self,
        rtcp: bool,
        from: SocketAddr,
        datagram: &mut [u8],
        now: Instant,
    ) -> bool {
        let Some(media) = &mut self.media else {
            return false;
        };
        if media.peer != from {
            media.rejected += 1;
            return false;
        }
        let Some(video) = &mut self.video else {
            return true;
        };
        let kind = if rtcp {
            PacketKind::Rtcp
        } else {
            PacketKind::Rtp
        };
        let Some(ssrc) = header_ssrc(datagram, kind) else {
            return true;
        };
        let taken = if rtcp {
            video.take_rtcp(datagram, ssrc, media.peer_ssrc, &self.shared, now)
        } else {
            video.take_rtp(datagram, ssrc, media.peer_ssrc, &self.socket, from, now)
        };
        match taken {
            Taken::NotVideo => true,
            Taken::Accepted => {
                media.last_heard = now;
                false
            }
            Taken::Rejected => false,
        }
    }

    /// Sends an SR (or an RR before we sent anything) with SDES CNAME, and BYE when leaving.
    fn send_rtcp(&mut self, now: Instant, bye: bool) {
        let Some(media) = &mut self.media else {
            return;
        };
        media.next_rtcp = now + RTCP_INTERVAL;
        RtcpOut {
            socket: &self.socket,
            peer: media.peer,
            rtcp_tx: &mut media.rtcp_tx,
            ids: &self.ids,
        }
        .send_report(
            media.rx_stats.as_mut(),
            self.shared.sender_stats(),
            now,
            bye,
        );
        // The video stream reports on its own schedule; it says goodbye with the audio.
        if bye {
            if let Some(video) = &mut self.video {
                video.send_report(&self.socket, media.peer, &self.shared, now, true);
            }
        }
    }

    /// Whether a ZRTP datagram belongs to the video stream: once its session runs, every ZRTP
    /// packet whose header SSRC is not the peer's audio stream's.
    fn is_video_zrtp(&self, datagram: &[u8]) -> bool {
        self.video.as_ref().is_some_and(VideoNet::has_link)
            && self
                .peer_zrtp_ssrc
                .is_some_and(|audio| header_ssrc(datagram, PacketKind::Zrtp) != Some(audio))
    }

    fn emit_stats(&mut self, now: Instant) {
        let Some(media) = &mut self.media else {
            return;
        };
        media.next_stats = now + self.stats_interval;
        let bytes_sent = self.shared.bytes_sent.load(Ordering::Relaxed);
        let (expected, received) = expected_received(media.rx_stats.as_ref());
        let previous = media.previous;
        let seconds = now.saturating_duration_since(previous.at).as_secs_f64();
        let rate = |bytes: u64| per_second(bytes, seconds) * 8.0;
        let loss_percent =
            interval_loss_percent((previous.expected, previous.received), (expected, received));
        let played = self.shared.frames_played.load(Ordering::Relaxed);
        let concealed = self.shared.frames_concealed.load(Ordering::Relaxed);
        let (video, video_rejected) = match &mut self.video {
            Some(v) => (v.stats(&self.shared, now), v.rejected()),
            None => (None, 0),
        };
        let stats = CallStats {
            elapsed: now.saturating_duration_since(media.secure_at),
            tx_bitrate_bps: rate(bytes_sent.saturating_sub(previous.bytes_sent)),
            rx_bitrate_bps: rate(media.bytes_received.saturating_sub(previous.bytes_received)),
            packets_sent: self.shared.packets_sent.load(Ordering::Relaxed),
            packets_received: media.packets_received,
            loss_percent,
            jitter_ms: media.rx_stats.as_ref().map_or(0.0, |s| {
                f64::from(s.jitter()) * 1000.0 / f64::from(OPUS_CLOCK_RATE_HZ)
            }),
            jitter_buffer_ms: self.shared.jitter_buffer_ms.load(Ordering::Relaxed) as f64,
            rtt_ms: media.rtt.map(|rtt| rtt.as_secs_f64() * 1000.0),
            concealed_percent: if played == 0 {
                0.0
            } else {
                concealed as f64 * 100.0 / played as f64
            },
            srtp_rejected: media.rejected + video_rejected,
            video,
        };
        media.previous = Interval {
            at: now,
            bytes_sent,
            bytes_received: media.bytes_received,
            expected,
            received,
        };
        self.emit(CallEvent::Stats(stats));
    }

    fn emit(&self, event: CallEvent) {
        // The application may have dropped its Call; the call still ends properly.
        let _ = self.events.send(event);
    }

    /// Stops the media threads (the playout thread finalises the output), says goodbye,
    /// reports the last statistics and the end.
    fn finish(mut self, reason: EndReason) -> EndReason {
        self.shared.stop.store(true, Ordering::Release);
        let now = Instant::now();
        self.send_rtcp(now, true);
        let mut results = match self.threads.take() {
            Some((sender, playout)) => vec![sender.join(), playout.join()],
            None => Vec::new(),
        };
        if let Some(threads) = self.video.as_mut().and_then(VideoNet::take_threads) {
            results.extend(threads.sender.map(MediaThread::join));
            results.extend(threads.decoder.map(MediaThread::join));
        }
        if self.media.is_some() {
            self.emit_stats(Instant::now());
        }
        let reason = match (reason, results.into_iter().find_map(Result::err)) {
            (EndReason::Failed(first), _) => EndReason::Failed(first),
            (_, Some(failure)) => EndReason::Failed(failure),
            (reason, None) => reason,
        };
        self.emit(CallEvent::Ended(reason.clone()));
        reason
    }
}

impl Media {
    /// When the current quiet spell is to be reported; `None` once it has been.
    fn quiet_due(&self) -> Option<Instant> {
        (self.quiet_reported != Some(self.last_heard)).then(|| self.last_heard + PEER_QUIET)
    }

    /// Handles an audio packet; returns its RTP timestamp if it went to the jitter buffer.
    fn handle_rtp(
        &mut self,
        datagram: &mut [u8],
        jitter: &mut JitterInput,
        now: Instant,
    ) -> Option<u32> {
        let Ok(len) = self.srtp_rx.unprotect_rtp(datagram) else {
            self.rejected += 1;
            return None;
        };
        let Ok(packet) = RtpPacket::parse(&datagram[..len]) else {
            self.rejected += 1;
            return None;
        };
        self.last_heard = now;
        let header = packet.header;
        // The first authenticated stream is the peer's; anything else (another SSRC, another
        // payload type, an empty payload) is not audio we can play.
        let peer_ssrc = *self.peer_ssrc.get_or_insert(header.ssrc);
        if header.ssrc != peer_ssrc
            || header.payload_type != DEFAULT_PAYLOAD_TYPE
            || packet.payload.is_empty()
        {
            self.rejected += 1;
            return None;
        }
        self.packets_received += 1;
        self.bytes_received += datagram.len() as u64;
        self.rx_stats
            .get_or_insert_with(|| {
                ReceiveStats::new(header.ssrc, header.sequence, OPUS_CLOCK_RATE_HZ)
            })
            .on_packet(header.sequence, header.timestamp, now);
        // A full buffer drops the packet and counts it; playout conceals the gap.
        jitter
            .push(header.sequence, header.timestamp, now, packet.payload)
            .ok()
            .map(|()| header.timestamp)
    }

    fn handle_rtcp(
        &mut self,
        datagram: &mut [u8],
        shared: &Shared,
        own_ssrc: u32,
        mut video: Option<&mut VideoNet>,
        now: Instant,
    ) -> Option<EndReason> {
        let Ok(len) = self.srtp_rx.unprotect_rtcp(datagram) else {
            self.rejected += 1;
            return None;
        };
        self.last_heard = now;
        for packet in rtcp::parse_compound(&datagram[..len]).flatten() {
            let blocks = match packet {
                RtcpPacket::SenderReport(sr) => {
                    if let Some(stats) = self.rx_stats.as_mut().filter(|s| s.ssrc() == sr.ssrc) {
                        stats.on_sender_report(sr.info.ntp_timestamp, now);
                        if let Some(video) = video.as_deref_mut() {
                            video.on_audio_sender_report(
                                sr.info.ntp_timestamp,
                                sr.info.rtp_timestamp,
                            );
                        }
                    }
                    sr.blocks
                }
                RtcpPacket::ReceiverReport(rr) => rr.blocks,
                RtcpPacket::Bye(_) => return Some(EndReason::PeerHungUp),
                _ => continue,
            };
            for block in blocks.iter().filter(|b| b.ssrc == own_ssrc) {
                if let Some(rtt) = shared.sender_stats().round_trip_time(&block, now) {
                    self.rtt = Some(rtt);
                }
                let percent = (u32::from(block.fraction_lost) * 100 + 128) / 256;
                shared.peer_loss_percent.store(percent, Ordering::Relaxed);
            }
        }
        None
    }
}
