//! The engine's error type: one for the crate, as in every sotto crate.

use std::net::SocketAddr;
use std::path::PathBuf;

/// What can go wrong in the engine. Grouped as: the local setup (address, files, devices), the
/// configuration, the peer (a handshake that does not complete), and the operating system.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // -- the local setup --
    /// Another socket holds the port.
    #[error("udp port {} is already in use on {}; choose another port or stop the program using it", .addr.port(), .addr.ip())]
    PortInUse {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The address cannot be bound for another reason.
    #[error("cannot bind udp {addr}: {source}; use an address of this machine (or 0.0.0.0)")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the system said.
        source: std::io::Error,
    },
    /// The ZID cache cannot be opened.
    #[error("zid cache {}: {source}", .path.display())]
    Cache {
        /// The cache file.
        path: PathBuf,
        /// What went wrong; its message says what to do.
        source: sotto_zrtp::Error,
    },
    /// The audio input (file, tone or device) cannot be opened.
    #[error("audio input: {0}")]
    AudioInput(sotto_media::Error),
    /// The audio output (file or device) cannot be opened.
    #[error("audio output: {0}")]
    AudioOutput(sotto_media::Error),
    /// The video input (file, pattern or camera) cannot be opened.
    #[error("video input: {0}")]
    VideoInput(sotto_media::Error),
    /// The video output (file) cannot be opened.
    #[error("video output: {0}")]
    VideoOutput(sotto_media::Error),
    // -- the configuration --
    /// A setting is out of range.
    #[error("invalid call configuration: {0}")]
    Config(String),
    /// The Opus codec refused the settings.
    #[error("opus codec: {0}; use a bitrate between 6000 and 510000 bit/s")]
    Codec(sotto_media::Error),
    /// The H.264 codec refused the video settings.
    #[error("h264 codec: {0}; check the video size, frame rate and bitrate")]
    VideoCodec(sotto_media::Error),
    /// The ZRTP settings are unusable.
    #[error("zrtp configuration: {0}")]
    ZrtpConfig(sotto_zrtp::Error),
    // -- the peer --
    /// The peer's offer or answer is unusable (or ours could not be written).
    #[error("call setup: {0}")]
    Signal(#[from] sotto_signal::Error),
    /// Candidates or ICE credentials are unusable.
    #[error("finding a network path: {0}")]
    Path(#[from] sotto_net::Error),
    /// The ZRTP handshake failed (the peer refused, timed out or misbehaved).
    #[error("zrtp handshake failed: {0}")]
    Handshake(#[from] sotto_zrtp::Error),
    /// Nothing usable arrived before the deadline.
    #[error(
        "no zrtp answer from {peer} within {waited:?}; is the peer running and reachable over udp?"
    )]
    NoAnswer {
        /// Where we sent (or `*` when listening).
        peer: String,
        /// How long we waited.
        waited: std::time::Duration,
    },
    // -- the operating system --
    /// A socket option or thread could not be set up.
    #[error("cannot set up the call: {0}")]
    Io(#[from] std::io::Error),
}
