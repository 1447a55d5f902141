//! Camera formats to I420: exact for the raw YUV layouts, close for RGB and Motion JPEG.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
use sotto_media::video::{
    nv12_to_i420, psnr, read_frame_index, rgb24_to_i420, yuyv_to_i420, FrameConverter,
    PatternSource, PixelFormat,
};
use sotto_media::{Error, VideoFrame};

fn pattern(w: u32, h: u32, n: u32) -> VideoFrame {
    PatternSource::new(w, h).unwrap().frame(n)
}

/// YUYV as a camera would send `frame`: both rows of a pair carry the pair's chroma.
fn to_yuyv(frame: &VideoFrame) -> Vec<u8> {
    let w = frame.width() as usize;
    let (y, u, v) = frame.planes();
    let mut out = Vec::with_capacity(y.len() * 2);
    for (row, luma) in y.chunks(w).enumerate() {
        let c = row / 2 * w / 2;
        for (i, pair) in luma.chunks(2).enumerate() {
            out.extend_from_slice(&[pair[0], u[c + i], pair[1], v[c + i]]);
        }
    }
    out
}

fn to_nv12(frame: &VideoFrame) -> Vec<u8> {
    let (y, u, v) = frame.planes();
    let mut out = y.to_vec();
    for (&a, &b) in u.iter().zip(v) {
        out.extend_from_slice(&[a, b]);
    }
    out
}

/// Full-range RGB of a limited-range BT.601 picture (chroma repeated over each 2x2 block).
fn to_rgb(frame: &VideoFrame) -> Vec<u8> {
    let w = frame.width() as usize;
    let (y, u, v) = frame.planes();
    let mut out = Vec::with_capacity(y.len() * 3);
    for (i, &luma) in y.iter().enumerate() {
        let c = (i / w) / 2 * (w / 2) + (i % w) / 2;
        let yy = 1.164 * (f64::from(luma) - 16.0);
        let (cb, cr) = (f64::from(u[c]) - 128.0, f64::from(v[c]) - 128.0);
        for value in [
            yy + 1.596 * cr,
            yy - 0.392 * cb - 0.813 * cr,
            yy + 2.017 * cb,
        ] {
            out.push(value.round().clamp(0.0, 255.0) as u8);
        }
    }
    out
}

fn encode_jpeg(
    pixels: &[u8],
    w: u32,
    h: u32,
    color: ColorType,
    sampling: SamplingFactor,
) -> Vec<u8> {
    let mut jpeg = Vec::new();
    let mut encoder = Encoder::new(&mut jpeg, 90);
    encoder.set_sampling_factor(sampling);
    encoder.encode(pixels, w as u16, h as u16, color).unwrap();
    jpeg
}

/// The JPEG without its DHT segments, as many UVC cameras send it.
fn strip_huffman_tables(jpeg: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    let mut pos = 2;
    loop {
        let marker = jpeg[pos + 1];
        if marker == 0xDA {
            out.extend_from_slice(&jpeg[pos..]);
            return out;
        }
        let len = usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
        if marker != 0xC4 {
            out.extend_from_slice(&jpeg[pos..pos + 2 + len]);
        }
        pos += 2 + len;
    }
}

#[test]
fn yuyv_and_nv12_of_a_picture_convert_back_exactly() {
    let original = pattern(320, 240, 17);
    let mut out = VideoFrame::black(320, 240).unwrap();
    yuyv_to_i420(&to_yuyv(&original), &mut out).unwrap();
    assert_eq!(out, original);
    let mut out = VideoFrame::black(320, 240).unwrap();
    nv12_to_i420(&to_nv12(&original), &mut out).unwrap();
    assert_eq!(out, original);

    // The converter reuses one output frame across frames.
    let mut yuyv = FrameConverter::new(PixelFormat::Yuyv, 320, 240).unwrap();
    let mut nv12 = FrameConverter::new(PixelFormat::Nv12, 320, 240).unwrap();
    let mut out = VideoFrame::black(320, 240).unwrap();
    for n in 0..3 {
        let frame = pattern(320, 240, n);
        yuyv.convert(&to_yuyv(&frame), &mut out).unwrap();
        assert_eq!(out, frame);
        nv12.convert(&to_nv12(&frame), &mut out).unwrap();
        assert_eq!(out, frame);
    }
}

#[test]
fn rgb24_round_trip_is_close() {
    let original = pattern(320, 240, 3);
    let mut out = VideoFrame::black(320, 240).unwrap();
    rgb24_to_i420(&to_rgb(&original), &mut out).unwrap();
    let db = psnr(&original, &out).unwrap();
    assert!(db > 38.0, "{db:.1} dB");
    assert_eq!(read_frame_index(&out), Some(3));
}

#[test]
fn mjpeg_round_trip_keeps_the_picture() {
    let original = pattern(640, 480, 250);
    let rgb = to_rgb(&original);
    let mut conv = FrameConverter::new(PixelFormat::Mjpeg, 640, 480).unwrap();
    for sampling in [
        SamplingFactor::R_4_2_2,
        SamplingFactor::R_4_2_0,
        SamplingFactor::R_4_4_4,
    ] {
        let jpeg = encode_jpeg(&rgb, 640, 480, ColorType::Rgb, sampling);
        let decoded = conv.convert_to_frame(&jpeg).unwrap();
        let db = psnr(&original, &decoded).unwrap();
        println!(
            "MJPEG {sampling:?} quality 90: {} bytes, {db:.1} dB",
            jpeg.len()
        );
        assert!(db > 38.0, "{sampling:?}: {db:.1} dB");
        assert_eq!(read_frame_index(&decoded), Some(250));
    }
}

#[test]
fn mjpeg_without_huffman_tables_decodes_the_same() {
    let original = pattern(320, 240, 8);
    let jpeg = encode_jpeg(
        &to_rgb(&original),
        320,
        240,
        ColorType::Rgb,
        SamplingFactor::R_4_2_2,
    );
    let bare = strip_huffman_tables(&jpeg);
    assert!(bare.len() < jpeg.len() - 400, "tables removed");
    let mut conv = FrameConverter::new(PixelFormat::Mjpeg, 320, 240).unwrap();
    let with_tables = conv.convert_to_frame(&jpeg).unwrap();
    let without = conv.convert_to_frame(&bare).unwrap();
    assert_eq!(with_tables, without);
    assert!(psnr(&original, &without).unwrap() > 38.0);
}

#[test]
fn greyscale_mjpeg_has_neutral_chroma() {
    // A full-range ramp 0..=255 across: limited range 16..=235 after conversion.
    let grey: Vec<u8> = (0..64 * 16).map(|i| ((i % 64) * 255 / 63) as u8).collect();
    let jpeg = encode_jpeg(&grey, 64, 16, ColorType::Luma, SamplingFactor::R_4_4_4);
    let frame = FrameConverter::new(PixelFormat::Mjpeg, 64, 16)
        .unwrap()
        .convert_to_frame(&jpeg)
        .unwrap();
    let (y, u, v) = frame.planes();
    assert!(u.iter().chain(v).all(|&c| c == 128));
    assert!(y[0] <= 18 && y[63] >= 233, "{} {}", y[0], y[63]);
}

#[test]
fn bad_mjpeg_frames_are_errors_not_panics() {
    let jpeg = encode_jpeg(
        &to_rgb(&pattern(64, 64, 1)),
        64,
        64,
        ColorType::Rgb,
        SamplingFactor::R_4_2_2,
    );
    let mut conv = FrameConverter::new(PixelFormat::Mjpeg, 64, 64).unwrap();
    let mut out = VideoFrame::black(64, 64).unwrap();
    // A frame of another size than the camera announced.
    let mut small = FrameConverter::new(PixelFormat::Mjpeg, 32, 32).unwrap();
    let err = small.convert_to_frame(&jpeg).unwrap_err();
    assert!(
        matches!(&err, Error::Convert { format: "MJPEG", reason } if reason.contains("64x64")),
        "{err}"
    );
    // Cut anywhere: the headers must fail cleanly; a cut scan may decode to something.
    let sos = jpeg.windows(2).position(|m| m == [0xFF, 0xDA]).unwrap();
    for cut in 0..jpeg.len() {
        let result = conv.convert(&jpeg[..cut], &mut out);
        if cut <= sos {
            assert!(result.is_err(), "cut at {cut}");
        }
    }
    // Damaged bytes anywhere.
    let mut state = 1u32;
    for _ in 0..300 {
        let mut bad = jpeg.clone();
        for _ in 0..3 {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let at = (state >> 8) as usize % bad.len();
            bad[at] = (state >> 24) as u8;
        }
        let _ = conv.convert(&bad, &mut out);
    }
}

#[test]
#[ignore = "a timing report, run with --release --nocapture"]
#[allow(clippy::disallowed_methods, reason = "a timing report reads the clock")]
fn conversion_and_pattern_timings() {
    let frames = 60;
    let original = pattern(1280, 720, 5);
    let yuyv = to_yuyv(&original);
    let jpeg = encode_jpeg(
        &to_rgb(&original),
        1280,
        720,
        ColorType::Rgb,
        SamplingFactor::R_4_2_2,
    );
    let mut out = VideoFrame::black(1280, 720).unwrap();
    let time = |what: &str, f: &mut dyn FnMut()| {
        let start = std::time::Instant::now();
        for _ in 0..frames {
            f();
        }
        let per = start.elapsed() / frames;
        println!(
            "{what}: {:.2} ms per 1280x720 frame",
            per.as_secs_f64() * 1e3
        );
    };
    let mut conv = FrameConverter::new(PixelFormat::Yuyv, 1280, 720).unwrap();
    time("YUYV to I420", &mut || {
        conv.convert(&yuyv, &mut out).unwrap()
    });
    let mut conv = FrameConverter::new(PixelFormat::Mjpeg, 1280, 720).unwrap();
    time("MJPEG 4:2:2 q90 to I420", &mut || {
        conv.convert(&jpeg, &mut out).unwrap()
    });
    let source = PatternSource::new(1280, 720).unwrap();
    let mut n = 0;
    time("pattern frame", &mut || {
        out = source.frame(n);
        n += 1;
    });
    time("read_frame_index", &mut || {
        assert!(read_frame_index(&out).is_some());
    });
}
