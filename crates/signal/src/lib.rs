//! sotto-signal: the SDP offer/answer (RFC 8866, RFC 3264) that sets up a sotto call, and the
//! one-line form the host application passes between the two people.
//!
//! It is sans-IO and holds no state: strings in, strings and values out. The host application
//! moves the strings (a chat message, a QR code, a SIP body) and never parses them; the engine
//! builds its offer from its sockets and ZRTP sessions, and takes from [`Negotiated`] the peer's
//! addresses, payload types, ICE candidates and `a=zrtp-hash` values.
//!
//! A call in a few lines (the ports, hashes and session ids come from the engine):
//!
//! ```
//! use sotto_signal::{Answer, LocalMedia, LocalStream, Offer, ZrtpHash};
//!
//! let alice = LocalMedia {
//!     session_id: 3_724_394_400,
//!     session_version: 1,
//!     address: "192.0.2.10".parse()?,
//!     audio: LocalStream::new(5004, Some(ZrtpHash::new([0xa1; 32]))),
//!     video: None,
//!     ice: None,
//! };
//! let line = Offer::new(&alice)?.to_line(); // "sotto1:offer:..." goes to Bob
//!
//! let bob = LocalMedia {
//!     session_id: 1_157_312_042,
//!     address: "198.51.100.7".parse()?,
//!     audio: LocalStream::new(6000, Some(ZrtpHash::new([0xb0; 32]))),
//!     ..alice.clone()
//! };
//! let (answer, bob_agreed) = Offer::from_line(&line)?.answer(&bob)?;
//! let reply = answer.to_line(); // "sotto1:answer:..." goes back to Alice
//!
//! let alice_agreed = Offer::new(&alice)?.accept(&Answer::from_line(&reply)?)?;
//! assert_eq!(alice_agreed.audio.remote.to_string(), "198.51.100.7:6000");
//! assert_eq!(bob_agreed.audio.remote_zrtp_hash, Some(ZrtpHash::new([0xa1; 32])));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The SDP sotto writes for that offer:
//!
//! ```text
//! v=0
//! o=- 3724394400 1 IN IP4 192.0.2.10
//! s=sotto
//! c=IN IP4 192.0.2.10
//! t=0 0
//! m=audio 5004 RTP/SAVP 111
//! a=rtpmap:111 opus/48000/2
//! a=fmtp:111 minptime=10;useinbandfec=1
//! a=ptime:20
//! a=rtcp-mux
//! a=sendrecv
//! a=zrtp-hash:1.10 a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1
//! ```
#![deny(missing_docs)]

mod attr;
mod error;
mod line;
mod negotiate;
mod parse;
mod sdp;

pub use attr::{Candidate, Direction, IceCredentials, ZrtpHash, MAX_CANDIDATE_LEN};
pub use error::Error;
pub use line::{Signal, LINE_PREFIX, MAX_LINE_LEN};
pub use negotiate::{
    Answer, LocalMedia, LocalStream, Negotiated, NegotiatedAudio, NegotiatedVideo, Offer,
    H264_FEEDBACK, H264_PAYLOAD_TYPE, H264_PROFILE_LEVEL_ID, OPUS_FMTP, OPUS_PAYLOAD_TYPE,
    OPUS_PTIME_MS, PROTOCOL, SESSION_NAME,
};
pub use sdp::{AddressType, Codec, Media, MediaKind, Origin, RtpMap, SessionDescription};

/// The longest SDP read, in bytes: ten times a sotto call's, and more than browsers write.
pub const MAX_SDP_LEN: usize = 16 * 1024;
/// The most lines read (blank lines not counted).
pub const MAX_LINES: usize = 256;
/// The most `m=` sections read.
pub const MAX_MEDIA: usize = 8;
/// The most formats (payload types) on one `m=` line.
pub const MAX_FORMATS: usize = 64;
/// The most `a=candidate` lines for one stream.
pub const MAX_CANDIDATES: usize = 32;
/// The most `a=rtcp-fb` values for one payload type.
pub const MAX_FEEDBACK: usize = 16;
/// The most `a=zrtp-hash` lines for one stream (one per ZRTP version).
pub const MAX_ZRTP_HASHES: usize = 4;
