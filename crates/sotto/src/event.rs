//! What a [`Call`](crate::Call) reports: events, statistics and why it ended.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use sotto_zrtp::{Algorithms, Role, SasType};

/// Something that happened in a call, from [`Call::next_event`](crate::Call::next_event).
// Stats is the large variant (a few hundred bytes with the video figures). A few events a
// second are moved, never stored in bulk: boxing it would only cost every caller a `*`.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum CallEvent {
    /// The Short Authentication String to read aloud and compare with the peer's.
    Sas {
        /// The SAS, rendered as `sas_type` says.
        sas: String,
        /// Its rendering (4 base-32 characters or two PGP words).
        sas_type: SasType,
        /// Both ends verified this peer's SAS in an earlier call and key continuity holds:
        /// comparing again is not needed.
        verified: bool,
        /// We held a retained secret for this peer and it did not match: compare the SAS, this
        /// may be a man in the middle.
        cache_mismatch: bool,
    },
    /// A call set up by offer and answer found its path to the peer (a connectivity check
    /// went through both NATs, if any): ZRTP starts on it now. Comes again if the network
    /// changes and the call moves to another path.
    Connected {
        /// Our address the path leaves from.
        local: SocketAddr,
        /// The peer's address as we reach it (its NAT's, when it is behind one).
        remote: SocketAddr,
    },
    /// A ZRTP Hello came that does not match the `a=zrtp-hash` of the peer's offer or answer:
    /// someone between the two of you may be trying to intercept the call. The Hello was
    /// refused; the call goes on only if the real peer's Hello follows.
    HelloHashMismatch {
        /// Where the Hello came from.
        from: SocketAddr,
    },
    /// Nothing has arrived from the peer for `silent` (3 s) in a secure call: its network, or
    /// ours, may have changed under the call. A call set up by offer and answer can move to a
    /// new path ([`Call::restart_path`](crate::Call::restart_path)); otherwise the call ends
    /// with [`EndReason::PeerGone`] once `peer_timeout` passes. Comes once per quiet spell.
    PeerQuiet {
        /// How long nothing has arrived.
        silent: Duration,
    },
    /// ZRTP completed; SRTP media flows from now on (and never before).
    Secure {
        /// Which end sent the Commit.
        role: Role,
        /// What the two ends agreed on.
        algorithms: Algorithms,
        /// The peer's address (the one a listener latched onto).
        peer: SocketAddr,
    },
    /// The video stream is keyed: a ZRTP Multistream exchange (RFC 6189 section 4.4.3) keyed
    /// from the audio stream's session completed, with SRTP keys of its own. Video flows from
    /// now on in the directions the two ends configured. Comes only in calls with video on.
    VideoSecure {
        /// Which end sent the Multistream Commit (need not match the audio stream's).
        role: Role,
        /// What the two ends agreed on for the video stream (`key_agreement` is `Mult`).
        algorithms: Algorithms,
    },
    /// Video was asked for but will not flow in this call; the call goes on as an audio call.
    /// Typically the peer has video off and never answered the video stream's ZRTP.
    VideoUnavailable {
        /// Why, for people (for example "the peer did not answer the video stream's zrtp at
        /// 192.0.2.7:5004; it may have video off", about 4 s after the call became secure).
        reason: String,
    },
    /// The video input ended (the end of a Y4M file): no more video is sent, the call goes on.
    VideoInputEnded,
    /// Periodic statistics, every `stats_interval` once secure.
    Stats(CallStats),
    /// The call is over; the last event. Every thread has stopped and the output is finalised.
    Ended(EndReason),
}

/// Statistics of a secure call. Rates and loss cover the last interval; counts and the
/// concealed share cover the call so far. The top-level figures are the audio stream's
/// (`srtp_rejected` counts every stream); `video` has the video stream's.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CallStats {
    /// Time since the call became secure.
    pub elapsed: Duration,
    /// SRTP bits sent per second (UDP payloads).
    pub tx_bitrate_bps: f64,
    /// SRTP bits received per second from the peer's stream (UDP payloads).
    pub rx_bitrate_bps: f64,
    /// Media packets sent.
    pub packets_sent: u64,
    /// Media packets received, authenticated and accepted.
    pub packets_received: u64,
    /// Share of the peer's packets lost in the last interval (RFC 3550 fraction lost), in %.
    pub loss_percent: f64,
    /// Interarrival jitter of the peer's stream (RFC 3550 A.8), in ms.
    pub jitter_ms: f64,
    /// How long the last played frame waited in the jitter buffer, in ms.
    pub jitter_buffer_ms: f64,
    /// Round-trip time from the peer's RTCP reports about our SRs; `None` until one arrives.
    pub rtt_ms: Option<f64>,
    /// Share of played frames that were concealed (lost or recovered by FEC), in %.
    pub concealed_percent: f64,
    /// Datagrams dropped after secure: failed SRTP/SRTCP authentication or replay checks,
    /// other SSRCs, other payload types, or garbage.
    pub srtp_rejected: u64,
    /// The video stream's figures; `None` while no video stream is secure (audio-only calls,
    /// video unavailable, or its Multistream exchange still running).
    pub video: Option<VideoStats>,
}

/// Statistics of the video stream, in [`CallStats::video`]. Rates cover the last interval,
/// counts the call so far. "Sent" figures are about the video we send, "received" about the
/// peer's.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct VideoStats {
    /// Frames encoded and sent per second.
    pub sent_fps: f64,
    /// Frames decoded and written to the video output per second.
    pub received_fps: f64,
    /// SRTP bits of video sent per second (UDP payloads, retransmissions included).
    pub tx_bitrate_bps: f64,
    /// SRTP bits of video received per second (UDP payloads).
    pub rx_bitrate_bps: f64,
    /// Size of the last decoded picture (width, height); `None` before the first.
    pub received_resolution: Option<(u32, u32)>,
    /// Frames sent.
    pub frames_sent: u64,
    /// Frames decoded and written to the video output.
    pub frames_received: u64,
    /// Keyframes (IDR) sent: the first, and those the peer asked for.
    pub keyframes_sent: u64,
    /// Keyframes (IDR) received whole.
    pub keyframes_received: u64,
    /// RTCP generic NACKs (RFC 4585) we sent about the peer's lost packets.
    pub nacks_sent: u64,
    /// RTCP generic NACKs the peer sent about our packets.
    pub nacks_received: u64,
    /// Packets we sent again because the peer's NACK named them.
    pub retransmissions: u64,
    /// Lost packets of the peer's that a retransmission repaired in time.
    pub packets_repaired: u64,
    /// Lost packets of the peer's that were given up on.
    pub packets_unrepaired: u64,
    /// Picture loss indications (RFC 4585 PLI) we sent: a frame could not be repaired or
    /// decoded, so we asked for a keyframe.
    pub plis_sent: u64,
    /// Keyframe requests (PLI, or FIR of RFC 5104) the peer sent.
    pub plis_received: u64,
    /// Frames of the peer's dropped: unrepairable, undecodable until the next keyframe, or
    /// the decoder falling behind.
    pub frames_dropped: u64,
    /// Times the picture froze after frames had been shown: a loss could not be repaired (or
    /// a frame not decoded), so nothing is shown until the next keyframe.
    pub freezes: u64,
    /// How long the picture was frozen in total, from giving up on a frame until a keyframe
    /// came (the wait for a repair before that, up to 200 ms or 3 RTT, is not counted).
    pub frozen: Duration,
    /// Frames the H.264 decoder refused (each asks the peer for a keyframe).
    pub decoder_errors: u64,
    /// Share of the peer's video packets lost in the last interval, in % (RFC 3550 fraction
    /// lost: a packet a retransmission repaired counts as received).
    pub loss_percent: f64,
    /// Round-trip time from the video stream's RTCP (the audio stream's until one arrives).
    pub rtt_ms: Option<f64>,
    /// Lip sync: how much later video is shown than the audio captured at the same instant,
    /// from both streams' RTCP sender reports, in ms (negative: video leads). `None` until
    /// both streams have sent a report and played something.
    pub av_skew_ms: Option<f64>,
}

/// Why a call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndReason {
    /// [`Call::hang_up`](crate::Call::hang_up) was called.
    HungUp,
    /// The configured duration passed after the call became secure.
    DurationReached,
    /// The peer said goodbye (RTCP BYE).
    PeerHungUp,
    /// The peer sent nothing for `peer_timeout`: it vanished (crashed, lost its network).
    PeerGone,
    /// ZRTP did not complete: no answer in time, or the peer refused or misbehaved.
    HandshakeFailed(String),
    /// A call set up by offer and answer found no network path to the peer, or lost it (the
    /// peer stopped answering consent checks).
    NoPath(String),
    /// Something on our side failed (the socket, the audio input or output).
    Failed(String),
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndReason::HungUp => f.write_str("hung up"),
            EndReason::DurationReached => f.write_str("duration reached"),
            EndReason::PeerHungUp => f.write_str("peer hung up"),
            EndReason::PeerGone => f.write_str("peer gone"),
            EndReason::HandshakeFailed(why) => write!(f, "handshake failed: {why}"),
            EndReason::NoPath(why) => write!(f, "no path to the peer: {why}"),
            EndReason::Failed(why) => write!(f, "failed: {why}"),
        }
    }
}
