//! The crate's error type.

/// Everything that can go wrong in sotto-signal, grouped as: the text is malformed (or
/// hostile), the peer is incompatible, the API was misused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // -- the text is malformed --
    /// The SDP (or the line carrying it) is longer than sotto reads.
    #[error("the sdp is {len} bytes, more than the {max} sotto reads")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit, [`MAX_SDP_LEN`](crate::MAX_SDP_LEN).
        max: usize,
    },
    /// More lines, media streams, candidates, ... than sotto reads.
    #[error("the sdp has more than {max} {what}")]
    TooMany {
        /// What there are too many of.
        what: &'static str,
        /// The limit.
        max: usize,
    },
    /// A line that breaks the SDP grammar (RFC 8866) or of an attribute sotto reads.
    #[error("sdp line {line}: {reason}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A line the SDP must have is missing.
    #[error("the sdp has no {0} line")]
    Missing(&'static str),
    /// The pasted text is not a sotto line (see [`Offer::to_line`](crate::Offer::to_line)).
    #[error("not a sotto call line: {0}")]
    BadLine(&'static str),
    /// An offer where an answer was expected or the other way round.
    #[error("this line is an {found}, an {expected} was expected: paste the other side's line")]
    WrongKind {
        /// What the caller asked for: `"offer"` or `"answer"`.
        expected: &'static str,
        /// What the line holds.
        found: &'static str,
    },
    // -- the peer is incompatible --
    /// The offer has no audio stream that is not rejected.
    #[error("the offer has no audio stream; a sotto call needs one")]
    NoAudio,
    /// The audio stream lists no opus codec.
    #[error("the peer offers no opus audio (it offers {offered}); sotto speaks only opus")]
    NoOpus {
        /// What the peer listed instead, for the message.
        offered: String,
    },
    /// The audio stream is not RTP over one of the profiles ZRTP keys.
    #[error(
        "media protocol {0} is not supported: sotto keys srtp with zrtp over RTP/AVP, RTP/SAVP, \
         RTP/AVPF or RTP/SAVPF, not dtls"
    )]
    UnsupportedProtocol(String),
    /// The peer turned the audio stream down (port 0 in its answer).
    #[error("the peer rejected the audio stream")]
    AudioRejected,
    /// The answer does not answer this offer (RFC 3264 section 6).
    #[error("the answer does not fit the offer: {0}")]
    AnswerMismatch(&'static str),
    // -- the API was misused --
    /// A value handed to a constructor is not valid where it goes.
    #[error("invalid {what}: {reason}")]
    InvalidValue {
        /// Which value.
        what: &'static str,
        /// What it must be.
        reason: &'static str,
    },
}
