//! The crate's error type.

use std::net::SocketAddr;

/// Everything that can go wrong in sotto-net, grouped as: a datagram was refused (the peer or
/// an attacker sent it), a remote party did not cooperate, the API was misused.
///
/// An error returned for an [`Input::Receive`](crate::Input::Receive) only means that datagram
/// was dropped (or answered with a STUN error response); the state machine is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // -- a datagram was refused --
    /// The datagram is not a well-formed STUN message.
    #[error("malformed stun message: {0}")]
    Malformed(&'static str),
    /// The FINGERPRINT attribute is missing or wrong: not STUN, or damaged.
    #[error("stun fingerprint missing or wrong")]
    BadFingerprint,
    /// MESSAGE-INTEGRITY is missing or does not verify with the expected password, or the
    /// USERNAME names other credentials (answered with 400 or 401 when it was a request).
    #[error("stun message is not authenticated with this call's ice credentials")]
    Unauthenticated,
    /// A response matching no outstanding transaction, or from the wrong address.
    #[error("stun response matches no outstanding transaction from {0}")]
    UnknownTransaction(SocketAddr),
    /// The datagram arrived on a local address that is not one of ours.
    #[error("datagram arrived on {0}, which is not a local candidate")]
    NotLocal(SocketAddr),
    /// Both ends claimed the same role and ours won: answered with 487 (RFC 8445 7.3.1.1).
    #[error("ice role conflict; answered 487")]
    RoleConflict,
    /// The agent has finished (failed or lost consent) and ignores input.
    #[error("the ice agent has finished; create a new one")]
    Closed,
    // -- a remote party did not cooperate --
    /// A STUN server never answered within the gathering deadline.
    #[error("stun server {server} did not answer within {waited_ms} ms; check its address and that udp reaches it")]
    StunServerSilent {
        /// The server.
        server: SocketAddr,
        /// How long we waited.
        waited_ms: u64,
    },
    /// A STUN server answered with an error response.
    #[error("stun server {server} answered with error {code}: {reason}")]
    StunServerError {
        /// The server.
        server: SocketAddr,
        /// STUN error code (300..699).
        code: u16,
        /// Reason phrase as the server sent it.
        reason: String,
    },
    /// No candidate pair was nominated before the connect deadline.
    #[error("no network path to the peer within {waited_ms} ms ({pairs} candidate pairs tried, {working} answered); a relay may be needed")]
    ConnectTimeout {
        /// How long the agent tried.
        waited_ms: u64,
        /// How many candidate pairs were formed.
        pairs: usize,
        /// How many of them answered a check.
        working: usize,
    },
    // -- the API was misused --
    /// A candidate (from SDP or the API) is invalid or unsupported.
    #[error("invalid ice candidate: {0}")]
    BadCandidate(&'static str),
    /// ICE credentials are out of spec (RFC 8445 section 5.3: ufrag 4..256, pwd 22..256 ice-chars).
    #[error("invalid ice credentials: {0}")]
    BadCredentials(&'static str),
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
}
