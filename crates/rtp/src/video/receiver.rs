//! The receive side of one H.264 stream: reorder buffer, NACK, frame assembly, freezes and
//! keyframe requests.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use crate::h264::{
    nal_unit_type, H264Frame, NAL_TYPE_FU_A, NAL_TYPE_IDR, NAL_TYPE_PPS, NAL_TYPE_SPS,
    NAL_TYPE_STAP_A,
};

/// Most sequence numbers one [`VideoEvent::Nack`] names. Even unpacked (one RFC 4585 FCI
/// each, 4 bytes) they fit one RTCP packet under a 1200-byte MTU; more wait for the next event.
pub const MAX_NACK_SEQUENCES: usize = 255;

/// Extended sequence numbers of a stream start here, so that packets from before the first
/// one (reordered) still get a place and nothing ever goes below zero.
const EXT_BASE: u64 = 1 << 32;
/// A slot holding nothing.
const EMPTY: u64 = u64::MAX;
/// Consecutive packets far behind the window that make a restarted stream, not stragglers.
const WILD_RUN: u8 = 3;
/// A timestamp this far behind the newest packet's (1 s at 90 kHz) is not the same stream.
const MAX_TIMESTAMP_BACKWARD: i32 = 90_000;
/// A timestamp this far ahead of the newest packet's (60 s at 90 kHz) starts over.
const MAX_TIMESTAMP_FORWARD: i32 = 60 * 90_000;
/// Bounds on `max_packets`: the window must stay well inside half the 16-bit sequence space.
const MIN_WINDOW: usize = 16;
const MAX_WINDOW: usize = 1 << 14;
/// Durations from the configuration and the RTT are capped here, so deadlines never overflow.
const MAX_DURATION: Duration = Duration::from_secs(3600);
const MAX_RTT: Duration = Duration::from_secs(10);
/// The RTT assumed until [`VideoReceiver::set_rtt`] gives one.
const DEFAULT_RTT: Duration = Duration::from_millis(100);
/// The least margin over the RTT before a NACK is repeated.
const MIN_NACK_MARGIN: Duration = Duration::from_millis(10);

// What a payload holds, as bits.
const HAS_SPS: u8 = 1;
const HAS_PPS: u8 = 2;
const HAS_IDR: u8 = 4;
/// The payload begins with an SPS or an access unit delimiter, so it begins an access unit.
const STARTS_AU: u8 = 8;
const KEYFRAME: u8 = HAS_SPS | HAS_PPS | HAS_IDR;
/// NAL unit type of an access unit delimiter.
const NAL_TYPE_AUD: u8 = 9;

/// Settings of a [`VideoReceiver`]. `Default` suits a call: 1024 packets in the reorder
/// buffer (3 s of 3 Mbit/s video; 1.5 MiB, plus 1 MiB for the frame handed out), NACK after
/// 10 ms, give up after 200 ms (or 3 RTT), a keyframe request every 300 ms while frozen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VideoReceiverConfig {
    /// Packets the reorder buffer holds (clamped to 16..=16384): the window of sequence
    /// numbers from the oldest unreleased packet on. Memory is allocated once for all of them.
    pub max_packets: usize,
    /// The largest RTP payload kept (longer ones count as malformed). Each buffer slot has
    /// this many bytes.
    pub max_payload_len: usize,
    /// How long a gap in the sequence numbers may be reordering before it is NACKed.
    pub reorder_grace: Duration,
    /// How many times one missing packet is NACKed. A NACK is repeated once the RTT plus a
    /// margin (a quarter RTT, at least 10 ms) has passed without the packet, and no sooner
    /// than the give-up wait divided by one more than this, so the repeats cover the wait.
    pub max_nack_retries: u32,
    /// How long a missing packet is waited for, from when the gap was seen, before its frame
    /// is dropped (even when its NACKs are all spent: a retransmission may be on its way). The receiver waits the longer of this and 3 RTT: a retransmission takes
    /// one RTT, and a wait of 3 RTT leaves room for a lost NACK or a lost retransmission to be
    /// retried, while 200 ms (the default) is the most a viewer forgives on a short RTT.
    pub give_up_after: Duration,
    /// How often a keyframe is asked for while frozen. The first request of a freeze goes out
    /// at once (but never closer than a quarter of this after the previous one).
    pub keyframe_request_interval: Duration,
    /// How long after the first packet of a stream to wait for a keyframe before asking for
    /// one (the stream was joined mid-way, or its first keyframe was lost).
    pub join_keyframe_wait: Duration,
    /// The largest frame handed out, in bytes of Annex-B; larger frames are dropped.
    pub max_frame_len: usize,
}

impl Default for VideoReceiverConfig {
    fn default() -> Self {
        VideoReceiverConfig {
            max_packets: 1024,
            max_payload_len: 1500,
            reorder_grace: Duration::from_millis(10),
            max_nack_retries: 10,
            give_up_after: Duration::from_millis(200),
            keyframe_request_interval: Duration::from_millis(300),
            join_keyframe_wait: Duration::from_millis(150),
            max_frame_len: 1024 * 1024,
        }
    }
}

/// What the receiver asks of its caller, from [`VideoReceiver::poll_event`].
#[derive(Debug)]
pub enum VideoEvent<'a> {
    /// A complete frame, decodable given the frames before it, in decode order. It borrows
    /// the receiver until the next call.
    Frame(H264Frame<'a>),
    /// Sequence numbers to ask for again: write an RTCP generic NACK (see
    /// [`nack_pairs`](super::nack_pairs)). Ascending, at most [`MAX_NACK_SEQUENCES`].
    Nack(&'a [u16]),
    /// Send a PLI (RFC 4585 section 6.3.1): the picture is frozen until a keyframe comes.
    /// Already rate-limited.
    KeyframeRequest,
}

/// Counters and gauges of a [`VideoReceiver`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VideoReceiverStats {
    /// Packets handled, whatever became of them.
    pub packets: u64,
    /// Frames handed out.
    pub frames: u64,
    /// Of those, keyframes (IDR with SPS and PPS).
    pub keyframes: u64,
    /// Frames thrown away: incomplete when their packet was given up, undecodable for want of
    /// a keyframe, torn (fragments that do not fit together) or too large, or pushed out of
    /// the buffer. A frame of which
    /// not a single packet arrived cannot be counted.
    pub frames_dropped: u64,
    /// Sequence numbers asked for in NACKs, each retry counted.
    pub nacks_sent: u64,
    /// Packets that arrived after being NACKed.
    pub packets_repaired: u64,
    /// Packets that filled a gap before it was NACKed (reordering).
    pub packets_reordered: u64,
    /// Missing packets no longer waited for (given up, or passed over for a keyframe).
    pub packets_unrepaired: u64,
    /// Keyframe requests raised.
    pub keyframe_requests: u64,
    /// Times the picture froze after frames had been shown.
    pub freezes: u64,
    /// Total time frozen, up to the latest `now` seen.
    pub frozen_for: Duration,
    /// Packets received twice.
    pub duplicates: u64,
    /// Packets that came after their place in the stream was passed.
    pub late: u64,
    /// Payloads that are not H.264 packetization-mode 1, or are too long.
    pub malformed: u64,
    /// Times the stream started over after a wild jump in sequence number or timestamp.
    pub resets: u64,
    /// Packets held right now.
    pub buffered_packets: usize,
    /// Sequence numbers missing right now.
    pub missing_packets: usize,
}

/// One slot of the reorder buffer. Its payload lives in the arena at the slot's index.
#[derive(Clone, Copy, Debug)]
struct Slot {
    /// Extended sequence number held, or [`EMPTY`].
    ext: u64,
    timestamp: u32,
    len: usize,
    marker: bool,
    flags: u8,
}

const EMPTY_SLOT: Slot = Slot {
    ext: EMPTY,
    timestamp: 0,
    len: 0,
    marker: false,
    flags: 0,
};

/// A sequence number not received yet.
#[derive(Clone, Copy, Debug)]
struct Missing {
    ext: u64,
    /// When the gap was seen.
    detected: Instant,
    /// When to NACK it (again).
    next_nack: Instant,
    /// NACKs sent for it.
    retries: u32,
}

/// Packets `start..=end` make one frame; `flags` is the union of theirs.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: u64,
    end: u64,
    flags: u8,
}

/// A released frame waiting for [`VideoReceiver::poll_event`]; its packets stay in the buffer.
#[derive(Clone, Copy, Debug)]
struct Ready {
    start: u64,
    end: u64,
    flags: u8,
    keyframe: bool,
}

/// Receives one H.264 stream (RFC 6184 packetization-mode 1) over a lossy network and hands
/// out complete, decodable frames in decode order.
///
/// Feed it every packet of the stream (after SRTP and RTP parsing) with
/// [`VideoReceiver::handle_packet`], and call [`VideoReceiver::handle_timeout`] when
/// [`VideoReceiver::poll_timeout`] says. After any input, drain
/// [`VideoReceiver::poll_event`] until it returns `None`: it yields frames for the decoder,
/// NACK lists and keyframe requests for the caller to send as RTCP.
///
/// How it behaves, after libwebrtc's receiver:
/// - Packets wait in a fixed ring keyed by extended sequence number. A gap is NACKed once it
///   has lasted `reorder_grace`, again every RTT and a margin (spread over the wait on a short
///   RTT), up to `max_nack_retries` times, and given up after the longer of `give_up_after` and
///   3 RTT.
/// - A frame is every packet with one RTP timestamp, up to the marker bit (or a timestamp
///   change). It is released the moment it is complete if it follows the previous frame; a
///   complete keyframe (IDR with SPS and PPS) is released at once wherever it is, passing over
///   whatever incomplete frames are before it.
/// - When a missing packet is given up, its frame and everything before it are dropped and
///   the picture *freezes*: only a keyframe is released next, since a P-frame whose reference
///   was lost decodes to garbage. A keyframe request is raised at once and then every
///   `keyframe_request_interval` until one comes. A stream that shows nothing within
///   `join_keyframe_wait` of its first packet is treated the same way, as is a decoder error
///   reported through [`VideoReceiver::request_keyframe`].
/// - Memory is fixed whatever arrives: everything (packet slots, the frame buffer, NACK and
///   frame queues) is allocated in [`VideoReceiver::new`], and nothing after. A sequence
///   number more than `max_packets` ahead, three packets in a row far behind (as RFC 3550
///   A.1 takes two in a row for a restart), or a timestamp more than 1 s back or 60 s ahead
///   starts the stream over and asks for a keyframe; a packet beyond the window otherwise
///   pushes the oldest ones out.
///
/// Sequence numbers must be of one SSRC. SRTP's replay protection is assumed in front, but
/// duplicates are ignored here too.
pub struct VideoReceiver {
    config: VideoReceiverConfig,
    slots: Vec<Slot>,
    arena: Vec<u8>,
    started: bool,
    /// The highest extended sequence number received, and its timestamp.
    highest: u64,
    highest_ts: u32,
    /// The first sequence number neither released nor dropped.
    cursor: u64,
    /// Whether the cursor has moved since the stream (re)started; before that, an earlier
    /// packet may still move it back.
    cursor_moved: bool,
    missing: VecDeque<Missing>,
    ready: VecDeque<Ready>,
    /// A released frame was lost before the caller got it: drop frames up to a keyframe.
    drop_ready_until_keyframe: bool,
    /// Frozen (or not started): only a keyframe is released next.
    awaiting_keyframe: bool,
    shown_any: bool,
    frozen_since: Option<Instant>,
    keyframe_due: Option<Instant>,
    last_keyframe_request: Option<Instant>,
    /// Timestamp of the frame the last dropped packet belonged to, to count frames once.
    last_dropped_ts: Option<u32>,
    wild_last: u16,
    wild_run: u8,
    rtt: Duration,
    nack_out: Vec<u16>,
    /// The Annex-B of the frame last handed out.
    frame: Vec<u8>,
    last_now: Option<Instant>,
    stats: VideoReceiverStats,
}

impl fmt::Debug for VideoReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VideoReceiver")
            .field("cursor", &self.cursor)
            .field("highest", &self.highest)
            .field("awaiting_keyframe", &self.awaiting_keyframe)
            .field("missing", &self.missing.len())
            .field("ready", &self.ready.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// `now + d`, or `now` if that does not fit an `Instant` (durations are capped well below).
fn later(now: Instant, d: Duration) -> Instant {
    now.checked_add(d).unwrap_or(now)
}

/// Flag bits of one NAL unit type.
fn nal_flags(nal_type: u8) -> u8 {
    match nal_type {
        NAL_TYPE_IDR => HAS_IDR,
        NAL_TYPE_SPS => HAS_SPS | STARTS_AU,
        NAL_TYPE_PPS => HAS_PPS,
        NAL_TYPE_AUD => STARTS_AU,
        _ => 0,
    }
}

/// What a packetization-mode 1 payload holds, or `None` if it is not one (checked the way the
/// depacketizer checks it).
fn payload_flags(payload: &[u8]) -> Option<u8> {
    let (&header, body) = payload.split_first()?;
    match nal_unit_type(header) {
        t @ 1..=23 => Some(nal_flags(t)),
        NAL_TYPE_STAP_A => {
            let mut flags = 0;
            let mut rest = body;
            let mut first = true;
            if rest.is_empty() {
                return None;
            }
            while !rest.is_empty() {
                let (size, tail) = rest.split_first_chunk::<2>()?;
                let (nal, tail) = tail.split_at_checked(usize::from(u16::from_be_bytes(*size)))?;
                let t = nal_unit_type(*nal.first()?);
                if !(1..=23).contains(&t) {
                    return None;
                }
                let f = nal_flags(t);
                // Only a first NAL unit can begin an access unit.
                flags |= if first { f } else { f & !STARTS_AU };
                first = false;
                rest = tail;
            }
            Some(flags)
        }
        NAL_TYPE_FU_A => {
            let &fu = body.first()?;
            let (start, end, t) = (fu & 0x80 != 0, fu & 0x40 != 0, nal_unit_type(fu));
            if (start && end) || !(1..=23).contains(&t) {
                return None;
            }
            Some(if start { nal_flags(t) } else { 0 })
        }
        _ => None,
    }
}

impl VideoReceiver {
    /// A receiver that has seen nothing, with every buffer allocated.
    pub fn new(config: VideoReceiverConfig) -> Self {
        let mut config = config;
        config.max_packets = config.max_packets.clamp(MIN_WINDOW, MAX_WINDOW);
        config.max_payload_len = config.max_payload_len.max(1);
        config.reorder_grace = config.reorder_grace.min(MAX_DURATION);
        config.give_up_after = config.give_up_after.min(MAX_DURATION);
        config.keyframe_request_interval = config
            .keyframe_request_interval
            .clamp(Duration::from_millis(1), MAX_DURATION);
        config.join_keyframe_wait = config.join_keyframe_wait.min(MAX_DURATION);
        let n = config.max_packets;
        VideoReceiver {
            slots: vec![EMPTY_SLOT; n],
            arena: vec![0; n * config.max_payload_len],
            started: false,
            highest: 0,
            highest_ts: 0,
            cursor: 0,
            cursor_moved: false,
            missing: VecDeque::with_capacity(n),
            ready: VecDeque::with_capacity(n),
            drop_ready_until_keyframe: false,
            awaiting_keyframe: true,
            shown_any: false,
            frozen_since: None,
            keyframe_due: None,
            last_keyframe_request: None,
            last_dropped_ts: None,
            wild_last: 0,
            wild_run: 0,
            rtt: DEFAULT_RTT,
            nack_out: Vec::with_capacity(MAX_NACK_SEQUENCES),
            // No frame can be longer than the whole buffer as Annex-B: a payload byte
            // becomes at most two (a one-byte STAP-A unit: 3 bytes in, 5 out).
            frame: Vec::with_capacity(
                config
                    .max_frame_len
                    .min(2 * n * config.max_payload_len + 4 * n),
            ),
            last_now: None,
            stats: VideoReceiverStats::default(),
            config,
        }
    }

    /// The configuration in force (after clamping).
    pub fn config(&self) -> &VideoReceiverConfig {
        &self.config
    }

    /// Handles one packet of the stream: its RTP sequence number, timestamp, marker bit and
    /// (unprotected) payload. Drain [`VideoReceiver::poll_event`] afterwards.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        sequence: u16,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
    ) {
        self.note_now(now);
        self.stats.packets += 1;
        let flags = if payload.len() <= self.config.max_payload_len {
            payload_flags(payload)
        } else {
            None
        };
        let Some(flags) = flags else {
            // Its sequence number stays a gap: a retransmission may bring a good copy.
            self.stats.malformed += 1;
            return;
        };
        let ext = if self.started {
            let delta = sequence.wrapping_sub(self.highest as u16) as i16;
            self.highest.wrapping_add_signed(i64::from(delta))
        } else {
            self.start(now, sequence, timestamp);
            self.highest
        };
        if let Some(ext) = self.place(now, ext, sequence, timestamp) {
            self.store(now, ext, timestamp, marker, flags, payload);
        }
    }

    /// Sets the round-trip time (from RTCP), which paces NACK retries and the give-up wait.
    pub fn set_rtt(&mut self, rtt: Duration) {
        self.rtt = rtt.min(MAX_RTT);
    }

    /// The caller's decoder failed on a frame: the frames after it are dropped up to a
    /// keyframe, and unless one is already waiting to be polled, the receiver freezes and asks
    /// for one (if not frozen already, in which case requests are going out).
    pub fn request_keyframe(&mut self, now: Instant) {
        self.note_now(now);
        self.break_chain(now);
    }

    /// Runs the timers due at `now`: gives up missing packets waited for long enough. Call it
    /// at [`VideoReceiver::poll_timeout`], then drain [`VideoReceiver::poll_event`].
    pub fn handle_timeout(&mut self, now: Instant) {
        self.note_now(now);
        let window = self.give_up_window();
        // Giving up the newest due packet passes over every one before it too.
        let due = self
            .missing
            .iter()
            .rev()
            .find(|m| later(m.detected, window) <= now)
            .map(|m| m.ext);
        if let Some(ext) = due {
            self.give_up(now, ext);
        }
    }

    /// The next event, or `None` once there is nothing more to do at `now`: a keyframe
    /// request when one is due, then NACKs due, then frames in decode order.
    pub fn poll_event(&mut self, now: Instant) -> Option<VideoEvent<'_>> {
        self.note_now(now);
        if self.awaiting_keyframe && self.keyframe_due.is_some_and(|due| due <= now) {
            self.keyframe_due = Some(later(now, self.config.keyframe_request_interval));
            self.last_keyframe_request = Some(now);
            self.stats.keyframe_requests += 1;
            return Some(VideoEvent::KeyframeRequest);
        }
        self.nack_out.clear();
        let interval = self.nack_interval();
        let max_retries = self.config.max_nack_retries;
        for m in self.missing.iter_mut() {
            if self.nack_out.len() >= MAX_NACK_SEQUENCES {
                break;
            }
            if m.retries < max_retries && m.next_nack <= now {
                self.nack_out.push(m.ext as u16);
                m.retries += 1;
                m.next_nack = later(now, interval);
            }
        }
        if !self.nack_out.is_empty() {
            self.stats.nacks_sent += self.nack_out.len() as u64;
            return Some(VideoEvent::Nack(&self.nack_out));
        }
        while let Some(frame) = self.ready.pop_front() {
            if self.drop_ready_until_keyframe && !frame.keyframe {
                self.stats.frames_dropped += 1;
                continue;
            }
            let n = self.slots.len() as u64;
            let assembled = assemble(
                &mut self.frame,
                self.config.max_frame_len,
                (frame.start..=frame.end).map(|ext| {
                    let index = (ext % n) as usize;
                    let at = index * self.config.max_payload_len;
                    self.arena
                        .get(at..at + self.slots[index].len)
                        .unwrap_or(&[])
                }),
            );
            if assembled {
                self.drop_ready_until_keyframe = false;
                self.stats.frames += 1;
                if frame.keyframe {
                    self.stats.keyframes += 1;
                }
                let flags = frame.flags;
                return Some(VideoEvent::Frame(H264Frame {
                    annexb: &self.frame,
                    timestamp: self.slots[(frame.start % n) as usize].timestamp,
                    has_idr: flags & HAS_IDR != 0,
                    has_sps: flags & HAS_SPS != 0,
                    has_pps: flags & HAS_PPS != 0,
                }));
            }
            // Refused (torn fragments or too large): what follows has no reference.
            self.stats.frames_dropped += 1;
            self.break_chain(now);
        }
        None
    }

    /// When [`VideoReceiver::handle_timeout`] must run next (a NACK, a give-up or a keyframe
    /// request falls due), or `None` if nothing is pending.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next = if self.awaiting_keyframe {
            self.keyframe_due
        } else {
            None
        };
        let window = self.give_up_window();
        let max_retries = self.config.max_nack_retries;
        for m in &self.missing {
            let mut due = later(m.detected, window);
            if m.retries < max_retries {
                due = due.min(m.next_nack);
            }
            next = Some(next.map_or(due, |t| t.min(due)));
        }
        next
    }

    /// The counters, and how much is held right now.
    pub fn stats(&self) -> VideoReceiverStats {
        let mut stats = self.stats;
        if let (Some(since), Some(now)) = (self.frozen_since, self.last_now) {
            stats.frozen_for += now.saturating_duration_since(since);
        }
        let low = self.retain_low();
        stats.buffered_packets = self
            .slots
            .iter()
            .filter(|s| s.ext != EMPTY && s.ext >= low && s.ext <= self.highest)
            .count();
        stats.missing_packets = self.missing.len();
        stats
    }

    /// Whether the picture is frozen (or not started): only a keyframe is released next.
    pub fn is_awaiting_keyframe(&self) -> bool {
        self.awaiting_keyframe
    }

    fn note_now(&mut self, now: Instant) {
        self.last_now = Some(self.last_now.map_or(now, |t| t.max(now)));
    }

    /// Repeats are spread over the give-up window: on a short RTT, RTT-paced NACKs would
    /// all be spent in a burst long before the window ends, while the sender may be busy
    /// encoding a frame before it answers.
    fn nack_interval(&self) -> Duration {
        let paced = self.rtt + (self.rtt / 4).max(MIN_NACK_MARGIN);
        let spread = self.give_up_window() / (self.config.max_nack_retries + 1);
        paced.max(spread)
    }

    fn give_up_window(&self) -> Duration {
        self.config.give_up_after.max(self.rtt * 3)
    }

    fn window(&self) -> u64 {
        self.slots.len() as u64
    }

    fn slot(&self, ext: u64) -> &Slot {
        &self.slots[(ext % self.window()) as usize]
    }

    /// Whether `ext` was received and its slot still holds it.
    fn received(&self, ext: u64) -> Option<&Slot> {
        let slot = self.slot(ext);
        (slot.ext == ext).then_some(slot)
    }

    /// Whether `ext` is held and not yet released or dropped.
    fn is_live(&self, ext: u64) -> bool {
        ext >= self.cursor && self.received(ext).is_some()
    }

    /// The oldest sequence number whose packet must be kept: released frames wait in the
    /// buffer until polled.
    fn retain_low(&self) -> u64 {
        self.ready.front().map_or(self.cursor, |r| r.start)
    }

    fn start(&mut self, now: Instant, sequence: u16, timestamp: u32) {
        self.started = true;
        self.highest = EXT_BASE + u64::from(sequence);
        self.highest_ts = timestamp;
        self.cursor = self.highest;
        self.awaiting_keyframe = true;
        self.keyframe_due = Some(later(now, self.config.join_keyframe_wait));
    }

    /// Starts the stream over at this packet: a wild jump means nothing held is of use.
    fn reset(&mut self, now: Instant, sequence: u16, timestamp: u32) {
        self.stats.resets += 1;
        self.slots.fill(EMPTY_SLOT);
        self.stats.packets_unrepaired += self.missing.len() as u64;
        self.missing.clear();
        self.stats.frames_dropped += self.ready.len() as u64;
        self.ready.clear();
        self.drop_ready_until_keyframe = false;
        self.highest = EXT_BASE + u64::from(sequence);
        self.highest_ts = timestamp;
        self.cursor = self.highest;
        self.cursor_moved = false;
        self.last_dropped_ts = None;
        self.wild_run = 0;
        if self.awaiting_keyframe {
            self.schedule_keyframe_request(now);
        } else {
            self.freeze(now);
        }
    }

    /// Where the packet with extended sequence number `ext` goes, or `None` if it is to be
    /// ignored. May start the stream over or push old packets out to make room.
    fn place(&mut self, now: Instant, ext: u64, sequence: u16, timestamp: u32) -> Option<u64> {
        let n = self.window();
        if ext > self.highest {
            self.wild_run = 0;
            let step = timestamp.wrapping_sub(self.highest_ts) as i32;
            if ext - self.highest > n
                || !(-MAX_TIMESTAMP_BACKWARD..=MAX_TIMESTAMP_FORWARD).contains(&step)
            {
                self.reset(now, sequence, timestamp);
                return Some(self.highest);
            }
            let low = self.retain_low();
            if ext >= low + n {
                self.evict(now, ext + 1 - n);
            }
            return Some(ext);
        }
        if ext >= self.cursor {
            self.wild_run = 0;
            if self.received(ext).is_some() {
                self.stats.duplicates += 1;
                return None;
            }
            return Some(ext);
        }
        if self.received(ext).is_some() {
            self.stats.duplicates += 1;
            return None;
        }
        if self.highest - ext >= n {
            // Far behind: a straggler, or the sender started over lower down. Only a run of
            // them in sequence says the latter.
            self.wild_run = if self.wild_run > 0 && sequence == self.wild_last.wrapping_add(1) {
                self.wild_run.saturating_add(1)
            } else {
                1
            };
            self.wild_last = sequence;
            if self.wild_run >= WILD_RUN {
                self.reset(now, sequence, timestamp);
                return Some(self.highest);
            }
            self.stats.late += 1;
            return None;
        }
        if !self.cursor_moved && self.ready.is_empty() {
            // Nothing has left the buffer yet: this packet was sent before the first one
            // received, and the window widens back to it.
            for gap in (ext + 1..self.cursor).rev() {
                self.missing.push_front(Missing {
                    ext: gap,
                    detected: now,
                    next_nack: later(now, self.config.reorder_grace),
                    retries: 0,
                });
            }
            self.cursor = ext;
            return Some(ext);
        }
        self.stats.late += 1;
        None
    }

    fn store(
        &mut self,
        now: Instant,
        ext: u64,
        timestamp: u32,
        marker: bool,
        flags: u8,
        payload: &[u8],
    ) {
        if ext > self.highest {
            let grace = later(now, self.config.reorder_grace);
            for gap in (self.highest + 1).max(self.cursor)..ext {
                self.missing.push_back(Missing {
                    ext: gap,
                    detected: now,
                    next_nack: grace,
                    retries: 0,
                });
            }
            self.highest = ext;
            self.highest_ts = timestamp;
        } else if let Ok(at) = self.missing.binary_search_by_key(&ext, |m| m.ext) {
            if let Some(m) = self.missing.remove(at) {
                if m.retries > 0 {
                    self.stats.packets_repaired += 1;
                } else {
                    self.stats.packets_reordered += 1;
                }
            }
        }
        let index = (ext % self.window()) as usize;
        let at = index * self.config.max_payload_len;
        if let Some(room) = self.arena.get_mut(at..at + payload.len()) {
            room.copy_from_slice(payload);
        }
        self.slots[index] = Slot {
            ext,
            timestamp,
            len: payload.len(),
            marker,
            flags,
        };
        self.on_arrival(now, ext);
    }

    /// Releases whatever frames the packet at `p` completed: its own, the one before it (if
    /// `p` ends it by a timestamp change) and the one after it (if `p` ends its own).
    fn on_arrival(&mut self, now: Instant, p: u64) {
        let Slot {
            timestamp, marker, ..
        } = *self.slot(p);
        // Earliest first: an in-order frame completed with a keyframe after it is shown, not
        // passed over.
        if self.is_live(p - 1) {
            let prev = *self.slot(p - 1);
            if !prev.marker && prev.timestamp != timestamp {
                self.try_release(now, p - 1);
            }
        }
        self.try_release(now, p);
        if self.is_live(p + 1) && (marker || self.slot(p + 1).timestamp != timestamp) {
            self.try_release(now, p + 1);
        }
    }

    /// Releases the frame holding `p` if it is complete and may be decoded next.
    fn try_release(&mut self, now: Instant, p: u64) {
        if !self.is_live(p) {
            return;
        }
        let Some(span) = self.span_of(p) else {
            return;
        };
        let next_in_order = span.start == self.cursor && !self.awaiting_keyframe;
        if next_in_order || span.flags & KEYFRAME == KEYFRAME {
            self.release(now, span);
        }
    }

    /// Whether the live packet at `s` begins a frame: it begins with an SPS or delimiter, or
    /// the packet before it ended a frame (marker bit or another timestamp).
    fn starts_frame(&self, s: u64) -> bool {
        let slot = self.slot(s);
        if slot.flags & STARTS_AU != 0 {
            return true;
        }
        self.received(s - 1)
            .is_some_and(|prev| prev.marker || prev.timestamp != slot.timestamp)
    }

    /// The complete frame holding the live packet `p`, if all its packets are here and its
    /// first one is known to begin it.
    fn span_of(&self, p: u64) -> Option<Span> {
        let timestamp = self.slot(p).timestamp;
        let mut flags = 0;
        let mut end = p;
        loop {
            let slot = self.slot(end);
            flags |= slot.flags;
            if slot.marker {
                break;
            }
            if !self.is_live(end + 1) {
                return None;
            }
            if self.slot(end + 1).timestamp != timestamp {
                break;
            }
            end += 1;
        }
        let mut start = p;
        while !self.starts_frame(start) {
            if start == self.cursor || !self.is_live(start - 1) {
                return None;
            }
            start -= 1;
            flags |= self.slot(start).flags;
        }
        Some(Span { start, end, flags })
    }

    /// Hands out `span` (dropping what is before it) and every complete frame following it.
    fn release(&mut self, now: Instant, span: Span) {
        if span.start > self.cursor {
            self.drop_range(span.start);
        }
        if self.awaiting_keyframe {
            self.awaiting_keyframe = false;
            self.keyframe_due = None;
            if let Some(since) = self.frozen_since.take() {
                self.stats.frozen_for += now.saturating_duration_since(since);
            }
        }
        let mut span = span;
        loop {
            self.ready.push_back(Ready {
                start: span.start,
                end: span.end,
                flags: span.flags,
                keyframe: span.flags & KEYFRAME == KEYFRAME,
            });
            self.cursor = span.end + 1;
            self.cursor_moved = true;
            self.shown_any = true;
            if !self.is_live(self.cursor) {
                break;
            }
            match self.span_of(self.cursor) {
                Some(next) => span = next,
                None => break,
            }
        }
    }

    /// Drops every unreleased packet before `end` and stops waiting for the missing ones.
    fn drop_range(&mut self, end: u64) {
        for ext in self.cursor..end {
            if let Some(slot) = self.received(ext) {
                let timestamp = slot.timestamp;
                if self.last_dropped_ts != Some(timestamp) {
                    self.stats.frames_dropped += 1;
                    self.last_dropped_ts = Some(timestamp);
                }
            }
        }
        while self.missing.front().is_some_and(|m| m.ext < end) {
            self.missing.pop_front();
            self.stats.packets_unrepaired += 1;
        }
        self.cursor = self.cursor.max(end);
        self.cursor_moved = true;
    }

    /// Makes room for packets up to `new_low + window`: released frames not yet polled and
    /// unreleased packets before `new_low` go.
    fn evict(&mut self, now: Instant, new_low: u64) {
        let mut lost_ready = false;
        while self.ready.front().is_some_and(|r| r.start < new_low) {
            self.ready.pop_front();
            self.stats.frames_dropped += 1;
            lost_ready = true;
        }
        if lost_ready {
            self.break_chain(now);
        }
        if self.cursor < new_low {
            self.drop_range(new_low);
            self.freeze(now);
        }
    }

    /// A frame handed out, or about to be, is lost to the decoder: the frames after it are
    /// dropped up to a keyframe, and if none is waiting among them, the receiver freezes.
    fn break_chain(&mut self, now: Instant) {
        self.drop_ready_until_keyframe = true;
        if !self.ready.iter().any(|r| r.keyframe) {
            self.freeze(now);
        }
    }

    /// Stops waiting for the missing packet `ext`: its frame and all before it are dropped.
    fn give_up(&mut self, now: Instant, ext: u64) {
        self.drop_range(ext + 1);
        self.freeze(now);
    }

    /// Stops releasing anything but a keyframe, and asks for one.
    fn freeze(&mut self, now: Instant) {
        if self.awaiting_keyframe {
            return;
        }
        self.awaiting_keyframe = true;
        if self.shown_any {
            self.stats.freezes += 1;
            self.frozen_since = Some(now);
        }
        self.schedule_keyframe_request(now);
    }

    /// Makes a keyframe request due now, or a quarter interval after the last one.
    fn schedule_keyframe_request(&mut self, now: Instant) {
        let gap = self.config.keyframe_request_interval / 4;
        let earliest = self
            .last_keyframe_request
            .map_or(now, |last| later(last, gap).max(now));
        self.keyframe_due = Some(self.keyframe_due.map_or(earliest, |due| due.min(earliest)));
    }
}

/// The four-byte Annex-B start code put before each NAL unit.
const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// Appends `parts` to `frame` unless that makes it longer than `max_len`.
fn append(frame: &mut Vec<u8>, max_len: usize, parts: &[&[u8]]) -> bool {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    if frame.len().saturating_add(len) > max_len {
        return false;
    }
    for part in parts {
        frame.extend_from_slice(part);
    }
    true
}

/// Writes the Annex-B access unit carried by `payloads` (one frame's, in sequence order) into
/// `frame`, each NAL unit after a four-byte start code. False if the fragmentation units do
/// not fit together, a payload is malformed, or the frame would outgrow `max_len`.
fn assemble<'p>(
    frame: &mut Vec<u8>,
    max_len: usize,
    payloads: impl Iterator<Item = &'p [u8]>,
) -> bool {
    frame.clear();
    // NAL unit type of the FU-A being reassembled.
    let mut open_fu: Option<u8> = None;
    for payload in payloads {
        let Some((&header, body)) = payload.split_first() else {
            return false;
        };
        let ok = match nal_unit_type(header) {
            1..=23 => open_fu.is_none() && append(frame, max_len, &[&START_CODE, payload]),
            NAL_TYPE_STAP_A => {
                let mut rest = body;
                let mut ok = open_fu.is_none();
                while ok && !rest.is_empty() {
                    let unit = rest.split_first_chunk::<2>().and_then(|(size, tail)| {
                        tail.split_at_checked(usize::from(u16::from_be_bytes(*size)))
                    });
                    let Some((nal, tail)) = unit else {
                        return false;
                    };
                    ok = append(frame, max_len, &[&START_CODE, nal]);
                    rest = tail;
                }
                ok
            }
            NAL_TYPE_FU_A => {
                let Some((&fu, data)) = body.split_first() else {
                    return false;
                };
                let (start, end, t) = (fu & 0x80 != 0, fu & 0x40 != 0, nal_unit_type(fu));
                let ok = if start {
                    open_fu.is_none()
                        && append(frame, max_len, &[&START_CODE, &[(header & 0xe0) | t], data])
                } else {
                    open_fu == Some(t) && append(frame, max_len, &[data])
                };
                open_fu = if start || !end { Some(t) } else { None };
                if start && end {
                    return false;
                }
                ok
            }
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    open_fu.is_none() && !frame.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::base;

    #[test]
    fn payload_flags_read_nal_types_through_stap_a_and_fu_a() {
        assert_eq!(payload_flags(&[0x41, 1]), Some(0));
        assert_eq!(payload_flags(&[0x65, 1]), Some(HAS_IDR));
        assert_eq!(payload_flags(&[0x67, 1]), Some(HAS_SPS | STARTS_AU));
        assert_eq!(payload_flags(&[0x09, 0x10]), Some(STARTS_AU));
        // STAP-A: SPS, PPS, IDR.
        let stap = [0x78, 0, 2, 0x67, 1, 0, 2, 0x68, 2, 0, 2, 0x65, 3];
        assert_eq!(payload_flags(&stap), Some(KEYFRAME | STARTS_AU));
        // An SPS that is not first does not begin the access unit.
        let stap = [0x78, 0, 2, 0x41, 1, 0, 2, 0x67, 2];
        assert_eq!(payload_flags(&stap), Some(HAS_SPS));
        // Truncated STAP-A, empty STAP-A, packet type inside.
        assert_eq!(payload_flags(&[0x78, 0, 5, 0x67]), None);
        assert_eq!(payload_flags(&[0x78]), None);
        assert_eq!(payload_flags(&[0x78, 0, 1, 0x7c]), None);
        // FU-A start of an IDR, middle, both bits, bad type.
        assert_eq!(payload_flags(&[0x7c, 0x85, 1]), Some(HAS_IDR));
        assert_eq!(payload_flags(&[0x7c, 0x05, 1]), Some(0));
        assert_eq!(payload_flags(&[0x7c, 0xc5, 1]), None);
        assert_eq!(payload_flags(&[0x7c, 0x80, 1]), None);
        assert_eq!(payload_flags(&[0x7c]), None);
        assert_eq!(payload_flags(&[]), None);
        assert_eq!(payload_flags(&[0x1e]), None);
    }

    fn assembled(payloads: &[&[u8]], max_len: usize) -> Option<Vec<u8>> {
        let mut frame = Vec::new();
        assemble(&mut frame, max_len, payloads.iter().copied()).then_some(frame)
    }

    #[test]
    fn assembles_single_stap_a_and_fu_a_into_annexb() {
        let payloads: [&[u8]; 4] = [
            &[0x78, 0, 2, 0x67, 1, 0, 2, 0x68, 2],
            &[0x7c, 0x85, 9, 9],
            &[0x7c, 0x45, 8],
            &[0x06, 7],
        ];
        assert_eq!(
            assembled(&payloads, 100).unwrap(),
            [
                0, 0, 0, 1, 0x67, 1, 0, 0, 0, 1, 0x68, 2, 0, 0, 0, 1, 0x65, 9, 9, 8, 0, 0, 0, 1,
                0x06, 7
            ]
        );
        // One byte short of room.
        assert_eq!(assembled(&payloads, 25), None);
        assert!(assembled(&payloads, 26).is_some());
    }

    #[test]
    fn torn_fragments_are_refused() {
        // No end, no start, end of another type, a NAL unit inside a fragmented one.
        assert_eq!(assembled(&[&[0x7c, 0x85, 1]], 100), None);
        assert_eq!(assembled(&[&[0x7c, 0x45, 1]], 100), None);
        assert_eq!(assembled(&[&[0x7c, 0x85, 1], &[0x7c, 0x41, 1]], 100), None);
        assert_eq!(assembled(&[&[0x7c, 0x85, 1], &[0x41, 1]], 100), None);
        assert_eq!(assembled(&[&[0x7c, 0xc5, 1]], 100), None);
        assert_eq!(assembled(&[&[]], 100), None);
        assert_eq!(assembled(&[], 100), None);
    }

    const KEYFRAME_STAP_A: [u8; 13] = [0x78, 0, 2, 0x67, 1, 0, 2, 0x68, 2, 0, 2, 0x65, 3];

    /// Feeds one-packet frames (keyframe or P-frame) from sequence number 10 on.
    fn feed_frames(r: &mut VideoReceiver, now: Instant, keyframes: &[bool]) {
        for (i, &key) in keyframes.iter().enumerate() {
            let payload: &[u8] = if key { &KEYFRAME_STAP_A } else { &[0x41, 9] };
            r.handle_packet(now, 10 + i as u16, 3000 * i as u32, true, payload);
        }
    }

    fn next_frame(r: &mut VideoReceiver, now: Instant) -> Option<(u32, bool)> {
        match r.poll_event(now)? {
            VideoEvent::Frame(f) => Some((f.timestamp, f.has_idr)),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn decoder_error_with_a_keyframe_queued_does_not_freeze() {
        let now = base();
        let mut r = VideoReceiver::new(VideoReceiverConfig::default());
        feed_frames(&mut r, now, &[true, false, true, false]);
        assert_eq!(next_frame(&mut r, now), Some((0, true)));
        // The decoder fails on frame 0: frame 1 needs it, frame 2 does not.
        r.request_keyframe(now);
        assert_eq!(next_frame(&mut r, now), Some((6000, true)));
        assert_eq!(next_frame(&mut r, now), Some((9000, false)));
        assert_eq!(next_frame(&mut r, now), None);
        let stats = r.stats();
        assert_eq!(
            (stats.freezes, stats.keyframe_requests, stats.frames_dropped),
            (0, 0, 1)
        );
        assert!(!r.is_awaiting_keyframe());
    }

    #[test]
    fn decoder_error_without_a_keyframe_queued_freezes() {
        let now = base();
        let mut r = VideoReceiver::new(VideoReceiverConfig::default());
        feed_frames(&mut r, now, &[true, false, false]);
        assert_eq!(next_frame(&mut r, now), Some((0, true)));
        r.request_keyframe(now);
        assert!(matches!(
            r.poll_event(now),
            Some(VideoEvent::KeyframeRequest)
        ));
        assert!(r.poll_event(now).is_none());
        // A P-frame arriving while frozen is held back; the keyframe is shown.
        r.handle_packet(now, 13, 9000, true, &[0x41, 9]);
        assert!(r.poll_event(now).is_none());
        r.handle_packet(now, 14, 12000, true, &KEYFRAME_STAP_A);
        assert_eq!(next_frame(&mut r, now), Some((12000, true)));
        let stats = r.stats();
        assert_eq!((stats.freezes, stats.keyframe_requests), (1, 1));
        assert_eq!(stats.frames_dropped, 3);
    }

    #[test]
    fn config_is_clamped() {
        let r = VideoReceiver::new(VideoReceiverConfig {
            max_packets: 0,
            max_payload_len: 0,
            keyframe_request_interval: Duration::ZERO,
            give_up_after: Duration::MAX,
            ..VideoReceiverConfig::default()
        });
        assert_eq!(r.config().max_packets, MIN_WINDOW);
        assert_eq!(r.config().max_payload_len, 1);
        assert!(r.config().keyframe_request_interval > Duration::ZERO);
        assert_eq!(r.config().give_up_after, MAX_DURATION);
    }

    #[test]
    fn give_up_waits_longer_on_a_long_rtt() {
        let mut r = VideoReceiver::new(VideoReceiverConfig::default());
        assert_eq!(r.give_up_window(), Duration::from_millis(300));
        r.set_rtt(Duration::from_millis(20));
        assert_eq!(r.give_up_window(), Duration::from_millis(200));
        assert_eq!(r.nack_interval(), Duration::from_millis(30));
        r.set_rtt(Duration::from_millis(400));
        assert_eq!(r.give_up_window(), Duration::from_millis(1200));
        assert_eq!(r.nack_interval(), Duration::from_millis(500));
    }

    #[test]
    fn nacks_on_a_short_rtt_are_spread_over_the_wait() {
        let mut r = VideoReceiver::new(VideoReceiverConfig::default());
        // Loopback: RTT-paced repeats would be 10 ms apart and all spent after 100 ms.
        r.set_rtt(Duration::from_millis(1));
        let window = r.give_up_window();
        assert_eq!(window, Duration::from_millis(200));
        let spent = r.nack_interval() * r.config().max_nack_retries;
        assert!(spent >= window * 9 / 10, "{spent:?} of {window:?}");
        assert!(spent <= window, "{spent:?} of {window:?}");
    }
}
