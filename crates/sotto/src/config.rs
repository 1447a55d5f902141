//! How a call is set up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sotto_media::{AudioInput, AudioOutput};

/// Settings of one call; [`CallConfig::new`] fills in the defaults.
#[derive(Clone, Debug)]
pub struct CallConfig {
    /// Local UDP address; port 0 picks a free one.
    pub bind: SocketAddr,
    /// Whom to call; `None` listens and latches onto the first address whose ZRTP the session
    /// accepts.
    pub peer: Option<SocketAddr>,
    /// Where the audio to send comes from.
    pub audio_in: AudioInput,
    /// Where the received audio goes.
    pub audio_out: AudioOutput,
    /// The SQLite ZID cache (our identity and the retained secrets of known peers).
    pub cache_path: PathBuf,
    /// Key agreements, SAS types and role policy. Its `ssrc` is replaced by the call's own.
    pub zrtp: sotto_zrtp::SessionConfig,
    /// Audio per packet: 20 (default) or 10 ms.
    pub ptime_ms: u32,
    /// Opus bitrate, default 32 000 bit/s.
    pub bitrate_bps: i32,
    /// Hang up this long after the call becomes secure; `None` runs until hung up.
    pub duration: Option<Duration>,
    /// Give up when ZRTP has not completed after this long (default 30 s). A listener counts
    /// from the first packet it receives and waits for that forever.
    pub handshake_timeout: Duration,
    /// End with [`EndReason::PeerGone`](crate::EndReason::PeerGone) after this long without
    /// any packet from the peer (default 10 s).
    pub peer_timeout: Duration,
    /// How often [`CallEvent::Stats`](crate::CallEvent::Stats) comes (default 1 s).
    pub stats_interval: Duration,
}

impl CallConfig {
    /// A call from `bind` to `peer` (or listening, with `None`) with the default settings: no
    /// audio in or out, 20 ms Opus at 32 kbit/s, 30 s handshake and 10 s peer timeouts.
    pub fn new(bind: SocketAddr, peer: Option<SocketAddr>, cache_path: PathBuf) -> Self {
        CallConfig {
            bind,
            peer,
            audio_in: AudioInput::None,
            audio_out: AudioOutput::None,
            cache_path,
            zrtp: sotto_zrtp::SessionConfig::default(),
            ptime_ms: 20,
            bitrate_bps: 32_000,
            duration: None,
            handshake_timeout: Duration::from_secs(30),
            peer_timeout: Duration::from_secs(10),
            stats_interval: Duration::from_secs(1),
        }
    }
}
