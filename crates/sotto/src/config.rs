//! How a call is set up.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sotto_media::video::{VideoInput, VideoOutput};
use sotto_media::{AudioInput, AudioOutput};

/// Settings of one call; [`CallConfig::new`] fills in the defaults.
#[derive(Clone, Debug)]
pub struct CallConfig {
    /// Local UDP address; port 0 picks a free one.
    pub bind: SocketAddr,
    /// Whom to call; `None` listens and latches onto the first address whose ZRTP Hello the
    /// session accepts.
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
    /// Where the video to send comes from (default [`VideoInput::None`]: send no video).
    ///
    /// Video is on when `video_in` or `video_out` is not `None`. Then, once the audio stream
    /// is secure, the call keys a second stream by ZRTP Multistream (RFC 6189 section 4.4.3).
    /// A peer that does not answer it (it has video off) leaves the call an audio call:
    /// [`CallEvent::VideoUnavailable`](crate::CallEvent::VideoUnavailable) says so. With both
    /// `None` the call is exactly an audio call and speaks ZRTP for one stream only.
    pub video_in: VideoInput,
    /// Where the received video goes (default [`VideoOutput::None`]: show none).
    pub video_out: VideoOutput,
    /// Width of the video sent, in pixels (default 640; even, at most 4096). A Y4M file input
    /// keeps its own size.
    pub video_width: u32,
    /// Height of the video sent, in pixels (default 480; even, at most 4096).
    pub video_height: u32,
    /// Frames per second sent, and the frame rate a Y4M output declares (default 30, 1 to 60).
    pub video_fps: u32,
    /// H.264 target bitrate (default 1 000 000 bit/s; 50 000 to 20 000 000).
    pub video_bitrate_bps: u32,
}

impl CallConfig {
    /// A call from `bind` to `peer` (or listening, with `None`) with the default settings: no
    /// audio in or out, 20 ms Opus at 32 kbit/s, 30 s handshake and 10 s peer timeouts, no
    /// video (and, once video is set, 640x480 at 30 frames per second and 1 Mbit/s).
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
            video_in: VideoInput::None,
            video_out: VideoOutput::None,
            video_width: 640,
            video_height: 480,
            video_fps: 30,
            video_bitrate_bps: 1_000_000,
        }
    }

    /// Whether this call asks for video: a video input or output is set.
    pub fn video_enabled(&self) -> bool {
        !matches!(self.video_in, VideoInput::None) || !matches!(self.video_out, VideoOutput::None)
    }
}

/// Frame rates the engine paces: at least one picture a second, at most 60.
pub(crate) const VIDEO_FPS_RANGE: std::ops::RangeInclusive<u32> = 1..=60;
/// H.264 bitrates the engine accepts: below 50 kbit/s even a thumbnail is mush, above
/// 20 Mbit/s is no call.
pub(crate) const VIDEO_BITRATE_RANGE: std::ops::RangeInclusive<u32> = 50_000..=20_000_000;

impl CallConfig {
    /// Checks the settings [`Call::start`](crate::Call::start) cannot leave to the codecs.
    pub(crate) fn validate(&self) -> Result<(), crate::Error> {
        use crate::Error;
        if !matches!(self.ptime_ms, 10 | 20) {
            return Err(Error::Config(format!(
                "ptime must be 10 or 20 ms, not {}",
                self.ptime_ms
            )));
        }
        for (name, value) in [
            ("handshake timeout", self.handshake_timeout),
            ("peer timeout", self.peer_timeout),
            ("stats interval", self.stats_interval),
        ] {
            if value.is_zero() {
                return Err(Error::Config(format!("the {name} must not be zero")));
            }
        }
        if sotto_media::video::check_size(self.video_width, self.video_height).is_err() {
            return Err(Error::Config(format!(
                "video size {}x{} is not usable: use even sizes from 2x2 to 4096x4096, for example 640x480",
                self.video_width, self.video_height
            )));
        }
        if !VIDEO_FPS_RANGE.contains(&self.video_fps) {
            return Err(Error::Config(format!(
                "video frame rate must be {} to {} frames per second, not {}",
                VIDEO_FPS_RANGE.start(),
                VIDEO_FPS_RANGE.end(),
                self.video_fps
            )));
        }
        if !VIDEO_BITRATE_RANGE.contains(&self.video_bitrate_bps) {
            return Err(Error::Config(format!(
                "video bitrate must be {} to {} bit/s, not {}",
                VIDEO_BITRATE_RANGE.start(),
                VIDEO_BITRATE_RANGE.end(),
                self.video_bitrate_bps
            )));
        }
        Ok(())
    }
}
