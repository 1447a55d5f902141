//! H.264 through OpenH264: the moving test pattern survives encode and decode with a stated
//! quality, keyframes come when asked for with their parameter sets, a receiver can start at a
//! mid-stream keyframe, rate control holds the bitrate, and broken input never panics.

use sotto_media::video::h264::{EncodedFrame, H264Decoder, H264Encoder, H264EncoderConfig};
use sotto_media::video::{psnr, PatternSource, VideoFrame, VideoSource};

const NAL_SLICE: u8 = 1;
const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;

fn config(width: u32, height: u32, bitrate_bps: u32) -> H264EncoderConfig {
    H264EncoderConfig {
        width,
        height,
        fps: 30,
        bitrate_bps,
    }
}

/// `count` consecutive pictures of the moving pattern.
fn pattern(width: u32, height: u32, count: usize) -> Vec<VideoFrame> {
    let mut source = PatternSource::new(width, height).expect("pattern size is valid");
    (0..count)
        .map(|_| {
            source
                .read()
                .expect("pattern never fails")
                .expect("pattern never ends")
        })
        .collect()
}

/// The NAL unit types of an Annex-B access unit, in order.
fn nal_types(annexb: &[u8]) -> Vec<u8> {
    annexb
        .windows(4)
        .filter(|w| w[..3] == [0, 0, 1])
        .map(|w| w[3] & 0x1f)
        .collect()
}

/// Encodes every picture; returns each one's access unit and what the encoder said.
fn encode_all(encoder: &mut H264Encoder, frames: &[VideoFrame]) -> Vec<(Vec<u8>, EncodedFrame)> {
    frames
        .iter()
        .map(|frame| {
            let mut out = Vec::new();
            let encoded = encoder.encode(frame, &mut out).expect("encode");
            assert_eq!(encoded.skipped, out.is_empty());
            (out, encoded)
        })
        .collect()
}

/// A small deterministic generator for garbage bytes (xorshift64*).
struct Garbage(u64);

impl Garbage {
    fn next_byte(&mut self) -> u8 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_byte()).collect()
    }
}

/// 640x480 at 1 Mbit/s and 30 fps over 60 pictures (2 s of the moving pattern): every picture
/// comes out at the right size, with a mean PSNR of at least 40 dB and none below 35 dB
/// (measured: mean 47.5 dB, worst 45.6 dB).
#[test]
fn moving_pattern_round_trip_keeps_quality() {
    let frames = pattern(640, 480, 60);
    let mut encoder = H264Encoder::new(&config(640, 480, 1_000_000)).expect("encoder");
    let mut decoder = H264Decoder::new().expect("decoder");
    let mut scores = Vec::new();
    for (i, (au, encoded)) in encode_all(&mut encoder, &frames).into_iter().enumerate() {
        assert_eq!(
            encoded.keyframe,
            i == 0,
            "picture {i}: only the first is an IDR"
        );
        if encoded.skipped {
            continue;
        }
        let decoded = decoder
            .decode(&au)
            .unwrap_or_else(|e| panic!("picture {i}: {e}"))
            .unwrap_or_else(|| panic!("picture {i} gave no picture"));
        assert_eq!((decoded.width(), decoded.height()), (640, 480));
        scores.push(psnr(&frames[i], &decoded).expect("same size"));
    }
    assert!(
        scores.len() >= 57,
        "only {} of 60 pictures coded",
        scores.len()
    );
    let mean = scores.iter().sum::<f64>() / scores.len() as f64;
    let worst = scores.iter().copied().fold(f64::INFINITY, f64::min);
    println!("640x480 1 Mbit/s: mean PSNR {mean:.2} dB, worst {worst:.2} dB");
    assert!(mean >= 40.0, "mean PSNR {mean:.2} dB");
    assert!(worst >= 35.0, "worst PSNR {worst:.2} dB");
}

/// After `request_keyframe` the next picture is an IDR led by SPS and PPS (Constrained
/// Baseline); the pictures around it are plain P slices without parameter sets.
#[test]
fn keyframe_comes_on_request_with_parameter_sets() {
    let frames = pattern(320, 240, 30);
    let mut encoder = H264Encoder::new(&config(320, 240, 500_000)).expect("encoder");
    let mut out = Vec::new();
    for (i, frame) in frames.iter().enumerate() {
        if i == 12 || i == 20 {
            encoder.request_keyframe();
        }
        let encoded = encoder.encode(frame, &mut out).expect("encode");
        let types = nal_types(&out);
        if i == 0 || i == 12 || i == 20 {
            assert!(encoded.keyframe, "picture {i} should be an IDR");
            assert_eq!(
                types.first(),
                Some(&NAL_SPS),
                "picture {i}: SPS first, got {types:?}"
            );
            assert!(types.contains(&NAL_PPS), "picture {i}: {types:?}");
            assert!(types.contains(&NAL_IDR), "picture {i}: {types:?}");
            // profile_idc 66 with constraint_set1: Constrained Baseline, which every
            // H.264 decoder in a call plays (SDP profile-level-id 42e0xx / 42c0xx).
            let sps = out
                .windows(7)
                .find(|w| w[..4] == [0, 0, 0, 1] && w[4] & 0x1f == NAL_SPS)
                .expect("SPS with its header bytes");
            assert_eq!(sps[5], 66, "profile_idc");
            assert_ne!(sps[6] & 0x40, 0, "constraint_set1_flag");
        } else {
            assert!(!encoded.keyframe, "picture {i} should not be an IDR");
            if !encoded.skipped {
                assert!(
                    types.iter().all(|&t| t == NAL_SLICE),
                    "picture {i}: {types:?}"
                );
            }
        }
    }
}

/// A receiver that joins mid-stream, and one that loses pictures, get errors (never pictures)
/// from P-frames they have no reference for, then decode cleanly from the next IDR on.
#[test]
fn decoding_starts_at_a_midstream_keyframe() {
    let frames = pattern(320, 240, 40);
    let mut encoder = H264Encoder::new(&config(320, 240, 600_000)).expect("encoder");
    let mut units = Vec::new();
    for (i, frame) in frames.iter().enumerate() {
        if i == 20 {
            encoder.request_keyframe();
        }
        let mut out = Vec::new();
        let encoded = encoder.encode(frame, &mut out).expect("encode");
        assert_eq!(encoded.keyframe, i == 0 || i == 20, "picture {i}");
        units.push(out);
    }

    // One receiver joins at picture 10: P-frames without parameter sets are errors.
    let mut joiner = H264Decoder::new().expect("decoder");
    for (i, au) in units.iter().enumerate().take(20).skip(10) {
        match joiner.decode(au) {
            Err(_) => {}
            Ok(picture) => panic!("picture {i} without parameter sets gave {picture:?}"),
        }
    }
    // Another loses pictures 10 to 12: the gap in frame numbers is an error, not a smeared
    // picture, and no picture comes out until the IDR.
    let mut loser = H264Decoder::new().expect("decoder");
    for (i, au) in units.iter().enumerate().take(10) {
        assert!(loser.decode(au).expect("decode").is_some(), "picture {i}");
    }
    let mut errors = 0;
    for (i, au) in units.iter().enumerate().take(20).skip(13) {
        match loser.decode(au) {
            Err(_) => errors += 1,
            Ok(None) => {}
            Ok(Some(_)) => panic!("picture {i} decoded after its reference was lost"),
        }
    }
    assert!(errors >= 1, "the lost reference went unreported");

    let mut scores = Vec::new();
    for (i, au) in units.iter().enumerate().skip(20) {
        if au.is_empty() {
            continue;
        }
        for decoder in [&mut joiner, &mut loser] {
            let decoded = decoder
                .decode(au)
                .unwrap_or_else(|e| panic!("picture {i} after the IDR: {e}"))
                .unwrap_or_else(|| panic!("picture {i} after the IDR gave no picture"));
            scores.push(psnr(&frames[i], &decoded).expect("same size"));
        }
    }
    let mean = scores.iter().sum::<f64>() / scores.len() as f64;
    assert!(scores.len() >= 36, "{} pictures decoded", scores.len());
    println!("from the IDR on: mean PSNR {mean:.2} dB");
    assert!(mean >= 40.0, "mean PSNR from the IDR on: {mean:.2} dB");
}

/// How a run of broken input came out.
#[derive(Debug, Default)]
struct Outcomes {
    errors: usize,
    nothing: usize,
    pictures: usize,
}

impl Outcomes {
    fn count(&mut self, result: Result<Option<VideoFrame>, sotto_media::Error>) {
        match result {
            Err(_) => self.errors += 1,
            Ok(None) => self.nothing += 1,
            Ok(Some(_)) => self.pictures += 1,
        }
    }
}

/// Random bytes (bare, and behind a start code and a plausible NAL header), damaged access units
/// and truncated ones give errors or no picture, never a panic; a decoder fed all that still
/// decodes the next IDR.
#[test]
fn garbage_and_truncated_input_never_panic() {
    let frames = pattern(160, 120, 3);
    let mut encoder = H264Encoder::new(&config(160, 120, 200_000)).expect("encoder");
    let units: Vec<Vec<u8>> = encode_all(&mut encoder, &frames)
        .into_iter()
        .map(|(au, _)| au)
        .collect();
    let mut decoder = H264Decoder::new().expect("decoder");

    let mut garbage_outcomes = Outcomes::default();
    let mut garbage = Garbage(0x5eed_1234_abcd_0001);
    for round in 0..300 {
        let len = 1 + round * 7 % 3000;
        let mut bytes = garbage.bytes(len);
        if round % 2 == 0 {
            // Behind a start code and a NAL header the decoder parses further.
            let header = [0x65, 0x41, 0x67, 0x68, 0x06][round % 5];
            bytes.splice(0..0, [0, 0, 0, 1, header]);
        }
        garbage_outcomes.count(decoder.decode(&bytes));
    }
    assert_eq!(decoder.decode(&[]).ok().flatten(), None);

    // Every 11th cut of each unit into a fresh decoder, and the same unit with every 13th byte
    // flipped from the cut on into the decoder that saw everything.
    let (mut truncated, mut damaged) = (Outcomes::default(), Outcomes::default());
    for au in &units {
        for cut in (0..au.len()).step_by(11) {
            let mut fresh = H264Decoder::new().expect("decoder");
            truncated.count(fresh.decode(&au[..cut]));
            let mut broken = au.clone();
            for byte in broken.iter_mut().skip(cut).step_by(13) {
                *byte ^= 0x5a;
            }
            damaged.count(decoder.decode(&broken));
        }
    }
    println!("garbage {garbage_outcomes:?}, truncated {truncated:?}, damaged {damaged:?}");
    assert_eq!(garbage_outcomes.pictures, 0, "garbage gave pictures");
    assert_eq!(truncated.pictures, 0, "truncated units gave pictures");

    // The stream recovers at an IDR with its parameter sets.
    let mut encoder = H264Encoder::new(&config(160, 120, 200_000)).expect("encoder");
    let mut idr = Vec::new();
    let encoded = encoder.encode(&frames[0], &mut idr).expect("encode");
    assert!(encoded.keyframe);
    let picture = decoder
        .decode(&idr)
        .expect("an IDR decodes after garbage")
        .expect("an IDR gives a picture");
    assert!(psnr(&frames[0], &picture).expect("same size") > 30.0);
}

/// 90 pictures (3 s) at 500 kbit/s come to within 0.5x to 1.5x of 500 kbit/s; after
/// `set_bitrate` down to 150 kbit/s the next picture is an IDR and the rate follows.
#[test]
fn rate_control_holds_the_bitrate() {
    let frames = pattern(640, 480, 180);
    let mut encoder = H264Encoder::new(&config(640, 480, 500_000)).expect("encoder");
    let (first, second) = frames.split_at(90);
    let bytes =
        |units: &[(Vec<u8>, EncodedFrame)]| units.iter().map(|(au, _)| au.len()).sum::<usize>();

    let units = encode_all(&mut encoder, first);
    let kbps = bytes(&units) as f64 * 8.0 / 3.0 / 1000.0;
    let skipped = units.iter().filter(|(_, e)| e.skipped).count();
    println!("500 kbit/s target: {kbps:.0} kbit/s, {skipped} of 90 skipped");
    assert!((250.0..=750.0).contains(&kbps), "{kbps:.0} kbit/s");

    encoder.set_bitrate(150_000).expect("set bitrate");
    let units = encode_all(&mut encoder, second);
    assert!(units[0].1.keyframe, "a new rate starts with an IDR");
    let kbps = bytes(&units) as f64 * 8.0 / 3.0 / 1000.0;
    println!("150 kbit/s target: {kbps:.0} kbit/s");
    assert!((75.0..=225.0).contains(&kbps), "{kbps:.0} kbit/s");
}

/// A picture of another size re-initialises the encoder: an IDR with parameter sets at the new
/// size, which a decoder follows.
#[test]
fn size_change_restarts_with_a_keyframe() {
    let small = pattern(320, 240, 5);
    let large = pattern(640, 360, 5);
    let mut encoder = H264Encoder::new(&config(320, 240, 800_000)).expect("encoder");
    let mut decoder = H264Decoder::new().expect("decoder");
    let mut out = Vec::new();
    for (i, frame) in small.iter().chain(&large).enumerate() {
        let encoded = encoder.encode(frame, &mut out).expect("encode");
        assert_eq!(encoded.keyframe, i == 0 || i == 5, "picture {i}");
        if encoded.keyframe {
            let types = nal_types(&out);
            assert!(
                types.contains(&NAL_SPS) && types.contains(&NAL_PPS),
                "{types:?}"
            );
        }
        if encoded.skipped {
            continue;
        }
        let decoded = decoder.decode(&out).expect("decode").expect("picture");
        assert_eq!(
            (decoded.width(), decoded.height()),
            (frame.width(), frame.height())
        );
    }
    assert_eq!(
        (encoder.config().width, encoder.config().height),
        (640, 360)
    );
}
