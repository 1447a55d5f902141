//! The crate's error type.

/// Why [`JitterInput::push`](crate::JitterInput::push) did not take a packet. Either way the
/// packet is dropped and counted in [`JitterStats`](crate::JitterStats); the network thread
/// carries on with the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JitterFull {
    /// The ring to the playout side is full: playout is not draining it (stalled or not running).
    #[error("jitter buffer input is full: playout is not draining it, so the packet was dropped")]
    RingFull,
    /// The payload is larger than the slots were sized for.
    #[error(
        "payload of {len} bytes exceeds the jitter buffer's {max_payload_len}-byte slots; \
         raise JitterConfig::max_payload_len if such packets are legitimate"
    )]
    PayloadTooLarge {
        /// The rejected payload's length.
        len: usize,
        /// The configured (clamped) limit.
        max_payload_len: usize,
    },
}
