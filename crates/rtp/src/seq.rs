//! Unwrapping of RTP sequence numbers (16 bits) and timestamps (32 bits) to 64-bit values that
//! keep counting across wraps.
//!
//! A value is placed in whichever cycle puts it nearest the highest value seen so far, so a
//! packet reordered around a wrap, or arriving late from before the wrap, lands in the right
//! cycle. The first value starts cycle 0; a value that would fall before 0 (sent before the
//! first one received, across a wrap) cannot be placed and yields `None`.

/// Places `value` (of `bits` bits) in the cycle nearest `highest`.
fn unwrap_near(highest: u64, value: u64, bits: u32) -> Option<u64> {
    let modulus = 1u64 << bits;
    let half = modulus / 2;
    let low = highest & (modulus - 1);
    let base = highest - low;
    let candidate = if value > low && value - low > half {
        // Far above: the previous cycle.
        base.checked_sub(modulus)? + value
    } else if value < low && low - value >= half {
        // Far below: the next cycle.
        base + modulus + value
    } else {
        base + value
    };
    Some(candidate)
}

/// Unwraps 16-bit RTP sequence numbers to 64-bit extended sequence numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeqUnwrapper {
    highest: Option<u64>,
}

impl SeqUnwrapper {
    /// An unwrapper that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// The extended sequence number of `sequence`, or `None` if it precedes the first one
    /// ever seen by a wrap. Advances the highest value seen.
    pub fn unwrap(&mut self, sequence: u16) -> Option<u64> {
        let extended = match self.highest {
            None => u64::from(sequence),
            Some(highest) => unwrap_near(highest, u64::from(sequence), 16)?,
        };
        self.highest = Some(self.highest.map_or(extended, |h| h.max(extended)));
        Some(extended)
    }

    /// The highest extended sequence number seen.
    pub fn highest(&self) -> Option<u64> {
        self.highest
    }
}

/// Unwraps 32-bit RTP timestamps to 64-bit values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimestampUnwrapper {
    highest: Option<u64>,
}

impl TimestampUnwrapper {
    /// An unwrapper that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// The unwrapped value of `timestamp`, or `None` if it precedes the first one ever seen by
    /// a wrap. Advances the highest value seen.
    pub fn unwrap(&mut self, timestamp: u32) -> Option<u64> {
        let extended = match self.highest {
            None => u64::from(timestamp),
            Some(highest) => unwrap_near(highest, u64::from(timestamp), 32)?,
        };
        self.highest = Some(self.highest.map_or(extended, |h| h.max(extended)));
        Some(extended)
    }

    /// The highest unwrapped timestamp seen.
    pub fn highest(&self) -> Option<u64> {
        self.highest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_forward_and_places_late_packets_before_the_wrap() {
        let mut u = SeqUnwrapper::new();
        assert_eq!(u.unwrap(65_534), Some(65_534));
        assert_eq!(u.unwrap(1), Some(65_537));
        assert_eq!(u.unwrap(65_535), Some(65_535));
        assert_eq!(u.unwrap(0), Some(65_536));
        assert_eq!(u.highest(), Some(65_537));
    }

    #[test]
    fn a_packet_from_before_the_first_cannot_be_placed() {
        let mut u = SeqUnwrapper::new();
        assert_eq!(u.unwrap(2), Some(2));
        assert_eq!(u.unwrap(65_530), None);
        assert_eq!(u.unwrap(3), Some(3));
    }

    #[test]
    fn timestamps_wrap_too() {
        let mut u = TimestampUnwrapper::new();
        assert_eq!(u.unwrap(u32::MAX - 959), Some(u64::from(u32::MAX - 959)));
        assert_eq!(u.unwrap(0), Some(1 << 32));
        assert_eq!(u.unwrap(960), Some((1 << 32) + 960));
    }
}
