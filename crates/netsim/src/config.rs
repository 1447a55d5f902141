//! Per-link impairment settings.

use std::time::Duration;

use crate::Error;

/// Impairments applied to datagrams on one direction of one path.
///
/// Each datagram's one-way latency is `delay` plus a jitter drawn uniformly from
/// `[0, jitter]`: `delay` is the floor (propagation), jitter only ever adds, so latency never goes
/// below `delay` and never above `delay + jitter`.
///
/// `Default` is [`LinkConfig::perfect`]. Fields are public; [`LinkConfig::validate`] (also run by
/// [`Network::new`](crate::Network::new) and [`Network::set_link`](crate::Network::set_link))
/// rejects values the simulator cannot honour.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkConfig {
    /// Minimum one-way latency.
    pub delay: Duration,
    /// Extra latency, uniform in `[0, jitter]`, added to `delay`.
    pub jitter: Duration,
    /// Probability in `0.0..=1.0` that a datagram is lost.
    pub loss: f64,
    /// Probability in `0.0..=1.0` that a datagram skips its jitter and any queue ahead of it,
    /// arriving after exactly `delay` and so overtaking datagrams still held by jitter.
    /// At 0 the link is FIFO. Reordering needs `jitter > 0` to have anything to overtake.
    pub reorder: f64,
    /// Probability in `0.0..=1.0` that a delivered datagram arrives twice.
    pub duplicate: f64,
    /// Most datagrams in flight on this link; further ones are dropped (tail drop), which bounds
    /// memory when a receiver stops polling.
    pub max_queue: usize,
}

impl LinkConfig {
    /// `max_queue` of [`LinkConfig::perfect`]: ample for any call, small enough to bound memory.
    pub const DEFAULT_MAX_QUEUE: usize = 10_000;

    /// Upper bound on `delay + jitter`, so that scheduling never overflows an `Instant`.
    pub const MAX_LATENCY: Duration = Duration::from_secs(3600);

    /// A link with no delay, jitter, loss, reordering or duplication.
    pub fn perfect() -> Self {
        Self {
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            loss: 0.0,
            reorder: 0.0,
            duplicate: 0.0,
            max_queue: Self::DEFAULT_MAX_QUEUE,
        }
    }

    /// Sets [`LinkConfig::delay`].
    #[must_use]
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Sets [`LinkConfig::jitter`].
    #[must_use]
    pub fn with_jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// Sets [`LinkConfig::loss`].
    #[must_use]
    pub fn with_loss(mut self, loss: f64) -> Self {
        self.loss = loss;
        self
    }

    /// Sets [`LinkConfig::reorder`].
    #[must_use]
    pub fn with_reorder(mut self, reorder: f64) -> Self {
        self.reorder = reorder;
        self
    }

    /// Sets [`LinkConfig::duplicate`].
    #[must_use]
    pub fn with_duplicate(mut self, duplicate: f64) -> Self {
        self.duplicate = duplicate;
        self
    }

    /// Sets [`LinkConfig::max_queue`].
    #[must_use]
    pub fn with_max_queue(mut self, max_queue: usize) -> Self {
        self.max_queue = max_queue;
        self
    }

    /// Checks that every field can be honoured.
    ///
    /// # Errors
    /// [`Error::InvalidProbability`] for a NaN or out-of-range probability, [`Error::ZeroQueue`]
    /// for `max_queue == 0`, [`Error::LatencyTooLong`] when `delay + jitter` exceeds
    /// [`LinkConfig::MAX_LATENCY`].
    pub fn validate(&self) -> Result<(), Error> {
        for (field, value) in [
            ("loss", self.loss),
            ("reorder", self.reorder),
            ("duplicate", self.duplicate),
        ] {
            // `contains` is false for NaN, so NaN is refused too.
            if !(0.0..=1.0).contains(&value) {
                return Err(Error::InvalidProbability { field, value });
            }
        }
        if self.max_queue == 0 {
            return Err(Error::ZeroQueue);
        }
        let within = self
            .delay
            .checked_add(self.jitter)
            .is_some_and(|total| total <= Self::MAX_LATENCY);
        if !within {
            return Err(Error::LatencyTooLong {
                delay: self.delay,
                jitter: self.jitter,
                max: Self::MAX_LATENCY,
            });
        }
        Ok(())
    }
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self::perfect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_is_default_and_valid() {
        assert_eq!(LinkConfig::default(), LinkConfig::perfect());
        assert_eq!(LinkConfig::perfect().validate(), Ok(()));
    }

    #[test]
    fn builders_set_fields() {
        let cfg = LinkConfig::perfect()
            .with_delay(Duration::from_millis(30))
            .with_jitter(Duration::from_millis(5))
            .with_loss(0.1)
            .with_reorder(0.2)
            .with_duplicate(0.3)
            .with_max_queue(7);
        assert_eq!(
            cfg,
            LinkConfig {
                delay: Duration::from_millis(30),
                jitter: Duration::from_millis(5),
                loss: 0.1,
                reorder: 0.2,
                duplicate: 0.3,
                max_queue: 7,
            }
        );
        assert_eq!(cfg.validate(), Ok(()));
    }

    #[test]
    fn probabilities_out_of_range_are_refused() {
        let bad = [-0.1, 1.000_001, f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
        for value in bad {
            let err = LinkConfig::perfect().with_loss(value).validate();
            assert!(
                matches!(err, Err(Error::InvalidProbability { field: "loss", .. })),
                "loss {value}: {err:?}"
            );
            let err = LinkConfig::perfect().with_reorder(value).validate();
            assert!(matches!(
                err,
                Err(Error::InvalidProbability {
                    field: "reorder",
                    ..
                })
            ));
            let err = LinkConfig::perfect().with_duplicate(value).validate();
            assert!(matches!(
                err,
                Err(Error::InvalidProbability {
                    field: "duplicate",
                    ..
                })
            ));
        }
        for edge in [0.0, 1.0] {
            assert_eq!(LinkConfig::perfect().with_loss(edge).validate(), Ok(()));
        }
    }

    #[test]
    fn error_message_names_field_and_fix() {
        let err = LinkConfig::perfect().with_loss(1.5).validate();
        let msg = err.map_err(|e| e.to_string()).err().unwrap_or_default();
        assert_eq!(
            msg,
            "link loss is 1.5; set it to a probability between 0.0 and 1.0"
        );
    }

    #[test]
    fn zero_queue_is_refused() {
        assert_eq!(
            LinkConfig::perfect().with_max_queue(0).validate(),
            Err(Error::ZeroQueue)
        );
    }

    #[test]
    fn latency_limit_and_overflow_are_refused() {
        let at_limit = LinkConfig::perfect()
            .with_delay(LinkConfig::MAX_LATENCY - Duration::from_secs(1))
            .with_jitter(Duration::from_secs(1));
        assert_eq!(at_limit.validate(), Ok(()));
        let over = at_limit.clone().with_jitter(Duration::from_secs(2));
        assert!(matches!(over.validate(), Err(Error::LatencyTooLong { .. })));
        let overflow = LinkConfig::perfect()
            .with_delay(Duration::MAX)
            .with_jitter(Duration::MAX);
        assert!(matches!(
            overflow.validate(),
            Err(Error::LatencyTooLong { .. })
        ));
    }
}
