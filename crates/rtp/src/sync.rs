//! Lip sync: how far video lags audio at the receiver, from the NTP/RTP timestamp pairs of
//! RTCP sender reports (RFC 3550 section 6.4.1).
//!
//! A sender report ties a stream's RTP clock to the sender's wall clock, and both streams of
//! one sender share that wall clock. So the capture time of whatever the receiver plays or
//! shows is known on the sender's clock; comparing the capture-to-render delay of the two
//! streams gives the skew, whatever the offset between the two machines' clocks.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use sotto_rtp::sync::{AvSync, MediaKind};
//!
//! let mut sync = AvSync::new();
//! // Both reports taken at the same sender instant (NTP 1000 s).
//! sync.on_sender_report(MediaKind::Audio, 1000 << 32, 48_000);
//! sync.on_sender_report(MediaKind::Video, 1000 << 32, 90_000);
//! let t = Instant::now();
//! // Audio captured at 1001 s plays at t; video captured at 1001 s shows 80 ms later.
//! sync.on_rendered(MediaKind::Audio, 96_000, t);
//! sync.on_rendered(MediaKind::Video, 180_000, t + Duration::from_millis(80));
//! assert!((sync.skew_ms().unwrap() - 80.0).abs() < 1e-6);
//! ```

use std::time::Instant;

/// RTP clock rate of Opus audio (RFC 7587: always 48 kHz).
pub const AUDIO_CLOCK_RATE_HZ: u32 = 48_000;
/// RTP clock rate of video (H.264, RFC 6184).
pub const VIDEO_CLOCK_RATE_HZ: u32 = 90_000;

/// Which of the two streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// The audio stream.
    Audio,
    /// The video stream.
    Video,
}

/// One stream's latest sender report and latest render.
#[derive(Clone, Copy, Debug)]
struct Stream {
    clock_rate_hz: u32,
    /// (NTP timestamp, RTP timestamp) of the latest sender report.
    report: Option<(u64, u32)>,
    /// (RTP timestamp, when) of the latest media played or shown.
    rendered: Option<(u32, Instant)>,
}

impl Stream {
    fn new(clock_rate_hz: u32) -> Self {
        Stream {
            clock_rate_hz: clock_rate_hz.max(1),
            report: None,
            rendered: None,
        }
    }

    /// The capture time of the last rendered media, in NTP units (2^-32 s) on the sender's
    /// clock, and when it was rendered.
    fn capture_and_render(&self) -> Option<(i128, Instant)> {
        let (ntp, report_rtp) = self.report?;
        let (rtp, when) = self.rendered?;
        // The nearest reading across a wrap: reports come every few seconds, far less than
        // the 2^31 ticks (6.6 h at 90 kHz) that would make this ambiguous.
        let ticks = i128::from(rtp.wrapping_sub(report_rtp) as i32);
        let offset = (ticks << 32) / i128::from(self.clock_rate_hz);
        Some((i128::from(ntp) + offset, when))
    }
}

/// Measures audio/video skew at the receiver. Feed it every sender report of both streams and
/// what the playout and the renderer present, then read [`AvSync::skew_ms`].
#[derive(Clone, Debug)]
pub struct AvSync {
    audio: Stream,
    video: Stream,
}

impl Default for AvSync {
    fn default() -> Self {
        Self::new()
    }
}

impl AvSync {
    /// For 48 kHz audio and 90 kHz video.
    pub fn new() -> Self {
        Self::with_clock_rates(AUDIO_CLOCK_RATE_HZ, VIDEO_CLOCK_RATE_HZ)
    }

    /// For other RTP clock rates (a rate of 0 is taken as 1).
    pub fn with_clock_rates(audio_clock_rate_hz: u32, video_clock_rate_hz: u32) -> Self {
        AvSync {
            audio: Stream::new(audio_clock_rate_hz),
            video: Stream::new(video_clock_rate_hz),
        }
    }

    fn stream(&mut self, kind: MediaKind) -> &mut Stream {
        match kind {
            MediaKind::Audio => &mut self.audio,
            MediaKind::Video => &mut self.video,
        }
    }

    /// A sender report of stream `kind` arrived: its NTP timestamp (64-bit, 32.32 seconds)
    /// and the RTP timestamp of the same instant. The latest one is used.
    pub fn on_sender_report(&mut self, kind: MediaKind, ntp_timestamp: u64, rtp_timestamp: u32) {
        self.stream(kind).report = Some((ntp_timestamp, rtp_timestamp));
    }

    /// Media of stream `kind` with RTP timestamp `rtp_timestamp` was played (audio) or shown
    /// (video) at `now`.
    pub fn on_rendered(&mut self, kind: MediaKind, rtp_timestamp: u32, now: Instant) {
        self.stream(kind).rendered = Some((rtp_timestamp, now));
    }

    /// Video's delay from capture to screen minus audio's delay from capture to speaker, in
    /// milliseconds: positive when video lags audio. `None` until both streams have had a
    /// sender report and a render.
    pub fn skew_ms(&self) -> Option<f64> {
        let (video_capture, video_render) = self.video.capture_and_render()?;
        let (audio_capture, audio_render) = self.audio.capture_and_render()?;
        let render_s = if video_render >= audio_render {
            video_render.duration_since(audio_render).as_secs_f64()
        } else {
            -audio_render.duration_since(video_render).as_secs_f64()
        };
        let capture_s = (video_capture - audio_capture) as f64 / 4_294_967_296.0;
        Some((render_s - capture_s) * 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::testing::base;

    /// An NTP timestamp of `secs` seconds and `ms` milliseconds.
    fn ntp(secs: u64, ms: u64) -> u64 {
        (secs << 32) + (ms << 32) / 1000
    }

    #[test]
    fn nothing_until_both_streams_have_report_and_render() {
        let t = base();
        let mut s = AvSync::new();
        assert_eq!(s.skew_ms(), None);
        s.on_sender_report(MediaKind::Audio, ntp(5, 0), 0);
        s.on_rendered(MediaKind::Audio, 0, t);
        s.on_sender_report(MediaKind::Video, ntp(5, 0), 0);
        assert_eq!(s.skew_ms(), None);
        s.on_rendered(MediaKind::Video, 0, t);
        assert_eq!(s.skew_ms(), Some(0.0));
    }

    #[test]
    fn known_skew_comes_out_whichever_stream_lags() {
        let t = base();
        let mut s = AvSync::new();
        // Reports at different sender instants and unrelated RTP offsets.
        s.on_sender_report(MediaKind::Audio, ntp(3_900_000_000, 250), 123_456);
        s.on_sender_report(MediaKind::Video, ntp(3_900_000_000, 700), u32::MAX - 20_000);
        // Audio captured 1 s after its report, played 150 ms after capture (receiver time).
        s.on_rendered(
            MediaKind::Audio,
            123_456 + 48_000,
            t + Duration::from_millis(150),
        );
        // Video captured 600 ms after its report (across the RTP wrap): 50 ms after the
        // audio above, shown 90 ms after it. Video lags by 40 ms.
        s.on_rendered(
            MediaKind::Video,
            (u32::MAX - 20_000).wrapping_add(54_000),
            t + Duration::from_millis(240),
        );
        let skew = s.skew_ms().unwrap();
        assert!((skew - 40.0).abs() < 1e-3, "{skew}");

        // The same frame shown 70 ms before the audio: video leads by 120 ms.
        s.on_rendered(
            MediaKind::Video,
            (u32::MAX - 20_000).wrapping_add(54_000),
            t + Duration::from_millis(80),
        );
        let skew = s.skew_ms().unwrap();
        assert!((skew + 120.0).abs() < 1e-3, "{skew}");
    }

    #[test]
    fn rtp_wrap_between_report_and_render() {
        let t = base();
        let mut s = AvSync::new();
        // Video's report just before the 32-bit wrap, the frame shown just after it.
        s.on_sender_report(MediaKind::Video, ntp(100, 0), u32::MAX - 8_999);
        s.on_sender_report(MediaKind::Audio, ntp(100, 0), 10);
        // 20_000 ticks after the report: 222.2 ms.
        s.on_rendered(MediaKind::Video, 11_000, t);
        // Audio captured at the same 222.2 ms (10_666.67 ticks) rendered at the same moment.
        s.on_rendered(MediaKind::Audio, 10 + 10_667, t);
        let skew = s.skew_ms().unwrap();
        // One audio tick of rounding: 1/48 ms.
        assert!(skew.abs() < 0.03, "{skew}");
        // A render from before the report (reordered report) still places right.
        s.on_rendered(MediaKind::Video, u32::MAX - 8_999 - 9_000, t);
        let skew = s.skew_ms().unwrap();
        assert!((skew - (100.0 + 222.2222)).abs() < 0.05, "{skew}");
    }
}
