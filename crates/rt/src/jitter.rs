//! The adaptive jitter buffer between the network thread and playout.
//!
//! [`jitter_buffer`] returns two ends. The network thread owns the [`JitterInput`] and copies
//! each received payload into a pre-sized [`rtrb`] ring of fixed-size slots (a packet takes
//! `ceil(len / 128)` consecutive slots, committed at once, so the playout side sees a packet
//! whole or not at all). The playout side owns the [`JitterOutput`]: once per frame period it
//! calls [`JitterOutput::pop_rt`], which moves what arrived into the reorder buffer and says
//! what to play. Both ends allocate only in [`jitter_buffer`]; `pop_rt` is real-time safe.
//!
//! Behaviour:
//! - Packets are ordered by unwrapped sequence number; duplicates are dropped, and so are packets
//!   arriving after their frame was played or concealed (counted as late).
//! - Playout starts once the target delay is buffered: either the buffered packets span it, or
//!   the oldest buffered packet has waited that long. After an underrun it starts again the same
//!   way, which is how the delay grows after a delay spike.
//! - A missing frame is concealed ([`Playout::Lost`]). While the missing packet is not later
//!   than the target delay allows, playout conceals without moving on (growing the delay by a
//!   frame); after that the frame is given up and the next packet, if here, is handed over for
//!   Opus in-band FEC.
//! - The target delay is a quantile of recent relative arrival delays (see the `delay` module):
//!   it grows within a few late packets and decays over seconds. When every frame played over a
//!   window of pops waited at least a frame longer than the target, one frame is dropped, so the
//!   delay shrinks gradually once the network calms.
//! - Time comes in as `arrival` and `now`; nothing here reads a clock.

use std::time::Instant;

use crate::delay::DelayEstimator;
use crate::sync::{Arc, AtomicU64, Ordering};
use crate::JitterFull;

/// Payload bytes per ring slot: one slot holds a 20 ms Opus packet at typical voice bitrates.
const CHUNK_BYTES: usize = 128;
/// Largest reorder window: far beyond any useful jitter delay, and well inside the 2^15 sequence
/// numbers that unwrapping can tell apart.
const MAX_CAPACITY_PACKETS: usize = 4096;
/// Largest configurable delay.
const MAX_DELAY_CAP_MS: u32 = 10_000;
/// A packet this many sequence numbers behind playout is a new stream (sender restart), not a
/// late packet.
const RESYNC_BEHIND_PACKETS: i64 = 1024;
/// Pops per shrink decision: at most one frame is dropped per window.
const SHRINK_WINDOW_POPS: u32 = 10;

/// Jitter buffer configuration. Out-of-range values are clamped by [`jitter_buffer`]: frame size
/// and clock rate to at least 1, `capacity_packets` to `1..=4096`, `max_payload_len` to
/// `1..=65535`, `max_delay_ms` to 10 s and to what `capacity_packets` frames hold, `min_delay_ms`
/// to `max_delay_ms`, and `quantile` to `0..=1` (a NaN becomes 0.95).
#[derive(Debug, Clone, PartialEq)]
pub struct JitterConfig {
    /// Samples per frame (and per packet): 960 for 20 ms at 48 kHz.
    pub frame_samples: u32,
    /// RTP clock rate.
    pub clock_rate_hz: u32,
    /// Lower bound of the target delay.
    pub min_delay_ms: u32,
    /// Upper bound of the target delay.
    pub max_delay_ms: u32,
    /// Packets the reorder buffer and the input ring hold.
    pub capacity_packets: usize,
    /// Largest payload accepted; larger ones are rejected.
    pub max_payload_len: usize,
    /// Quantile of the relative arrival delay that the target delay covers.
    pub quantile: f64,
}

impl Default for JitterConfig {
    /// 20 ms Opus at 48 kHz: target between 0 and 500 ms covering 95% of packets, 64 packets
    /// (1.28 s) of reorder buffer, payloads up to 1500 bytes.
    fn default() -> Self {
        Self {
            frame_samples: 960,
            clock_rate_hz: 48_000,
            min_delay_ms: 0,
            max_delay_ms: 500,
            capacity_packets: 64,
            max_payload_len: 1500,
            quantile: 0.95,
        }
    }
}

/// What to play for the next frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Playout<'a> {
    /// The frame's payload: decode it.
    Frame(&'a [u8]),
    /// The frame is missing: conceal it.
    Lost {
        /// The following packet if it is already here (Opus in-band FEC can recover the lost
        /// frame from it). `None` also while playout is still waiting for the missing packet.
        next: Option<&'a [u8]>,
    },
    /// Not started yet, or drained (underrun): play silence or comfort noise.
    Empty,
}

/// Counters and gauges of a jitter buffer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Current target delay.
    pub target_delay_ms: u32,
    /// Audio buffered from the next frame to play up to the newest packet, gaps included
    /// (as of the last `pop_rt`).
    pub buffered_ms: u32,
    /// How long the last played frame waited between arrival and playout.
    pub playout_delay_ms: u32,
    /// Packets dropped because their frame had already been played or concealed.
    pub late: u64,
    /// Packets dropped as copies of one already buffered or played.
    pub duplicates: u64,
    /// Packets that arrived after one with a higher sequence number and were still in time.
    pub reordered: u64,
    /// Frames answered with [`Playout::Lost`].
    pub concealed: u64,
    /// Frames answered with [`Playout::Frame`].
    pub played: u64,
    /// Frames dropped to shrink the delay.
    pub compressed: u64,
    /// Times playout ran dry and had to buffer up again.
    pub underruns: u64,
    /// Packets rejected because the input ring was full.
    pub overflow: u64,
    /// Packets rejected because their payload exceeded `max_payload_len`.
    pub oversized: u64,
}

/// Counts kept by the network side, read by the playout side.
#[derive(Debug, Default)]
struct InputCounters {
    overflow: AtomicU64,
    oversized: AtomicU64,
}

/// One ring slot: the packet's header (repeated in continuation slots) and up to 128 bytes of
/// its payload.
#[derive(Debug, Clone, Copy)]
struct WireSlot {
    arrival: Instant,
    timestamp: u32,
    sequence: u16,
    len: u16,
    data: [u8; CHUNK_BYTES],
}

fn slots_for(len: usize) -> usize {
    len.div_ceil(CHUNK_BYTES).max(1)
}

/// The network thread's end of a jitter buffer.
#[derive(Debug)]
pub struct JitterInput {
    ring: rtrb::Producer<WireSlot>,
    max_payload_len: usize,
    counters: Arc<InputCounters>,
}

/// The playout side's end of a jitter buffer.
#[derive(Debug)]
pub struct JitterOutput {
    ring: rtrb::Consumer<WireSlot>,
    ring_slots: usize,
    counters: Arc<InputCounters>,
    core: Reorder,
}

/// Creates a jitter buffer; every byte it will use is allocated here.
pub fn jitter_buffer(cfg: JitterConfig) -> (JitterInput, JitterOutput) {
    let frame_samples = cfg.frame_samples.max(1);
    let clock_rate_hz = cfg.clock_rate_hz.max(1);
    let frame_ms = f64::from(frame_samples) * 1000.0 / f64::from(clock_rate_hz);
    let capacity = cfg.capacity_packets.clamp(1, MAX_CAPACITY_PACKETS);
    let max_payload_len = cfg.max_payload_len.clamp(1, usize::from(u16::MAX));
    let window_ms = ((capacity - 1) as f64 * frame_ms).min(f64::from(MAX_DELAY_CAP_MS)) as u32;
    let max_delay_ms = cfg.max_delay_ms.min(window_ms);
    let min_delay_ms = cfg.min_delay_ms.min(max_delay_ms);
    let quantile = if cfg.quantile.is_nan() {
        0.95
    } else {
        cfg.quantile.clamp(0.0, 1.0)
    };

    let ring_slots = capacity * slots_for(max_payload_len);
    let (producer, consumer) = rtrb::RingBuffer::new(ring_slots);
    let counters = Arc::new(InputCounters::default());
    let core = Reorder {
        frame_ms,
        capacity,
        max_payload_len,
        slots: vec![Slot::Empty; capacity],
        storage: vec![0; capacity * max_payload_len],
        seen_any: false,
        playing: false,
        fresh: true,
        next_play: 0,
        highest: 0,
        delay: DelayEstimator::new(
            frame_ms,
            clock_rate_hz,
            min_delay_ms,
            max_delay_ms,
            quantile,
        ),
        shrink_pops: 0,
        shrink_max_wait_ms: 0.0,
        drop_pending: false,
        stats: JitterStats::default(),
    };
    (
        JitterInput {
            ring: producer,
            max_payload_len,
            counters: Arc::clone(&counters),
        },
        JitterOutput {
            ring: consumer,
            ring_slots,
            counters,
            core,
        },
    )
}

impl JitterInput {
    /// Copies one packet's payload into the ring for the playout side. Never allocates.
    ///
    /// # Errors
    ///
    /// [`JitterFull::PayloadTooLarge`] beyond `max_payload_len`, [`JitterFull::RingFull`] when
    /// playout is not draining the ring. Both are counted in [`JitterStats`].
    pub fn push(
        &mut self,
        sequence: u16,
        timestamp: u32,
        arrival: Instant,
        payload: &[u8],
    ) -> Result<(), JitterFull> {
        let len = payload.len();
        let wire_len = match u16::try_from(len) {
            Ok(wire_len) if len <= self.max_payload_len => wire_len,
            _ => {
                self.counters.oversized.fetch_add(1, Ordering::Relaxed);
                return Err(JitterFull::PayloadTooLarge {
                    len,
                    max_payload_len: self.max_payload_len,
                });
            }
        };
        let n = slots_for(len);
        let Ok(chunk) = self.ring.write_chunk_uninit(n) else {
            self.counters.overflow.fetch_add(1, Ordering::Relaxed);
            return Err(JitterFull::RingFull);
        };
        let slots = (0..n).map(|i| {
            let mut data = [0u8; CHUNK_BYTES];
            let part = payload
                .get(i * CHUNK_BYTES..len.min((i + 1) * CHUNK_BYTES))
                .unwrap_or_default();
            if let Some(dst) = data.get_mut(..part.len()) {
                dst.copy_from_slice(part);
            }
            WireSlot {
                arrival,
                timestamp,
                sequence,
                len: wire_len,
                data,
            }
        });
        // All `n` slots become visible to the consumer in this one commit.
        chunk.fill_from_iter(slots);
        Ok(())
    }
}

impl JitterOutput {
    /// Called once per frame period by playout. Returns what to play for the next frame.
    ///
    /// Moves what the network side pushed into the reorder buffer first. Real-time safe: no
    /// allocation, no locks, bounded work (at most one ring's worth of packets, and loops over
    /// the reorder window and the fixed-size delay histogram).
    pub fn pop_rt(&mut self, now: Instant) -> Playout<'_> {
        self.drain_input();
        self.core.pop(now)
    }

    /// Counters and gauges; `buffered_ms` reflects the packets moved in by the last `pop_rt`.
    pub fn stats(&self) -> JitterStats {
        let mut stats = self.core.stats;
        stats.target_delay_ms = self.core.delay.target_ms();
        stats.buffered_ms = self.core.buffered_ms();
        stats.overflow = self.counters.overflow.load(Ordering::Relaxed);
        stats.oversized = self.counters.oversized.load(Ordering::Relaxed);
        stats
    }

    fn drain_input(&mut self) {
        // Bounded by the ring's size even if the network side keeps pushing meanwhile.
        for _ in 0..self.ring_slots {
            let Ok(head) = self.ring.peek() else { break };
            let head = *head;
            let len = usize::from(head.len);
            let Ok(chunk) = self.ring.read_chunk(slots_for(len)) else {
                // Cannot happen (a packet is committed whole); if it did, wait for the rest.
                break;
            };
            if let Some(dst) = self.core.admit(head, len) {
                let (first, second) = chunk.as_slices();
                for (i, slot) in first.iter().chain(second).enumerate() {
                    let start = i * CHUNK_BYTES;
                    let end = len.min(start + CHUNK_BYTES);
                    if let (Some(to), Some(from)) = (
                        dst.get_mut(start..end),
                        slot.data.get(..end.saturating_sub(start)),
                    ) {
                        to.copy_from_slice(from);
                    }
                }
            }
            chunk.commit_all();
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    Empty,
    Buffered {
        ext: i64,
        arrival: Instant,
        len: usize,
    },
    Played {
        ext: i64,
    },
}

/// The playout side's state: reorder window over unwrapped sequence numbers, delay estimate,
/// shrink control and counters.
#[derive(Debug)]
struct Reorder {
    frame_ms: f64,
    capacity: usize,
    max_payload_len: usize,
    /// Indexed by unwrapped sequence modulo `capacity`.
    slots: Vec<Slot>,
    /// `capacity` payloads of `max_payload_len` bytes, parallel to `slots`.
    storage: Vec<u8>,
    seen_any: bool,
    playing: bool,
    /// Nothing has been played or concealed since the stream (re)started, so packets older
    /// than the first one seen may still extend the window backwards.
    fresh: bool,
    /// Unwrapped sequence number of the next frame to play.
    next_play: i64,
    /// Highest unwrapped sequence number seen.
    highest: i64,
    delay: DelayEstimator,
    shrink_pops: u32,
    shrink_max_wait_ms: f64,
    drop_pending: bool,
    stats: JitterStats,
}

impl Reorder {
    fn index(&self, ext: i64) -> usize {
        ext.rem_euclid(self.capacity as i64) as usize
    }

    fn buffered_at(&self, ext: i64) -> Option<(Instant, usize)> {
        match self.slots.get(self.index(ext)) {
            Some(&Slot::Buffered {
                ext: at,
                arrival,
                len,
            }) if at == ext => Some((arrival, len)),
            _ => None,
        }
    }

    fn payload(&self, ext: i64, len: usize) -> &[u8] {
        let start = self.index(ext) * self.max_payload_len;
        self.storage.get(start..start + len).unwrap_or_default()
    }

    fn buffered_ms(&self) -> u32 {
        if self.seen_any && self.highest >= self.next_play {
            ((self.highest - self.next_play + 1) as f64 * self.frame_ms) as u32
        } else {
            0
        }
    }

    /// Decides whether a packet is kept; returns where its payload goes if so.
    fn admit(&mut self, head: WireSlot, len: usize) -> Option<&mut [u8]> {
        if len > self.max_payload_len {
            return None;
        }
        if !self.seen_any {
            self.seen_any = true;
            self.next_play = i64::from(head.sequence);
            self.highest = self.next_play;
        }
        // Unwrap around the highest sequence number seen.
        let ext = self.highest + i64::from(head.sequence.wrapping_sub(self.highest as u16) as i16);
        let window = self.capacity as i64;
        if ext >= self.next_play + window || ext < self.next_play - RESYNC_BEHIND_PACKETS {
            self.resync(ext);
        }
        if ext < self.next_play {
            let extends_back = self.fresh && !self.playing && self.highest - ext < window;
            if !extends_back {
                let idx = self.index(ext);
                if matches!(self.slots.get(idx), Some(&Slot::Played { ext: at }) if at == ext) {
                    self.stats.duplicates += 1;
                } else {
                    // Its frame is gone, but how late it is still says how much delay is needed.
                    self.stats.late += 1;
                    self.delay.observe(head.timestamp, head.arrival);
                }
                return None;
            }
            self.next_play = ext;
        }
        if self.buffered_at(ext).is_some() {
            self.stats.duplicates += 1;
            return None;
        }
        if ext < self.highest {
            self.stats.reordered += 1;
        } else {
            self.highest = ext;
        }
        self.delay.observe(head.timestamp, head.arrival);
        let idx = self.index(ext);
        if let Some(slot) = self.slots.get_mut(idx) {
            *slot = Slot::Buffered {
                ext,
                arrival: head.arrival,
                len,
            };
        }
        let start = idx * self.max_payload_len;
        self.storage.get_mut(start..start + len)
    }

    /// A sequence jump the window cannot bridge: start over at `ext`.
    fn resync(&mut self, ext: i64) {
        self.slots.fill(Slot::Empty);
        self.next_play = ext;
        self.highest = ext;
        self.playing = false;
        self.fresh = true;
        self.drop_pending = false;
        self.shrink_pops = 0;
        self.shrink_max_wait_ms = 0.0;
        self.delay.restart_timeline();
    }

    /// First buffered frame at or after `next_play` (bounded by the window).
    fn first_buffered(&self) -> Option<(i64, Instant)> {
        (self.next_play..=self.highest)
            .take(self.capacity)
            .find_map(|ext| self.buffered_at(ext).map(|(arrival, _)| (ext, arrival)))
    }

    fn pop(&mut self, now: Instant) -> Playout<'_> {
        let target_ms = f64::from(self.delay.target_ms());
        if !self.playing {
            let Some((first, arrival)) = self.first_buffered() else {
                return Playout::Empty;
            };
            let span_ms = (self.highest - first) as f64 * self.frame_ms;
            if span_ms < target_ms && waited_ms(now, arrival) < target_ms {
                return Playout::Empty;
            }
            // Frames skipped here fell in the silence already played.
            self.playing = true;
            self.next_play = first;
        }

        self.shrink_pops += 1;
        if self.shrink_pops >= SHRINK_WINDOW_POPS {
            self.drop_pending = self.shrink_max_wait_ms >= target_ms + self.frame_ms;
            self.shrink_pops = 0;
            self.shrink_max_wait_ms = 0.0;
        }
        if self.drop_pending && self.highest > self.next_play {
            self.drop_pending = false;
            self.give_up(self.next_play);
            self.stats.compressed += 1;
        }

        let ext = self.next_play;
        if let Some((arrival, len)) = self.buffered_at(ext) {
            let wait_ms = waited_ms(now, arrival);
            self.shrink_max_wait_ms = self.shrink_max_wait_ms.max(wait_ms);
            self.stats.playout_delay_ms = wait_ms as u32;
            self.stats.played += 1;
            self.fresh = false;
            let idx = self.index(ext);
            if let Some(slot) = self.slots.get_mut(idx) {
                *slot = Slot::Played { ext };
            }
            self.next_play += 1;
            return Playout::Frame(self.payload(ext, len));
        }

        let Some((later, later_arrival)) = self.first_buffered() else {
            // Drained: buffer up to the target again before playing on.
            self.playing = false;
            self.stats.underruns += 1;
            return Playout::Empty;
        };
        self.stats.concealed += 1;
        self.fresh = false;
        // When the missing packet would have arrived, judging by the next one that did.
        let missing_late_ms = waited_ms(now, later_arrival) + (later - ext) as f64 * self.frame_ms;
        if missing_late_ms < target_ms {
            // It may still come: conceal without moving on, which adds a frame of delay.
            return Playout::Lost { next: None };
        }
        self.give_up(ext);
        let next = ext + 1;
        let next_payload = self
            .buffered_at(next)
            .map(|(_, len)| self.payload(next, len));
        Playout::Lost { next: next_payload }
    }

    /// Moves playout past `ext` without playing it.
    fn give_up(&mut self, ext: i64) {
        let idx = self.index(ext);
        if let Some(slot) = self.slots.get_mut(idx) {
            *slot = Slot::Empty;
        }
        self.next_play = ext + 1;
    }
}

fn waited_ms(now: Instant, since: Instant) -> f64 {
    now.saturating_duration_since(since).as_secs_f64() * 1000.0
}
