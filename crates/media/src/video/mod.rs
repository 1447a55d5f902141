//! Video for sotto: pictures in I420, where they come from and where they go.
//!
//! Inside sotto every picture is a [`VideoFrame`] in I420 (planar YUV 4:2:0, 8 bits, BT.601
//! limited range), the layout the H.264 codec takes and gives. Sources and sinks convert at the
//! edge. Like the audio twins, sources do not pace themselves: the engine reads one frame per
//! frame interval on its own clock.

pub mod h264;

pub use h264::{EncodedFrame, H264Decoder, H264Encoder, H264EncoderConfig};

mod camera;
mod convert;
mod pattern;
mod spec;
mod y4m;

pub use camera::{list_cameras, CameraInfo, CameraSource};
pub use convert::{nv12_to_i420, rgb24_to_i420, yuyv_to_i420, FrameConverter, PixelFormat};
pub use pattern::{read_frame_index, PatternSource};
pub use spec::{VideoInput, VideoOutput};
pub use y4m::{Y4mSink, Y4mSource};

use crate::Error;

/// Largest width or height sotto handles (H.264 level 5.1 tops out at 4096 wide).
pub const MAX_DIMENSION: u32 = 4096;

/// Bytes of an I420 picture of `width` x `height` (both even).
pub fn i420_len(width: u32, height: u32) -> usize {
    let luma = width as usize * height as usize;
    luma + luma / 2
}

/// One picture in I420: the Y plane (`width` x `height`), then U and V (`width/2` x
/// `height/2` each), tightly packed. Width and height are even and at most [`MAX_DIMENSION`].
#[derive(Clone, PartialEq, Eq)]
pub struct VideoFrame {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl VideoFrame {
    /// A black picture (Y 16, U and V 128).
    pub fn black(width: u32, height: u32) -> Result<Self, Error> {
        check_size(width, height)?;
        let luma = width as usize * height as usize;
        let mut data = vec![128u8; i420_len(width, height)];
        data[..luma].fill(16);
        Ok(VideoFrame {
            width,
            height,
            data,
        })
    }

    /// Wraps I420 bytes; `data` must be exactly [`i420_len`] long.
    pub fn from_i420(width: u32, height: u32, data: Vec<u8>) -> Result<Self, Error> {
        check_size(width, height)?;
        if data.len() != i420_len(width, height) {
            return Err(Error::BufferSize {
                expected: i420_len(width, height),
                got: data.len(),
            });
        }
        Ok(VideoFrame {
            width,
            height,
            data,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The Y, U and V planes.
    pub fn planes(&self) -> (&[u8], &[u8], &[u8]) {
        let luma = self.width as usize * self.height as usize;
        let (y, chroma) = self.data.split_at(luma);
        let (u, v) = chroma.split_at(luma / 4);
        (y, u, v)
    }

    /// The Y, U and V planes, writable.
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        let luma = self.width as usize * self.height as usize;
        let (y, chroma) = self.data.split_at_mut(luma);
        let (u, v) = chroma.split_at_mut(luma / 4);
        (y, u, v)
    }

    /// The whole picture as I420 bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// The I420 bytes, for reuse as a buffer.
    pub fn into_bytes(self) -> Vec<u8> {
        self.data
    }
}

impl std::fmt::Debug for VideoFrame {
    /// The size only: a frame's pixels are call content, not something for logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VideoFrame({}x{})", self.width, self.height)
    }
}

/// A pull source of pictures. The engine calls [`VideoSource::read`] once per frame interval
/// on its own clock; a camera hands over its newest picture, a file or pattern the next one.
pub trait VideoSource: Send {
    /// The size of the pictures it gives.
    fn size(&self) -> (u32, u32);
    /// The next picture; `None` at the end of the input (a file). Live sources never end.
    fn read(&mut self) -> Result<Option<VideoFrame>, Error>;
}

/// A push sink of pictures.
pub trait VideoSink: Send {
    /// Accepts one decoded picture.
    fn write(&mut self, frame: &VideoFrame) -> Result<(), Error>;
    /// Flushes and closes the sink; writing afterwards fails.
    fn finish(&mut self) -> Result<(), Error>;
}

/// A sink that discards pictures: for a call that should decode the peer's video (and report
/// its figures) without showing or storing it.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullVideoSink;

impl VideoSink for NullVideoSink {
    fn write(&mut self, _frame: &VideoFrame) -> Result<(), Error> {
        Ok(())
    }

    fn finish(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

/// Checks that a picture size is one sotto handles.
pub fn check_size(width: u32, height: u32) -> Result<(), Error> {
    if width == 0
        || height == 0
        || width % 2 != 0
        || height % 2 != 0
        || width > MAX_DIMENSION
        || height > MAX_DIMENSION
    {
        return Err(Error::InvalidVideoSize { width, height });
    }
    Ok(())
}

/// Peak signal-to-noise ratio of `decoded` against `reference` over all three planes, in dB
/// (the usual 4:2:0 weighting: every sample counts once). `None` when the sizes differ;
/// identical pictures give [`PSNR_IDENTICAL_DB`].
pub fn psnr(reference: &VideoFrame, decoded: &VideoFrame) -> Option<f64> {
    if reference.width != decoded.width || reference.height != decoded.height {
        return None;
    }
    let squared: u64 = reference
        .data
        .iter()
        .zip(&decoded.data)
        .map(|(&a, &b)| {
            let d = u64::from(a.abs_diff(b));
            d * d
        })
        .sum();
    if squared == 0 {
        return Some(PSNR_IDENTICAL_DB);
    }
    let mse = squared as f64 / reference.data.len() as f64;
    Some((10.0 * (255.0f64 * 255.0 / mse).log10()).min(PSNR_IDENTICAL_DB))
}

/// The PSNR reported for identical pictures (a finite cap, as ffmpeg and x264 report).
pub const PSNR_IDENTICAL_DB: f64 = 100.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planes_split_i420() {
        let frame = VideoFrame::black(4, 2).expect("valid size");
        let (y, u, v) = frame.planes();
        assert_eq!((y.len(), u.len(), v.len()), (8, 2, 2));
        assert!(y.iter().all(|&p| p == 16));
        assert!(u.iter().chain(v).all(|&p| p == 128));
    }

    #[test]
    fn odd_zero_and_huge_sizes_are_refused() {
        for (w, h) in [(0, 2), (3, 2), (2, 5), (MAX_DIMENSION + 2, 2)] {
            assert!(VideoFrame::black(w, h).is_err(), "{w}x{h}");
        }
        assert!(VideoFrame::from_i420(4, 2, vec![0; 11]).is_err());
    }

    #[test]
    fn psnr_of_known_error() {
        let a = VideoFrame::black(16, 16).expect("valid size");
        let mut b = a.clone();
        assert_eq!(psnr(&a, &b), Some(PSNR_IDENTICAL_DB));
        // Every sample off by 5: MSE 25, PSNR 10 log10(65025 / 25) = 34.15 dB.
        let (y, u, v) = b.planes_mut();
        for p in y.iter_mut().chain(u.iter_mut()).chain(v.iter_mut()) {
            *p += 5;
        }
        let db = psnr(&a, &b).expect("same size");
        assert!((db - 34.151).abs() < 0.01, "{db}");
        assert_eq!(psnr(&a, &VideoFrame::black(16, 14).expect("valid")), None);
    }
}
