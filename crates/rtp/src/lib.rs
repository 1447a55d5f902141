//! sotto-rtp: sans-IO RTP and RTCP (RFC 3550, RFC 4585 feedback, RFC 5104 FIR), payload formats
//! (Opus, RFC 7587), SRTP and SRTCP (RFC 3711) keyed from a ZRTP handshake, and the one-port
//! demultiplexer of RFC 7983 that lets STUN, ZRTP, RTP and RTCP share a call's UDP port.
#![deny(missing_docs)]

pub mod demux;
mod error;
pub mod h264;
pub mod opus;
pub mod rtcp;
pub mod rtp;
pub mod seq;
pub mod srtp;
pub mod stats;
pub mod sync;
#[cfg(test)]
mod testing;
pub mod video;

pub use demux::{classify, header_ssrc, PacketKind};
pub use error::Error;
pub use opus::{opus_payload, OpusPacketizer};
pub use rtp::{RtpHeader, RtpPacket};
