//! Statistics behind RTCP reports (RFC 3550 appendix A.1, A.3, A.8, section 6.4), round-trip
//! time from LSR/DLSR, and SSRC collision and loop detection (section 8.2).
//!
//! Nothing here reads a clock: arrival and send times come in as `now: Instant`, and the wall
//! clock an SR carries comes in as a `SystemTime` the caller read.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::rtcp::{ReportBlock, SenderInfo};

/// Consecutive packets a new source must send before it counts (RFC 3550 A.1).
pub const MIN_SEQUENTIAL: u32 = 2;
/// A forward jump of at least this many is a restart, not loss (RFC 3550 A.1).
pub const MAX_DROPOUT: u16 = 3000;
/// A packet this far behind the highest is a duplicate or reordered, not a restart.
pub const MAX_MISORDER: u16 = 100;
/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
pub const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;
/// How long an address stays on the conflict list: 10 RTCP intervals at the 5 s minimum.
pub const CONFLICT_TIMEOUT: Duration = Duration::from_secs(50);

const SEQ_MOD: u32 = 1 << 16;
const NANOS_PER_SEC: u128 = 1_000_000_000;

/// The 64-bit NTP timestamp (seconds since 1900 in 32.32 fixed point) of a wall-clock time.
/// Times before 1970 map to the Unix epoch.
pub fn ntp_from_system_time(wall_time: SystemTime) -> u64 {
    let since_unix = wall_time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since_unix.as_secs().wrapping_add(NTP_UNIX_OFFSET_SECS);
    let frac = (u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000;
    secs << 32 | frac
}

/// The middle 32 bits of an NTP timestamp, as LSR carries it.
pub fn ntp_middle(ntp_timestamp: u64) -> u32 {
    (ntp_timestamp >> 16) as u32
}

/// A duration in the 16.16 fixed-point seconds of DLSR and NTP middle bits.
fn q16_to_duration(value: u32) -> Duration {
    let nanos = u64::from(value & 0xffff) * 1_000_000_000 / 65_536;
    Duration::new(u64::from(value >> 16), nanos as u32)
}

fn duration_to_q16(duration: Duration) -> u32 {
    let q16 = duration.as_nanos() * 65_536 / NANOS_PER_SEC;
    u32::try_from(q16).unwrap_or(u32::MAX)
}

/// Round-trip time per RFC 3550 section 6.4.1: `arrival - LSR - DLSR`, all as NTP middle 32
/// bits, where `arrival` is when the report block came in. `None` when the block carries no
/// LSR (no SR received yet) or the result would be negative.
pub fn rtt_from_ntp(
    arrival_ntp_middle: u32,
    last_sr: u32,
    delay_since_last_sr: u32,
) -> Option<Duration> {
    if last_sr == 0 {
        return None;
    }
    let since_sr = arrival_ntp_middle.wrapping_sub(last_sr);
    // A wrapped difference above half the range means the arrival precedes the SR.
    if since_sr > u32::MAX / 2 || since_sr < delay_since_last_sr {
        return None;
    }
    Some(q16_to_duration(since_sr - delay_since_last_sr))
}

/// Round-trip time from a received report block, using the monotonic send time of the SR it
/// refers to: `sent_srs` holds (NTP middle 32 bits, send time) of SRs we sent. `None` if the
/// block has no LSR or names no SR in `sent_srs`. Saturates at zero when the peer's DLSR
/// exceeds the elapsed time (its clock rounds).
pub fn round_trip_time(
    block: &ReportBlock,
    sent_srs: &[(u32, Instant)],
    now: Instant,
) -> Option<Duration> {
    if block.last_sr == 0 {
        return None;
    }
    let (_, sent) = sent_srs
        .iter()
        .find(|(middle, _)| *middle == block.last_sr)?;
    let elapsed = now.saturating_duration_since(*sent);
    Some(elapsed.saturating_sub(q16_to_duration(block.delay_since_last_sr)))
}

/// Receive statistics for one remote source (RFC 3550 A.1 sequence validation, A.3 loss,
/// A.8 jitter), from which the RR report block about it is built.
#[derive(Clone, Debug)]
pub struct ReceiveStats {
    ssrc: u32,
    clock_rate_hz: u32,
    max_seq: u16,
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    probation: u32,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    epoch: Option<Instant>,
    transit: Option<u32>,
    /// Jitter in timestamp units scaled by 16, the integer form of A.8.
    jitter_q4: u64,
    last_sr: Option<(u32, Instant)>,
}

impl ReceiveStats {
    /// Statistics for `ssrc` whose first packet carries `first_sequence`; the source is on
    /// probation until [`MIN_SEQUENTIAL`] packets arrive in sequence. Feed that first packet
    /// to [`ReceiveStats::on_packet`] too.
    pub fn new(ssrc: u32, first_sequence: u16, clock_rate_hz: u32) -> Self {
        let mut stats = ReceiveStats {
            ssrc,
            clock_rate_hz,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: 0,
            probation: MIN_SEQUENTIAL,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            epoch: None,
            transit: None,
            jitter_q4: 0,
            last_sr: None,
        };
        stats.init_seq(first_sequence);
        stats.max_seq = first_sequence.wrapping_sub(1);
        stats
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// The source these statistics describe.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Whether the source is still on probation.
    pub fn on_probation(&self) -> bool {
        self.probation > 0
    }

    /// Counts a received packet arriving at `now`. Returns whether it is valid (counted);
    /// packets during probation and after an unconfirmed jump are not.
    pub fn on_packet(&mut self, sequence: u16, rtp_timestamp: u32, now: Instant) -> bool {
        let valid = self.update_seq(sequence);
        if valid {
            self.update_jitter(rtp_timestamp, now);
        }
        valid
    }

    /// RFC 3550 A.1 `update_seq`.
    fn update_seq(&mut self, seq: u16) -> bool {
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return true;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return false;
        }
        if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(SEQ_MOD);
            }
            self.max_seq = seq;
        } else if u32::from(udelta) <= SEQ_MOD - u32::from(MAX_MISORDER) {
            // A very large jump: a restart if the next packet follows it, else junk.
            if u32::from(seq) == self.bad_seq {
                self.init_seq(seq);
            } else {
                self.bad_seq = (u32::from(seq) + 1) & (SEQ_MOD - 1);
                return false;
            }
        }
        // Otherwise a duplicate or reordered packet: counted, max unchanged.
        self.received = self.received.wrapping_add(1);
        true
    }

    /// RFC 3550 A.8: J += (|D| - J) / 16 in integer form, scaled by 16.
    fn update_jitter(&mut self, rtp_timestamp: u32, now: Instant) {
        let epoch = *self.epoch.get_or_insert(now);
        let elapsed = now.saturating_duration_since(epoch).as_nanos();
        // Arrival in timestamp units; the transit difference only needs it modulo 2^32.
        let arrival = (elapsed * u128::from(self.clock_rate_hz) / NANOS_PER_SEC) as u32;
        let transit = arrival.wrapping_sub(rtp_timestamp);
        if let Some(previous) = self.transit {
            let d = u64::from((transit.wrapping_sub(previous) as i32).unsigned_abs());
            self.jitter_q4 = self.jitter_q4 - ((self.jitter_q4 + 8) >> 4) + d;
        }
        self.transit = Some(transit);
    }

    /// Interarrival jitter in timestamp units.
    pub fn jitter(&self) -> u32 {
        u32::try_from(self.jitter_q4 >> 4).unwrap_or(u32::MAX)
    }

    /// Extended highest sequence number received: cycles in the high 16 bits.
    pub fn extended_highest_seq(&self) -> u32 {
        self.cycles.wrapping_add(u32::from(self.max_seq))
    }

    /// Packets expected: extended highest minus the base, plus one.
    pub fn expected(&self) -> u32 {
        self.extended_highest_seq()
            .wrapping_sub(self.base_seq)
            .wrapping_add(1)
    }

    /// Valid packets received, duplicates included.
    pub fn received(&self) -> u32 {
        self.received
    }

    /// Cumulative packets lost, clamped to the signed 24 bits of a report block.
    pub fn cumulative_lost(&self) -> i32 {
        let lost = i64::from(self.expected()) - i64::from(self.received);
        lost.clamp(-0x80_0000, 0x7f_ffff) as i32
    }

    /// Records an SR from this source, received at `now`, for the LSR/DLSR of later reports.
    pub fn on_sender_report(&mut self, ntp_timestamp: u64, now: Instant) {
        self.last_sr = Some((ntp_middle(ntp_timestamp), now));
    }

    /// The report block about this source for an RR or SR sent at `now` (RFC 3550 A.3);
    /// starts a new interval for the fraction lost. `None` while on probation.
    pub fn report_block(&mut self, now: Instant) -> Option<ReportBlock> {
        if self.on_probation() {
            return None;
        }
        let expected = self.expected();
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        self.expected_prior = expected;
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.received_prior = self.received;
        let lost_interval = i64::from(expected_interval) - i64::from(received_interval);
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / i64::from(expected_interval)).min(255) as u8
        };
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            Some((middle, at)) => (middle, duration_to_q16(now.saturating_duration_since(at))),
            None => (0, 0),
        };
        Some(ReportBlock {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost: self.cumulative_lost(),
            extended_highest_seq: self.extended_highest_seq(),
            jitter: self.jitter(),
            last_sr,
            delay_since_last_sr,
        })
    }
}

/// How many of our recent SRs are remembered to match LSRs against.
const SENT_SR_HISTORY: usize = 8;

/// What we sent, for our SRs, and when we sent our SRs, for RTT.
#[derive(Clone, Debug)]
pub struct SenderStats {
    clock_rate_hz: u32,
    packet_count: u32,
    octet_count: u32,
    last_packet: Option<(u32, Instant)>,
    /// Ring of (NTP middle 32 bits, send time) of our recent SRs.
    sent_srs: [Option<(u32, Instant)>; SENT_SR_HISTORY],
    next_sr_slot: usize,
}

impl SenderStats {
    /// Statistics for a stream with the given RTP clock rate.
    pub fn new(clock_rate_hz: u32) -> Self {
        SenderStats {
            clock_rate_hz,
            packet_count: 0,
            octet_count: 0,
            last_packet: None,
            sent_srs: [None; SENT_SR_HISTORY],
            next_sr_slot: 0,
        }
    }

    /// Counts a packet sent at `now` with `payload_len` payload bytes (header and padding
    /// excluded, as RFC 3550 counts octets).
    pub fn on_packet_sent(&mut self, rtp_timestamp: u32, payload_len: usize, now: Instant) {
        self.packet_count = self.packet_count.wrapping_add(1);
        // The SR octet count is modulo 2^32 by definition.
        self.octet_count = self.octet_count.wrapping_add(payload_len as u32);
        self.last_packet = Some((rtp_timestamp, now));
    }

    /// Packets sent.
    pub fn packet_count(&self) -> u32 {
        self.packet_count
    }

    /// Payload octets sent (modulo 2^32).
    pub fn octet_count(&self) -> u32 {
        self.octet_count
    }

    /// The sender info for an SR sent at `now`, when the wall clock reads `wall_time`. The RTP
    /// timestamp is the last packet's advanced by the time since it was sent. Remembers the SR
    /// for [`SenderStats::round_trip_time`]. `None` before any packet was sent: then send an
    /// RR, not an SR.
    pub fn sender_info(&mut self, now: Instant, wall_time: SystemTime) -> Option<SenderInfo> {
        let (last_timestamp, sent_at) = self.last_packet?;
        let elapsed = now.saturating_duration_since(sent_at).as_nanos();
        let advance = (elapsed * u128::from(self.clock_rate_hz) / NANOS_PER_SEC) as u32;
        let ntp_timestamp = ntp_from_system_time(wall_time);
        self.sent_srs[self.next_sr_slot] = Some((ntp_middle(ntp_timestamp), now));
        self.next_sr_slot = (self.next_sr_slot + 1) % SENT_SR_HISTORY;
        Some(SenderInfo {
            ntp_timestamp,
            rtp_timestamp: last_timestamp.wrapping_add(advance),
            packet_count: self.packet_count,
            octet_count: self.octet_count,
        })
    }

    /// Round-trip time from a report block about our stream received at `now`, matched
    /// against the SRs this sender built. `None` if the block names none of them.
    pub fn round_trip_time(&self, block: &ReportBlock, now: Instant) -> Option<Duration> {
        let mut sent = [(0, now); SENT_SR_HISTORY];
        let mut n = 0;
        for entry in self.sent_srs.iter().flatten() {
            sent[n] = *entry;
            n += 1;
        }
        round_trip_time(block, &sent[..n], now)
    }
}

/// What a packet's SSRC and source address mean, per RFC 3550 section 8.2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SsrcCheck {
    /// An SSRC not seen before; now in the table.
    NewSource,
    /// A known SSRC from its known address.
    KnownSource,
    /// Another endpoint uses OUR SSRC: send a BYE for it, pick a new SSRC and call
    /// [`SourceTable::set_own_ssrc`]. Drop the packet.
    OwnSsrcCollision,
    /// Our own SSRC again from an address already in conflict: our traffic is looping back.
    /// Drop the packet.
    OwnTrafficLooped,
    /// A known remote SSRC from a new address: two remote sources collide. Drop the packet.
    ThirdPartyCollision,
    /// A known remote SSRC again from an address already in conflict (a loop). Drop it.
    ThirdPartyLoop,
    /// An unknown SSRC but the table is full. Drop the packet.
    TableFull,
}

/// The sources heard from, with their transport addresses (`A`, e.g. `SocketAddr`), and the
/// addresses that recently conflicted. Allocates only when a new source or conflict appears.
#[derive(Clone, Debug)]
pub struct SourceTable<A> {
    own_ssrc: u32,
    max_sources: usize,
    sources: Vec<(u32, A)>,
    conflicts: Vec<(A, Instant)>,
}

/// Conflicting addresses remembered at once; the oldest is forgotten first.
const MAX_CONFLICTS: usize = 16;

impl<A: PartialEq + Copy> SourceTable<A> {
    /// A table for a participant sending as `own_ssrc`, holding at most `max_sources` remote
    /// sources (a bound against floods of made-up SSRCs).
    pub fn new(own_ssrc: u32, max_sources: usize) -> Self {
        SourceTable {
            own_ssrc,
            max_sources,
            sources: Vec::new(),
            conflicts: Vec::new(),
        }
    }

    /// Our SSRC.
    pub fn own_ssrc(&self) -> u32 {
        self.own_ssrc
    }

    /// Switches to a new SSRC of ours after a collision.
    pub fn set_own_ssrc(&mut self, ssrc: u32) {
        self.own_ssrc = ssrc;
        self.sources.retain(|(known, _)| *known != ssrc);
    }

    /// Forgets a source (after its BYE or a timeout).
    pub fn remove(&mut self, ssrc: u32) {
        self.sources.retain(|(known, _)| *known != ssrc);
    }

    /// Remote sources known.
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    /// Whether no remote source is known.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// Checks a packet from `ssrc` that arrived at `now` from address `from`.
    pub fn check(&mut self, ssrc: u32, from: A, now: Instant) -> SsrcCheck {
        self.conflicts
            .retain(|(_, at)| now.saturating_duration_since(*at) < CONFLICT_TIMEOUT);
        if ssrc == self.own_ssrc {
            return if self.note_conflict(from, now) {
                SsrcCheck::OwnTrafficLooped
            } else {
                SsrcCheck::OwnSsrcCollision
            };
        }
        match self.sources.iter().find(|(known, _)| *known == ssrc) {
            Some((_, address)) if *address == from => SsrcCheck::KnownSource,
            Some(_) => {
                if self.note_conflict(from, now) {
                    SsrcCheck::ThirdPartyLoop
                } else {
                    SsrcCheck::ThirdPartyCollision
                }
            }
            None if self.sources.len() >= self.max_sources => SsrcCheck::TableFull,
            None => {
                self.sources.push((ssrc, from));
                SsrcCheck::NewSource
            }
        }
    }

    /// Records `from` as conflicting at `now`; returns whether it already was.
    fn note_conflict(&mut self, from: A, now: Instant) -> bool {
        if let Some(entry) = self.conflicts.iter_mut().find(|(a, _)| *a == from) {
            entry.1 = now;
            return true;
        }
        if self.conflicts.len() >= MAX_CONFLICTS {
            self.conflicts.remove(0);
        }
        self.conflicts.push((from, now));
        false
    }
}
