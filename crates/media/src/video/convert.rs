//! Camera pixel formats to I420.
//!
//! Cameras deliver packed YUV 4:2:2 (YUYV), semi-planar NV12, Motion JPEG or RGB. Everything
//! leaves here as a [`VideoFrame`] in I420, BT.601 limited range. Output buffers are the
//! caller's, so a capture loop converts every frame into the same frame without allocating
//! (the JPEG decoder keeps its own scratch between frames; it still allocates internally).

use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use super::{check_size, VideoFrame, MAX_DIMENSION};
use crate::Error;

/// A pixel layout cameras deliver and sotto converts to I420.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// Packed YUV 4:2:2: `Y0 U Y1 V` for each pair of pixels (V4L2 `YUYV`).
    Yuyv,
    /// The Y plane, then one plane of interleaved `U V` at half resolution (V4L2 `NV12`).
    Nv12,
    /// One JPEG picture per frame (V4L2 `MJPG`), Huffman tables optional.
    Mjpeg,
    /// Packed `R G B`, 8 bits each (V4L2 `RGB3`).
    Rgb24,
}

impl PixelFormat {
    /// Its usual short name (`YUYV`, `NV12`, `MJPEG`, `RGB24`).
    pub fn name(self) -> &'static str {
        match self {
            PixelFormat::Yuyv => "YUYV",
            PixelFormat::Nv12 => "NV12",
            PixelFormat::Mjpeg => "MJPEG",
            PixelFormat::Rgb24 => "RGB24",
        }
    }
}

impl std::fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Converts frames of one format and size to I420, reusing its buffers from frame to frame.
pub struct FrameConverter {
    format: PixelFormat,
    width: u32,
    height: u32,
    /// Decoded JPEG pixels (YCbCr, RGB or grey, full resolution).
    decoded: Vec<u8>,
    /// The JPEG with the standard Huffman tables put in, for frames that leave them out.
    patched: Vec<u8>,
}

impl std::fmt::Debug for FrameConverter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "FrameConverter({} {}x{})",
            self.format, self.width, self.height
        )
    }
}

impl FrameConverter {
    /// A converter for `format` frames of `width` x `height` (even, at most
    /// [`MAX_DIMENSION`]); fails with [`Error::InvalidVideoSize`] otherwise.
    pub fn new(format: PixelFormat, width: u32, height: u32) -> Result<Self, Error> {
        check_size(width, height)?;
        Ok(FrameConverter {
            format,
            width,
            height,
            decoded: Vec::new(),
            patched: Vec::new(),
        })
    }

    /// The format it converts from.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// The size of the frames it converts.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Converts one camera frame into `dst`, which must have the converter's size. A short,
    /// corrupt or wrongly sized frame is an [`Error::Convert`]; `dst` may then hold a partly
    /// converted picture.
    pub fn convert(&mut self, src: &[u8], dst: &mut VideoFrame) -> Result<(), Error> {
        if (dst.width(), dst.height()) != (self.width, self.height) {
            return Err(Error::InvalidVideoSize {
                width: dst.width(),
                height: dst.height(),
            });
        }
        match self.format {
            PixelFormat::Yuyv => yuyv_to_i420(src, dst),
            PixelFormat::Nv12 => nv12_to_i420(src, dst),
            PixelFormat::Rgb24 => rgb24_to_i420(src, dst),
            PixelFormat::Mjpeg => self.mjpeg_to_i420(src, dst),
        }
    }

    /// Converts one camera frame into a new picture.
    pub fn convert_to_frame(&mut self, src: &[u8]) -> Result<VideoFrame, Error> {
        let mut frame = VideoFrame::black(self.width, self.height)?;
        self.convert(src, &mut frame)?;
        Ok(frame)
    }

    fn mjpeg_to_i420(&mut self, src: &[u8], dst: &mut VideoFrame) -> Result<(), Error> {
        let err = |reason: String| Error::Convert {
            format: "MJPEG",
            reason,
        };
        let jpeg = if has_huffman_tables(src).map_err(|r| err(r.to_owned()))? {
            src
        } else {
            // UVC cameras leave out the tables and rely on the standard ones (as ffmpeg's
            // mjpeg2jpeg does, put them back rather than depend on a decoder's guess).
            self.patched.clear();
            self.patched.extend_from_slice(&src[..2]);
            self.patched.extend_from_slice(&STANDARD_DHT);
            self.patched.extend_from_slice(&src[2..]);
            &self.patched
        };
        let limits = DecoderOptions::default()
            .set_max_width(MAX_DIMENSION as usize)
            .set_max_height(MAX_DIMENSION as usize);
        let mut probe = JpegDecoder::new_with_options(ZCursor::new(jpeg), limits);
        probe
            .decode_headers()
            .map_err(|e| err(format!("bad JPEG headers: {e}")))?;
        let (w, h) = probe
            .dimensions()
            .ok_or_else(|| err("no picture size in the JPEG headers".to_owned()))?;
        if (w, h) != (self.width as usize, self.height as usize) {
            return Err(err(format!(
                "picture is {w}x{h}, the camera said {}x{}",
                self.width, self.height
            )));
        }
        // Keep the decoder's YCbCr when it has it: only the range and the chroma siting
        // change, and an RGB round trip would cost precision and time.
        let out = match probe.input_colorspace() {
            Some(ColorSpace::YCbCr) => ColorSpace::YCbCr,
            Some(ColorSpace::Luma) => ColorSpace::Luma,
            _ => ColorSpace::RGB,
        };
        let mut decoder =
            JpegDecoder::new_with_options(ZCursor::new(jpeg), limits.jpeg_set_out_colorspace(out));
        decoder
            .decode_headers()
            .map_err(|e| err(format!("bad JPEG headers: {e}")))?;
        let len = w * h * out.num_components();
        self.decoded.resize(len, 0);
        decoder
            .decode_into(&mut self.decoded)
            .map_err(|e| err(format!("corrupt JPEG data: {e}")))?;
        match out {
            ColorSpace::YCbCr => full_ycbcr_to_i420(&self.decoded, dst),
            ColorSpace::Luma => full_luma_to_i420(&self.decoded, dst),
            _ => rgb24_to_i420(&self.decoded, dst),
        }
    }
}

/// Converts YUYV (packed 4:2:2) to I420 of `dst`'s size: luma copied, chroma of each pair of
/// rows averaged. Rows may be padded (the stride is inferred from the buffer length).
pub fn yuyv_to_i420(src: &[u8], dst: &mut VideoFrame) -> Result<(), Error> {
    let (w, h) = (dst.width() as usize, dst.height() as usize);
    let stride = packed_stride(src.len(), w * 2, h, "YUYV")?;
    let (y, u, v) = dst.planes_mut();
    for row in 0..h / 2 {
        let top = &src[2 * row * stride..][..2 * w];
        let bottom = &src[(2 * row + 1) * stride..][..2 * w];
        y[2 * row * w..][..w]
            .iter_mut()
            .zip(top.chunks_exact(2))
            .for_each(|(d, s)| *d = s[0]);
        y[(2 * row + 1) * w..][..w]
            .iter_mut()
            .zip(bottom.chunks_exact(2))
            .for_each(|(d, s)| *d = s[0]);
        let u_row = &mut u[row * w / 2..][..w / 2];
        let v_row = &mut v[row * w / 2..][..w / 2];
        for (i, (t, b)) in top.chunks_exact(4).zip(bottom.chunks_exact(4)).enumerate() {
            u_row[i] = avg2(t[1], b[1]);
            v_row[i] = avg2(t[3], b[3]);
        }
    }
    Ok(())
}

/// Converts NV12 to I420 of `dst`'s size: luma copied, chroma de-interleaved. Rows may be
/// padded (the stride is inferred from the buffer length).
pub fn nv12_to_i420(src: &[u8], dst: &mut VideoFrame) -> Result<(), Error> {
    let (w, h) = (dst.width() as usize, dst.height() as usize);
    // Y rows, then half as many UV rows, all of the same stride.
    let stride = packed_stride(src.len(), w, h + h / 2, "NV12")?;
    let (y, u, v) = dst.planes_mut();
    for row in 0..h {
        y[row * w..][..w].copy_from_slice(&src[row * stride..][..w]);
    }
    for row in 0..h / 2 {
        let uv = &src[(h + row) * stride..][..w];
        let u_row = &mut u[row * w / 2..][..w / 2];
        let v_row = &mut v[row * w / 2..][..w / 2];
        for (i, pair) in uv.chunks_exact(2).enumerate() {
            u_row[i] = pair[0];
            v_row[i] = pair[1];
        }
    }
    Ok(())
}

/// Converts packed RGB (full range) to I420 of `dst`'s size with the BT.601 limited-range
/// matrix; chroma comes from the average colour of each 2x2 block. Rows may be padded.
pub fn rgb24_to_i420(src: &[u8], dst: &mut VideoFrame) -> Result<(), Error> {
    let (w, h) = (dst.width() as usize, dst.height() as usize);
    let stride = packed_stride(src.len(), w * 3, h, "RGB24")?;
    let (y, u, v) = dst.planes_mut();
    for row in 0..h / 2 {
        let top = &src[2 * row * stride..][..3 * w];
        let bottom = &src[(2 * row + 1) * stride..][..3 * w];
        for (d, p) in y[2 * row * w..][..w].iter_mut().zip(top.chunks_exact(3)) {
            *d = rgb_to_y(u32::from(p[0]), u32::from(p[1]), u32::from(p[2]));
        }
        for (d, p) in y[(2 * row + 1) * w..][..w]
            .iter_mut()
            .zip(bottom.chunks_exact(3))
        {
            *d = rgb_to_y(u32::from(p[0]), u32::from(p[1]), u32::from(p[2]));
        }
        for (i, (t, b)) in top.chunks_exact(6).zip(bottom.chunks_exact(6)).enumerate() {
            let sum = |c: usize| {
                u32::from(t[c]) + u32::from(t[c + 3]) + u32::from(b[c]) + u32::from(b[c + 3])
            };
            let (r, g, bl) = ((sum(0) + 2) / 4, (sum(1) + 2) / 4, (sum(2) + 2) / 4);
            u[row * w / 2 + i] = rgb_to_u(r, g, bl);
            v[row * w / 2 + i] = rgb_to_v(r, g, bl);
        }
    }
    Ok(())
}

/// BT.601 limited-range luma of a full-range RGB colour (libyuv's integer matrix, rounded).
fn rgb_to_y(r: u32, g: u32, b: u32) -> u8 {
    ((66 * r + 129 * g + 25 * b + 0x1080) >> 8) as u8
}

fn rgb_to_u(r: u32, g: u32, b: u32) -> u8 {
    ((112 * b + 0x8080 - 38 * r - 74 * g) >> 8) as u8
}

fn rgb_to_v(r: u32, g: u32, b: u32) -> u8 {
    ((112 * r + 0x8080 - 94 * g - 18 * b) >> 8) as u8
}

fn avg2(a: u8, b: u8) -> u8 {
    ((u16::from(a) + u16::from(b) + 1) >> 1) as u8
}

/// Bytes from one row to the next in a frame of `rows` rows of at least `row_len` bytes. A
/// buffer that divides evenly into longer rows is padded; any other extra is a tail to skip.
fn packed_stride(
    len: usize,
    row_len: usize,
    rows: usize,
    format: &'static str,
) -> Result<usize, Error> {
    let needed = row_len * rows;
    if len < needed {
        return Err(Error::Convert {
            format,
            reason: format!("frame of {len} bytes, {needed} needed"),
        });
    }
    if len % rows == 0 {
        Ok(len / rows)
    } else {
        Ok(row_len)
    }
}

/// Full-range (JFIF) luma to limited range: 0..=255 onto 16..=235, rounded.
const Y_FULL_TO_LIMITED: [u8; 256] = range_table(219);
/// Full-range chroma to limited range: 0..=255 onto 16..=240, 128 staying 128.
const C_FULL_TO_LIMITED: [u8; 256] = range_table(224);

const fn range_table(span: u32) -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = (16 + (i as u32 * span + 127) / 255) as u8;
        i += 1;
    }
    table
}

/// Interleaved full-range YCbCr 4:4:4 (a decoded JPEG) to limited-range I420.
fn full_ycbcr_to_i420(src: &[u8], dst: &mut VideoFrame) -> Result<(), Error> {
    let w = dst.width() as usize;
    let (y, u, v) = dst.planes_mut();
    for (row, (top, bottom)) in src
        .chunks_exact(3 * w)
        .step_by(2)
        .zip(src.chunks_exact(3 * w).skip(1).step_by(2))
        .enumerate()
    {
        for (d, p) in y[2 * row * w..][..w].iter_mut().zip(top.chunks_exact(3)) {
            *d = Y_FULL_TO_LIMITED[usize::from(p[0])];
        }
        for (d, p) in y[(2 * row + 1) * w..][..w]
            .iter_mut()
            .zip(bottom.chunks_exact(3))
        {
            *d = Y_FULL_TO_LIMITED[usize::from(p[0])];
        }
        for (i, (t, b)) in top.chunks_exact(6).zip(bottom.chunks_exact(6)).enumerate() {
            let avg = |c: usize| {
                let sum =
                    u16::from(t[c]) + u16::from(t[c + 3]) + u16::from(b[c]) + u16::from(b[c + 3]);
                usize::from((sum + 2) / 4)
            };
            u[row * w / 2 + i] = C_FULL_TO_LIMITED[avg(1)];
            v[row * w / 2 + i] = C_FULL_TO_LIMITED[avg(2)];
        }
    }
    Ok(())
}

/// Full-range grey (a decoded greyscale JPEG) to limited-range I420 with neutral chroma.
fn full_luma_to_i420(src: &[u8], dst: &mut VideoFrame) -> Result<(), Error> {
    let (y, u, v) = dst.planes_mut();
    for (d, &s) in y.iter_mut().zip(src) {
        *d = Y_FULL_TO_LIMITED[usize::from(s)];
    }
    u.fill(128);
    v.fill(128);
    Ok(())
}

/// Whether a JPEG carries its own Huffman tables before its first scan; an error if it does not
/// even look like a JPEG.
fn has_huffman_tables(jpeg: &[u8]) -> Result<bool, &'static str> {
    if jpeg.len() < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8 {
        return Err("not a JPEG picture (no start-of-image marker)");
    }
    let mut pos = 2;
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        while jpeg.get(pos) == Some(&0xFF) && jpeg.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (jpeg.get(pos), jpeg.get(pos + 1)) else {
            return Err("JPEG headers are truncated or corrupt");
        };
        match marker {
            0xC4 => return Ok(true),
            0xDA => return Ok(false),
            // Markers without a length field.
            0x01 | 0xD0..=0xD7 => pos += 2,
            0xD9 => return Err("JPEG ends before its first scan"),
            _ => {
                let Some(len) = jpeg.get(pos + 2..pos + 4) else {
                    return Err("JPEG headers are truncated");
                };
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                if len < 2 {
                    return Err("JPEG segment with an impossible length");
                }
                pos += 2 + len;
            }
        }
    }
}

/// The Huffman tables of ITU-T T.81 Annex K.3 (tables K.3 to K.6) as one DHT segment: the
/// tables Motion JPEG frames use when they carry none (the OpenDML AVI MJPEG rule).
const STANDARD_DHT: [u8; 420] = [
    0xFF, 0xC4, 0x01, 0xA2, 0x00, 0x00, 0x01, 0x05, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,
    0x0B, 0x01, 0x00, 0x03, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x10, 0x00,
    0x02, 0x01, 0x03, 0x03, 0x02, 0x04, 0x03, 0x05, 0x05, 0x04, 0x04, 0x00, 0x00, 0x01, 0x7D, 0x01,
    0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22,
    0x71, 0x14, 0x32, 0x81, 0x91, 0xA1, 0x08, 0x23, 0x42, 0xB1, 0xC1, 0x15, 0x52, 0xD1, 0xF0, 0x24,
    0x33, 0x62, 0x72, 0x82, 0x09, 0x0A, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x25, 0x26, 0x27, 0x28, 0x29,
    0x2A, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A,
    0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A,
    0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A,
    0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8,
    0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6,
    0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xE1, 0xE2, 0xE3,
    0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9,
    0xFA, 0x11, 0x00, 0x02, 0x01, 0x02, 0x04, 0x04, 0x03, 0x04, 0x07, 0x05, 0x04, 0x04, 0x00, 0x01,
    0x02, 0x77, 0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07,
    0x61, 0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xA1, 0xB1, 0xC1, 0x09, 0x23, 0x33,
    0x52, 0xF0, 0x15, 0x62, 0x72, 0xD1, 0x0A, 0x16, 0x24, 0x34, 0xE1, 0x25, 0xF1, 0x17, 0x18, 0x19,
    0x1A, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44, 0x45, 0x46,
    0x47, 0x48, 0x49, 0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66,
    0x67, 0x68, 0x69, 0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x82, 0x83, 0x84, 0x85,
    0x86, 0x87, 0x88, 0x89, 0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3,
    0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA,
    0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8,
    0xD9, 0xDA, 0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6,
    0xF7, 0xF8, 0xF9, 0xFA,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(w: u32, h: u32) -> VideoFrame {
        VideoFrame::black(w, h).expect("valid size")
    }

    #[test]
    fn yuyv_exact_values() {
        // 4x2: row 0 Y 10 11 12 13, U 100/102, V 200/202; row 1 Y 20 21 22 23, U 110/113,
        // V 210/211. Chroma averages with rounding up: (100+110+1)/2 = 105, (102+113+1)/2 = 108.
        let src = [
            10, 100, 11, 200, 12, 102, 13, 202, //
            20, 110, 21, 210, 22, 113, 23, 211,
        ];
        let mut dst = frame(4, 2);
        yuyv_to_i420(&src, &mut dst).expect("converts");
        let (y, u, v) = dst.planes();
        assert_eq!(y, [10, 11, 12, 13, 20, 21, 22, 23]);
        assert_eq!(u, [105, 108]);
        assert_eq!(v, [205, 207]);
    }

    #[test]
    fn yuyv_with_padded_rows() {
        // 2x2 with rows padded from 4 to 6 bytes.
        let src = [1, 50, 2, 60, 0xEE, 0xEE, 3, 52, 4, 62, 0xEE, 0xEE];
        let mut dst = frame(2, 2);
        yuyv_to_i420(&src, &mut dst).expect("converts");
        assert_eq!(dst.as_bytes(), [1, 2, 3, 4, 51, 61]);
    }

    #[test]
    fn nv12_exact_values() {
        let src = [
            1, 2, 3, 4, // Y row 0
            5, 6, 7, 8, // Y row 1
            90, 190, 91, 191, // UV
        ];
        let mut dst = frame(4, 2);
        nv12_to_i420(&src, &mut dst).expect("converts");
        assert_eq!(dst.as_bytes(), [1, 2, 3, 4, 5, 6, 7, 8, 90, 91, 190, 191]);
    }

    #[test]
    fn rgb24_primaries_give_bt601_limited_values() {
        for (rgb, yuv) in [
            ([255u8, 255, 255], [235u8, 128, 128]),
            ([0, 0, 0], [16, 128, 128]),
            ([255, 0, 0], [82, 90, 240]),
            ([0, 255, 0], [144, 54, 34]),
            ([0, 0, 255], [41, 240, 110]),
        ] {
            let src: Vec<u8> = rgb.iter().copied().cycle().take(2 * 2 * 3).collect();
            let mut dst = frame(2, 2);
            rgb24_to_i420(&src, &mut dst).expect("converts");
            let (y, u, v) = dst.planes();
            assert_eq!([y[0], u[0], v[0]], yuv, "{rgb:?}");
            assert!(y.iter().all(|&p| p == yuv[0]));
        }
    }

    #[test]
    fn full_range_tables_hit_the_limits() {
        assert_eq!(Y_FULL_TO_LIMITED[0], 16);
        assert_eq!(Y_FULL_TO_LIMITED[255], 235);
        assert_eq!(C_FULL_TO_LIMITED[0], 16);
        assert_eq!(C_FULL_TO_LIMITED[128], 128);
        assert_eq!(C_FULL_TO_LIMITED[255], 240);
    }

    #[test]
    fn short_and_garbage_buffers_are_errors() {
        let mut dst = frame(4, 2);
        for format in [
            PixelFormat::Yuyv,
            PixelFormat::Nv12,
            PixelFormat::Rgb24,
            PixelFormat::Mjpeg,
        ] {
            let mut conv = FrameConverter::new(format, 4, 2).expect("valid size");
            for len in [0, 1, 7, 11] {
                let err = conv.convert(&vec![0x55; len], &mut dst);
                assert!(
                    matches!(err, Err(Error::Convert { .. })),
                    "{format} {len}: {err:?}"
                );
            }
        }
        let mut conv = FrameConverter::new(PixelFormat::Mjpeg, 4, 2).expect("valid size");
        for junk in [
            &[0xFF, 0xD8, 0xFF][..],
            &[0xFF, 0xD8, 0xFF, 0xE0, 0x00],
            &[0xFF, 0xD8, 0xFF, 0xD9],
        ] {
            assert!(conv.convert(junk, &mut dst).is_err());
        }
    }

    #[test]
    fn odd_sizes_and_mismatched_frames_are_refused() {
        assert!(FrameConverter::new(PixelFormat::Yuyv, 3, 2).is_err());
        assert!(FrameConverter::new(PixelFormat::Nv12, 4, 5).is_err());
        let mut conv = FrameConverter::new(PixelFormat::Nv12, 4, 2).expect("valid size");
        let err = conv.convert(&[0; 12], &mut frame(2, 2));
        assert!(matches!(err, Err(Error::InvalidVideoSize { .. })));
    }

    #[test]
    fn standard_dht_is_well_formed() {
        assert_eq!(u16::from_be_bytes([STANDARD_DHT[2], STANDARD_DHT[3]]), 418);
        // Four tables, each a class/id byte, 16 counts and as many values as the counts say.
        let mut pos = 4;
        let mut ids = Vec::new();
        while pos < STANDARD_DHT.len() {
            ids.push(STANDARD_DHT[pos]);
            let count: usize = STANDARD_DHT[pos + 1..pos + 17]
                .iter()
                .map(|&c| usize::from(c))
                .sum();
            pos += 17 + count;
        }
        assert_eq!(pos, STANDARD_DHT.len());
        assert_eq!(ids, [0x00, 0x01, 0x10, 0x11]);
    }
}
