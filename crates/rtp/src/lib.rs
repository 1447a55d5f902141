//! sotto-rtp: sans-IO RTP and RTCP (RFC 3550, RFC 4585 feedback, RFC 5104 FIR), payload formats
//! (Opus, RFC 7587), SRTP and SRTCP (RFC 3711) keyed from a ZRTP handshake, and the one-port
//! demultiplexer of RFC 7983 that lets STUN, ZRTP, RTP and RTCP share a call's UDP port.
#![deny(missing_docs)]

mod error;

pub use error::Error;
