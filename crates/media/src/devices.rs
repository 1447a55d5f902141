//! Capture and playback through the system's audio devices (cpal).
//!
//! The device callbacks run on the audio thread and only convert samples and hand them to the
//! caller's `*_rt` closure, which is expected to touch nothing but lock-free rings. Conversion
//! (sample format, channel count, rate to and from 48 kHz) uses buffers sized when the stream
//! opens, so the callbacks never allocate, lock, log or panic. Device errors are counted in an
//! atomic rather than reported from the audio thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample, StreamConfig, SupportedStreamConfig};

use crate::resample::Resampler;
use crate::{Error, SAMPLE_RATE_HZ};

/// Device frames converted per pass; callbacks delivering more are processed in pieces.
const CHUNK_FRAMES: usize = 1024;
/// Most 48 kHz samples pulled from the caller at once during playback.
const PULL_SAMPLES: usize = 960;
/// How long to wait for a backend to start a stream.
const OPEN_TIMEOUT: Duration = Duration::from_secs(2);

/// One audio device as the system reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The name to pass to [`CaptureStream::open`] or [`PlaybackStream::open`].
    pub name: String,
    /// Whether it can capture.
    pub input: bool,
    /// Whether it can play.
    pub output: bool,
    /// Its default sample rate (of capture if it can capture, else of playback), if known.
    pub default_sample_rate_hz: Option<u32>,
    /// Its default channel count, from the same configuration.
    pub default_channels: Option<u16>,
}

/// Lists the devices of the default audio host. A machine without a sound card gives an empty
/// list (or only virtual devices), not an error.
pub fn list_devices() -> Result<Vec<DeviceInfo>, Error> {
    let host = cpal::default_host();
    let devices = host
        .devices()
        .map_err(|e| Error::Device(format!("cannot enumerate devices: {e}")))?;
    let mut list = Vec::new();
    for device in devices {
        let input = device.supports_input();
        let output = device.supports_output();
        if !input && !output {
            continue;
        }
        let default = if input {
            device.default_input_config()
        } else {
            device.default_output_config()
        }
        .ok();
        list.push(DeviceInfo {
            name: device.to_string(),
            input,
            output,
            default_sample_rate_hz: default.as_ref().map(|c| c.sample_rate()),
            default_channels: default.as_ref().map(|c| c.channels()),
        });
    }
    Ok(list)
}

fn find_device(name: Option<&str>, input: bool) -> Result<cpal::Device, Error> {
    let host = cpal::default_host();
    let Some(name) = name else {
        let device = if input {
            host.default_input_device()
        } else {
            host.default_output_device()
        };
        return device.ok_or(Error::NoDefaultDevice(if input {
            "input"
        } else {
            "output"
        }));
    };
    let devices = host
        .devices()
        .map_err(|e| Error::Device(format!("cannot enumerate devices: {e}")))?;
    for device in devices {
        let usable = if input {
            device.supports_input()
        } else {
            device.supports_output()
        };
        if usable && device.to_string() == name {
            return Ok(device);
        }
    }
    Err(Error::NoSuchDevice(name.to_owned()))
}

/// The device's default configuration, moved to 48 kHz when the device also offers that rate
/// with the same format and channels, which spares the resampler.
fn choose_config(device: &cpal::Device, input: bool) -> Result<SupportedStreamConfig, Error> {
    let device_err = |e: cpal::Error| Error::Device(e.to_string());
    let default = if input {
        device.default_input_config()
    } else {
        device.default_output_config()
    }
    .map_err(device_err)?;
    if default.sample_rate() == SAMPLE_RATE_HZ {
        return Ok(default);
    }
    let ranges: Vec<_> = if input {
        device
            .supported_input_configs()
            .map_err(device_err)?
            .collect()
    } else {
        device
            .supported_output_configs()
            .map_err(device_err)?
            .collect()
    };
    Ok(ranges
        .into_iter()
        .filter(|r| {
            r.sample_format() == default.sample_format() && r.channels() == default.channels()
        })
        .find_map(|r| r.try_with_sample_rate(SAMPLE_RATE_HZ))
        .unwrap_or(default))
}

/// Converts interleaved device frames at any rate to 48 kHz mono.
#[derive(Debug)]
pub(crate) struct CaptureConverter {
    channels: usize,
    resampler: Resampler,
    mono: Box<[i16]>,
    out: Box<[i16]>,
}

impl CaptureConverter {
    pub(crate) fn new(device_rate_hz: u32, channels: u16) -> Result<Self, Error> {
        if channels == 0 {
            return Err(Error::Device("device reports zero channels".to_owned()));
        }
        let resampler = Resampler::new(device_rate_hz, SAMPLE_RATE_HZ)?;
        let out_len = resampler.max_output_len(CHUNK_FRAMES);
        Ok(Self {
            channels: usize::from(channels),
            resampler,
            mono: vec![0; CHUNK_FRAMES].into_boxed_slice(),
            out: vec![0; out_len].into_boxed_slice(),
        })
    }

    /// Downmixes and resamples `data`, handing 48 kHz mono pieces to `deliver_rt`.
    pub(crate) fn process_rt<T>(&mut self, data: &[T], deliver_rt: &mut impl FnMut(&[i16]))
    where
        T: Copy,
        i16: FromSample<T>,
    {
        let divisor = self.channels as i32;
        for chunk in data.chunks(CHUNK_FRAMES * self.channels) {
            let mut frames = 0;
            for (slot, frame) in self.mono.iter_mut().zip(chunk.chunks_exact(self.channels)) {
                let sum: i32 = frame.iter().map(|&s| i32::from(i16::from_sample_(s))).sum();
                *slot = (sum / divisor) as i16;
                frames += 1;
            }
            // `out` holds everything one chunk can produce, so one pass consumes the chunk;
            // the bound only guards against a miscount.
            let mut pos = 0;
            for _ in 0..4 {
                if pos == frames {
                    break;
                }
                let (consumed, produced) = self
                    .resampler
                    .process_rt(&self.mono[pos..frames], &mut self.out);
                pos += consumed;
                if produced > 0 {
                    deliver_rt(&self.out[..produced]);
                }
            }
        }
    }
}

/// Pulls 48 kHz mono from the caller and fills interleaved device frames at any rate.
#[derive(Debug)]
pub(crate) struct PlaybackConverter {
    channels: usize,
    device_rate_hz: u32,
    resampler: Resampler,
    src: Box<[i16]>,
    src_pos: usize,
    src_len: usize,
    fifo: Box<[i16]>,
    fifo_pos: usize,
    fifo_len: usize,
}

impl PlaybackConverter {
    pub(crate) fn new(device_rate_hz: u32, channels: u16) -> Result<Self, Error> {
        if channels == 0 {
            return Err(Error::Device("device reports zero channels".to_owned()));
        }
        let resampler = Resampler::new(SAMPLE_RATE_HZ, device_rate_hz)?;
        let fifo_len = resampler.max_output_len(PULL_SAMPLES);
        Ok(Self {
            channels: usize::from(channels),
            device_rate_hz,
            resampler,
            src: vec![0; PULL_SAMPLES].into_boxed_slice(),
            src_pos: 0,
            src_len: 0,
            fifo: vec![0; fifo_len].into_boxed_slice(),
            fifo_pos: 0,
            fifo_len: 0,
        })
    }

    /// Fills `data` with frames made from samples pulled through `fill_rt`. Pulls only about
    /// as much as the callback needs, so the converter adds little latency.
    pub(crate) fn process_rt<T>(&mut self, data: &mut [T], fill_rt: &mut impl FnMut(&mut [i16]))
    where
        T: Copy + FromSample<i16>,
    {
        let frames = data.len() / self.channels;
        // Each refill yields at least one sample once the resampler is primed; the bound
        // only guards against a miscount, and anything left then is played as silence.
        let mut refills_left = 2 * frames + 16;
        for (done, frame) in data.chunks_mut(self.channels).enumerate() {
            while self.fifo_pos == self.fifo_len && refills_left > 0 {
                refills_left -= 1;
                if self.src_pos == self.src_len {
                    let wanted = ((frames - done) as u64 * u64::from(SAMPLE_RATE_HZ))
                        .div_ceil(u64::from(self.device_rate_hz));
                    let n = (wanted as usize).clamp(1, PULL_SAMPLES);
                    fill_rt(&mut self.src[..n]);
                    self.src_pos = 0;
                    self.src_len = n;
                }
                let (consumed, produced) = self
                    .resampler
                    .process_rt(&self.src[self.src_pos..self.src_len], &mut self.fifo);
                self.src_pos += consumed;
                self.fifo_pos = 0;
                self.fifo_len = produced;
            }
            let sample = if self.fifo_pos < self.fifo_len {
                self.fifo_pos += 1;
                self.fifo[self.fifo_pos - 1]
            } else {
                0
            };
            frame.fill(T::from_sample_(sample));
        }
    }
}

fn stream_config(config: &SupportedStreamConfig) -> StreamConfig {
    StreamConfig {
        channels: config.channels(),
        sample_rate: config.sample_rate(),
        buffer_size: cpal::BufferSize::Default,
    }
}

fn error_counter(errors: &Arc<AtomicU64>) -> impl FnMut(cpal::Error) + Send + 'static {
    let errors = Arc::clone(errors);
    move |_| {
        errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// Builds a stream with `$build::<T>($args)` for the device's sample format `T`, or fails
/// with [`Error::UnsupportedDeviceFormat`].
macro_rules! build_for_format {
    ($format:expr, $build:ident($($arg:expr),* $(,)?)) => {
        match $format {
            SampleFormat::I16 => $build::<i16>($($arg),*),
            SampleFormat::I32 => $build::<i32>($($arg),*),
            SampleFormat::U16 => $build::<u16>($($arg),*),
            SampleFormat::U8 => $build::<u8>($($arg),*),
            SampleFormat::I8 => $build::<i8>($($arg),*),
            SampleFormat::F32 => $build::<f32>($($arg),*),
            SampleFormat::F64 => $build::<f64>($($arg),*),
            other => Err(Error::UnsupportedDeviceFormat(other.to_string())),
        }
    };
}

/// A started cpal stream and what the capture and playback streams report about it.
struct DeviceStream {
    _stream: cpal::Stream,
    device_rate_hz: u32,
    device_channels: u16,
    errors: Arc<AtomicU64>,
}

impl DeviceStream {
    /// Finds the named device (`None`: the default one) for capture (`input`) or playback,
    /// chooses its configuration, builds the stream with `build` and starts it.
    fn open(
        device: Option<&str>,
        input: bool,
        build: impl FnOnce(
            &cpal::Device,
            &SupportedStreamConfig,
            &Arc<AtomicU64>,
        ) -> Result<cpal::Stream, Error>,
    ) -> Result<Self, Error> {
        let dev = find_device(device, input)?;
        // Found is not usable: ALSA names a "default" device even with no sound card.
        let unavailable = |e: Error| match e {
            Error::Device(reason) => Error::DeviceUnavailable {
                direction: if input { "input" } else { "output" },
                name: device.unwrap_or("default").to_owned(),
                reason,
            },
            other => other,
        };
        let config = choose_config(&dev, input).map_err(unavailable)?;
        let errors = Arc::new(AtomicU64::new(0));
        let stream = build(&dev, &config, &errors).map_err(unavailable)?;
        stream
            .play()
            .map_err(|e| unavailable(Error::Device(e.to_string())))?;
        Ok(Self {
            _stream: stream,
            device_rate_hz: config.sample_rate(),
            device_channels: config.channels(),
            errors,
        })
    }
}

/// `Debug` and the device getters of a public stream type wrapping a [`DeviceStream`] in
/// `inner`, with the getters' docs given per type.
macro_rules! device_stream_accessors {
    ($name:ident, rate: $rate_doc:literal, channels: $channels_doc:literal, errors: $errors_doc:literal) => {
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("device_rate_hz", &self.inner.device_rate_hz)
                    .field("device_channels", &self.inner.device_channels)
                    .finish_non_exhaustive()
            }
        }

        impl $name {
            #[doc = $rate_doc]
            pub fn device_rate_hz(&self) -> u32 {
                self.inner.device_rate_hz
            }

            #[doc = $channels_doc]
            pub fn device_channels(&self) -> u16 {
                self.inner.device_channels
            }

            #[doc = $errors_doc]
            pub fn error_count(&self) -> u64 {
                self.inner.errors.load(Ordering::Relaxed)
            }
        }
    };
}

/// A running capture stream delivering 48 kHz mono; capture stops when it is dropped.
pub struct CaptureStream {
    inner: DeviceStream,
}

device_stream_accessors!(
    CaptureStream,
    rate: "The rate the device runs at (converted to 48 kHz before delivery).",
    channels: "The device's channel count (averaged to mono before delivery).",
    errors: "Stream errors the device reported so far (overruns, disconnection)."
);

impl CaptureStream {
    /// Opens the named capture device (`None`: the default one) and starts it. `on_samples_rt`
    /// runs on the audio thread with each piece of 48 kHz mono audio and must not allocate,
    /// lock or block: push into a lock-free ring and return.
    pub fn open(
        device: Option<&str>,
        on_samples_rt: impl FnMut(&[i16]) + Send + 'static,
    ) -> Result<Self, Error> {
        let inner = DeviceStream::open(device, true, |dev, config, errors| {
            let converter = CaptureConverter::new(config.sample_rate(), config.channels())?;
            build_for_format!(
                config.sample_format(),
                build_capture(dev, config, converter, on_samples_rt, errors)
            )
        })?;
        Ok(Self { inner })
    }
}

fn build_capture<T>(
    device: &cpal::Device,
    config: &SupportedStreamConfig,
    mut converter: CaptureConverter,
    mut on_samples_rt: impl FnMut(&[i16]) + Send + 'static,
    errors: &Arc<AtomicU64>,
) -> Result<cpal::Stream, Error>
where
    T: SizedSample,
    i16: FromSample<T>,
{
    device
        .build_input_stream::<T, _, _>(
            stream_config(config),
            move |data, _| converter.process_rt(data, &mut on_samples_rt),
            error_counter(errors),
            Some(OPEN_TIMEOUT),
        )
        .map_err(|e| Error::Device(e.to_string()))
}

/// A running playback stream pulling 48 kHz mono; playback stops when it is dropped.
pub struct PlaybackStream {
    inner: DeviceStream,
}

device_stream_accessors!(
    PlaybackStream,
    rate: "The rate the device runs at (converted from 48 kHz in the callback).",
    channels: "The device's channel count (the mono signal is copied to each).",
    errors: "Stream errors the device reported so far (underruns, disconnection)."
);

impl PlaybackStream {
    /// Opens the named playback device (`None`: the default one) and starts it. `fill_rt` runs
    /// on the audio thread and must fill the whole slice with 48 kHz mono without allocating,
    /// locking or blocking: pop from a lock-free ring and play silence on underrun.
    pub fn open(
        device: Option<&str>,
        fill_rt: impl FnMut(&mut [i16]) + Send + 'static,
    ) -> Result<Self, Error> {
        let inner = DeviceStream::open(device, false, |dev, config, errors| {
            let converter = PlaybackConverter::new(config.sample_rate(), config.channels())?;
            build_for_format!(
                config.sample_format(),
                build_playback(dev, config, converter, fill_rt, errors)
            )
        })?;
        Ok(Self { inner })
    }
}

fn build_playback<T>(
    device: &cpal::Device,
    config: &SupportedStreamConfig,
    mut converter: PlaybackConverter,
    mut fill_rt: impl FnMut(&mut [i16]) + Send + 'static,
    errors: &Arc<AtomicU64>,
) -> Result<cpal::Stream, Error>
where
    T: SizedSample + FromSample<i16>,
{
    device
        .build_output_stream::<T, _, _>(
            stream_config(config),
            move |data, _| converter.process_rt(data, &mut fill_rt),
            error_counter(errors),
            Some(OPEN_TIMEOUT),
        )
        .map_err(|e| Error::Device(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resample::tests::tone;
    use sotto_testkit::goertzel::energy_fraction;

    #[test]
    fn capture_converts_stereo_float_44k1_to_48k_mono_without_allocating() {
        let mono = tone(44_100, 1000.0, 44_100);
        // Left carries the tone, right its negative half: the average is half the tone.
        let interleaved: Vec<f32> = mono
            .iter()
            .flat_map(|&s| {
                let v = f32::from(s) / 32768.0;
                [v * 1.5, v * -0.5]
            })
            .collect();
        let mut conv = CaptureConverter::new(44_100, 2).unwrap();
        let mut out = vec![0i16; 0];
        out.reserve(96_000);
        // Callback sizes as backends deliver them, including odd and oversized ones.
        let mut rest: &[f32] = &interleaved;
        assert_no_alloc::assert_no_alloc(|| {
            for frames in [441usize, 1, 512, 4096, 3000].iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let n = (frames * 2).min(rest.len());
                conv.process_rt(&rest[..n], &mut |s: &[i16]| {
                    let room = out.capacity() - out.len();
                    out.extend_from_slice(&s[..s.len().min(room)]);
                });
                rest = &rest[n..];
            }
        });
        assert!(
            (47_900..=48_000).contains(&out.len()),
            "{} samples",
            out.len()
        );
        let window = &out[4800..9600];
        assert!(energy_fraction(window, 48_000, 1000.0) > 0.98);
        let peak = window.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!((4900..=5100).contains(&peak), "peak {peak}");
    }

    #[test]
    fn playback_fills_44k1_stereo_from_48k_mono_without_allocating() {
        let source = tone(48_000, 1000.0, 96_000);
        let mut pos = 0;
        let mut pulled = 0;
        let mut fill = |buf: &mut [i16]| {
            let n = buf.len().min(source.len() - pos);
            buf[..n].copy_from_slice(&source[pos..pos + n]);
            buf[n..].fill(0);
            pos += n;
            pulled += buf.len();
        };
        let mut conv = PlaybackConverter::new(44_100, 2).unwrap();
        let mut device = vec![0i16; 2 * 44_100];
        assert_no_alloc::assert_no_alloc(|| {
            let mut rest: &mut [i16] = &mut device;
            for frames in [441usize, 1, 512, 4096, 3000].iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let n = (frames * 2).min(rest.len());
                let (now, later) = rest.split_at_mut(n);
                conv.process_rt(now, &mut fill);
                rest = later;
            }
        });
        // One second played pulls about one second, give or take the filter's lookahead.
        assert!((48_000..48_000 + 960).contains(&pulled), "pulled {pulled}");
        let left: Vec<i16> = device.chunks_exact(2).map(|f| f[0]).collect();
        assert!(device.chunks_exact(2).all(|f| f[0] == f[1]));
        assert!(energy_fraction(&left[4410..8820], 44_100, 1000.0) > 0.98);
    }

    #[test]
    fn playback_at_48k_pulls_exactly_what_the_device_asks() {
        let mut requests = Vec::new();
        let mut conv = PlaybackConverter::new(48_000, 1).unwrap();
        let mut device = vec![0f32; 480];
        conv.process_rt(&mut device, &mut |buf: &mut [i16]| {
            requests.push(buf.len());
            buf.fill(16384);
        });
        assert_eq!(requests, [480]);
        assert!(device.iter().all(|&s| (s - 0.5).abs() < 1e-6));
    }
}
