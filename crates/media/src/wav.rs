//! WAV file source and sink: the file twins of capture and playback devices.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use crate::resample::Resampler;
use crate::{AudioSink, AudioSource, Error, SAMPLE_RATE_HZ};

/// Frames read from the file per refill.
const BLOCK_FRAMES: usize = 1024;
/// More channels than this is not a voice recording; refuse rather than guess a layout.
const MAX_CHANNELS: u16 = 32;

fn map_hound(path: &Path, err: hound::Error) -> Error {
    match err {
        hound::Error::IoError(source) => Error::Io {
            path: path.to_path_buf(),
            source,
        },
        hound::Error::FormatError(reason) => Error::Wav {
            path: path.to_path_buf(),
            reason: reason.to_owned(),
        },
        hound::Error::Unsupported => Error::Wav {
            path: path.to_path_buf(),
            reason: "compressed or otherwise unsupported sample encoding".to_owned(),
        },
        other => Error::Wav {
            path: path.to_path_buf(),
            reason: other.to_string(),
        },
    }
}

/// How samples are stored in the file, and how to bring them to i16.
#[derive(Debug, Clone, Copy)]
enum Encoding {
    /// Integer samples of at most 16 bits, shifted up to 16 (hound yields them unscaled).
    Int16 {
        shift: u16,
    },
    /// Integer samples of 17..=32 bits, shifted down to 16.
    Int32 {
        shift: u16,
    },
    Float32,
}

/// Reads a WAV file of any rate and channel count as 48 kHz mono: channels are averaged and
/// the rate converted with [`Resampler`]. Ends (a short `read`) at the end of the file.
pub struct WavSource {
    path: PathBuf,
    reader: hound::WavReader<BufReader<File>>,
    encoding: Encoding,
    channels: usize,
    resampler: Resampler,
    mono: Box<[i16]>,
    mono_pos: usize,
    mono_len: usize,
    input_done: bool,
    drained: bool,
    /// Output samples still owed: the file's duration at 48 kHz, so the resampler's drain
    /// padding never lengthens the stream.
    remaining: u64,
}

impl std::fmt::Debug for WavSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSource")
            .field("path", &self.path)
            .field("channels", &self.channels)
            .field("resampler", &self.resampler)
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

impl WavSource {
    /// Opens `path`; fails with [`Error::Io`] if it cannot be read and [`Error::Wav`] if it is
    /// not a PCM or float WAV file.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let reader = hound::WavReader::open(path).map_err(|e| map_hound(path, e))?;
        let spec = reader.spec();
        let wav_err = |reason: String| Error::Wav {
            path: path.to_path_buf(),
            reason,
        };
        let encoding = match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Int, bits @ 1..=16) => Encoding::Int16 { shift: 16 - bits },
            (hound::SampleFormat::Int, bits @ 17..=32) => Encoding::Int32 { shift: bits - 16 },
            (hound::SampleFormat::Float, 32) => Encoding::Float32,
            (format, bits) => {
                return Err(wav_err(format!(
                    "{bits}-bit {format:?} samples are not supported"
                )))
            }
        };
        if spec.channels == 0 || spec.channels > MAX_CHANNELS {
            return Err(wav_err(format!("{} channels", spec.channels)));
        }
        let resampler = Resampler::new(spec.sample_rate, SAMPLE_RATE_HZ)
            .map_err(|_| wav_err(format!("sample rate {} Hz", spec.sample_rate)))?;
        let frames = u64::from(reader.duration());
        let rate = u64::from(spec.sample_rate);
        let remaining = (frames * u64::from(SAMPLE_RATE_HZ)).div_ceil(rate);
        let mono_cap = BLOCK_FRAMES.max(resampler.lookahead_samples());
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            encoding,
            channels: usize::from(spec.channels),
            resampler,
            mono: vec![0; mono_cap].into_boxed_slice(),
            mono_pos: 0,
            mono_len: 0,
            input_done: false,
            drained: false,
            remaining,
        })
    }

    /// Refills `mono` with downmixed frames; at the end of the file, with the zeros that drain
    /// the resampler, once.
    fn refill(&mut self) -> Result<(), Error> {
        self.mono_pos = 0;
        self.mono_len = 0;
        if self.input_done {
            if !self.drained {
                self.drained = true;
                self.mono_len = self.resampler.lookahead_samples();
                self.mono[..self.mono_len].fill(0);
            }
            return Ok(());
        }
        let frames = match self.encoding {
            Encoding::Int16 { shift } => read_frames(
                &mut self.reader,
                self.channels,
                &mut self.mono[..BLOCK_FRAMES],
                |s: i16| i32::from(s) << shift,
            ),
            Encoding::Int32 { shift } => read_frames(
                &mut self.reader,
                self.channels,
                &mut self.mono[..BLOCK_FRAMES],
                |s: i32| s >> shift,
            ),
            Encoding::Float32 => read_frames(
                &mut self.reader,
                self.channels,
                &mut self.mono[..BLOCK_FRAMES],
                |s: f32| (s * 32767.0).round() as i32,
            ),
        }
        .map_err(|e| map_hound(&self.path, e))?;
        self.mono_len = frames;
        if frames < BLOCK_FRAMES {
            self.input_done = true;
        }
        Ok(())
    }
}

/// Reads up to `mono.len()` frames, averaging channels; returns the frames read.
fn read_frames<S: hound::Sample>(
    reader: &mut hound::WavReader<BufReader<File>>,
    channels: usize,
    mono: &mut [i16],
    to_i32: impl Fn(S) -> i32,
) -> Result<usize, hound::Error> {
    let mut samples = reader.samples::<S>();
    let divisor = i32::try_from(channels).unwrap_or(i32::MAX);
    for (frames, slot) in mono.iter_mut().enumerate() {
        let mut sum = 0i32;
        for _ in 0..channels {
            match samples.next() {
                Some(s) => sum = sum.saturating_add(to_i32(s?)),
                // A partial last frame is dropped, as players do.
                None => return Ok(frames),
            }
        }
        *slot = (sum / divisor).clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
    }
    Ok(mono.len())
}

impl AudioSource for WavSource {
    fn read(&mut self, out: &mut [i16]) -> Result<usize, Error> {
        let mut written = 0;
        while written < out.len() && self.remaining > 0 {
            if self.mono_pos == self.mono_len && !self.drained {
                self.refill()?;
                continue;
            }
            let room =
                (out.len() - written).min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
            // Once drained, calls with no input still empty what the resampler has buffered.
            let (consumed, produced) = self.resampler.process_rt(
                &self.mono[self.mono_pos..self.mono_len],
                &mut out[written..written + room],
            );
            self.mono_pos += consumed;
            written += produced;
            self.remaining -= produced as u64;
            if consumed == 0 && produced == 0 {
                break;
            }
        }
        Ok(written)
    }
}

/// Writes 48 kHz mono 16-bit PCM WAV. The header is completed by [`AudioSink::finish`] (or on
/// drop, where an error can no longer be reported).
pub struct WavSink {
    path: PathBuf,
    writer: Option<hound::WavWriter<BufWriter<File>>>,
}

impl std::fmt::Debug for WavSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSink")
            .field("path", &self.path)
            .field("finished", &self.writer.is_none())
            .finish_non_exhaustive()
    }
}

impl WavSink {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path) -> Result<Self, Error> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: SAMPLE_RATE_HZ,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(path, spec).map_err(|e| map_hound(path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            writer: Some(writer),
        })
    }

    fn finished(&self) -> Error {
        Error::Wav {
            path: self.path.clone(),
            reason: "written to after finish".to_owned(),
        }
    }
}

impl AudioSink for WavSink {
    fn write(&mut self, samples: &[i16]) -> Result<(), Error> {
        let Some(writer) = self.writer.as_mut() else {
            return Err(self.finished());
        };
        for &s in samples {
            writer
                .write_sample(s)
                .map_err(|e| map_hound(&self.path, e))?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), Error> {
        match self.writer.take() {
            Some(writer) => writer.finalize().map_err(|e| map_hound(&self.path, e)),
            None => Ok(()),
        }
    }
}
