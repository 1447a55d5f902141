//! The crate's error type.

/// Everything that can go wrong in sotto-rtp, grouped as: bad input from the network, a peer
/// that cannot be served, API misuse.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // -- bad input from the network (dropped and counted, never fatal) --
    /// The packet is shorter than its headers say or than the minimum.
    #[error("packet too short: {0}")]
    TooShort(&'static str),
    /// The packet is not well-formed RTP or RTCP.
    #[error("malformed packet: {0}")]
    Malformed(&'static str),
    /// The SRTP/SRTCP authentication tag does not verify (damaged, forged or wrong key).
    #[error("srtp authentication failed")]
    AuthFailed,
    /// The packet index was seen before or is older than the replay window.
    #[error("srtp replayed or too old packet")]
    Replayed,
    // -- the session cannot continue --
    /// The key has protected as many packets as RFC 3711 allows (2^48 SRTP, 2^31 SRTCP):
    /// rekey (a new ZRTP exchange) before sending more.
    #[error(
        "srtp key exhausted after the maximum number of packets; rekey with a new zrtp exchange"
    )]
    KeyExhausted,
    /// More SSRCs than one crypto context tracks.
    #[error("too many ssrcs on one srtp context")]
    TooManySsrcs,
    // -- the peer cannot be served --
    /// The payload uses a format or mode this crate does not speak (for H.264: STAP-B, MTAP
    /// or FU-B, which need packetization-mode 2).
    #[error("unsupported payload: {0}")]
    UnsupportedPayload(&'static str),
    // -- API misuse --
    /// The caller's buffer cannot hold the result.
    #[error("buffer too small: need {needed} bytes, have {have}")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        have: usize,
    },
    /// An argument is out of the range the wire format can carry (more than 15 CSRCs, 31
    /// report blocks, a 255-byte SDES item, RTCP padding not a multiple of 4, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// A key or salt of the wrong length for the profile.
    #[error("invalid srtp key material: {0}")]
    InvalidKey(&'static str),
}
