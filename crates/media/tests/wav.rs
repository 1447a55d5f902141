//! WAV files in and out: round trip, conversion of other rates and layouts, clear errors.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod common;

use std::path::Path;

use common::{energy_fraction, fixture, read_to_end};
use sotto_media::{AudioSink, AudioSource, Error, ToneSource, WavSink, WavSource};

fn write_wav(path: &Path, spec: hound::WavSpec, frames: usize, sample: impl Fn(usize, u16) -> f64) {
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for n in 0..frames {
        for ch in 0..spec.channels {
            let v = sample(n, ch);
            match (spec.sample_format, spec.bits_per_sample) {
                (hound::SampleFormat::Float, _) => w.write_sample(v as f32).unwrap(),
                (_, 16) => w.write_sample((v * 32767.0).round() as i16).unwrap(),
                (_, bits) => w
                    .write_sample((v * f64::from((1i32 << (bits - 1)) - 1)).round() as i32)
                    .unwrap(),
            }
        }
    }
    w.finalize().unwrap();
}

fn sine(freq_hz: f64, rate_hz: u32) -> impl Fn(usize, u16) -> f64 {
    move |n, _| 0.5 * (std::f64::consts::TAU * freq_hz * n as f64 / f64::from(rate_hz)).sin()
}

#[test]
fn sink_then_source_round_trips_samples() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tone.wav");
    let mut samples = vec![0i16; 48_000 + 123];
    ToneSource::new(440.0, 0.5).read(&mut samples).unwrap();
    let mut sink = WavSink::create(&path).unwrap();
    for chunk in samples.chunks(960) {
        sink.write(chunk).unwrap();
    }
    sink.finish().unwrap();
    assert!(
        sink.write(&samples[..10]).is_err(),
        "writing after finish fails"
    );

    let spec = hound::WavReader::open(&path).unwrap().spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (48_000, 1, 16)
    );
    let back = read_to_end(&mut WavSource::open(&path).unwrap());
    assert_eq!(back.len(), samples.len());
    assert!(
        back == samples,
        "samples changed on the way through the file"
    );
}

#[test]
fn source_converts_16k_stereo_to_48k_mono_keeping_the_tone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stereo16k.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    // The tone is only in the left channel: the mono mix keeps it at half amplitude.
    let tone = sine(700.0, 16_000);
    write_wav(
        &path,
        spec,
        16_000,
        |n, ch| if ch == 0 { tone(n, ch) } else { 0.0 },
    );

    let out = read_to_end(&mut WavSource::open(&path).unwrap());
    assert_eq!(out.len(), 48_000, "one second at 48 kHz");
    let window = &out[4_800..9_600];
    assert!(energy_fraction(window, 48_000, 700.0) > 0.98);
    assert!(
        energy_fraction(window, 48_000, 2_100.0) < 0.001,
        "not read as 48 kHz"
    );
    let peak = window.iter().map(|s| s.unsigned_abs()).max().unwrap();
    assert!(
        (8_000..8_400).contains(&peak),
        "half of half scale, got {peak}"
    );
}

#[test]
fn source_reads_24_bit_and_float_files() {
    let dir = tempfile::tempdir().unwrap();
    for (bits, format) in [
        (24, hound::SampleFormat::Int),
        (32, hound::SampleFormat::Float),
    ] {
        let path = dir.path().join(format!("{bits}.wav"));
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 44_100,
            bits_per_sample: bits,
            sample_format: format,
        };
        write_wav(&path, spec, 44_100, sine(1_000.0, 44_100));
        let out = read_to_end(&mut WavSource::open(&path).unwrap());
        assert_eq!(out.len(), 48_000);
        assert!(
            energy_fraction(&out[4_800..9_600], 48_000, 1_000.0) > 0.98,
            "{bits}-bit"
        );
    }
}

#[test]
fn speech_fixture_is_48k_mono_speech_of_about_four_seconds() {
    let path = fixture("speech.wav");
    let spec = hound::WavReader::open(&path).unwrap().spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (48_000, 1, 16)
    );
    let speech = read_to_end(&mut WavSource::open(&path).unwrap());
    assert!((3 * 48_000..5 * 48_000).contains(&speech.len()));
    assert!(
        speech.iter().any(|s| s.unsigned_abs() > 8_000),
        "not silent"
    );
}

#[test]
fn missing_file_is_an_io_error_naming_the_path() {
    let err = WavSource::open(Path::new("/nonexistent/speech.wav")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/speech.wav"), "{err}");
}

#[test]
fn non_wav_file_is_a_wav_error_saying_what_to_use() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.wav");
    std::fs::write(&path, "these are not samples").unwrap();
    let err = WavSource::open(&path).unwrap_err();
    assert!(matches!(err, Error::Wav { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("notes.wav") && text.contains("PCM"), "{text}");
}

#[test]
fn compressed_wav_is_refused() {
    // A valid RIFF/WAVE header whose fmt chunk says IMA ADPCM (format tag 0x11).
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&40u32.to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&0x11u16.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend_from_slice(&8_000u32.to_le_bytes());
    bytes.extend_from_slice(&4_000u32.to_le_bytes());
    bytes.extend_from_slice(&256u16.to_le_bytes());
    bytes.extend_from_slice(&4u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&4u32.to_le_bytes());
    bytes.extend_from_slice(&[0; 4]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("adpcm.wav");
    std::fs::write(&path, bytes).unwrap();
    let err = WavSource::open(&path).unwrap_err();
    assert!(matches!(err, Error::Wav { .. }), "{err:?}");
}

#[test]
fn sink_in_a_missing_directory_is_an_io_error() {
    let err = WavSink::create(Path::new("/nonexistent/dir/out.wav")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
}
