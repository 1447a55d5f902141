//! The network thread's side of the video stream: its ZRTP Multistream exchange, its SRTP and
//! SRTCP, the receiving path (frame assembly, NACK, PLI), its RTCP, and lip sync.
//!
//! The video stream shares the call's socket and peer. Its ZRTP session starts once the audio
//! stream's is secure, keyed from it in Multistream mode (RFC 6189 section 4.4.3), so its SRTP
//! keys are its own. ZRTP packets are told apart by the SSRC in their header, RTP and SRTCP by
//! their SSRC and the keys that authenticate them.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sotto_rtp::h264::{H264Frame, H264Packetizer, DEFAULT_MAX_PAYLOAD_LEN, H264_CLOCK_RATE_HZ};
use sotto_rtp::rtcp::{self, Nack, NackPair, Pli, RtcpPacket};
use sotto_rtp::srtp::{self, SrtpReceiver, SrtpSender};
use sotto_rtp::stats::ReceiveStats;
use sotto_rtp::sync::{AvSync, MediaKind};
use sotto_rtp::video::{nack_pairs, VideoEvent, VideoReceiver, VideoReceiverConfig};
use sotto_rtp::RtpPacket;
use sotto_zrtp::cache::ZidCache;
use sotto_zrtp::{Event, SecureInfo, Session, SessionConfig};

use crate::call::Shared;
use crate::net::MediaIds;
use crate::reports::{expected_received, interval_loss_percent, per_second, RtcpOut};
use crate::video::{DecodeJob, Feedback, VideoSenderGo, VideoThreads, VIDEO_PAYLOAD_TYPE};
use crate::zrtp_udp::ZrtpLink;
use crate::{CallEvent, VideoStats};

/// RTCP report interval of the video stream, as the audio stream's.
const RTCP_INTERVAL: Duration = Duration::from_secs(5);
/// The video stream's first report goes this soon after it is secure: the NACK timing wants
/// an RTT early.
const FIRST_RTCP: Duration = Duration::from_millis(500);
/// NACK entries per feedback packet; more lost packets go in further packets.
const MAX_NACK_PAIRS: usize = 64;
/// Spare frame buffers the network thread keeps when the decode queue is full.
const MAX_POOLED_BUFFERS: usize = crate::video::DECODE_QUEUE_FRAMES + 2;

/// Everything the video stream needs from the start of the call.
#[derive(Debug)]
pub(crate) struct VideoNetSetup {
    /// The audio stream's ZRTP settings, with our video SSRC.
    pub(crate) zrtp: SessionConfig,
    pub(crate) cache: Arc<dyn ZidCache>,
    pub(crate) ids: MediaIds,
    pub(crate) threads: VideoThreads,
    pub(crate) feedback: SyncSender<Feedback>,
    pub(crate) jobs: SyncSender<DecodeJob>,
    pub(crate) spare: Receiver<Vec<u8>>,
}

/// The video stream, from its ZRTP exchange to the end of the call.
#[derive(Debug)]
pub(crate) struct VideoNet {
    zrtp: SessionConfig,
    cache: Arc<dyn ZidCache>,
    ids: MediaIds,
    /// Taken when the call ends.
    threads: Option<VideoThreads>,
    feedback: SyncSender<Feedback>,
    decode: Option<DecodeQueue>,
    link: Option<ZrtpLink>,
    /// The video stream will not come: the peer did not answer, or its exchange failed.
    unavailable: bool,
    media: Option<VideoMedia>,
    /// Lip sync across the two streams; fed before video is secure too (audio SRs).
    sync: AvSync,
    /// Last picture reported shown, to feed each to lip sync once.
    last_rendered: Option<(u32, Instant)>,
}

/// The way to the decode thread, with buffers to reuse.
#[derive(Debug)]
struct DecodeQueue {
    jobs: SyncSender<DecodeJob>,
    spare: Receiver<Vec<u8>>,
    pool: Vec<Vec<u8>>,
}

/// State of a secure video stream.
#[derive(Debug)]
struct VideoMedia {
    srtp_rx: SrtpReceiver,
    /// Protects our video RTCP; the video sender thread has its own `SrtpSender` for RTP
    /// under the same master key (separate session keys and indices, as for audio).
    rtcp_tx: SrtpSender,
    peer_ssrc: Option<u32>,
    rx_stats: Option<ReceiveStats>,
    receiver: VideoReceiver,
    next_rtcp: Instant,
    rtt: Option<Duration>,
    /// The audio stream's RTT, used until the video stream has its own.
    audio_rtt: Option<Duration>,
    packets_received: u64,
    bytes_received: u64,
    rejected: u64,
    keyframes_received: u64,
    nacks_sent: u64,
    nacks_received: u64,
    plis_sent: u64,
    plis_received: u64,
    /// Frames dropped because the decode queue was full.
    queue_drops: u64,
    /// Sequence number of the last FIR served (RFC 5104: a repeat is a retransmission).
    last_fir: Option<u8>,
    previous: Interval,
}

/// Counters at the previous stats event.
#[derive(Clone, Copy, Debug)]
struct Interval {
    at: Instant,
    frames_sent: u64,
    frames_shown: u64,
    bytes_sent: u64,
    bytes_received: u64,
    expected: u32,
    received: u32,
}

/// What became of a datagram offered to the video stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Taken {
    /// Not the video stream's: hand it to the audio stream.
    NotVideo,
    /// The video stream's, authenticated.
    Accepted,
    /// Claimed by the video stream (its SSRC) but refused.
    Rejected,
}

impl VideoNet {
    pub(crate) fn new(setup: VideoNetSetup) -> Self {
        let VideoNetSetup {
            zrtp,
            cache,
            ids,
            threads,
            feedback,
            jobs,
            spare,
        } = setup;
        let decode = threads.decoder.is_some().then(|| DecodeQueue {
            jobs,
            spare,
            pool: Vec::with_capacity(MAX_POOLED_BUFFERS),
        });
        VideoNet {
            zrtp,
            cache,
            ids,
            threads: Some(threads),
            feedback,
            decode,
            link: None,
            unavailable: false,
            media: None,
            sync: AvSync::new(),
            last_rendered: None,
        }
    }

    /// Whether the video stream's ZRTP session runs (or ran): ZRTP packets from the peer
    /// other than its audio stream's go to it.
    pub(crate) fn has_link(&self) -> bool {
        self.link.is_some()
    }

    /// Follows the call to a new network path.
    pub(crate) fn set_peer(&mut self, peer: SocketAddr) {
        if let Some(link) = &mut self.link {
            link.set_peer(peer);
        }
    }

    /// Starts the Multistream exchange once the audio stream is secure. A session that cannot
    /// even be made leaves the call an audio call.
    pub(crate) fn start_zrtp(
        &mut self,
        audio: &SecureInfo,
        peer: SocketAddr,
        now: Instant,
        emit: &mut impl FnMut(CallEvent),
    ) {
        if self.link.is_some() || self.unavailable {
            return;
        }
        let mut config = self.zrtp.clone();
        config.multistream = Some(audio.multistream.clone());
        config.ssrc = self.ids.ssrc;
        match Session::new(config, Arc::clone(&self.cache), &mut rand_core::OsRng, now) {
            Ok(session) => self.link = Some(ZrtpLink::new(Some(peer), session)),
            Err(e) => self.give_up(format!("cannot start the video stream's zrtp: {e}"), emit),
        }
    }

    fn give_up(&mut self, reason: String, emit: &mut impl FnMut(CallEvent)) {
        if self.unavailable || self.media.is_some() {
            return;
        }
        self.unavailable = true;
        emit(CallEvent::VideoUnavailable { reason });
    }

    /// Feeds a ZRTP datagram of the video stream; returns whether the session accepted it.
    pub(crate) fn handle_zrtp(&mut self, from: SocketAddr, datagram: &[u8], now: Instant) -> bool {
        self.link
            .as_mut()
            .is_some_and(|link| link.handle_datagram(from, datagram, now))
    }

    /// Runs the video ZRTP session's timers, sends what it queued and acts on its events.
    pub(crate) fn drive_zrtp(
        &mut self,
        socket: &UdpSocket,
        shared: &Shared,
        now: Instant,
        emit: &mut impl FnMut(CallEvent),
    ) {
        let Some(link) = &mut self.link else {
            return;
        };
        link.handle_timeout(now);
        let events = link.flush_best_effort(socket);
        let peer = link.peer();
        for event in events {
            match (event, peer) {
                (Event::Secure(info), Some(_)) => self.on_secure(&info, shared, now, emit),
                (Event::Failed(e), _) => {
                    let reason = match e {
                        sotto_zrtp::Error::Timeout => format!(
                            "the peer did not answer the video stream's zrtp at {}; it may have video off",
                            peer.map_or_else(|| "*".to_owned(), |p| p.to_string())
                        ),
                        e => format!("the video stream's zrtp failed: {e}"),
                    };
                    self.give_up(reason, emit);
                }
                _ => {}
            }
        }
    }

    /// Keys the video stream's SRTP and starts the video threads.
    fn on_secure(
        &mut self,
        info: &SecureInfo,
        shared: &Shared,
        now: Instant,
        emit: &mut impl FnMut(CallEvent),
    ) {
        if self.media.is_some() || self.unavailable {
            return;
        }
        let keyed = srtp::from_zrtp(info).and_then(|(rtp_tx, srtp_rx)| {
            let (rtcp_tx, _) = srtp::from_zrtp(info)?;
            let packetizer = H264Packetizer::new(
                self.ids.ssrc,
                VIDEO_PAYLOAD_TYPE,
                self.ids.sequence,
                DEFAULT_MAX_PAYLOAD_LEN,
            )?;
            Ok((rtp_tx, srtp_rx, rtcp_tx, packetizer))
        });
        let (rtp_tx, srtp_rx, rtcp_tx, packetizer) = match keyed {
            Ok(keyed) => keyed,
            Err(e) => return self.give_up(format!("keying the video stream's srtp: {e}"), emit),
        };
        emit(CallEvent::VideoSecure {
            role: info.role,
            algorithms: info.algorithms,
        });
        if let Some(threads) = &self.threads {
            if let Some(sender) = &threads.sender {
                sender.start(VideoSenderGo {
                    srtp: rtp_tx,
                    packetizer,
                    timestamp: self.ids.timestamp,
                });
            }
            if let Some(decoder) = &threads.decoder {
                decoder.start(());
            }
        }
        let receiver = VideoReceiver::new(VideoReceiverConfig::default());
        let video = &shared.video;
        self.media = Some(VideoMedia {
            srtp_rx,
            rtcp_tx,
            peer_ssrc: None,
            rx_stats: None,
            receiver,
            next_rtcp: now + FIRST_RTCP,
            rtt: None,
            audio_rtt: None,
            packets_received: 0,
            bytes_received: 0,
            rejected: 0,
            keyframes_received: 0,
            nacks_sent: 0,
            nacks_received: 0,
            plis_sent: 0,
            plis_received: 0,
            queue_drops: 0,
            last_fir: None,
            previous: Interval {
                at: now,
                frames_sent: video.frames_sent.load(Ordering::Relaxed),
                frames_shown: video.frames_shown.load(Ordering::Relaxed),
                bytes_sent: video.bytes_sent.load(Ordering::Relaxed),
                bytes_received: 0,
                expected: 0,
                received: 0,
            },
        });
    }

    /// The earliest of the video stream's timers.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let link = self.link.as_ref().and_then(ZrtpLink::deadline);
        let media = self.media.as_ref().map(|m| {
            m.receiver
                .poll_timeout()
                .map_or(m.next_rtcp, |t| t.min(m.next_rtcp))
        });
        [link, media].into_iter().flatten().min()
    }

    /// Runs the receiver's timers and the RTCP schedule, and acts on what the receiver wants.
    pub(crate) fn handle_timeout(
        &mut self,
        socket: &UdpSocket,
        peer: SocketAddr,
        shared: &Shared,
        now: Instant,
    ) {
        self.feed_rendered(shared);
        let Some(media) = &mut self.media else {
            return;
        };
        if shared.video.keyframe_wanted.swap(false, Ordering::AcqRel) {
            media.receiver.request_keyframe(now);
        }
        if media.receiver.poll_timeout().is_some_and(|t| t <= now) {
            media.receiver.handle_timeout(now);
        }
        media.drain_receiver(&mut self.decode, socket, peer, &self.ids, now);
        if now >= media.next_rtcp {
            media.send_report(socket, peer, &self.ids, shared, now, false);
        }
    }

    /// Feeds the decode thread's last shown picture to lip sync.
    fn feed_rendered(&mut self, shared: &Shared) {
        let rendered = shared.video.rendered(shared.epoch);
        if rendered.is_some() && rendered != self.last_rendered {
            self.last_rendered = rendered;
            if let Some((timestamp, at)) = rendered {
                self.sync.on_rendered(MediaKind::Video, timestamp, at);
            }
        }
    }

    /// The audio stream's SR, for lip sync.
    pub(crate) fn on_audio_sender_report(&mut self, ntp_timestamp: u64, rtp_timestamp: u32) {
        self.sync
            .on_sender_report(MediaKind::Audio, ntp_timestamp, rtp_timestamp);
    }

    /// An audio packet with `rtp_timestamp` that will play at `plays_at` (its arrival plus the
    /// jitter buffer's current wait), for lip sync.
    pub(crate) fn on_audio_played(&mut self, rtp_timestamp: u32, plays_at: Instant) {
        self.sync
            .on_rendered(MediaKind::Audio, rtp_timestamp, plays_at);
    }

    /// The audio stream's RTT, for the NACK timing until the video stream has its own.
    pub(crate) fn set_audio_rtt(&mut self, rtt: Option<Duration>) {
        let Some(media) = &mut self.media else {
            return;
        };
        if media.audio_rtt == rtt {
            return;
        }
        media.audio_rtt = rtt;
        if let (None, Some(rtt)) = (media.rtt, rtt) {
            media.receiver.set_rtt(rtt);
        }
    }

    /// Offers an RTP datagram with `ssrc` (read from its clear header) to the video stream.
    /// `audio_ssrc` is the peer's audio SSRC if known: never the video stream's.
    pub(crate) fn take_rtp(
        &mut self,
        datagram: &mut [u8],
        ssrc: u32,
        audio_ssrc: Option<u32>,
        socket: &UdpSocket,
        peer: SocketAddr,
        now: Instant,
    ) -> Taken {
        let Some(media) = &mut self.media else {
            return Taken::NotVideo;
        };
        let len = match media.claim(datagram, ssrc, audio_ssrc, SrtpReceiver::unprotect_rtp) {
            Ok(len) => len,
            Err(taken) => return taken,
        };
        let taken = media.handle_rtp(&datagram[..len], datagram.len(), now);
        media.drain_receiver(&mut self.decode, socket, peer, &self.ids, now);
        taken
    }

    /// Offers an SRTCP datagram whose sender is `ssrc` to the video stream; sends what the
    /// peer's feedback asks of our video sender.
    pub(crate) fn take_rtcp(
        &mut self,
        datagram: &mut [u8],
        ssrc: u32,
        audio_ssrc: Option<u32>,
        shared: &Shared,
        now: Instant,
    ) -> Taken {
        let Some(media) = &mut self.media else {
            return Taken::NotVideo;
        };
        let len = match media.claim(datagram, ssrc, audio_ssrc, SrtpReceiver::unprotect_rtcp) {
            Ok(len) => len,
            Err(taken) => return taken,
        };
        let own = self.ids.ssrc;
        for packet in rtcp::parse_compound(&datagram[..len]).flatten() {
            let blocks = match packet {
                RtcpPacket::SenderReport(sr) => {
                    if let Some(stats) = media.rx_stats.as_mut() {
                        stats.on_sender_report(sr.info.ntp_timestamp, now);
                    }
                    self.sync.on_sender_report(
                        MediaKind::Video,
                        sr.info.ntp_timestamp,
                        sr.info.rtp_timestamp,
                    );
                    sr.blocks
                }
                RtcpPacket::ReceiverReport(rr) => rr.blocks,
                RtcpPacket::Nack(nack) if nack.media_ssrc == own => {
                    media.nacks_received += 1;
                    for pair in nack.pairs.iter() {
                        // A full queue drops the entry; the peer asks again.
                        let _ = self.feedback.try_send(Feedback::Nack(pair));
                    }
                    continue;
                }
                RtcpPacket::Pli(pli) if pli.media_ssrc == own => {
                    media.plis_received += 1;
                    let _ = self.feedback.try_send(Feedback::KeyframeRequest);
                    continue;
                }
                RtcpPacket::Fir(fir) => {
                    let ours = fir.entries.iter().find(|e| e.ssrc == own);
                    if let Some(entry) = ours.filter(|e| media.last_fir != Some(e.seq_nr)) {
                        media.last_fir = Some(entry.seq_nr);
                        media.plis_received += 1;
                        let _ = self.feedback.try_send(Feedback::KeyframeRequest);
                    }
                    continue;
                }
                // The audio stream's BYE ends the call; the video stream's adds nothing.
                _ => continue,
            };
            for block in blocks.iter().filter(|b| b.ssrc == own) {
                if let Some(rtt) = shared.video.sender_stats().round_trip_time(&block, now) {
                    media.rtt = Some(rtt);
                    media.receiver.set_rtt(rtt);
                    let ms = u32::try_from(rtt.as_millis()).unwrap_or(u32::MAX - 1);
                    shared.video.rtt_ms.store(ms, Ordering::Relaxed);
                }
            }
        }
        Taken::Accepted
    }

    /// Sends the video stream's RTCP report (and BYE when leaving).
    pub(crate) fn send_report(
        &mut self,
        socket: &UdpSocket,
        peer: SocketAddr,
        shared: &Shared,
        now: Instant,
        bye: bool,
    ) {
        if let Some(media) = &mut self.media {
            media.send_report(socket, peer, &self.ids, shared, now, bye);
        }
    }

    /// Datagrams the video stream refused.
    pub(crate) fn rejected(&self) -> u64 {
        self.media.as_ref().map_or(0, |m| m.rejected)
    }

    /// The video figures for a stats event; `None` while the video stream is not secure.
    pub(crate) fn stats(&mut self, shared: &Shared, now: Instant) -> Option<VideoStats> {
        self.feed_rendered(shared);
        let skew = self.sync.skew_ms();
        let media = self.media.as_mut()?;
        let video = &shared.video;
        let frames_sent = video.frames_sent.load(Ordering::Relaxed);
        let frames_shown = video.frames_shown.load(Ordering::Relaxed);
        let bytes_sent = video.bytes_sent.load(Ordering::Relaxed);
        let (expected, received) = expected_received(media.rx_stats.as_ref());
        let previous = media.previous;
        let seconds = now.saturating_duration_since(previous.at).as_secs_f64();
        let rate = |count: u64| per_second(count, seconds);
        let loss_percent =
            interval_loss_percent((previous.expected, previous.received), (expected, received));
        let receiver = media.receiver.stats();
        let stats = VideoStats {
            sent_fps: rate(frames_sent.saturating_sub(previous.frames_sent)),
            received_fps: rate(frames_shown.saturating_sub(previous.frames_shown)),
            tx_bitrate_bps: rate(bytes_sent.saturating_sub(previous.bytes_sent)) * 8.0,
            rx_bitrate_bps: rate(media.bytes_received.saturating_sub(previous.bytes_received))
                * 8.0,
            received_resolution: video.resolution(),
            frames_sent,
            frames_received: frames_shown,
            keyframes_sent: video.keyframes_sent.load(Ordering::Relaxed),
            keyframes_received: media.keyframes_received,
            nacks_sent: media.nacks_sent,
            nacks_received: media.nacks_received,
            retransmissions: video.retransmissions.load(Ordering::Relaxed),
            packets_repaired: receiver.packets_repaired,
            packets_unrepaired: receiver.packets_unrepaired,
            plis_sent: media.plis_sent,
            plis_received: media.plis_received,
            frames_dropped: receiver.frames_dropped
                + media.queue_drops
                + video.frames_dropped.load(Ordering::Relaxed),
            freezes: receiver.freezes,
            frozen: receiver.frozen_for,
            decoder_errors: video.decoder_errors.load(Ordering::Relaxed),
            loss_percent,
            rtt_ms: media
                .rtt
                .or(media.audio_rtt)
                .map(|rtt| rtt.as_secs_f64() * 1000.0),
            av_skew_ms: skew,
        };
        media.previous = Interval {
            at: now,
            frames_sent,
            frames_shown,
            bytes_sent,
            bytes_received: media.bytes_received,
            expected,
            received,
        };
        Some(stats)
    }

    /// Takes the video threads to join them when the call ends.
    pub(crate) fn take_threads(&mut self) -> Option<VideoThreads> {
        self.threads.take()
    }
}

impl VideoMedia {
    /// Unprotects, with `unprotect` (SRTP or SRTCP), a datagram whose clear header names
    /// `ssrc` if it may be the peer's video stream: not its audio SSRC (`audio_ssrc`, if
    /// known), and the SSRC the video stream already has, if any. Returns the length of what
    /// it unprotected, or what became of a datagram it did not.
    fn claim(
        &mut self,
        datagram: &mut [u8],
        ssrc: u32,
        audio_ssrc: Option<u32>,
        unprotect: fn(&mut SrtpReceiver, &mut [u8]) -> Result<usize, sotto_rtp::Error>,
    ) -> Result<usize, Taken> {
        if audio_ssrc == Some(ssrc) || self.peer_ssrc.is_some_and(|s| s != ssrc) {
            return Err(Taken::NotVideo);
        }
        let Ok(len) = unprotect(&mut self.srtp_rx, datagram) else {
            if self.peer_ssrc.is_none() {
                // Not under the video keys: perhaps the audio stream's first packet.
                return Err(Taken::NotVideo);
            }
            self.rejected += 1;
            return Err(Taken::Rejected);
        };
        // The first to authenticate fixes the stream's SSRC, RTCP as well as RTP: a
        // receive-only peer sends RTCP from its video SSRC and never RTP.
        self.peer_ssrc = Some(ssrc);
        Ok(len)
    }

    /// Handles an authenticated RTP packet of the peer's video stream, which came in a
    /// datagram of `wire_len` bytes.
    fn handle_rtp(&mut self, packet: &[u8], wire_len: usize, now: Instant) -> Taken {
        let Ok(packet) = RtpPacket::parse(packet) else {
            self.rejected += 1;
            return Taken::Rejected;
        };
        let header = packet.header;
        if header.payload_type != VIDEO_PAYLOAD_TYPE || packet.payload.is_empty() {
            self.rejected += 1;
            return Taken::Rejected;
        }
        self.packets_received += 1;
        self.bytes_received += wire_len as u64;
        self.rx_stats
            .get_or_insert_with(|| {
                ReceiveStats::new(header.ssrc, header.sequence, H264_CLOCK_RATE_HZ)
            })
            .on_packet(header.sequence, header.timestamp, now);
        self.receiver.handle_packet(
            now,
            header.sequence,
            header.timestamp,
            header.marker,
            packet.payload,
        );
        Taken::Accepted
    }

    /// Hands complete frames to the decode thread and sends the NACKs and PLIs the receiver
    /// asks for.
    fn drain_receiver(
        &mut self,
        decode: &mut Option<DecodeQueue>,
        socket: &UdpSocket,
        peer: SocketAddr,
        ids: &MediaIds,
        now: Instant,
    ) {
        let mut pairs = [NackPair { pid: 0, blp: 0 }; MAX_NACK_PAIRS];
        loop {
            let mut nack_len = 0;
            let mut pli = false;
            let mut overflow = false;
            match self.receiver.poll_event(now) {
                None => return,
                Some(VideoEvent::Frame(frame)) => {
                    if frame.has_idr {
                        self.keyframes_received += 1;
                    }
                    if let Some(queue) = decode {
                        overflow = !queue.push(&frame);
                    }
                }
                Some(VideoEvent::Nack(lost)) => {
                    // What does not fit is asked for again at the receiver's next NACK.
                    for (slot, pair) in pairs.iter_mut().zip(nack_pairs(lost)) {
                        *slot = pair;
                        nack_len += 1;
                    }
                }
                Some(VideoEvent::KeyframeRequest) => pli = true,
            }
            if overflow {
                // The decoder fell behind: skip to a keyframe rather than show stale pictures.
                self.queue_drops += 1;
                self.receiver.request_keyframe(now);
            }
            if nack_len > 0 {
                let nack = RtcpPacket::Nack(Nack {
                    sender_ssrc: ids.ssrc,
                    media_ssrc: self.peer_ssrc.unwrap_or_default(),
                    pairs: pairs[..nack_len].into(),
                });
                if self.send_feedback(socket, peer, ids, nack) {
                    self.nacks_sent += 1;
                }
            }
            if pli {
                if let Some(media_ssrc) = self.peer_ssrc {
                    let pli = RtcpPacket::Pli(Pli {
                        sender_ssrc: ids.ssrc,
                        media_ssrc,
                    });
                    if self.send_feedback(socket, peer, ids, pli) {
                        self.plis_sent += 1;
                    }
                }
            }
        }
    }

    /// Sends one feedback message in a compound of its own (an empty RR, SDES CNAME, then the
    /// message, as RFC 4585 section 3.1 asks); returns whether it went out.
    fn send_feedback(
        &mut self,
        socket: &UdpSocket,
        peer: SocketAddr,
        ids: &MediaIds,
        feedback: RtcpPacket<'_>,
    ) -> bool {
        RtcpOut {
            socket,
            peer,
            rtcp_tx: &mut self.rtcp_tx,
            ids,
        }
        .send_feedback(feedback)
    }

    /// An SR (or RR when we send no video) with SDES CNAME, and BYE when leaving, under the
    /// video stream's keys. The CNAME is the audio stream's: that is what binds the two
    /// streams for lip sync (RFC 3550 section 6.5.1).
    fn send_report(
        &mut self,
        socket: &UdpSocket,
        peer: SocketAddr,
        ids: &MediaIds,
        shared: &Shared,
        now: Instant,
        bye: bool,
    ) {
        self.next_rtcp = now + RTCP_INTERVAL;
        let rx_stats = self.rx_stats.as_mut();
        RtcpOut {
            socket,
            peer,
            rtcp_tx: &mut self.rtcp_tx,
            ids,
        }
        .send_report(rx_stats, shared.video.sender_stats(), now, bye);
    }
}

impl DecodeQueue {
    /// Copies `frame` into a reused buffer and queues it; `false` if the queue was full (the
    /// frame is dropped).
    fn push(&mut self, frame: &H264Frame<'_>) -> bool {
        let mut annexb = self
            .pool
            .pop()
            .or_else(|| self.spare.try_recv().ok())
            .unwrap_or_default();
        annexb.clear();
        annexb.extend_from_slice(frame.annexb);
        let job = DecodeJob {
            annexb,
            timestamp: frame.timestamp,
            keyframe: frame.has_idr,
        };
        match self.jobs.try_send(job) {
            Ok(()) => true,
            Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => {
                if self.pool.len() < MAX_POOLED_BUFFERS {
                    self.pool.push(job.annexb);
                }
                false
            }
        }
    }
}
