//! The crate's one error type.

use std::time::Duration;

/// Why a [`LinkConfig`](crate::LinkConfig) was refused.
///
/// All variants are API misuse: the simulator itself cannot fail once configured.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A probability field (`loss`, `reorder`, `duplicate`) is NaN or outside `0.0..=1.0`.
    #[error("link {field} is {value}; set it to a probability between 0.0 and 1.0")]
    InvalidProbability {
        /// The offending field.
        field: &'static str,
        /// The value it held.
        value: f64,
    },
    /// `max_queue` is zero, so the link could never carry anything.
    #[error(
        "link max_queue is 0; set at least 1, or use loss = 1.0 for a link that drops everything"
    )]
    ZeroQueue,
    /// `delay + jitter` exceeds [`LinkConfig::MAX_LATENCY`](crate::LinkConfig::MAX_LATENCY).
    #[error(
        "link delay {delay:?} + jitter {jitter:?} exceeds the {max:?} limit; lower delay or jitter"
    )]
    LatencyTooLong {
        /// The configured delay.
        delay: Duration,
        /// The configured jitter.
        jitter: Duration,
        /// The limit.
        max: Duration,
    },
}
