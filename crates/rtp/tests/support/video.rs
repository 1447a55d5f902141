//! A one-way H.264 video call in virtual time, for the `video-*` tests: a sender
//! (packetizer, SRTP, [`RetransmitHistory`]) and a receiver (SRTP, [`VideoReceiver`]) joined by
//! two seeded lossy links, media one way and RTCP feedback (generic NACK, PLI) the other.
//!
//! Access units look like an encoder's: an IDR with SPS and PPS every `gop` frames (and when a
//! PLI asks), P-frames otherwise, several packets each. Each slice carries its frame's index,
//! so what the receiver shows can be matched byte for byte with what was sent. Time jumps from
//! one deadline to the next (frame clock, link deliveries, the receiver's timer): no sleeps.

#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::time::{Duration, Instant};

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use sotto_rtp::h264::{AnnexBNalUnits, H264Packetizer};
use sotto_rtp::rtcp::{parse_compound, write_compound, Nack, NackPair, Pli, RtcpPacket};
use sotto_rtp::srtp::{SrtpProfile, SrtpReceiver, SrtpSender};
use sotto_rtp::video::{nack_pairs, RetransmitHistory, VideoEvent, VideoReceiver};
use sotto_rtp::RtpPacket;

pub const SSRC: u32 = 0x5107_7000;
const RECEIVER_SSRC: u32 = 0x0000_0bad;
const PAYLOAD_TYPE: u8 = 96;
const MAX_PAYLOAD_LEN: usize = 1200;
/// 30 frames a second on the 90 kHz clock.
pub const FRAME_TICKS: u32 = 3000;
pub const FRAME_INTERVAL: Duration = Duration::from_nanos(33_333_333);
pub const SPS: [u8; 4] = [0x67, 0x42, 0xc0, 0x1f];
pub const PPS: [u8; 4] = [0x68, 0xce, 0x3c, 0x80];

/// An origin for virtual time; only differences between instants matter.
pub fn base() -> Instant {
    #[allow(
        clippy::disallowed_methods,
        reason = "an origin for virtual time, never read again"
    )]
    Instant::now()
}

/// The Annex-B access unit of frame `index`: SPS, PPS and an IDR slice for a keyframe, a
/// P slice otherwise, `slice_len` bytes of slice. No byte after the headers is zero, so no
/// start code can appear inside.
pub fn access_unit(index: u32, keyframe: bool, slice_len: usize) -> Vec<u8> {
    let mut au = Vec::with_capacity(slice_len + 20);
    if keyframe {
        for nal in [&SPS[..], &PPS[..]] {
            au.extend_from_slice(&[0, 0, 0, 1]);
            au.extend_from_slice(nal);
        }
    }
    au.extend_from_slice(&[0, 0, 0, 1, if keyframe { 0x65 } else { 0x41 }]);
    au.extend_from_slice(&[
        0x80 | (index & 0x7f) as u8,
        0x80 | (index >> 7 & 0x7f) as u8,
        0x80 | (index >> 14 & 0x7f) as u8,
    ]);
    au.extend((0..slice_len.saturating_sub(4)).map(|i| (i as u32 * 31 + index) as u8 | 1));
    au
}

/// The frame index carried by the first slice of an Annex-B frame.
pub fn frame_index(annexb: &[u8]) -> Option<u32> {
    let slice = AnnexBNalUnits::new(annexb).find(|nal| matches!(nal[0] & 0x1f, 1 | 5))?;
    let b = slice.get(1..4)?;
    Some(u32::from(b[0] & 0x7f) | u32::from(b[1] & 0x7f) << 7 | u32::from(b[2] & 0x7f) << 14)
}

/// One direction of the network: fixed delay, uniform jitter on top, independent loss.
pub struct Link {
    pub delay: Duration,
    pub jitter: Duration,
    pub loss: f64,
    rng: ChaCha8Rng,
    queue: BinaryHeap<Reverse<(Instant, u64, Vec<u8>)>>,
    order: u64,
    pub sent: u64,
    pub lost: u64,
}

impl Link {
    pub fn new(seed: u64, delay: Duration, jitter: Duration, loss: f64) -> Self {
        Link {
            delay,
            jitter,
            loss,
            rng: ChaCha8Rng::seed_from_u64(seed),
            queue: BinaryHeap::new(),
            order: 0,
            sent: 0,
            lost: 0,
        }
    }

    fn unit(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn send(&mut self, now: Instant, datagram: Vec<u8>) {
        self.sent += 1;
        if self.unit() < self.loss {
            self.lost += 1;
            return;
        }
        let at = now + self.delay + self.jitter.mul_f64(self.unit());
        self.order += 1;
        self.queue.push(Reverse((at, self.order, datagram)));
    }

    pub fn next_delivery(&self) -> Option<Instant> {
        self.queue.peek().map(|Reverse((at, _, _))| *at)
    }

    pub fn deliver(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.next_delivery()? > now {
            return None;
        }
        self.queue.pop().map(|Reverse((_, _, d))| d)
    }
}

/// How the call is set up.
pub struct CallConfig {
    pub seed: u64,
    pub one_way_delay: Duration,
    pub jitter: Duration,
    pub loss: f64,
    /// A keyframe every this many frames (besides those a PLI asks for).
    pub gop: u32,
    pub frames: u32,
    pub keyframe_len: usize,
    pub p_frame_len: usize,
    pub receiver: sotto_rtp::video::VideoReceiverConfig,
}

impl Default for CallConfig {
    fn default() -> Self {
        CallConfig {
            seed: 1,
            one_way_delay: Duration::from_millis(20),
            jitter: Duration::from_millis(4),
            loss: 0.0,
            gop: 90,
            frames: 300,
            keyframe_len: 12_000,
            p_frame_len: 2_500,
            receiver: Default::default(),
        }
    }
}

/// A frame the receiver handed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shown {
    pub index: u32,
    pub keyframe: bool,
    pub at: Instant,
}

pub struct Call {
    pub start: Instant,
    pub now: Instant,
    pub gop: u32,
    pub frames: u32,
    keyframe_len: usize,
    p_frame_len: usize,
    packetizer: H264Packetizer,
    srtp_tx: SrtpSender,
    pub history: RetransmitHistory,
    pub forward: Link,
    pub backward: Link,
    srtp_rx: SrtpReceiver,
    pub receiver: VideoReceiver,
    rtt: Duration,
    next_frame: u32,
    next_frame_at: Instant,
    pli_pending: bool,
    /// Sequence numbers whose every transmission is lost.
    pub black_hole: HashSet<u16>,
    /// PLIs arriving before this are ignored by the sender.
    pub ignore_pli_until: Option<Instant>,
    /// The access units sent, by frame index.
    pub sent: Vec<Vec<u8>>,
    /// Whether each frame was a keyframe.
    pub sent_keyframe: Vec<bool>,
    /// First sequence number and send time of each frame.
    pub sent_first_seq: Vec<u16>,
    pub sent_at: Vec<Instant>,
    pub shown: Vec<Shown>,
    pub nacks: Vec<(Instant, Vec<u16>)>,
    pub keyframe_requests: Vec<Instant>,
    pub plis_honoured: u32,
    pub srtp_rejected: u64,
}

impl Call {
    pub fn new(config: CallConfig) -> Self {
        let key = [0x42; 16];
        let salt = [0x24; 14];
        let profile = SrtpProfile::Aes128CmHmacSha1_80;
        let start = base();
        let mut receiver = VideoReceiver::new(config.receiver);
        let rtt = config.one_way_delay * 2 + config.jitter;
        receiver.set_rtt(rtt);
        Call {
            start,
            now: start,
            gop: config.gop,
            frames: config.frames,
            keyframe_len: config.keyframe_len,
            p_frame_len: config.p_frame_len,
            packetizer: H264Packetizer::new(SSRC, PAYLOAD_TYPE, 65_000, MAX_PAYLOAD_LEN)
                .expect("packetizer"),
            srtp_tx: SrtpSender::new(profile, &key, &salt).expect("srtp sender"),
            history: RetransmitHistory::new(1024, MAX_PAYLOAD_LEN + 12 + 10),
            forward: Link::new(
                config.seed,
                config.one_way_delay,
                config.jitter,
                config.loss,
            ),
            backward: Link::new(
                config.seed ^ 0xfeed,
                config.one_way_delay,
                config.jitter,
                config.loss,
            ),
            srtp_rx: SrtpReceiver::new(profile, &key, &salt).expect("srtp receiver"),
            receiver,
            rtt,
            next_frame: 0,
            next_frame_at: start,
            pli_pending: false,
            black_hole: HashSet::new(),
            ignore_pli_until: None,
            sent: Vec::new(),
            sent_keyframe: Vec::new(),
            sent_first_seq: Vec::new(),
            sent_at: Vec::new(),
            shown: Vec::new(),
            nacks: Vec::new(),
            keyframe_requests: Vec::new(),
            plis_honoured: 0,
            srtp_rejected: 0,
        }
    }

    /// Runs until every frame is sent and `drain` has passed after the last one.
    pub fn run(&mut self, drain: Duration) {
        let end = self.start + FRAME_INTERVAL * self.frames + drain;
        self.run_until(end);
    }

    pub fn run_until(&mut self, end: Instant) {
        let mut same_instant = 0u32;
        loop {
            let frame_due = (self.next_frame < self.frames).then_some(self.next_frame_at);
            let next = [
                frame_due,
                self.forward.next_delivery(),
                self.backward.next_delivery(),
                self.receiver.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next) = next.filter(|&t| t <= end) else {
                self.now = end;
                return;
            };
            same_instant = if next <= self.now {
                same_instant + 1
            } else {
                0
            };
            assert!(same_instant < 10_000, "the call makes no progress");
            self.now = self.now.max(next);
            let now = self.now;
            if frame_due.is_some_and(|t| t <= now) {
                self.send_frame();
            }
            while let Some(mut datagram) = self.forward.deliver(now) {
                match self.srtp_rx.unprotect_rtp(&mut datagram) {
                    Ok(len) => {
                        let packet = RtpPacket::parse(&datagram[..len]).expect("rtp");
                        let h = packet.header;
                        self.receiver.handle_packet(
                            now,
                            h.sequence,
                            h.timestamp,
                            h.marker,
                            packet.payload,
                        );
                        self.drain_receiver();
                    }
                    Err(_) => self.srtp_rejected += 1,
                }
            }
            while let Some(datagram) = self.backward.deliver(now) {
                self.handle_feedback(&datagram);
            }
            if self.receiver.poll_timeout().is_some_and(|t| t <= now) {
                self.receiver.handle_timeout(now);
            }
            self.drain_receiver();
        }
    }

    fn send_frame(&mut self) {
        let now = self.now;
        let index = self.next_frame;
        let keyframe = index % self.gop == 0 || std::mem::take(&mut self.pli_pending);
        let len = if keyframe {
            self.keyframe_len
        } else {
            self.p_frame_len
        };
        let au = access_unit(index, keyframe, len);
        self.sent_first_seq.push(self.packetizer.sequence());
        let timestamp = 90_000u32.wrapping_add(index.wrapping_mul(FRAME_TICKS));
        let mut packets = Vec::new();
        {
            let mut access_unit = self.packetizer.start_access_unit(&au, timestamp);
            let mut buf = [0u8; 1500];
            while let Some(len) = access_unit.next_packet(&mut buf) {
                packets.push(buf[..len.expect("packetize")].to_vec());
            }
        }
        for mut packet in packets {
            let sequence = u16::from_be_bytes([packet[2], packet[3]]);
            let len = packet.len();
            packet.resize(len + 10, 0);
            let len = self.srtp_tx.protect_rtp(&mut packet, len).expect("protect");
            packet.truncate(len);
            self.history.store(sequence, now, &packet);
            if !self.black_hole.contains(&sequence) {
                self.forward.send(now, packet);
            }
        }
        self.sent.push(au);
        self.sent_keyframe.push(keyframe);
        self.sent_at.push(now);
        self.next_frame += 1;
        self.next_frame_at = self.start + FRAME_INTERVAL * self.next_frame;
    }

    fn handle_feedback(&mut self, datagram: &[u8]) {
        let now = self.now;
        for packet in parse_compound(datagram) {
            match packet.expect("rtcp") {
                RtcpPacket::Nack(nack) => {
                    for sequence in nack.lost() {
                        if let Some(bytes) = self.history.resend(sequence, now, self.rtt) {
                            let bytes = bytes.to_vec();
                            if !self.black_hole.contains(&sequence) {
                                self.forward.send(now, bytes);
                            }
                        }
                    }
                }
                RtcpPacket::Pli(_) if self.ignore_pli_until.is_none_or(|t| now >= t) => {
                    self.pli_pending = true;
                    self.plis_honoured += 1;
                }
                _ => {}
            }
        }
    }

    fn drain_receiver(&mut self) {
        let now = self.now;
        let mut feedback = Vec::new();
        while let Some(event) = self.receiver.poll_event(now) {
            match event {
                VideoEvent::Frame(frame) => {
                    let index = frame_index(frame.annexb).expect("frame index");
                    let sent = &self.sent[index as usize];
                    assert_eq!(frame.annexb, &sent[..], "frame {index} differs from sent");
                    assert_eq!(
                        frame.timestamp,
                        90_000u32.wrapping_add(index.wrapping_mul(FRAME_TICKS))
                    );
                    self.shown.push(Shown {
                        index,
                        keyframe: frame.has_idr && frame.has_sps && frame.has_pps,
                        at: now,
                    });
                }
                VideoEvent::Nack(lost) => {
                    assert!(!lost.is_empty() && lost.len() <= sotto_rtp::video::MAX_NACK_SEQUENCES);
                    self.nacks.push((now, lost.to_vec()));
                    let pairs: Vec<NackPair> = nack_pairs(lost).collect();
                    for chunk in pairs.chunks(64) {
                        feedback.push(write_feedback(RtcpPacket::Nack(Nack {
                            sender_ssrc: RECEIVER_SSRC,
                            media_ssrc: SSRC,
                            pairs: chunk.into(),
                        })));
                    }
                }
                VideoEvent::KeyframeRequest => {
                    self.keyframe_requests.push(now);
                    feedback.push(write_feedback(RtcpPacket::Pli(Pli {
                        sender_ssrc: RECEIVER_SSRC,
                        media_ssrc: SSRC,
                    })));
                }
            }
        }
        for datagram in feedback {
            self.backward.send(now, datagram);
        }
    }

    /// The decoder failed: tell the receiver now, and send what it says.
    pub fn decoder_error(&mut self) {
        self.receiver.request_keyframe(self.now);
        self.drain_receiver();
    }

    /// Indices of the frames shown, in the order shown.
    pub fn shown_indices(&self) -> Vec<u32> {
        self.shown.iter().map(|s| s.index).collect()
    }
}

fn write_feedback(packet: RtcpPacket<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; 1500];
    let len = write_compound(&[packet], 0, &mut buf).expect("rtcp");
    buf.truncate(len);
    buf
}

/// Asserts that frames were shown in strictly increasing order (decode order, none twice).
pub fn assert_in_order(shown: &[Shown]) {
    for pair in shown.windows(2) {
        assert!(
            pair[0].index < pair[1].index,
            "frame {} shown after {}",
            pair[1].index,
            pair[0].index
        );
    }
}

/// One RTP packet of a stream fed straight to a receiver (no network, no SRTP).
#[derive(Clone, Debug)]
pub struct Packet {
    pub sequence: u16,
    pub timestamp: u32,
    pub marker: bool,
    pub payload: Vec<u8>,
    pub frame: u32,
}

/// The access units and RTP packets of `frames` frames, a keyframe every `gop`, starting at
/// sequence number `first_seq`.
pub fn stream(frames: u32, gop: u32, first_seq: u16) -> (Vec<Vec<u8>>, Vec<Packet>) {
    let mut packetizer =
        H264Packetizer::new(SSRC, PAYLOAD_TYPE, first_seq, MAX_PAYLOAD_LEN).expect("packetizer");
    let mut aus = Vec::new();
    let mut packets = Vec::new();
    let mut buf = [0u8; 1500];
    for index in 0..frames {
        let keyframe = index % gop == 0;
        let au = access_unit(index, keyframe, if keyframe { 6_000 } else { 2_500 });
        let timestamp = 90_000u32.wrapping_add(index.wrapping_mul(FRAME_TICKS));
        let mut access_unit = packetizer.start_access_unit(&au, timestamp);
        while let Some(len) = access_unit.next_packet(&mut buf) {
            let packet = RtpPacket::parse(&buf[..len.expect("packetize")]).expect("rtp");
            packets.push(Packet {
                sequence: packet.header.sequence,
                timestamp,
                marker: packet.header.marker,
                payload: packet.payload.to_vec(),
                frame: index,
            });
        }
        aus.push(au);
    }
    (aus, packets)
}

/// What a receiver said, collected.
#[derive(Debug, Default)]
pub struct Events {
    /// (frame index, keyframe, Annex-B bytes) of each frame shown.
    pub frames: Vec<(u32, bool, Vec<u8>)>,
    pub nacks: Vec<Vec<u16>>,
    pub keyframe_requests: Vec<Instant>,
}

impl Events {
    /// Drains every event of `receiver` at `now`.
    pub fn drain(&mut self, receiver: &mut VideoReceiver, now: Instant) {
        while let Some(event) = receiver.poll_event(now) {
            match event {
                VideoEvent::Frame(frame) => self.frames.push((
                    frame_index(frame.annexb).expect("frame index"),
                    frame.has_idr && frame.has_sps && frame.has_pps,
                    frame.annexb.to_vec(),
                )),
                VideoEvent::Nack(lost) => self.nacks.push(lost.to_vec()),
                VideoEvent::KeyframeRequest => self.keyframe_requests.push(now),
            }
        }
    }

    /// Frame indices shown, in order.
    pub fn indices(&self) -> Vec<u32> {
        self.frames.iter().map(|f| f.0).collect()
    }
}

/// Feeds `packet` at `now` and drains the events.
pub fn feed(receiver: &mut VideoReceiver, events: &mut Events, now: Instant, packet: &Packet) {
    receiver.handle_packet(
        now,
        packet.sequence,
        packet.timestamp,
        packet.marker,
        &packet.payload,
    );
    events.drain(receiver, now);
}

/// Runs the receiver's timers up to `end`, draining events at each deadline.
pub fn run_timers(receiver: &mut VideoReceiver, events: &mut Events, end: Instant) {
    while let Some(at) = receiver.poll_timeout().filter(|&t| t <= end) {
        receiver.handle_timeout(at);
        events.drain(receiver, at);
    }
}
