//! H.264 encoding and decoding with OpenH264 (Constrained Baseline: no B-frames, so every
//! access unit decodes to a picture as soon as it arrives).
//!
//! [`H264Encoder`] takes [`VideoFrame`]s and writes one Annex-B access unit per picture into a
//! caller's buffer, rate-controlled on a target bitrate for real-time camera video. Keyframes
//! (IDR pictures) come first, on [`H264Encoder::request_keyframe`] (a PLI from the receiver)
//! and after a change of size or bitrate; each carries its SPS and PPS in-band, so a receiver
//! that joins late or lost packets can start decoding there. [`H264Decoder`] turns access units
//! back into pictures; an error means the stream is broken from there on, and the caller freezes
//! the picture and asks for a keyframe.
//!
//! ```
//! use sotto_media::video::h264::{H264Decoder, H264Encoder, H264EncoderConfig};
//! use sotto_media::video::VideoFrame;
//! # fn main() -> Result<(), sotto_media::Error> {
//! let config = H264EncoderConfig { width: 64, height: 48, fps: 30, bitrate_bps: 100_000 };
//! let mut encoder = H264Encoder::new(&config)?;
//! let mut decoder = H264Decoder::new()?;
//! let picture = VideoFrame::black(64, 48)?;
//! let mut access_unit = Vec::new();
//! let encoded = encoder.encode(&picture, &mut access_unit)?;
//! assert!(encoded.keyframe);
//! let decoded = decoder.decode(&access_unit)?.expect("an IDR decodes at once");
//! assert_eq!((decoded.width(), decoded.height()), (64, 48));
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::ops::RangeInclusive;

use openh264::decoder::{Decoder, DecoderConfig, Flush};
use openh264::encoder::{
    BitRate, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, RateControlMode,
    SpsPpsStrategy, UsageType,
};
use openh264::formats::YUVSource;
use openh264::{OpenH264API, Timestamp};

use super::{check_size, i420_len, VideoFrame};
use crate::Error;

/// Frame rates the encoder accepts.
pub const FPS_RANGE: RangeInclusive<u32> = 1..=240;
/// Target bitrates the encoder accepts, in bit/s.
pub const BITRATE_RANGE_BPS: RangeInclusive<u32> = 10_000..=100_000_000;
/// The largest picture OpenH264 encodes, in either orientation (its level 5.2 limit).
pub const MAX_ENCODE_SIZE: (u32, u32) = (3840, 2160);

/// NAL unit types this module looks for (H.264 table 7-1).
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;

/// The DECODING_STATE of a picture that needs more data.
const FRAME_PENDING: i64 = 0x1;
/// DECODING_STATE bits of OpenH264's decoder (codec_def.h), for readable errors.
const DECODING_STATES: [(i64, &str); 11] = [
    (FRAME_PENDING, "frame pending"),
    (0x2, "reference picture lost"),
    (0x4, "bitstream error"),
    (0x8, "dependency layer lost"),
    (0x10, "no parameter sets (SPS/PPS) yet"),
    (0x20, "data error concealed"),
    (0x40, "reference list broken"),
    (0x1000, "invalid argument"),
    (0x2000, "decoder not initialised"),
    (0x4000, "out of memory"),
    (0x8000, "destination buffer too small"),
];

/// What an [`H264Encoder`] is set up for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct H264EncoderConfig {
    /// Picture width in pixels: even, within [`MAX_ENCODE_SIZE`] either way round.
    pub width: u32,
    /// Picture height in pixels: even, within [`MAX_ENCODE_SIZE`] either way round.
    pub height: u32,
    /// Pictures per second the caller feeds, within [`FPS_RANGE`]; rate control spreads the
    /// bitrate over them.
    pub fps: u32,
    /// Target bitrate in bit/s, within [`BITRATE_RANGE_BPS`].
    pub bitrate_bps: u32,
}

impl H264EncoderConfig {
    fn validate(&self) -> Result<(), Error> {
        check_encode_size(self.width, self.height)?;
        if !FPS_RANGE.contains(&self.fps) {
            return Err(Error::InvalidFrameRate(self.fps));
        }
        check_bitrate(self.bitrate_bps)
    }

    /// The OpenH264 settings for a real-time call: camera content, rate control on bitrate
    /// with frame skipping (so a burst cannot build a queue), one slice, one thread (the
    /// engine gives the encoder its own thread), keyframes only when asked for.
    fn openh264(&self) -> EncoderConfig {
        EncoderConfig::new()
            .usage_type(UsageType::CameraVideoRealTime)
            .rate_control_mode(RateControlMode::Bitrate)
            .bitrate(BitRate::from_bps(self.bitrate_bps))
            .max_frame_rate(FrameRate::from_hz(self.fps as f32))
            .skip_frames(true)
            .sps_pps_strategy(SpsPpsStrategy::ConstantId)
            .intra_frame_period(IntraFramePeriod::auto())
            .num_threads(1)
    }
}

fn check_encode_size(width: u32, height: u32) -> Result<(), Error> {
    check_size(width, height)?;
    let (long, short) = (width.max(height), width.min(height));
    if long > MAX_ENCODE_SIZE.0 || short > MAX_ENCODE_SIZE.1 {
        return Err(Error::InvalidVideoSize { width, height });
    }
    Ok(())
}

fn check_bitrate(bitrate_bps: u32) -> Result<(), Error> {
    if !BITRATE_RANGE_BPS.contains(&bitrate_bps) {
        return Err(codec_error(
            "encoder setup",
            format!("bitrate {bitrate_bps} bit/s out of range: use 10000 to 100000000"),
        ));
    }
    Ok(())
}

fn codec_error(context: &'static str, message: String) -> Error {
    Error::Codec { context, message }
}

/// What [`H264Encoder::encode`] made of one picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodedFrame {
    /// The access unit is an IDR picture with SPS and PPS in front: a receiver can start here.
    pub keyframe: bool,
    /// Rate control dropped the picture to stay within the bitrate; the output is empty and
    /// nothing is sent for this frame interval.
    pub skipped: bool,
}

/// An H.264 encoder for real-time video (OpenH264, Constrained Baseline, no B-frames).
///
/// Feed it one picture per frame interval with [`H264Encoder::encode`]. A picture of another
/// size than the last re-initialises the encoder at that size, and the next output is an IDR.
pub struct H264Encoder {
    encoder: Encoder,
    config: H264EncoderConfig,
    /// Pictures encoded since the encoder was (re)built: the clock that rate control runs on.
    pictures: u64,
    /// An IDR is owed: asked for, or the size changed. Cleared once one comes out.
    keyframe_pending: bool,
    /// The last SPS and PPS seen (with start codes), for an IDR that lacks them.
    parameter_sets: Vec<u8>,
}

impl fmt::Debug for H264Encoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("H264Encoder")
            .field("config", &self.config)
            .field("pictures", &self.pictures)
            .field("keyframe_pending", &self.keyframe_pending)
            .finish_non_exhaustive()
    }
}

impl H264Encoder {
    /// An encoder for pictures of `config.width` x `config.height` at `config.fps`, aiming at
    /// `config.bitrate_bps`. Its first output is an IDR.
    pub fn new(config: &H264EncoderConfig) -> Result<Self, Error> {
        config.validate()?;
        Ok(H264Encoder {
            encoder: build_encoder(config)?,
            config: *config,
            pictures: 0,
            keyframe_pending: true,
            parameter_sets: Vec::new(),
        })
    }

    /// The current settings (the size follows the last picture encoded).
    pub fn config(&self) -> &H264EncoderConfig {
        &self.config
    }

    /// Asks for an IDR with SPS and PPS: the next picture that rate control does not skip
    /// becomes one. Call it when the receiver sends a PLI or FIR.
    pub fn request_keyframe(&mut self) {
        self.keyframe_pending = true;
    }

    /// Changes the target bitrate (within [`BITRATE_RANGE_BPS`]). OpenH264's safe bindings
    /// cannot retune a running encoder, so a new rate restarts it and the next output is an
    /// IDR: change the rate in steps, not on every feedback report. Setting the current rate
    /// again does nothing.
    pub fn set_bitrate(&mut self, bitrate_bps: u32) -> Result<(), Error> {
        check_bitrate(bitrate_bps)?;
        if bitrate_bps == self.config.bitrate_bps {
            return Ok(());
        }
        let config = H264EncoderConfig {
            bitrate_bps,
            ..self.config
        };
        self.encoder = build_encoder(&config)?;
        self.config = config;
        self.pictures = 0;
        self.keyframe_pending = true;
        Ok(())
    }

    /// Encodes one picture into `out` (cleared first) as an Annex-B access unit: NAL units
    /// after four-byte start codes, ready for `sotto_rtp::h264::H264Packetizer`.
    pub fn encode(&mut self, frame: &VideoFrame, out: &mut Vec<u8>) -> Result<EncodedFrame, Error> {
        out.clear();
        let (width, height) = (frame.width(), frame.height());
        if (width, height) != (self.config.width, self.config.height) {
            check_encode_size(width, height)?;
            // The bindings see the new size, re-initialise and force an IDR themselves; the
            // pending flag makes sure that the IDR is not lost to a skipped picture.
            self.config.width = width;
            self.config.height = height;
            self.keyframe_pending = true;
        }
        if self.keyframe_pending {
            self.encoder.force_intra_frame();
        }
        // Pictures arrive once per frame interval; rate control wants their time in ms.
        let millis = self.pictures.saturating_mul(1000) / u64::from(self.config.fps);
        let timestamp = Timestamp::from_millis(millis.min(i64::MAX as u64));
        self.pictures += 1;

        let stream = self
            .encoder
            .encode_at(&I420(frame), timestamp)
            .map_err(|e| codec_error("encode", format!("openh264 code {}", e.native_code())))?;
        let keyframe = match stream.frame_type() {
            FrameType::Skip => {
                return Ok(EncodedFrame {
                    keyframe: false,
                    skipped: true,
                })
            }
            FrameType::IDR => true,
            FrameType::I | FrameType::P | FrameType::IPMixed => false,
            FrameType::Invalid => {
                return Err(codec_error(
                    "encode",
                    "openh264 produced no valid picture type; recreate the encoder".into(),
                ))
            }
        };
        let (mut has_sps, mut has_pps) = (false, false);
        for index in 0..stream.num_layers() {
            let Some(layer) = stream.layer(index) else {
                continue;
            };
            for nal in (0..layer.nal_count()).filter_map(|n| layer.nal_unit(n)) {
                let nal_type = annexb_nal_type(nal);
                if matches!(nal_type, Some(NAL_SPS | NAL_PPS)) {
                    if !has_sps && !has_pps {
                        // A new set replaces the remembered one; the capacity stays.
                        self.parameter_sets.clear();
                    }
                    has_sps |= nal_type == Some(NAL_SPS);
                    has_pps |= nal_type == Some(NAL_PPS);
                    self.parameter_sets.extend_from_slice(nal);
                }
                out.extend_from_slice(nal);
            }
        }
        if keyframe {
            self.keyframe_pending = false;
            if !(has_sps && has_pps) {
                repeat_parameter_sets(out, &self.parameter_sets)?;
            }
        }
        Ok(EncodedFrame {
            keyframe,
            skipped: out.is_empty(),
        })
    }
}

fn build_encoder(config: &H264EncoderConfig) -> Result<Encoder, Error> {
    Encoder::with_api_config(OpenH264API::from_source(), config.openh264()).map_err(|e| {
        codec_error(
            "encoder setup",
            format!("openh264 code {}", e.native_code()),
        )
    })
}

/// The type of a NAL unit that starts with a three- or four-byte start code.
fn annexb_nal_type(nal: &[u8]) -> Option<u8> {
    let header = match nal {
        [0, 0, 0, 1, header, ..] | [0, 0, 1, header, ..] => *header,
        _ => return None,
    };
    Some(header & 0x1f)
}

/// Puts the remembered SPS and PPS in front of an IDR access unit that came without them.
fn repeat_parameter_sets(access_unit: &mut Vec<u8>, parameter_sets: &[u8]) -> Result<(), Error> {
    if parameter_sets.is_empty() {
        return Err(codec_error(
            "encode",
            "keyframe without SPS/PPS and none seen before; recreate the encoder".into(),
        ));
    }
    access_unit.splice(0..0, parameter_sets.iter().copied());
    Ok(())
}

/// A [`VideoFrame`] as OpenH264 reads it: tightly packed I420.
struct I420<'a>(&'a VideoFrame);

impl YUVSource for I420<'_> {
    fn dimensions(&self) -> (usize, usize) {
        (self.0.width() as usize, self.0.height() as usize)
    }

    fn strides(&self) -> (usize, usize, usize) {
        let width = self.0.width() as usize;
        (width, width / 2, width / 2)
    }

    fn y(&self) -> &[u8] {
        self.0.planes().0
    }

    fn u(&self) -> &[u8] {
        self.0.planes().1
    }

    fn v(&self) -> &[u8] {
        self.0.planes().2
    }
}

/// An H.264 decoder (OpenH264) for streams without B-frames, as real-time senders make them.
///
/// Error concealment is off: a broken access unit is an error, not a smeared picture, so the
/// caller keeps showing the last good picture and asks for a keyframe.
pub struct H264Decoder {
    decoder: Decoder,
    pictures: u64,
}

impl fmt::Debug for H264Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("H264Decoder")
            .field("pictures", &self.pictures)
            .finish_non_exhaustive()
    }
}

impl H264Decoder {
    /// A decoder waiting for its first SPS, PPS and IDR.
    pub fn new() -> Result<Self, Error> {
        // No flushing: with no B-frames a picture comes out of the access unit that carries
        // it, and a flush on a broken stream only adds errors.
        let config = DecoderConfig::new().flush_after_decode(Flush::NoFlush);
        let decoder =
            Decoder::with_api_config(OpenH264API::from_source(), config).map_err(|e| {
                codec_error(
                    "decoder setup",
                    format!("openh264 code {}", e.native_code()),
                )
            })?;
        Ok(H264Decoder {
            decoder,
            pictures: 0,
        })
    }

    /// Pictures decoded so far.
    pub fn pictures(&self) -> u64 {
        self.pictures
    }

    /// Decodes one Annex-B access unit; `Ok(None)` when it yields no picture yet (parameter
    /// sets alone, or an empty unit). `Err` means the stream is broken here: the caller
    /// freezes the picture and asks for a keyframe; decoding resumes at the next IDR.
    pub fn decode(&mut self, annexb: &[u8]) -> Result<Option<VideoFrame>, Error> {
        // OpenH264 reads a zero length as end of stream; an empty unit has nothing to give.
        if annexb.is_empty() {
            return Ok(None);
        }
        let decoded = match self.decoder.decode(annexb) {
            Ok(decoded) => decoded,
            // Not broken, only not complete yet.
            Err(e) if e.native_code() == FRAME_PENDING => None,
            Err(e) => return Err(decode_error(e.native_code())),
        };
        let Some(yuv) = decoded else {
            return Ok(None);
        };
        let frame = copy_i420(&yuv)?;
        self.pictures += 1;
        Ok(Some(frame))
    }
}

/// Names the DECODING_STATE bits of a decoder error.
fn decode_error(code: i64) -> Error {
    let names: Vec<&str> = DECODING_STATES
        .iter()
        .filter(|(bit, _)| code & bit != 0)
        .map(|(_, name)| *name)
        .collect();
    let what = if names.is_empty() {
        format!("openh264 code {code}")
    } else {
        names.join(", ")
    };
    codec_error(
        "decode",
        format!("{what}; freeze the picture and ask the sender for a keyframe"),
    )
}

/// Copies a decoded picture (planes with strides) into a tightly packed [`VideoFrame`].
fn copy_i420(yuv: &impl YUVSource) -> Result<VideoFrame, Error> {
    let (width, height) = yuv.dimensions();
    let (w, h) = (
        u32::try_from(width).unwrap_or(u32::MAX),
        u32::try_from(height).unwrap_or(u32::MAX),
    );
    check_size(w, h)?;
    let (y_stride, u_stride, v_stride) = yuv.strides();
    let mut data = Vec::with_capacity(i420_len(w, h));
    let planes = [
        (yuv.y(), y_stride, width, height),
        (yuv.u(), u_stride, width / 2, height / 2),
        (yuv.v(), v_stride, width / 2, height / 2),
    ];
    for (plane, stride, plane_width, rows) in planes {
        for row in 0..rows {
            let start = row * stride;
            let line = plane.get(start..start + plane_width).ok_or_else(|| {
                codec_error(
                    "decode",
                    format!("decoded {width}x{height} plane shorter than its stride says"),
                )
            })?;
            data.extend_from_slice(line);
        }
    }
    VideoFrame::from_i420(w, h, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn au(nals: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for nal in nals {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(nal);
        }
        out
    }

    #[test]
    fn codec_moves_to_the_media_threads() {
        fn send<T: Send>() {}
        send::<H264Encoder>();
        send::<H264Decoder>();
    }

    #[test]
    fn nal_types_behind_either_start_code() {
        assert_eq!(annexb_nal_type(&[0, 0, 0, 1, 0x67, 1]), Some(NAL_SPS));
        assert_eq!(annexb_nal_type(&[0, 0, 1, 0x65]), Some(5));
        assert_eq!(annexb_nal_type(&[0, 0, 0, 1]), None);
        assert_eq!(annexb_nal_type(&[0x67]), None);
    }

    #[test]
    fn parameter_sets_are_repeated_in_front_of_a_bare_idr() {
        let sps: &[u8] = &[0x67, 0x42, 0xc0, 0x1f];
        let pps: &[u8] = &[0x68, 0xce, 0x3c, 0x80];
        let idr: &[u8] = &[0x65, 0x88, 0x84];
        let store = au(&[sps, pps]);
        let mut bare = au(&[idr]);
        repeat_parameter_sets(&mut bare, &store).expect("parameter sets known");
        assert_eq!(bare, au(&[sps, pps, idr]));

        let mut orphan = au(&[idr]);
        assert!(repeat_parameter_sets(&mut orphan, &[]).is_err());
    }

    #[test]
    fn decoder_errors_name_the_state() {
        let message = decode_error(0x2 | 0x4).to_string();
        assert!(message.contains("reference picture lost"), "{message}");
        assert!(message.contains("bitstream error"), "{message}");
        assert!(message.contains("keyframe"), "{message}");
    }

    #[test]
    fn bad_configs_are_refused() {
        let good = H264EncoderConfig {
            width: 64,
            height: 48,
            fps: 30,
            bitrate_bps: 100_000,
        };
        for bad in [
            H264EncoderConfig { width: 63, ..good },
            H264EncoderConfig {
                height: 4000,
                ..good
            },
            H264EncoderConfig { fps: 0, ..good },
            H264EncoderConfig {
                bitrate_bps: 5,
                ..good
            },
        ] {
            assert!(H264Encoder::new(&bad).is_err(), "{bad:?}");
        }
        let mut encoder = H264Encoder::new(&good).expect("valid config");
        assert!(encoder.set_bitrate(0).is_err());
    }
}
