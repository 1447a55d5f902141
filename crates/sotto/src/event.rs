//! What a [`Call`](crate::Call) reports: events, statistics and why it ended.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use sotto_zrtp::{Algorithms, Role, SasType};

/// Something that happened in a call, from [`Call::next_event`](crate::Call::next_event).
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
    /// ZRTP completed; SRTP media flows from now on (and never before).
    Secure {
        /// Which end sent the Commit.
        role: Role,
        /// What the two ends agreed on.
        algorithms: Algorithms,
        /// The peer's address (the one a listener latched onto).
        peer: SocketAddr,
    },
    /// Periodic statistics, every `stats_interval` once secure.
    Stats(CallStats),
    /// The call is over; the last event. Every thread has stopped and the output is finalised.
    Ended(EndReason),
}

/// Statistics of a secure call. Rates and loss cover the last interval; counts and the
/// concealed share cover the call so far.
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
            EndReason::Failed(why) => write!(f, "failed: {why}"),
        }
    }
}
