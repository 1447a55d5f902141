//! The send side of NACK: a history of sent packets to retransmit, and packing a list of
//! lost sequence numbers into RFC 4585 NACK entries.

use std::fmt;
use std::time::{Duration, Instant};

use crate::rtcp::NackPair;

/// Counters of a [`RetransmitHistory`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetransmitStats {
    /// Packets stored.
    pub stored: u64,
    /// Packets handed out for resending.
    pub resent: u64,
    /// NACKed sequence numbers not (or no longer) held.
    pub unknown: u64,
    /// NACKed sequence numbers refused because they were resent less than the minimum
    /// interval before.
    pub rate_limited: u64,
    /// Packets not stored because they were longer than a slot.
    pub too_long: u64,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    sequence: u16,
    len: usize,
    valid: bool,
    /// When it was last sent: stored, or resent.
    sent_at: Option<Instant>,
    resends: u32,
}

const EMPTY_ENTRY: Entry = Entry {
    sequence: 0,
    len: 0,
    valid: false,
    sent_at: None,
    resends: 0,
};

/// The last packets sent on one SSRC, kept to answer NACKs.
///
/// Store each packet *as sent*, already SRTP-protected: resending the identical bytes is
/// valid SRTP, since the receiver never accepted that packet index (a copy that did arrive
/// is refused by its replay window). Slots are fixed: [`RetransmitHistory::new`] allocates
/// everything, storing and resending allocate nothing. The newest `capacity_packets`
/// sequence numbers are held; a slot is found from the sequence number's distance to the
/// newest one, so storing out of order works too.
///
/// Like libwebrtc, a packet may be resent at once on its first NACK, but not again until
/// `min_interval` (about one RTT) after that: a second NACK sooner was sent before the first
/// retransmission could arrive.
pub struct RetransmitHistory {
    entries: Vec<Entry>,
    arena: Vec<u8>,
    max_packet_len: usize,
    /// Slot of the newest sequence number.
    head: usize,
    newest: Option<u16>,
    stats: RetransmitStats,
}

impl fmt::Debug for RetransmitHistory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetransmitHistory")
            .field("capacity", &self.entries.len())
            .field("max_packet_len", &self.max_packet_len)
            .field("newest", &self.newest)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl RetransmitHistory {
    /// A history of the last `capacity_packets` packets (at least 1, at most 32768), each up
    /// to `max_packet_len` bytes.
    pub fn new(capacity_packets: usize, max_packet_len: usize) -> Self {
        let capacity = capacity_packets.clamp(1, 1 << 15);
        RetransmitHistory {
            entries: vec![EMPTY_ENTRY; capacity],
            arena: vec![0; capacity * max_packet_len],
            max_packet_len,
            head: 0,
            newest: None,
            stats: RetransmitStats::default(),
        }
    }

    /// Keeps `packet`, sent at `now` with RTP sequence number `sequence`. A packet longer
    /// than a slot is not kept (and counted). A sequence number more than the capacity
    /// behind the newest is ignored.
    pub fn store(&mut self, sequence: u16, now: Instant, packet: &[u8]) {
        let capacity = self.entries.len();
        let index = match self.newest {
            None => {
                self.head = 0;
                self.newest = Some(sequence);
                0
            }
            Some(newest) => {
                let ahead = sequence.wrapping_sub(newest) as i16;
                if ahead > 0 {
                    let ahead = ahead as usize;
                    // Sequence numbers skipped over were never stored here.
                    for k in 1..ahead.min(capacity) {
                        self.entries[(self.head + k) % capacity].valid = false;
                    }
                    self.head = (self.head + ahead) % capacity;
                    self.newest = Some(sequence);
                    self.head
                } else {
                    let back = usize::from(newest.wrapping_sub(sequence));
                    if back >= capacity {
                        return;
                    }
                    (self.head + capacity - back) % capacity
                }
            }
        };
        let at = index * self.max_packet_len;
        let room = (packet.len() <= self.max_packet_len)
            .then(|| self.arena.get_mut(at..at + packet.len()))
            .flatten();
        let Some(room) = room else {
            self.entries[index].valid = false;
            self.stats.too_long += 1;
            return;
        };
        room.copy_from_slice(packet);
        self.entries[index] = Entry {
            sequence,
            len: packet.len(),
            valid: true,
            sent_at: Some(now),
            resends: 0,
        };
        self.stats.stored += 1;
    }

    /// The packet to resend for a NACKed `sequence`, if it is still held and was not resent
    /// less than `min_interval` before `now`. Counts it as resent at `now`.
    pub fn resend(&mut self, sequence: u16, now: Instant, min_interval: Duration) -> Option<&[u8]> {
        let capacity = self.entries.len();
        let Some(newest) = self.newest else {
            self.stats.unknown += 1;
            return None;
        };
        let back = newest.wrapping_sub(sequence);
        // A sequence number after the newest was never sent.
        if (back as i16) < 0 || usize::from(back) >= capacity {
            self.stats.unknown += 1;
            return None;
        }
        let index = (self.head + capacity - usize::from(back)) % capacity;
        let entry = &mut self.entries[index];
        if !entry.valid || entry.sequence != sequence {
            self.stats.unknown += 1;
            return None;
        }
        let recently = entry
            .sent_at
            .is_some_and(|t| now.saturating_duration_since(t) < min_interval);
        if entry.resends > 0 && recently {
            self.stats.rate_limited += 1;
            return None;
        }
        entry.sent_at = Some(now);
        entry.resends = entry.resends.saturating_add(1);
        self.stats.resent += 1;
        let at = index * self.max_packet_len;
        self.arena.get(at..at + entry.len)
    }

    /// The counters.
    pub fn stats(&self) -> RetransmitStats {
        self.stats
    }
}

/// Packs lost sequence numbers into generic NACK entries (RFC 4585 section 6.2.1): each entry
/// names one packet (PID) and up to 16 following ones (BLP). Ascending input, as
/// [`VideoEvent::Nack`](super::VideoEvent::Nack) gives, packs into the fewest entries;
/// any order is correct (every number lands in some entry). Allocates nothing.
///
/// ```
/// use sotto_rtp::rtcp::NackPair;
/// use sotto_rtp::video::nack_pairs;
///
/// let pairs: Vec<NackPair> = nack_pairs(&[65_534, 65_535, 3, 40]).collect();
/// assert_eq!(pairs, [NackPair { pid: 65_534, blp: 0b10001 }, NackPair { pid: 40, blp: 0 }]);
/// ```
pub fn nack_pairs(lost: &[u16]) -> NackPairs<'_> {
    NackPairs { rest: lost }
}

/// Iterator of [`nack_pairs`].
#[derive(Clone, Debug)]
pub struct NackPairs<'a> {
    rest: &'a [u16],
}

impl Iterator for NackPairs<'_> {
    type Item = NackPair;

    fn next(&mut self) -> Option<NackPair> {
        let (&pid, mut rest) = self.rest.split_first()?;
        let mut blp = 0u16;
        while let Some((&sequence, tail)) = rest.split_first() {
            match sequence.wrapping_sub(pid) {
                0 => {}
                d @ 1..=16 => blp |= 1 << (d - 1),
                _ => break,
            }
            rest = tail;
        }
        self.rest = rest;
        Some(NackPair { pid, blp })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::base;

    #[test]
    fn nack_pairs_cover_every_number_and_pack_runs() {
        let lost: Vec<u16> = (100..=140).chain([65_535, 0, 1]).collect();
        let pairs: Vec<_> = nack_pairs(&lost).collect();
        assert_eq!(pairs.len(), 4);
        assert_eq!(
            pairs[0],
            NackPair {
                pid: 100,
                blp: 0xffff
            }
        );
        let named: Vec<u16> = pairs.iter().flat_map(|p| p.lost()).collect();
        assert_eq!(named, lost);
        // Unordered input still names everything, duplicates once.
        let lost = [9, 3, 9, 4, 1000, 2];
        let mut named: Vec<u16> = nack_pairs(&lost).flat_map(|p| p.lost()).collect();
        named.sort_unstable();
        named.dedup();
        assert_eq!(named, [2, 3, 4, 9, 1000]);
        assert_eq!(nack_pairs(&[]).count(), 0);
    }

    #[test]
    fn history_holds_the_newest_across_the_wrap() {
        let now = base();
        let mut h = RetransmitHistory::new(4, 8);
        for seq in [65_533u16, 65_534, 65_535, 0, 1] {
            h.store(seq, now, &seq.to_be_bytes());
        }
        assert_eq!(h.resend(65_533, now, Duration::ZERO), None);
        for seq in [65_534u16, 65_535, 0, 1] {
            assert_eq!(
                h.resend(seq, now, Duration::ZERO),
                Some(&seq.to_be_bytes()[..])
            );
        }
        // Never sent: ahead of the newest.
        assert_eq!(h.resend(2, now, Duration::ZERO), None);
        assert_eq!(h.stats().unknown, 2);
    }

    #[test]
    fn history_skips_gaps_and_accepts_late_stores() {
        let now = base();
        let mut h = RetransmitHistory::new(8, 4);
        h.store(10, now, b"a");
        h.store(13, now, b"d");
        assert_eq!(h.resend(11, now, Duration::ZERO), None);
        h.store(12, now, b"c");
        assert_eq!(h.resend(12, now, Duration::ZERO), Some(&b"c"[..]));
        assert_eq!(h.resend(10, now, Duration::ZERO), Some(&b"a"[..]));
        // A jump of more than the capacity forgets everything before it.
        h.store(100, now, b"z");
        assert_eq!(h.resend(13, now, Duration::ZERO), None);
        assert_eq!(h.resend(100, now, Duration::ZERO), Some(&b"z"[..]));
        // Too long for a slot: not kept, and the old content of the slot is gone.
        h.store(101, now, b"12345");
        assert_eq!(h.resend(101, now, Duration::ZERO), None);
        assert_eq!(h.stats().too_long, 1);
    }

    #[test]
    fn second_resend_waits_for_the_interval() {
        let t0 = base();
        let rtt = Duration::from_millis(50);
        let mut h = RetransmitHistory::new(16, 16);
        h.store(7, t0, b"seven");
        // The first NACK is answered even right after the original send.
        assert!(h.resend(7, t0 + Duration::from_millis(5), rtt).is_some());
        assert!(h.resend(7, t0 + Duration::from_millis(30), rtt).is_none());
        assert!(h.resend(7, t0 + Duration::from_millis(60), rtt).is_some());
        let stats = h.stats();
        assert_eq!((stats.resent, stats.rate_limited), (2, 1));
    }
}
