//! Opus: a tone survives encode and decode at both packet times, DTX shrinks silence, FEC
//! recovers a lost frame better than concealment, and decoding does not allocate.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod common;

use common::{best_lag, energy, energy_fraction, fixture, read_to_end};
use sotto_media::{
    lookahead_samples, AudioSource, Error, OpusDecoder, OpusEncoder, ToneSource, WavSource,
    SAMPLE_RATE_HZ,
};

#[global_allocator]
static ALLOC: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;

const MAX_PACKET: usize = 1500;
const MAX_FRAME: usize = 5760;

/// Encodes `pcm` frame by frame; a trailing partial frame is dropped.
fn encode_all(encoder: &mut OpusEncoder, pcm: &[i16]) -> Vec<Vec<u8>> {
    let mut buf = [0u8; MAX_PACKET];
    pcm.chunks_exact(encoder.frame_samples())
        .map(|frame| {
            let n = encoder.encode(frame, &mut buf).unwrap();
            buf[..n].to_vec()
        })
        .collect()
}

fn decode_all(packets: &[Vec<u8>]) -> Vec<i16> {
    let mut decoder = OpusDecoder::new().unwrap();
    let mut out = Vec::new();
    let mut buf = [0i16; MAX_FRAME];
    for p in packets {
        let n = decoder.decode(p, &mut buf).unwrap();
        out.extend_from_slice(&buf[..n]);
    }
    out
}

#[test]
fn lookahead_is_what_libopus_reports_for_voip() {
    let mut enc = opus::Encoder::new(
        SAMPLE_RATE_HZ,
        opus::Channels::Mono,
        opus::Application::Voip,
    )
    .unwrap();
    assert_eq!(lookahead_samples(), enc.get_lookahead().unwrap() as usize);
    assert_eq!(lookahead_samples(), 312);
}

#[test]
fn tone_survives_encode_and_decode_at_10_and_20_ms() {
    for ptime_ms in [10, 20] {
        let mut encoder = OpusEncoder::new(ptime_ms, 32_000).unwrap();
        let frame = encoder.frame_samples();
        assert_eq!(frame, 48 * ptime_ms as usize);
        let mut input = vec![0i16; 48_000];
        ToneSource::new(1_000.0, 0.3).read(&mut input).unwrap();
        let packets = encode_all(&mut encoder, &input);
        assert_eq!(packets.len(), 48_000 / frame);
        let output = decode_all(&packets);
        assert_eq!(output.len(), input.len());

        // Past the encoder's start-up, the output is the input delayed by the lookahead, give
        // or take the few samples of phase SILK's resamplers add.
        let reference = &input[9_600..38_400];
        let la = lookahead_samples();
        let (lag, corr) = best_lag(reference, &output[9_600..], la - 4..=la + 4);
        assert!(
            corr > 0.97,
            "{ptime_ms} ms: correlation {corr} at lag {lag}"
        );
        assert!(energy_fraction(&output[9_600..14_400], SAMPLE_RATE_HZ, 1_000.0) > 0.98);
    }
}

#[test]
fn speech_comes_out_delayed_by_exactly_the_lookahead() {
    let speech = read_to_end(&mut WavSource::open(&fixture("speech.wav")).unwrap());
    for ptime_ms in [10, 20] {
        let mut encoder = OpusEncoder::new(ptime_ms, 32_000).unwrap();
        let output = decode_all(&encode_all(&mut encoder, &speech));
        // Search a wide range: the best match must sit at the lookahead, within the few
        // samples of phase that SILK's resamplers add.
        let (lag, corr) = best_lag(&speech[4_800..100_000], &output[4_800..], 0..=1_000);
        assert!(
            lag.abs_diff(lookahead_samples()) <= 4,
            "{ptime_ms} ms: lag {lag}"
        );
        assert!(corr > 0.8, "{ptime_ms} ms: correlation {corr}");
    }
}

#[test]
fn dtx_makes_silence_packets_tiny() {
    let mut encoder = OpusEncoder::new(20, 32_000).unwrap();
    let mut input = vec![0i16; 96_000];
    ToneSource::new(440.0, 0.3)
        .read(&mut input[..24_000])
        .unwrap();
    let packets = encode_all(&mut encoder, &input);
    let tone_bytes: usize = packets[5..25].iter().map(Vec::len).sum();
    // DTX starts after about 200 ms of silence and then still sends a comfort-noise refresh
    // now and then; the last second is well past its start.
    let silent = &packets[50..];
    let tiny = silent.iter().filter(|p| p.len() <= 2).count();
    assert!(
        tone_bytes / 20 > 40,
        "tone packets average {} bytes",
        tone_bytes / 20
    );
    assert!(
        tiny * 10 >= silent.len() * 8,
        "{tiny} of {} silence packets tiny",
        silent.len()
    );
}

#[test]
fn fec_recovers_a_lost_frame_better_than_concealment() {
    let speech = read_to_end(&mut WavSource::open(&fixture("speech.wav")).unwrap());
    let mut encoder = OpusEncoder::new(20, 24_000).unwrap();
    encoder.set_packet_loss_percent(20).unwrap();
    let packets = encode_all(&mut encoder, &speech);
    let reference = decode_all(&packets);
    let frame = 960;

    // Lose every 7th packet (from packet 10 on); decode each loss both ways.
    let lost = |i: usize| i >= 10 && i % 7 == 3 && i + 1 < packets.len();
    let run = |use_fec: bool| -> (f64, f64) {
        let mut decoder = OpusDecoder::new().unwrap();
        let mut buf = [0i16; MAX_FRAME];
        let (mut signal, mut noise) = (0.0, 0.0);
        for (i, p) in packets.iter().enumerate() {
            if !lost(i) {
                decoder.decode(p, &mut buf).unwrap();
                continue;
            }
            let n = if use_fec {
                decoder.decode_fec(&packets[i + 1], &mut buf).unwrap()
            } else {
                decoder.conceal(&mut buf).unwrap()
            };
            assert_eq!(n, frame);
            let want = &reference[i * frame..(i + 1) * frame];
            let err: Vec<i16> = want
                .iter()
                .zip(&buf[..n])
                .map(|(a, b)| a.saturating_sub(*b))
                .collect();
            signal += energy(want);
            noise += energy(&err);
        }
        (signal, noise)
    };
    let snr_db = |(s, n): (f64, f64)| 10.0 * (s / n).log10();
    let fec = snr_db(run(true));
    let plc = snr_db(run(false));
    eprintln!("lost frames: FEC {fec:.1} dB SNR, PLC {plc:.1} dB SNR");
    assert!(fec > plc + 3.0, "FEC {fec:.1} dB vs PLC {plc:.1} dB");
}

#[test]
fn conceal_repeats_the_last_frame_length() {
    let mut encoder = OpusEncoder::new(10, 32_000).unwrap();
    let mut pcm = [0i16; 480];
    ToneSource::new(300.0, 0.3).read(&mut pcm).unwrap();
    let mut packet = [0u8; MAX_PACKET];
    let len = encoder.encode(&pcm, &mut packet).unwrap();
    let mut decoder = OpusDecoder::new().unwrap();
    let mut out = [0i16; MAX_FRAME];
    assert_eq!(decoder.decode(&packet[..len], &mut out).unwrap(), 480);
    assert_eq!(decoder.conceal(&mut out).unwrap(), 480);
    assert_eq!(
        decoder.decode(&[], &mut out).unwrap(),
        480,
        "an empty packet is a loss"
    );
    assert!(matches!(
        decoder.conceal(&mut out[..100]),
        Err(Error::BufferSize {
            expected: 480,
            got: 100
        })
    ));
}

#[test]
fn decoding_writes_into_caller_buffers_without_allocating() {
    let mut encoder = OpusEncoder::new(20, 32_000).unwrap();
    let mut input = vec![0i16; 9_600];
    ToneSource::new(500.0, 0.3).read(&mut input).unwrap();
    let packets = encode_all(&mut encoder, &input);
    let mut decoder = OpusDecoder::new().unwrap();
    let mut buf = [0i16; MAX_FRAME];
    let total = assert_no_alloc::assert_no_alloc(|| {
        let mut total = 0;
        for (i, p) in packets.iter().enumerate() {
            total += match i {
                4 => decoder.conceal(&mut buf).unwrap(),
                6 => {
                    decoder.decode_fec(p, &mut buf).unwrap() + decoder.decode(p, &mut buf).unwrap()
                }
                _ => decoder.decode(p, &mut buf).unwrap(),
            };
        }
        total
    });
    assert_eq!(total, 9_600 + 960, "one extra frame recovered by FEC");
}

#[test]
fn encoding_does_not_allocate() {
    let mut encoder = OpusEncoder::new(20, 32_000).unwrap();
    let mut pcm = [0i16; 960];
    ToneSource::new(500.0, 0.3).read(&mut pcm).unwrap();
    let mut packet = [0u8; MAX_PACKET];
    let bytes = assert_no_alloc::assert_no_alloc(|| {
        (0..10)
            .map(|_| encoder.encode(&pcm, &mut packet).unwrap())
            .sum::<usize>()
    });
    assert!(bytes > 0);
}

#[test]
fn bad_arguments_are_errors() {
    assert!(matches!(
        OpusEncoder::new(30, 32_000),
        Err(Error::InvalidPtime(30))
    ));
    let mut encoder = OpusEncoder::new(20, 32_000).unwrap();
    let mut packet = [0u8; MAX_PACKET];
    assert!(matches!(
        encoder.encode(&[0; 480], &mut packet),
        Err(Error::BufferSize {
            expected: 960,
            got: 480
        })
    ));
    assert!(encoder.set_complexity(11).is_err(), "complexity above 10");
    assert!(encoder.set_complexity(-1).is_err(), "negative complexity");
    encoder.set_complexity(10).unwrap();
    let mut decoder = OpusDecoder::new().unwrap();
    let mut out = [0i16; MAX_FRAME];
    assert!(
        decoder.decode(&[0xff, 0xff, 0xff], &mut out).is_err(),
        "garbage packet"
    );
}
