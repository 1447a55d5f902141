//! Synthetic sources, the null sink and the command-line audio specifications.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod common;

use std::path::PathBuf;

use common::energy_fraction;
use sotto_media::{
    AudioInput, AudioOutput, AudioSink, AudioSource, NullSink, SilenceSource, ToneSource,
    SAMPLE_RATE_HZ,
};

#[test]
fn tone_source_has_its_frequency_and_amplitude_and_never_ends() {
    let mut tone = ToneSource::new(440.0, 0.25);
    let mut samples = vec![0i16; 48_000];
    for chunk in samples.chunks_mut(960) {
        assert_eq!(tone.read(chunk).unwrap(), chunk.len());
    }
    // The last 100 ms: the phase carried across reads without a glitch.
    let tail = &samples[43_200..];
    assert!(energy_fraction(tail, SAMPLE_RATE_HZ, 440.0) > 0.999);
    assert!(energy_fraction(tail, SAMPLE_RATE_HZ, 480.0) < 0.001);
    let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap();
    assert!((8_180..=8_192).contains(&peak), "peak {peak}");
}

#[test]
fn silence_source_fills_zeros() {
    let mut buf = [7i16; 480];
    assert_eq!(SilenceSource.read(&mut buf).unwrap(), 480);
    assert!(buf.iter().all(|&s| s == 0));
}

#[test]
fn null_sink_accepts_everything() {
    let mut sink = NullSink;
    sink.write(&[1, 2, 3]).unwrap();
    sink.finish().unwrap();
}

#[test]
fn audio_specs_parse_like_the_command_line() {
    assert_eq!(
        "default".parse::<AudioInput>().unwrap(),
        AudioInput::Default
    );
    assert_eq!("none".parse::<AudioInput>().unwrap(), AudioInput::None);
    assert_eq!("tone".parse::<AudioInput>().unwrap(), AudioInput::Tone);
    assert_eq!(
        "in/speech.wav".parse::<AudioInput>().unwrap(),
        AudioInput::File(PathBuf::from("in/speech.wav"))
    );
    assert!("".parse::<AudioInput>().is_err());

    assert_eq!(
        "default".parse::<AudioOutput>().unwrap(),
        AudioOutput::Default
    );
    assert_eq!("none".parse::<AudioOutput>().unwrap(), AudioOutput::None);
    // There is no tone sink: `tone` is a file name on the output side.
    assert_eq!(
        "tone".parse::<AudioOutput>().unwrap(),
        AudioOutput::File(PathBuf::from("tone"))
    );
    let err = "".parse::<AudioOutput>().unwrap_err();
    assert!(err.to_string().contains("FILE.wav"), "{err}");
}
