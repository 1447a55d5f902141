//! The network thread: ZRTP, then SRTP and SRTCP, on the call's one socket.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

use rand_core::RngCore;
use sotto_rt::JitterInput;
use sotto_rtp::opus::{DEFAULT_PAYLOAD_TYPE, OPUS_CLOCK_RATE_HZ};
use sotto_rtp::rtcp::{
    self, Bye, ReceiverReport, ReportBlock, RtcpPacket, SdesChunk, SdesItem, SenderReport,
    SDES_CNAME,
};
use sotto_rtp::srtp::{self, SrtpReceiver, SrtpSender};
use sotto_rtp::stats::ReceiveStats;
use sotto_rtp::{classify, OpusPacketizer, PacketKind, RtpPacket};
use sotto_zrtp::{Event, Input, SecureInfo, Session};

use crate::audio::{MediaThread, SenderGo};
use crate::call::{Command, Shared};
use crate::zrtp_udp::ZrtpLink;
use crate::Error;
use crate::{CallConfig, CallEvent, CallStats, EndReason};

/// RTCP report interval (RFC 3550's 5 s minimum, without the randomisation: one stream, two
/// members). The first report goes after half of it.
const RTCP_INTERVAL: Duration = Duration::from_secs(5);
/// The longest the thread blocks even without a deadline, in case a wake-up datagram is lost.
const MAX_WAIT: Duration = Duration::from_secs(1);
/// Receive buffer: larger than any datagram a peer of ours sends.
const RECEIVE_BUFFER_LEN: usize = 2048;
/// Largest RTCP compound we build.
const RTCP_BUFFER_LEN: usize = 512;

/// Identifiers of our stream, random as RFC 3550 asks.
#[derive(Clone, Debug)]
pub(crate) struct MediaIds {
    pub(crate) ssrc: u32,
    sequence: u16,
    timestamp: u32,
    /// RFC 7022 short-term CNAME: random, so it reveals nothing about the host.
    cname: String,
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
}

/// Starts the network thread; it returns why the call ended.
pub(crate) fn spawn(setup: NetSetup) -> io::Result<JoinHandle<EndReason>> {
    thread::Builder::new()
        .name("sotto-net".to_owned())
        .spawn(move || Net::new(setup).run())
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
            }
        }
        let now = Instant::now();
        self.link.handle_timeout(now);
        if let Some(reason) = self.flush_zrtp(now) {
            return Some(reason);
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
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                        // An ICMP port unreachable (the peer not up yet, or gone for a
                        // moment): the timeouts decide whether the call goes on.
                        | io::ErrorKind::ConnectionRefused
                        | io::ErrorKind::ConnectionReset
                ) =>
            {
                None
            }
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
        let socket = &self.socket;
        let mut events = Vec::new();
        // A lost send is ZRTP's to retransmit; the socket's real failures surface on receive.
        let flushed = self.link.flush(
            |packet, peer| {
                let _ = socket.send_to(packet, peer);
                Ok::<(), std::convert::Infallible>(())
            },
            |event| events.push(event),
        );
        let Ok(()) = flushed;
        for event in events {
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
        if let Some((sender, playout)) = &self.threads {
            sender.start(SenderGo {
                peer,
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
        self.media = Some(Media {
            peer,
            srtp_rx,
            rtcp_tx,
            peer_ssrc: None,
            rx_stats: None,
            secure_at: now,
            last_heard: now,
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
        let from = if self.listening {
            self.first_heard?
        } else {
            self.started
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
        if self.duration.is_some_and(|d| now >= media.secure_at + d) {
            return Some(EndReason::DurationReached);
        }
        let (rtcp_due, stats_due) = (now >= media.next_rtcp, now >= media.next_stats);
        if rtcp_due {
            self.send_rtcp(now, false);
        }
        if stats_due {
            self.emit_stats(now);
        }
        None
    }

    fn handshake_timed_out(&mut self) -> String {
        if self.link.stats().accepted == 0 {
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
        let mut deadlines = [self.link.deadline(), self.handshake_deadline(), None, None];
        if let Some(media) = &self.media {
            deadlines = [
                self.link.deadline(),
                Some(media.last_heard + self.peer_timeout),
                Some(media.next_rtcp.min(media.next_stats)),
                self.duration.map(|d| media.secure_at + d),
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
            PacketKind::Zrtp => {
                if self.link.handle_datagram(from, datagram, now) {
                    self.first_heard.get_or_insert(now);
                    if let Some(media) = &mut self.media {
                        media.last_heard = now;
                    }
                }
                None
            }
            PacketKind::Rtp => {
                if let Some(media) = self.media.as_mut().filter(|m| m.peer == from) {
                    media.handle_rtp(datagram, &mut self.jitter, now);
                } else if let Some(media) = &mut self.media {
                    media.rejected += 1;
                }
                None
            }
            PacketKind::Rtcp => match self.media.as_mut().filter(|m| m.peer == from) {
                Some(media) => media.handle_rtcp(datagram, &self.shared, self.ids.ssrc, now),
                None => {
                    if let Some(media) = &mut self.media {
                        media.rejected += 1;
                    }
                    None
                }
            },
            PacketKind::Stun | PacketKind::Unknown => {
                if let Some(media) = &mut self.media {
                    media.rejected += 1;
                }
                None
            }
        }
    }

    /// Sends an SR (or an RR before we sent anything) with SDES CNAME, and BYE when leaving.
    fn send_rtcp(&mut self, now: Instant, bye: bool) {
        let Some(media) = &mut self.media else {
            return;
        };
        media.next_rtcp = now + RTCP_INTERVAL;
        let ssrc = self.ids.ssrc;
        let block = media.rx_stats.as_mut().and_then(|s| s.report_block(now));
        let blocks: &[ReportBlock] = block.as_slice();
        let info = self
            .shared
            .sender_stats()
            .sender_info(now, SystemTime::now());
        let report = match info {
            Some(info) => RtcpPacket::SenderReport(SenderReport {
                ssrc,
                info,
                blocks: blocks.into(),
            }),
            None => RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc,
                blocks: blocks.into(),
            }),
        };
        let items = [SdesItem {
            kind: SDES_CNAME,
            value: self.ids.cname.as_bytes(),
        }];
        let chunks = [SdesChunk {
            ssrc,
            items: items[..].into(),
        }];
        let sources = [ssrc];
        let packets = [
            report,
            RtcpPacket::Sdes(chunks[..].into()),
            RtcpPacket::Bye(Bye {
                sources: (&sources).into(),
                reason: None,
            }),
        ];
        let packets = if bye { &packets[..] } else { &packets[..2] };
        let mut out = [0u8; RTCP_BUFFER_LEN];
        let sent = rtcp::write_compound(packets, 0, &mut out)
            .and_then(|len| media.rtcp_tx.protect_rtcp(&mut out, len));
        if let Ok(len) = sent {
            // Lost like any datagram: the next report follows in RTCP_INTERVAL.
            let _ = self.socket.send_to(&out[..len], media.peer);
        }
    }

    fn emit_stats(&mut self, now: Instant) {
        let Some(media) = &mut self.media else {
            return;
        };
        media.next_stats = now + self.stats_interval;
        let bytes_sent = self.shared.bytes_sent.load(Ordering::Relaxed);
        let (expected, received) = media
            .rx_stats
            .as_ref()
            .filter(|s| !s.on_probation())
            .map_or((0, 0), |s| (s.expected(), s.received()));
        let previous = media.previous;
        let seconds = now.saturating_duration_since(previous.at).as_secs_f64();
        let rate = |bytes: u64| {
            if seconds > 0.0 {
                bytes as f64 * 8.0 / seconds
            } else {
                0.0
            }
        };
        // RFC 3550 A.3: the fraction lost over the interval, never negative.
        let expected_interval = expected.wrapping_sub(previous.expected);
        let received_interval = received.wrapping_sub(previous.received);
        let loss_percent = if expected_interval == 0 || received_interval >= expected_interval {
            0.0
        } else {
            f64::from(expected_interval - received_interval) * 100.0 / f64::from(expected_interval)
        };
        let played = self.shared.frames_played.load(Ordering::Relaxed);
        let concealed = self.shared.frames_concealed.load(Ordering::Relaxed);
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
            srtp_rejected: media.rejected,
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
        let results = match self.threads.take() {
            Some((sender, playout)) => [sender.join(), playout.join()],
            None => [Ok(()), Ok(())],
        };
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
    fn handle_rtp(&mut self, datagram: &mut [u8], jitter: &mut JitterInput, now: Instant) {
        let Ok(len) = self.srtp_rx.unprotect_rtp(datagram) else {
            self.rejected += 1;
            return;
        };
        let Ok(packet) = RtpPacket::parse(&datagram[..len]) else {
            self.rejected += 1;
            return;
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
            return;
        }
        self.packets_received += 1;
        self.bytes_received += datagram.len() as u64;
        self.rx_stats
            .get_or_insert_with(|| {
                ReceiveStats::new(header.ssrc, header.sequence, OPUS_CLOCK_RATE_HZ)
            })
            .on_packet(header.sequence, header.timestamp, now);
        // A full buffer drops the packet and counts it; playout conceals the gap.
        let _ = jitter.push(header.sequence, header.timestamp, now, packet.payload);
    }

    fn handle_rtcp(
        &mut self,
        datagram: &mut [u8],
        shared: &Shared,
        own_ssrc: u32,
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
