//! Sample rings between audio callbacks and codec threads: i16 mono 48 kHz samples moved through
//! a pre-sized [`rtrb`] SPSC ring, with overruns and underruns counted in shared atomics.
//!
//! The capture callback owns an [`AudioProducer`] and the encoder thread the matching
//! [`AudioConsumer`]; on the playout side the decoder thread produces and the playback callback
//! consumes. The `*_rt` methods never allocate, lock, block or panic.

use crate::sync::{Arc, AtomicU64, Ordering};

/// Overrun and underrun counts of one ring, shared by both ends and readable from any thread.
///
/// Each count only grows. The real-time ends add with relaxed increments: a reader sees every
/// count eventually and never a decrease, but the two counts are read one after the other, so a
/// [`RingCounters::snapshot`] is not a single instant across both.
#[derive(Debug, Default)]
pub struct RingCounters {
    overrun_samples: AtomicU64,
    underrun_samples: AtomicU64,
}

/// One reading of a ring's [`RingCounters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingCountersSnapshot {
    /// Samples the producer had to drop because the ring was full.
    pub overrun_samples: u64,
    /// Samples the consumer replaced with silence because the ring was empty.
    pub underrun_samples: u64,
}

impl RingCounters {
    /// Samples dropped so far because the ring was full.
    pub fn overrun_samples(&self) -> u64 {
        self.overrun_samples.load(Ordering::Relaxed)
    }

    /// Samples replaced with silence so far because the ring was empty.
    pub fn underrun_samples(&self) -> u64 {
        self.underrun_samples.load(Ordering::Relaxed)
    }

    /// Both counts (read one after the other).
    pub fn snapshot(&self) -> RingCountersSnapshot {
        RingCountersSnapshot {
            overrun_samples: self.overrun_samples(),
            underrun_samples: self.underrun_samples(),
        }
    }

    fn add_overrun(&self, samples: usize) {
        if samples > 0 {
            // Relaxed: the count orders nothing else; readers only need it never to go back.
            self.overrun_samples
                .fetch_add(samples as u64, Ordering::Relaxed);
        }
    }

    fn add_underrun(&self, samples: usize) {
        if samples > 0 {
            self.underrun_samples
                .fetch_add(samples as u64, Ordering::Relaxed);
        }
    }
}

/// The writing end of an audio ring (a capture callback, or the decoder feeding playback).
#[derive(Debug)]
pub struct AudioProducer {
    inner: rtrb::Producer<i16>,
    counters: Arc<RingCounters>,
}

/// The reading end of an audio ring (the encoder thread, or the playback callback).
#[derive(Debug)]
pub struct AudioConsumer {
    inner: rtrb::Consumer<i16>,
    counters: Arc<RingCounters>,
}

/// Creates a ring holding up to `capacity_samples` samples; all its memory is allocated here.
///
/// # Panics
///
/// If `capacity_samples` exceeds `usize::MAX / 2` (rtrb's limit), or the allocation fails.
pub fn audio_ring(capacity_samples: usize) -> (AudioProducer, AudioConsumer) {
    let (producer, consumer) = rtrb::RingBuffer::new(capacity_samples);
    let counters = Arc::new(RingCounters::default());
    (
        AudioProducer {
            inner: producer,
            counters: Arc::clone(&counters),
        },
        AudioConsumer {
            inner: consumer,
            counters,
        },
    )
}

impl AudioProducer {
    /// Writes as many of `samples` as fit and returns how many that was; the rest are dropped
    /// and counted as overrun. Real-time safe.
    pub fn push_rt(&mut self, samples: &[i16]) -> usize {
        let (pushed, dropped) = self.inner.push_partial_slice(samples);
        self.counters.add_overrun(dropped.len());
        pushed.len()
    }

    /// Samples that can be written now without overrun.
    pub fn free_len(&self) -> usize {
        self.inner.slots()
    }

    /// The ring's counters, shared with the consumer.
    pub fn counters(&self) -> Arc<RingCounters> {
        Arc::clone(&self.counters)
    }
}

impl AudioConsumer {
    /// Fills the front of `out` with what is buffered and returns how many samples that was; the
    /// rest of `out` is left untouched and nothing is counted. Real-time safe.
    pub fn pop_rt(&mut self, out: &mut [i16]) -> usize {
        let (popped, _) = self.inner.pop_partial_slice(out);
        popped.len()
    }

    /// Like [`pop_rt`](Self::pop_rt), then fills the rest of `out` with silence and counts those
    /// samples as underrun. Returns how many real samples were written. Real-time safe.
    pub fn pop_or_silence_rt(&mut self, out: &mut [i16]) -> usize {
        let (popped, rest) = self.inner.pop_partial_slice(out);
        let n = popped.len();
        rest.fill(0);
        self.counters.add_underrun(rest.len());
        n
    }

    /// Samples buffered now.
    pub fn len(&self) -> usize {
        self.inner.slots()
    }

    /// Whether nothing is buffered now.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// The ring's counters, shared with the producer.
    pub fn counters(&self) -> Arc<RingCounters> {
        Arc::clone(&self.counters)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn samples_come_out_in_order_across_the_wrap() {
        let (mut tx, mut rx) = audio_ring(5);
        let mut out = [0i16; 3];
        for round in 0..10i16 {
            let chunk = [round * 3, round * 3 + 1, round * 3 + 2];
            assert_eq!(tx.push_rt(&chunk), 3);
            assert_eq!(rx.len(), 3);
            assert_eq!(rx.pop_rt(&mut out), 3);
            assert_eq!(out, chunk);
        }
        assert_eq!(rx.counters().snapshot(), RingCountersSnapshot::default());
    }

    #[test]
    fn overrun_drops_the_tail_and_counts_it() {
        let (mut tx, mut rx) = audio_ring(4);
        assert_eq!(tx.free_len(), 4);
        assert_eq!(tx.push_rt(&[1, 2, 3]), 3);
        assert_eq!(tx.push_rt(&[4, 5, 6]), 1);
        assert_eq!(tx.free_len(), 0);
        assert_eq!(tx.push_rt(&[7]), 0);
        let counters = rx.counters();
        assert_eq!(counters.overrun_samples(), 3);
        let mut out = [0i16; 4];
        assert_eq!(rx.pop_rt(&mut out), 4);
        assert_eq!(out, [1, 2, 3, 4]);
    }

    #[test]
    fn pop_rt_leaves_the_rest_untouched_and_counts_nothing() {
        let (mut tx, mut rx) = audio_ring(8);
        tx.push_rt(&[5, 6]);
        let mut out = [9i16; 4];
        assert_eq!(rx.pop_rt(&mut out), 2);
        assert_eq!(out, [5, 6, 9, 9]);
        assert!(rx.is_empty());
        assert_eq!(tx.counters().underrun_samples(), 0);
    }

    #[test]
    fn underrun_fills_silence_and_counts_it() {
        let (mut tx, mut rx) = audio_ring(8);
        tx.push_rt(&[5, 6]);
        let mut out = [9i16; 5];
        assert_eq!(rx.pop_or_silence_rt(&mut out), 2);
        assert_eq!(out, [5, 6, 0, 0, 0]);
        assert_eq!(rx.pop_or_silence_rt(&mut out), 0);
        assert_eq!(out, [0; 5]);
        assert_eq!(
            tx.counters().snapshot(),
            RingCountersSnapshot {
                overrun_samples: 0,
                underrun_samples: 8
            }
        );
    }

    #[test]
    fn zero_capacity_ring_drops_everything_without_panicking() {
        let (mut tx, mut rx) = audio_ring(0);
        assert_eq!(tx.push_rt(&[1, 2]), 0);
        let mut out = [7i16; 2];
        assert_eq!(rx.pop_or_silence_rt(&mut out), 0);
        assert_eq!(out, [0, 0]);
        assert_eq!(
            rx.counters().snapshot(),
            RingCountersSnapshot {
                overrun_samples: 2,
                underrun_samples: 2
            }
        );
    }
}
