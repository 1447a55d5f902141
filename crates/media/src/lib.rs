//! Media for sotto: where samples and pictures come from and where they go, and the codecs
//! (Opus for audio; video lives in [`video`]).
//!
//! Inside sotto all audio is signed 16-bit mono at [`SAMPLE_RATE_HZ`]. Everything at another
//! rate or channel count is converted at the edge: [`WavSource`] downmixes and resamples files,
//! and the device streams in [`devices`] convert in their callbacks without allocating.
//!
//! Every device has a twin that needs no hardware: [`WavSource`], [`ToneSource`] and
//! [`SilenceSource`] for capture, [`WavSink`] and [`NullSink`] for playback. These twins do not
//! pace themselves; the engine reads and writes them on its own clock, one frame at a time:
//!
//! ```no_run
//! use sotto_media::{AudioSink, AudioSource, OpusDecoder, OpusEncoder, ToneSource, WavSink};
//! # fn main() -> Result<(), sotto_media::Error> {
//! let mut source = ToneSource::new(440.0, 0.3);
//! let mut sink = WavSink::create(std::path::Path::new("out.wav"))?;
//! let mut encoder = OpusEncoder::new(20, 32_000)?;
//! let mut decoder = OpusDecoder::new()?;
//! let mut pcm = vec![0i16; encoder.frame_samples()];
//! let mut packet = [0u8; 1500];
//! for _ in 0..50 {
//!     // In a call, the encoder thread waits for the next 20 ms tick here.
//!     source.read(&mut pcm)?;
//!     let len = encoder.encode(&pcm, &mut packet)?;
//!     let n = decoder.decode(&packet[..len], &mut pcm)?;
//!     sink.write(&pcm[..n])?;
//! }
//! sink.finish()?;
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

use std::path::PathBuf;
use std::str::FromStr;

pub mod devices;
mod error;
mod opus;
mod resample;
mod synth;
pub mod video;
mod wav;

pub use crate::opus::{lookahead_samples, OpusDecoder, OpusEncoder, DEFAULT_COMPLEXITY};
pub use devices::{list_devices, CaptureStream, DeviceInfo, PlaybackStream};
pub use error::Error;
pub use resample::Resampler;
pub use synth::{NullSink, SilenceSource, ToneSource};
pub use video::{VideoFrame, VideoInput, VideoOutput, VideoSink, VideoSource};
pub use wav::{WavSink, WavSource};

/// The one sample rate used inside sotto.
pub const SAMPLE_RATE_HZ: u32 = 48_000;

/// A pull source of 48 kHz mono samples.
pub trait AudioSource: Send {
    /// Fills `out` and returns how many samples it wrote; fewer than `out.len()` only at the
    /// end of the input (a file). Synthetic sources never end.
    fn read(&mut self, out: &mut [i16]) -> Result<usize, Error>;
}

/// A push sink of 48 kHz mono samples.
pub trait AudioSink: Send {
    /// Accepts `samples`.
    fn write(&mut self, samples: &[i16]) -> Result<(), Error>;
    /// Flushes and closes the sink (a file gets its final header); writing afterwards fails.
    fn finish(&mut self) -> Result<(), Error>;
}

/// Where call audio comes from, as given on the command line:
/// `default`, `none`, `tone` or a path to a WAV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioInput {
    /// The system's default capture device.
    Default,
    /// Silence.
    None,
    /// A synthetic tone.
    Tone,
    /// A WAV file, played once.
    File(PathBuf),
}

/// Where received audio goes, as given on the command line: `default`, `none` or a path to a
/// WAV file to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioOutput {
    /// The system's default playback device.
    Default,
    /// Discarded.
    None,
    /// A WAV file, 48 kHz mono 16-bit.
    File(PathBuf),
}

impl FromStr for AudioInput {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "default" => Ok(Self::Default),
            "none" => Ok(Self::None),
            "tone" => Ok(Self::Tone),
            "" => Err(Error::InvalidSpec {
                kind: "input",
                spec: s.to_owned(),
                expected: "default, none, tone or FILE.wav",
            }),
            path => Ok(Self::File(PathBuf::from(path))),
        }
    }
}

impl FromStr for AudioOutput {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "default" => Ok(Self::Default),
            "none" => Ok(Self::None),
            "" => Err(Error::InvalidSpec {
                kind: "output",
                spec: s.to_owned(),
                expected: "default, none or FILE.wav",
            }),
            path => Ok(Self::File(PathBuf::from(path))),
        }
    }
}

#[cfg(test)]
#[global_allocator]
static ALLOC: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;
