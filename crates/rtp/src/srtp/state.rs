//! Per-SSRC index state: RFC 3711 section 3.3.1 / appendix A index estimation, the section
//! 3.3.2 replay window, and a fixed-size SSRC table. Nothing here allocates.

use crate::Error;

/// How many SSRCs one context tracks per direction and per protocol (RTP, RTCP).
pub(crate) const MAX_SSRCS: usize = 16;
/// Replay window width in packets, as libsrtp's default.
pub(crate) const REPLAY_WINDOW: u64 = 128;
/// Largest SRTP packet index: 32-bit ROC and 16-bit sequence number.
pub(crate) const MAX_SRTP_INDEX: u64 = (1 << 48) - 1;
/// Largest SRTCP index: 31 bits on the wire.
pub(crate) const MAX_SRTCP_INDEX: u32 = (1 << 31) - 1;

/// Guesses the 48-bit index of sequence number `seq` from the highest index seen so far
/// (RFC 3711 appendix A). `None` when the guess lies before index 0: a packet from before the
/// first one this end saw. A result above [`MAX_SRTP_INDEX`] means the ROC would overflow.
pub(crate) fn estimate_index(highest: u64, seq: u16) -> Option<u64> {
    let roc = highest >> 16;
    let s_l = highest as u16;
    let v = if s_l < 0x8000 {
        // Far above s_l: sent just before the last wrap, so it belongs to the previous ROC.
        if seq > s_l && seq - s_l > 0x8000 {
            roc.checked_sub(1)?
        } else {
            roc
        }
    } else if s_l - 0x8000 > seq {
        // Far below s_l: the sequence number wrapped.
        roc + 1
    } else {
        roc
    };
    Some((v << 16) | u64::from(seq))
}

/// The highest authenticated index and a bitmask of the [`REPLAY_WINDOW`] indices at and below
/// it (bit k set: index `highest - k` was received).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ReplayWindow {
    highest: u64,
    seen: u128,
}

impl ReplayWindow {
    /// A window whose first received index is `index`.
    pub(crate) fn starting_at(index: u64) -> Self {
        Self {
            highest: index,
            seen: 1,
        }
    }

    /// The highest index accepted so far.
    pub(crate) fn highest(&self) -> u64 {
        self.highest
    }

    /// Whether `index` is new and inside the window; changes nothing.
    pub(crate) fn check(&self, index: u64) -> Result<(), Error> {
        if index > self.highest {
            return Ok(());
        }
        let delta = self.highest - index;
        if delta >= REPLAY_WINDOW || self.seen & (1u128 << delta) != 0 {
            return Err(Error::Replayed);
        }
        Ok(())
    }

    /// Records `index` as received; call only after it authenticated and passed [`Self::check`].
    pub(crate) fn accept(&mut self, index: u64) {
        if index > self.highest {
            let shift = index - self.highest;
            self.seen = if shift >= REPLAY_WINDOW {
                0
            } else {
                self.seen << shift
            };
            self.seen |= 1;
            self.highest = index;
        } else {
            self.seen |= 1u128 << (self.highest - index);
        }
    }
}

/// A fixed-capacity map from SSRC to per-stream state, scanned linearly (16 entries).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SsrcTable<T: Copy + Default> {
    len: usize,
    entries: [(u32, T); MAX_SSRCS],
}

impl<T: Copy + Default> Default for SsrcTable<T> {
    fn default() -> Self {
        Self {
            len: 0,
            entries: [(0, T::default()); MAX_SSRCS],
        }
    }
}

impl<T: Copy + Default> SsrcTable<T> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn get(&self, ssrc: u32) -> Option<&T> {
        self.entries[..self.len]
            .iter()
            .find(|(s, _)| *s == ssrc)
            .map(|(_, t)| t)
    }

    pub(crate) fn get_mut(&mut self, ssrc: u32) -> Option<&mut T> {
        self.entries[..self.len]
            .iter_mut()
            .find(|(s, _)| *s == ssrc)
            .map(|(_, t)| t)
    }

    /// Fails with [`Error::TooManySsrcs`] unless `ssrc` is present or there is room for it.
    pub(crate) fn check_room(&self, ssrc: u32) -> Result<(), Error> {
        if self.len < MAX_SSRCS || self.get(ssrc).is_some() {
            Ok(())
        } else {
            Err(Error::TooManySsrcs)
        }
    }

    /// Stores `value` for `ssrc`, replacing any previous value.
    pub(crate) fn insert(&mut self, ssrc: u32, value: T) -> Result<(), Error> {
        if let Some(slot) = self.get_mut(ssrc) {
            *slot = value;
            return Ok(());
        }
        let slot = self.entries.get_mut(self.len).ok_or(Error::TooManySsrcs)?;
        *slot = (ssrc, value);
        self.len += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appendix_a_estimation() {
        // In order, across the wrap, and late packets from just before it.
        assert_eq!(estimate_index(65_535, 0), Some(1 << 16));
        assert_eq!(estimate_index((1 << 16) | 2, 65_534), Some(65_534));
        assert_eq!(estimate_index(100, 65_000), None);
        assert_eq!(estimate_index(40_000, 7_000), Some((1 << 16) | 7_000));
        assert_eq!(estimate_index(40_000, 7_500), Some(7_500));
    }

    #[test]
    fn window_rejects_duplicates_and_old() {
        let mut w = ReplayWindow::starting_at(1_000);
        assert!(w.check(1_000).is_err());
        assert!(w.check(999).is_ok());
        w.accept(999);
        assert!(w.check(999).is_err());
        w.accept(1_200);
        assert!(w.check(1_200 - REPLAY_WINDOW).is_err());
        assert!(w.check(1_200 - REPLAY_WINDOW + 1).is_ok());
    }
}
