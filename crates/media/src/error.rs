use std::path::PathBuf;

/// Everything that can go wrong in `sotto-media`.
///
/// Grouped as: files (I/O and format), devices, codec, and API misuse by the caller.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A file is not a WAV file sotto can read or write.
    #[error("{path} is not a usable WAV file: {reason}; use a PCM or float WAV (for example `sox input -b 16 output.wav`)")]
    Wav {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The audio device layer reported an error.
    #[error("audio device error: {0}")]
    Device(String),
    /// No device has the requested name.
    #[error("no audio device named {0:?}; run `sotto devices` to list them")]
    NoSuchDevice(String),
    /// The device was found but cannot be opened or started: no sound card behind the
    /// system's default, the device busy or unplugged.
    #[error(
        "the audio {direction} device {name:?} cannot be used ({reason}); pick another \
         (`sotto devices` lists them) or a file instead (`none`, `tone` or `FILE.wav`)"
    )]
    DeviceUnavailable {
        /// `"input"` or `"output"`.
        direction: &'static str,
        /// The device's name (`default` for the system's default).
        name: String,
        /// What the audio layer said.
        reason: String,
    },
    /// The system has no default device in this direction.
    #[error("no default audio {0} device; pick a file instead (`none`, `tone` or `FILE.wav`)")]
    NoDefaultDevice(&'static str),
    /// The device only offers a sample format that sotto does not convert.
    #[error("audio device uses unsupported sample format {0}; choose another device")]
    UnsupportedDeviceFormat(String),
    /// libopus rejected a call.
    #[error("opus {context} failed: {source}")]
    Opus {
        /// The operation that failed.
        context: &'static str,
        /// The libopus error.
        #[source]
        source: opus::Error,
    },
    /// The H.264 codec (OpenH264) rejected a call or a stream.
    #[error("h264 {context} failed: {message}")]
    Codec {
        /// The operation that failed.
        context: &'static str,
        /// What went wrong and what to do.
        message: String,
    },
    /// An Opus packet time other than 10 or 20 ms was requested.
    #[error("unsupported ptime {0} ms: use 10 or 20")]
    InvalidPtime(u32),
    /// A sample rate of zero or beyond what sotto resamples was given.
    #[error("unsupported sample rate {0} Hz: use 8000 to 384000 Hz")]
    InvalidSampleRate(u32),
    /// A caller's buffer has the wrong length.
    #[error("buffer of {got} samples given where {expected} are needed")]
    BufferSize {
        /// The length required.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// A picture size sotto cannot handle.
    #[error("unsupported video size {width}x{height}: use even sizes from 2x2 to 4096x4096, for example 640x480")]
    InvalidVideoSize {
        /// Width asked for.
        width: u32,
        /// Height asked for.
        height: u32,
    },
    /// An audio input or output specification could not be parsed.
    #[error("invalid audio {kind} {spec:?}: use {expected}")]
    InvalidSpec {
        /// `input` or `output`.
        kind: &'static str,
        /// What was given.
        spec: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// A file is not a Y4M file sotto can read, or a Y4M file could not be written.
    #[error("{path} is not a usable Y4M file: {reason}; convert it with `ffmpeg -i INPUT -pix_fmt yuv420p OUTPUT.y4m`")]
    Y4m {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A video sink got a picture of another size than the ones before; the picture was not
    /// written and the sink can take more of the first size.
    #[error("picture of {width}x{height} given to a video sink that takes {expected_width}x{expected_height}; picture dropped")]
    VideoSizeChanged {
        /// Width of the pictures the sink takes.
        expected_width: u32,
        /// Height of the pictures the sink takes.
        expected_height: u32,
        /// Width of the picture given.
        width: u32,
        /// Height of the picture given.
        height: u32,
    },
    /// A frame rate of zero or beyond what sotto handles was given.
    #[error("unsupported frame rate {0} fps: use 1 to 240")]
    InvalidFrameRate(u32),
    /// A video input or output specification could not be parsed.
    #[error("invalid video {kind} {spec:?}: use {expected}")]
    InvalidVideoSpec {
        /// `input` or `output`.
        kind: &'static str,
        /// What was given.
        spec: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// A camera frame could not be converted to I420.
    #[error("cannot convert a {format} camera frame: {reason}")]
    Convert {
        /// The camera's pixel format.
        format: &'static str,
        /// What is wrong with the frame.
        reason: String,
    },
    /// The camera layer reported an error, or a camera stopped delivering frames.
    #[error("camera error: {0}")]
    Camera(String),
    /// No camera has the requested index.
    #[error("no camera at index {0}; run `sotto devices` to list cameras")]
    NoCamera(u32),
}

impl Error {
    pub(crate) fn opus(context: &'static str, source: opus::Error) -> Self {
        Self::Opus { context, source }
    }
}
