//! H.264 video over SRTP against GStreamer, both directions, AES-128 and AES-256 with both tag
//! lengths.
//!
//! **We send.** 60 pictures of sotto's moving test pattern (320x240, 30 fps) are encoded with
//! [`H264Encoder`] (OpenH264, 500 kbit/s), packetized by [`H264Packetizer`] (payload type 96,
//! 90 kHz, 1200-byte payloads), protected by [`SrtpSender`] and sent over loopback UDP to:
//!
//! ```text
//! gst-launch-1.0 -e udpsrc address=127.0.0.1 port=P caps="<CAPS>" ! srtpdec ! rtph264depay
//!   ! avdec_h264 ! videoconvert ! video/x-raw,format=I420,width=320,height=240
//!   ! filesink location=out.i420 buffer-mode=unbuffered
//! ```
//!
//! where `<CAPS>` names the SSRC (srtpdec drops everything otherwise, see gstreamer-opus.rs):
//!
//! ```text
//! application/x-srtp, payload=(int)96, ssrc=(uint)<SSRC>, srtp-key=(buffer)<hex key || salt>,
//!   srtp-cipher=(string)<cipher>, srtp-auth=(string)<auth>, srtcp-cipher=(string)<cipher>,
//!   srtcp-auth=(string)hmac-sha1-80, roc=(uint)0, clock-rate=(int)90000,
//!   encoding-name=(string)H264, media=(string)video
//! ```
//!
//! Once the raw file holds every picture (or 10 s pass), SIGINT (with `-e`, an EOS) flushes the
//! decoder. At least 58 of the 60 pictures must come out; each must carry a readable frame-index
//! barcode, indices must rise, each picture must score at least 35 dB PSNR against the pattern
//! picture of its index (mean at least 40 dB), and each must equal, sample for sample, what our
//! own [`H264Decoder`] made of the same access unit: H.264 decoding is exact, so libavcodec and
//! OpenH264 agree on a conforming stream.
//!
//! **They send.** We bind a loopback UDP socket and run:
//!
//! ```text
//! gst-launch-1.0 -e videotestsrc is-live=true pattern=ball num-buffers=60
//!   ! video/x-raw,width=320,height=240,framerate=30/1 ! openh264enc bitrate=1500000
//!   ! rtph264pay pt=96 ssrc=<SSRC> seqnum-offset=65520 mtu=1200 config-interval=-1
//!   ! srtpenc key=<hex key || salt> rtp-cipher=<cipher> rtp-auth=<auth>
//!     rtcp-cipher=<cipher> rtcp-auth=hmac-sha1-80
//!   ! udpsink host=127.0.0.1 port=<our port>
//! ```
//!
//! (`is-live` paces the source at 30 fps so a burst cannot overflow the socket buffer; the
//! sequence numbers wrap early on.) The ball makes small frames; one case draws a moving zone
//! plate instead (`pattern=zone-plate kx2=20 ky2=20 kt=1`), whose slices need FU-A fragments.
//! Every datagram is unprotected with [`SrtpReceiver`], reassembled by [`H264Depacketizer`] and
//! decoded by [`H264Decoder`]. Every packet must authenticate, the first frame must be an IDR with
//! SPS and PPS, at least 54 of the 60 pictures must decode at 320x240 with no decoder error, and
//! the picture must move (consecutive pictures differ).
//!
//! The tests need `gst-launch-1.0` with the srtp, rtp, openh264 and libav plugins; `.ci/setup`
//! installs them.

// These tests drive a real GStreamer process over real loopback sockets, so they use the clock,
// threads and sockets that the sans-IO library itself must never touch.
#![allow(clippy::disallowed_methods)]

#[path = "support/gstreamer.rs"]
mod gstreamer;

use std::time::{Duration, Instant};

use gstreamer::{
    free_udp_port, keying, scratch_path, srtp_caps, srtp_to_file, srtp_to_udp, GstProcess,
    SrtpInbox, SrtpOutbox, H264,
};
use sotto_media::video::h264::{H264Decoder, H264Encoder, H264EncoderConfig};
use sotto_media::video::{
    i420_len, psnr, read_frame_index, PatternSource, VideoFrame, VideoSource,
};
use sotto_rtp::h264::{H264Depacketizer, H264Packetizer, DEFAULT_MAX_PAYLOAD_LEN};
use sotto_rtp::srtp::SrtpProfile;

const WIDTH: u32 = 320;
const HEIGHT: u32 = 240;
const FPS: u32 = 30;
/// 2 s of video.
const FRAMES: usize = 60;
const PAYLOAD_TYPE: u8 = H264.payload_type;
/// 90 kHz RTP clock / 30 fps.
const TICKS_PER_FRAME: u32 = 3_000;
const STARTUP: Duration = Duration::from_secs(5);

fn we_send(profile: SrtpProfile, seed: u64) {
    let (key, salt, ssrc) = keying(profile, seed);
    let port = free_udp_port();
    let raw_path = scratch_path(&format!("h264-we-send-{seed}.i420"));
    let _ = std::fs::remove_file(&raw_path);

    let caps = srtp_caps(H264, profile, ssrc, &key, &salt);
    let raw_caps = format!("video/x-raw,format=I420,width={WIDTH},height={HEIGHT}");
    let decode = ["rtph264depay", "avdec_h264", "videoconvert", &raw_caps];
    let mut gst = GstProcess::spawn(&srtp_to_file(&caps, port, &decode, &raw_path));
    gst.wait_until_playing(STARTUP);

    let mut source = PatternSource::new(WIDTH, HEIGHT).expect("pattern");
    let mut encoder = H264Encoder::new(&H264EncoderConfig {
        width: WIDTH,
        height: HEIGHT,
        fps: FPS,
        bitrate_bps: 500_000,
    })
    .expect("encoder");
    let mut packetizer = H264Packetizer::new(ssrc, PAYLOAD_TYPE, 0x2345, DEFAULT_MAX_PAYLOAD_LEN)
        .expect("packetizer");
    let mut outbox = SrtpOutbox::connect(profile, &key, &salt, port);

    // What our own decoder makes of each access unit sent, by frame index.
    let mut local_decoder = H264Decoder::new().expect("decoder");
    let mut local = vec![None; FRAMES];
    let mut access_unit = Vec::new();
    let mut packet = [0u8; 1500];
    let mut sent_pictures = 0;
    for n in 0..FRAMES as u32 {
        let picture = source.read().expect("pattern").expect("pattern never ends");
        let encoded = encoder.encode(&picture, &mut access_unit).expect("encode");
        if encoded.skipped {
            continue;
        }
        sent_pictures += 1;
        local[n as usize] = local_decoder.decode(&access_unit).expect("decode");
        let timestamp = 0x0bad_cafe_u32.wrapping_add(n * TICKS_PER_FRAME);
        let mut packets = packetizer.start_access_unit(&access_unit, timestamp);
        while let Some(len) = packets.next_packet(&mut packet) {
            outbox.send(&mut packet, len.expect("packetize"));
        }
        // A short gap per picture keeps a keyframe's burst within the socket buffers.
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(sent_pictures >= FRAMES - 2, "the encoder skipped too much");

    let frame_len = i420_len(WIDTH, HEIGHT) as u64;
    let want = frame_len * sent_pictures as u64;
    let (bytes, seen) = gst.finish_file(&raw_path, want, Duration::from_secs(10));
    let pictures: Vec<VideoFrame> = bytes
        .chunks_exact(frame_len as usize)
        .map(|chunk| VideoFrame::from_i420(WIDTH, HEIGHT, chunk.to_vec()).expect("I420 picture"))
        .collect();
    assert!(
        pictures.len() >= FRAMES - 2,
        "{profile:?}: gstreamer decoded {} of {sent_pictures} pictures ({seen} of {want} bytes \
         before EOS):\n{}",
        pictures.len(),
        gst.log()
    );

    let mut last_index = None;
    let mut scores = Vec::new();
    for (k, picture) in pictures.iter().enumerate() {
        let index = read_frame_index(picture)
            .unwrap_or_else(|| panic!("{profile:?}: picture {k} has no readable frame index"));
        assert!(
            last_index.is_none_or(|last| index > last),
            "{profile:?}: picture {k} has index {index} after {last_index:?}"
        );
        last_index = Some(index);
        let score = psnr(&source.frame(index), picture).expect("same size");
        assert!(
            score >= 35.0,
            "{profile:?}: picture {k} (index {index}) scores {score:.2} dB"
        );
        scores.push(score);
        // H.264 decoding is exact: libavcodec and OpenH264 must agree on every sample.
        let ours = local
            .get(index as usize)
            .and_then(Option::as_ref)
            .unwrap_or_else(|| panic!("{profile:?}: picture {k} has index {index}, never sent"));
        assert!(
            ours == picture,
            "{profile:?}: picture {k} (index {index}) differs from our own decode: {:.2} dB",
            psnr(ours, picture).unwrap_or(0.0)
        );
    }
    let mean = scores.iter().sum::<f64>() / scores.len() as f64;
    println!(
        "{profile:?}: gstreamer decoded {} pictures, mean PSNR {mean:.2} dB, all identical to \
         our decode",
        scores.len()
    );
    assert!(mean >= 40.0, "{profile:?}: mean PSNR {mean:.2} dB");
}

/// What GStreamer's videotestsrc draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TestSource {
    /// A ball moving over black: small frames, mostly single NAL unit packets.
    Ball,
    /// A moving zone plate: fine detail everywhere, so most slices are split into FU-As.
    ZonePlate,
}

impl TestSource {
    fn args(self) -> &'static [&'static str] {
        match self {
            TestSource::Ball => &["pattern=ball"],
            TestSource::ZonePlate => &["pattern=zone-plate", "kx2=20", "ky2=20", "kt=1"],
        }
    }
}

fn they_send(profile: SrtpProfile, seed: u64, test_source: TestSource) {
    let (key, salt, ssrc) = keying(profile, seed);
    let first_sequence: u16 = 0xfff0;
    let mut inbox = SrtpInbox::bind(profile, &key, &salt, ssrc, PAYLOAD_TYPE);

    let num_buffers = format!("num-buffers={FRAMES}");
    let raw_caps = format!("video/x-raw,width={WIDTH},height={HEIGHT},framerate={FPS}/1");
    let pt_arg = format!("pt={PAYLOAD_TYPE}");
    let ssrc_arg = format!("ssrc={ssrc}");
    let seq_arg = format!("seqnum-offset={first_sequence}");
    let mut encode = vec!["videotestsrc", "is-live=true"];
    encode.extend_from_slice(test_source.args());
    encode.extend_from_slice(&[
        &num_buffers,
        "!",
        &raw_caps,
        "!",
        "openh264enc",
        "bitrate=1500000",
        "!",
        "rtph264pay",
        &pt_arg,
        &ssrc_arg,
        &seq_arg,
        "mtu=1200",
        "config-interval=-1",
    ]);
    let mut gst = GstProcess::spawn(&srtp_to_udp(&encode, profile, &key, &salt, inbox.port()));

    let mut depacketizer = H264Depacketizer::new();
    let mut decoder = H264Decoder::new().expect("decoder");
    let mut buf = [0u8; 1500];
    let mut decode_errors = Vec::new();
    let mut frames = 0usize;
    let mut first_frame = None;
    let mut pictures: Vec<VideoFrame> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while let Some(len) = inbox.next_packet(&mut gst, &mut buf, deadline) {
        depacketizer
            .handle_packet(&buf[..len])
            .expect("gstreamer's payloads are valid RFC 6184");
        while let Some(frame) = depacketizer.poll_frame() {
            frames += 1;
            first_frame.get_or_insert((frame.has_idr, frame.has_sps, frame.has_pps));
            match decoder.decode(frame.annexb) {
                Ok(Some(picture)) => pictures.push(picture),
                Ok(None) => {}
                Err(e) => decode_errors.push(e.to_string()),
            }
        }
    }
    gst.assert_finished(Duration::from_secs(1));

    inbox.assert_all_authenticated(profile);
    let packets = inbox.accepted;
    assert_eq!(
        first_frame,
        Some((true, true, true)),
        "{profile:?}: the first frame should be an IDR with SPS and PPS"
    );
    assert!(
        decode_errors.is_empty(),
        "{profile:?}: {} decoder errors, first: {}",
        decode_errors.len(),
        decode_errors[0]
    );
    let stats = depacketizer.stats();
    println!(
        "{profile:?}: {packets} packets, {frames} frames, {} pictures decoded, {stats:?}",
        pictures.len()
    );
    assert!(
        pictures.len() >= FRAMES * 9 / 10,
        "{profile:?}: only {} of {FRAMES} pictures decoded ({frames} frames reassembled, \
         {stats:?}):\n{}",
        pictures.len(),
        gst.log()
    );
    for picture in &pictures {
        assert_eq!((picture.width(), picture.height()), (WIDTH, HEIGHT));
    }
    if test_source == TestSource::ZonePlate {
        assert!(
            packets >= 3 * frames,
            "{profile:?}: {packets} packets for {frames} frames: the zone plate should need FU-As"
        );
    }
    let moving = pictures
        .windows(2)
        .filter(|pair| pair[0].as_bytes() != pair[1].as_bytes())
        .count();
    assert!(
        moving >= pictures.len() * 9 / 10,
        "{profile:?}: only {moving} of {} consecutive pictures differ: the ball does not move",
        pictures.len()
    );
}

#[test]
fn gstreamer_plays_our_video_aes128_hs80() {
    we_send(SrtpProfile::Aes128CmHmacSha1_80, 21);
}

#[test]
fn gstreamer_plays_our_video_aes256_hs80() {
    we_send(SrtpProfile::Aes256CmHmacSha1_80, 22);
}

#[test]
fn gstreamer_plays_our_video_aes128_hs32() {
    we_send(SrtpProfile::Aes128CmHmacSha1_32, 23);
}

#[test]
fn we_play_gstreamer_video_aes128_hs80() {
    they_send(SrtpProfile::Aes128CmHmacSha1_80, 31, TestSource::Ball);
}

#[test]
fn we_play_gstreamer_video_aes256_hs80() {
    they_send(SrtpProfile::Aes256CmHmacSha1_80, 32, TestSource::Ball);
}

#[test]
fn we_play_gstreamer_fragmented_video_aes256_hs32() {
    they_send(SrtpProfile::Aes256CmHmacSha1_32, 33, TestSource::ZonePlate);
}
