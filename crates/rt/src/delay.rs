//! NetEQ-style target delay: a histogram of relative arrival delays with exponential forgetting.
//!
//! A packet's arrival delay is its arrival time minus the time its RTP timestamp says it was
//! sent (both relative to the first packet). Its *relative* delay is that minus the smallest
//! arrival delay over the last two seconds, so a constant network delay and sender clock drift
//! drop out and what remains is jitter. The target delay is a high quantile of those relative
//! delays. New observations weigh more than old ones (exponential forgetting), so the target
//! rises within a few late packets and decays over seconds once the network calms.

use std::time::Instant;

/// Histogram buckets; fixed so an update costs the same whatever the configuration.
pub(crate) const BUCKETS: usize = 256;
/// Per-packet weight kept by old observations (NetEQ's 0.983: half-life of about 40 packets).
const FORGET_FACTOR: f64 = 0.983;
/// Span of the minimum that relative delays are measured against.
const HISTORY_MS: f64 = 2000.0;
/// Largest history window in packets (2 s at 5 ms frames).
const MAX_HISTORY: usize = 400;
/// An arrival-delay step this large is a new timeline (sender restart, timestamp jump), not
/// jitter: the history restarts instead of feeding the histogram a huge delay.
const DISCONTINUITY_MS: f64 = 5000.0;

#[derive(Debug)]
pub(crate) struct DelayEstimator {
    histogram: [f64; BUCKETS],
    bucket_ms: f64,
    quantile: f64,
    min_ms: u32,
    max_ms: u32,
    clock_rate_hz: f64,
    observations: u64,
    /// Arrival delays of recent packets (ring of `history_len`), in ms.
    history: Vec<f64>,
    history_len: usize,
    history_filled: usize,
    history_pos: usize,
    /// First packet's arrival and extended timestamp: the origin of arrival delays.
    origin: Option<(Instant, i64)>,
    last_ext_timestamp: i64,
    last_delay_ms: f64,
    target_ms: u32,
}

impl DelayEstimator {
    pub(crate) fn new(
        frame_ms: f64,
        clock_rate_hz: u32,
        min_ms: u32,
        max_ms: u32,
        quantile: f64,
    ) -> Self {
        let history_len = ((HISTORY_MS / frame_ms).ceil() as usize).clamp(2, MAX_HISTORY);
        Self {
            histogram: [0.0; BUCKETS],
            bucket_ms: (f64::from(max_ms) / (BUCKETS - 1) as f64).max(1.0),
            quantile,
            min_ms,
            max_ms,
            clock_rate_hz: f64::from(clock_rate_hz),
            observations: 0,
            history: vec![0.0; history_len],
            history_len,
            history_filled: 0,
            history_pos: 0,
            origin: None,
            last_ext_timestamp: 0,
            last_delay_ms: 0.0,
            target_ms: min_ms,
        }
    }

    /// The current target delay, clamped to the configured range.
    pub(crate) fn target_ms(&self) -> u32 {
        self.target_ms
    }

    /// Starts a new timeline (after a sequence jump): the histogram, which describes the
    /// network rather than the stream, is kept.
    pub(crate) fn restart_timeline(&mut self) {
        self.origin = None;
        self.history_filled = 0;
        self.history_pos = 0;
    }

    /// Records one packet's arrival. Bounded: `history_len + 2 * BUCKETS` steps.
    pub(crate) fn observe(&mut self, timestamp: u32, arrival: Instant) {
        let (origin_arrival, origin_timestamp) = match self.origin {
            Some(origin) => origin,
            None => {
                let origin = (arrival, i64::from(timestamp));
                self.origin = Some(origin);
                self.last_ext_timestamp = i64::from(timestamp);
                origin
            }
        };
        // Unwrap the 32-bit timestamp around the last one seen (reordering stays well within
        // 2^31 samples of it).
        let step = timestamp.wrapping_sub(self.last_ext_timestamp as u32) as i32;
        let ext_timestamp = self.last_ext_timestamp + i64::from(step);
        self.last_ext_timestamp = ext_timestamp;

        let arrival_ms = signed_ms(arrival, origin_arrival);
        let sent_ms = (ext_timestamp - origin_timestamp) as f64 * 1000.0 / self.clock_rate_hz;
        let delay_ms = arrival_ms - sent_ms;
        if self.history_filled > 0 && (delay_ms - self.last_delay_ms).abs() > DISCONTINUITY_MS {
            self.history_filled = 0;
            self.history_pos = 0;
        }
        self.last_delay_ms = delay_ms;
        if let Some(slot) = self.history.get_mut(self.history_pos) {
            *slot = delay_ms;
        }
        self.history_pos = (self.history_pos + 1) % self.history_len;
        self.history_filled = (self.history_filled + 1).min(self.history_len);
        let fastest = self
            .history
            .iter()
            .take(self.history_filled)
            .fold(delay_ms, |min, &d| min.min(d));
        self.add_relative_delay(delay_ms - fastest);
    }

    fn add_relative_delay(&mut self, relative_ms: f64) {
        // Early on every observation weighs the same (a running mean), so the first packets
        // are not outvoted by an empty prior; after that the forgetting factor takes over.
        let n = self.observations as f64;
        let keep = (n / (n + 1.0)).min(FORGET_FACTOR);
        self.observations = self.observations.saturating_add(1);
        for mass in &mut self.histogram {
            *mass *= keep;
        }
        // `as` saturates and maps NaN to 0, so any delay lands in a bucket.
        let bucket = ((relative_ms / self.bucket_ms) as usize).min(BUCKETS - 1);
        if let Some(mass) = self.histogram.get_mut(bucket) {
            *mass += 1.0 - keep;
        }
        self.target_ms = self.quantile_ms().clamp(self.min_ms, self.max_ms);
    }

    /// Lower edge of the bucket where the cumulative mass reaches the quantile.
    fn quantile_ms(&self) -> u32 {
        let total: f64 = self.histogram.iter().sum();
        let wanted = self.quantile * total;
        let mut cumulative = 0.0;
        let mut last_nonzero = 0;
        for (bucket, &mass) in self.histogram.iter().enumerate() {
            cumulative += mass;
            if mass > 0.0 {
                last_nonzero = bucket;
            }
            // The tolerance keeps a quantile of 1.0 from missing the top through rounding.
            if mass > 0.0 && cumulative >= wanted - 1e-9 {
                return (bucket as f64 * self.bucket_ms) as u32;
            }
        }
        (last_nonzero as f64 * self.bucket_ms) as u32
    }
}

/// `a - b` in milliseconds, negative when `a` is earlier.
fn signed_ms(a: Instant, b: Instant) -> f64 {
    match a.checked_duration_since(b) {
        Some(later) => later.as_secs_f64() * 1000.0,
        None => -(b.saturating_duration_since(a).as_secs_f64() * 1000.0),
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::time::Duration;

    fn estimator() -> DelayEstimator {
        DelayEstimator::new(20.0, 48_000, 0, 500, 0.95)
    }

    #[test]
    fn constant_network_delay_is_not_jitter() {
        let mut est = estimator();
        #[allow(clippy::disallowed_methods)] // a base for virtual time
        let t0 = Instant::now();
        for i in 0..200u32 {
            // 80 ms of constant delay on every packet.
            let arrival = t0 + Duration::from_millis(u64::from(i) * 20 + 80);
            est.observe(i.wrapping_mul(960).wrapping_add(u32::MAX - 5000), arrival);
        }
        assert_eq!(est.target_ms(), 0);
    }

    #[test]
    fn a_late_minority_sets_the_quantile() {
        let mut est = estimator();
        #[allow(clippy::disallowed_methods)] // a base for virtual time
        let t0 = Instant::now();
        for i in 0..400u64 {
            // Every 10th packet is 40 ms late: 10% > 5%, so the 95th percentile is 40 ms.
            let late = if i % 10 == 0 { 40 } else { 0 };
            est.observe((i * 960) as u32, t0 + Duration::from_millis(i * 20 + late));
        }
        assert!((38..=40).contains(&est.target_ms()), "{}", est.target_ms());
    }

    #[test]
    fn timestamp_jump_restarts_the_history_instead_of_raising_the_target() {
        let mut est = estimator();
        #[allow(clippy::disallowed_methods)] // a base for virtual time
        let t0 = Instant::now();
        for i in 0..100u64 {
            let ts = if i < 50 { i * 960 } else { 9_000_000 + i * 960 };
            est.observe(ts as u32, t0 + Duration::from_millis(i * 20));
        }
        assert_eq!(est.target_ms(), 0);
    }
}
