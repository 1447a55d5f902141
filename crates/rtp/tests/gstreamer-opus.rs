//! Opus over SRTP against GStreamer, both directions, for every SRTP profile ZRTP negotiates.
//!
//! **We send.** A 2 s, 48 kHz mono test signal (440 Hz + 1200 Hz) is encoded with libopus
//! (20 ms frames, VOIP, 32 kbit/s), packetized by [`OpusPacketizer`], protected by
//! [`SrtpSender`] and sent over loopback UDP to:
//!
//! ```text
//! gst-launch-1.0 -e udpsrc address=127.0.0.1 port=P caps="<CAPS>" ! srtpdec ! rtpopusdepay
//!   ! opusdec ! audioconvert ! audio/x-raw,format=S16LE,channels=1,rate=48000 ! wavenc
//!   ! filesink location=out.wav buffer-mode=unbuffered
//! ```
//!
//! where `<CAPS>` must name the SSRC, or srtpdec asks for the key with a signal gst-launch cannot
//! answer and drops every packet:
//!
//! ```text
//! application/x-srtp, payload=(int)111, ssrc=(uint)<SSRC>, srtp-key=(buffer)<hex key || salt>,
//!   srtp-cipher=(string)aes-128-icm|aes-256-icm, srtp-auth=(string)hmac-sha1-80|hmac-sha1-32,
//!   srtcp-cipher=(string)<same>, srtcp-auth=(string)hmac-sha1-80, roc=(uint)0,
//!   clock-rate=(int)48000, encoding-name=(string)OPUS, media=(string)audio
//! ```
//!
//! The key is the master key followed by the 14-byte master salt (30 bytes for AES-128, 46 for
//! AES-256). Once the WAV holds every sample, SIGINT (with `-e`, an EOS) makes wavenc write its
//! header. The decoded audio must last 2 s (within 10%), correlate with the input (> 0.8 after
//! aligning for the codec delay) and carry its energy at 440 and 1200 Hz.
//!
//! **They send.** We bind a loopback UDP socket and run:
//!
//! ```text
//! gst-launch-1.0 -e audiotestsrc wave=sine freq=700 samplesperbuffer=960 num-buffers=100
//!   ! audio/x-raw,rate=48000,channels=1 ! opusenc
//!   ! rtpopuspay pt=111 ssrc=<SSRC> seqnum-offset=<SEQ> timestamp-offset=<TS>
//!   ! srtpenc key=<hex key || salt> rtp-cipher=<cipher> rtp-auth=<auth>
//!     rtcp-cipher=<cipher> rtcp-auth=hmac-sha1-80
//!   ! udpsink host=127.0.0.1 port=<our port>
//! ```
//!
//! Every datagram is classified, unprotected with [`SrtpReceiver`], parsed, stripped to its Opus
//! payload and decoded with libopus. At least 90 of the 100 packets must arrive, all must
//! authenticate, and 700 Hz must dominate the decoded audio.
//!
//! The tests need `gst-launch-1.0` with the srtp, opus and rtp plugins; `.ci/setup` installs them.

// These tests drive a real GStreamer process over real loopback sockets, so they use the clock,
// threads and sockets that the sans-IO library itself must never touch.
#![allow(clippy::disallowed_methods)]

#[path = "support/gstreamer.rs"]
mod gstreamer;

use std::time::{Duration, Instant};

use gstreamer::{
    best_alignment, free_udp_port, keying, parse_wav, rms, scratch_path, srtp_caps, srtp_to_file,
    srtp_to_udp, GstProcess, SrtpInbox, SrtpOutbox, OPUS,
};
use sotto_rtp::srtp::SrtpProfile;
use sotto_rtp::{opus_payload, OpusPacketizer, RtpPacket};
use sotto_testkit::goertzel::amplitude;

const RATE_HZ: u32 = 48_000;
/// 20 ms at 48 kHz.
const FRAME_SAMPLES: usize = 960;
/// 100 frames of 20 ms: 2 s of audio.
const FRAMES: usize = 100;
const PAYLOAD_TYPE: u8 = OPUS.payload_type;
const STARTUP: Duration = Duration::from_secs(5);

/// 440 Hz and 1200 Hz at about -9 dBFS each: two tones that a speech codec keeps and that are
/// easy to tell apart from each other and from codec noise.
fn two_tones(len: usize) -> Vec<i16> {
    (0..len)
        .map(|n| {
            let t = n as f64 / f64::from(RATE_HZ);
            let x = 0.35 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()
                + 0.35 * (2.0 * std::f64::consts::PI * 1200.0 * t).sin();
            (x * f64::from(i16::MAX)).round() as i16
        })
        .collect()
}

fn we_send(profile: SrtpProfile, seed: u64) {
    let (key, salt, ssrc) = keying(profile, seed);
    let port = free_udp_port();
    let wav_path = scratch_path(&format!("we-send-{seed}.wav"));
    let _ = std::fs::remove_file(&wav_path);

    let caps = srtp_caps(OPUS, profile, ssrc, &key, &salt);
    let decode = [
        "rtpopusdepay",
        "opusdec",
        "audioconvert",
        "audio/x-raw,format=S16LE,channels=1,rate=48000",
        "wavenc",
    ];
    let mut gst = GstProcess::spawn(&srtp_to_file(&caps, port, &decode, &wav_path));
    gst.wait_until_playing(STARTUP);

    let signal = two_tones(FRAMES * FRAME_SAMPLES);
    let mut encoder = opus::Encoder::new(RATE_HZ, opus::Channels::Mono, opus::Application::Voip)
        .expect("opus encoder");
    encoder
        .set_bitrate(opus::Bitrate::Bits(32_000))
        .expect("set bitrate");
    let mut packetizer = OpusPacketizer::new(ssrc, PAYLOAD_TYPE, 0x1234, 0x0bad_cafe);
    let mut outbox = SrtpOutbox::connect(profile, &key, &salt, port);

    let mut opus_frame = [0u8; 1275];
    let mut packet = [0u8; 1500];
    for pcm in signal.chunks_exact(FRAME_SAMPLES) {
        let opus_len = encoder.encode(pcm, &mut opus_frame).expect("encode");
        let rtp_len = packetizer
            .packetize(&opus_frame[..opus_len], FRAME_SAMPLES as u32, &mut packet)
            .expect("packetize");
        outbox.send(&mut packet, rtp_len);
    }

    // wavenc's 44-byte header plus every decoded sample; then EOS so the header gets its sizes.
    let want = 44 + (FRAMES * FRAME_SAMPLES * 2) as u64;
    let (bytes, seen) = gst.finish_file(&wav_path, want, Duration::from_secs(5));
    let wav = parse_wav(&bytes).unwrap_or_else(|e| {
        panic!(
            "{profile:?}: gstreamer wrote no playable wav ({e}); {seen} of {want} bytes had \
             arrived, so srtpdec dropped our packets:\n{}",
            gst.log()
        )
    });
    assert_eq!((wav.rate_hz, wav.channels), (RATE_HZ, 1));
    let decoded = wav.samples;
    let seconds = decoded.len() as f64 / f64::from(RATE_HZ);
    assert!(
        (1.8..=2.2).contains(&seconds),
        "{profile:?}: gstreamer decoded {seconds:.3} s, sent 2 s:\n{}",
        gst.log()
    );

    // Skip the first 100 ms (encoder start-up), compare one second, allow up to 50 ms of delay.
    let (delay, r) = best_alignment(&signal, &decoded, 4_800, RATE_HZ as usize, 2_400);
    assert!(
        r > 0.8,
        "{profile:?}: decoded audio correlates {r:.3} with the input (best delay {delay} samples)"
    );
    let tone = |f| amplitude(&decoded, RATE_HZ, f).powi(2);
    let wanted = tone(440.0).min(tone(1200.0));
    for other in [300.0, 700.0, 900.0, 2500.0] {
        assert!(
            wanted > 20.0 * tone(other),
            "{profile:?}: {other} Hz carries {:.1} vs {wanted:.1} at the sent tones",
            tone(other)
        );
    }
}

fn they_send(profile: SrtpProfile, seed: u64) {
    let (key, salt, ssrc) = keying(profile, seed);
    let first_sequence: u16 = 0x4321;
    let mut inbox = SrtpInbox::bind(profile, &key, &salt, ssrc, PAYLOAD_TYPE);

    let ssrc_arg = format!("ssrc={ssrc}");
    let seq_arg = format!("seqnum-offset={first_sequence}");
    let encode = [
        "audiotestsrc",
        "wave=sine",
        "freq=700",
        "samplesperbuffer=960",
        "num-buffers=100",
        "!",
        "audio/x-raw,rate=48000,channels=1",
        "!",
        "opusenc",
        "!",
        "rtpopuspay",
        "pt=111",
        &ssrc_arg,
        &seq_arg,
        "timestamp-offset=305419896",
    ];
    let mut gst = GstProcess::spawn(&srtp_to_udp(&encode, profile, &key, &salt, inbox.port()));

    let mut decoder = opus::Decoder::new(RATE_HZ, opus::Channels::Mono).expect("opus decoder");
    let mut buf = [0u8; 1500];
    let mut pcm = [0i16; 5760];
    let mut decoded = Vec::with_capacity(FRAMES * FRAME_SAMPLES);
    let mut sequences = Vec::with_capacity(FRAMES);
    let deadline = Instant::now() + Duration::from_secs(8);
    while let Some(len) = inbox.next_packet(&mut gst, &mut buf, deadline) {
        let rtp = RtpPacket::parse(&buf[..len]).expect("parse unprotected rtp");
        sequences.push(rtp.header.sequence);
        let payload = opus_payload(&buf[..len]).expect("opus payload");
        let samples = decoder.decode(payload, &mut pcm, false).expect("decode");
        decoded.extend_from_slice(&pcm[..samples]);
    }
    gst.assert_finished(Duration::from_secs(1));

    inbox.assert_all_authenticated(profile);
    assert!(
        sequences.len() >= FRAMES * 9 / 10,
        "{profile:?}: only {} of {FRAMES} packets arrived:\n{}",
        sequences.len(),
        gst.log()
    );
    for (i, &sequence) in sequences.iter().enumerate() {
        // Loopback keeps order; a gap would be loss, never a wrong sequence number.
        let offset = sequence.wrapping_sub(first_sequence) as usize;
        assert!(
            offset >= i && offset <= FRAMES + 1,
            "{profile:?}: packet {i} has sequence {sequence}, first was {first_sequence}"
        );
    }

    assert!(
        rms(&decoded) > 3_000.0,
        "{profile:?}: decoded audio is near silent"
    );
    let tone = |f| amplitude(&decoded, RATE_HZ, f).powi(2);
    let wanted = tone(700.0);
    for other in [300.0, 440.0, 1000.0, 1200.0, 1400.0, 2500.0] {
        assert!(
            wanted > 50.0 * tone(other),
            "{profile:?}: {other} Hz carries {:.1} vs {wanted:.1} at 700 Hz",
            tone(other)
        );
    }
}

#[test]
fn gstreamer_plays_our_stream_aes128_hs80() {
    we_send(SrtpProfile::Aes128CmHmacSha1_80, 1);
}

#[test]
fn gstreamer_plays_our_stream_aes128_hs32() {
    we_send(SrtpProfile::Aes128CmHmacSha1_32, 2);
}

#[test]
fn gstreamer_plays_our_stream_aes256_hs80() {
    we_send(SrtpProfile::Aes256CmHmacSha1_80, 3);
}

#[test]
fn gstreamer_plays_our_stream_aes256_hs32() {
    we_send(SrtpProfile::Aes256CmHmacSha1_32, 4);
}

#[test]
fn we_play_gstreamer_stream_aes128_hs80() {
    they_send(SrtpProfile::Aes128CmHmacSha1_80, 11);
}

#[test]
fn we_play_gstreamer_stream_aes128_hs32() {
    they_send(SrtpProfile::Aes128CmHmacSha1_32, 12);
}

#[test]
fn we_play_gstreamer_stream_aes256_hs80() {
    they_send(SrtpProfile::Aes256CmHmacSha1_80, 13);
}

#[test]
fn we_play_gstreamer_stream_aes256_hs32() {
    they_send(SrtpProfile::Aes256CmHmacSha1_32, 14);
}
