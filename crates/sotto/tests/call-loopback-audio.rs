//! Two calls in one process over real loopback UDP: ZRTP completes with the same SAS on both
//! sides, and the audio one sends (a tone, or the speech fixture) is what the other writes.

#[path = "support/call.rs"]
mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use support::{last_stats, run_to_end, sas, scratch, start_caller, start_listener};

use sotto::media::{AudioInput, AudioOutput, AudioSource, WavSource};
use sotto::{CallEvent, Role, TONE_AMPLITUDE, TONE_FREQ_HZ};
use sotto_testkit::goertzel::amplitude;

fn secure(events: &[CallEvent]) -> (Role, SocketAddr) {
    events
        .iter()
        .find_map(|e| match e {
            CallEvent::Secure { role, peer, .. } => Some((*role, *peer)),
            _ => None,
        })
        .expect("a Secure event")
}

fn read_wav(path: &Path) -> Vec<i16> {
    let mut source = WavSource::open(path).expect("open output wav");
    let mut samples = Vec::new();
    let mut chunk = [0i16; 4800];
    loop {
        let n = source.read(&mut chunk).expect("read wav");
        samples.extend_from_slice(&chunk[..n]);
        if n < chunk.len() {
            return samples;
        }
    }
}

/// Runs a call from `audio_in` to a listener writing a WAV; returns both sides' events and
/// the written samples.
fn call_once(
    audio_in: AudioInput,
    duration: Duration,
) -> (Vec<CallEvent>, Vec<CallEvent>, Vec<i16>) {
    let out = scratch("wav");
    let listener = start_listener(|c| c.audio_out = AudioOutput::File(out.clone()));
    let caller = start_caller(listener.local_addr(), duration, |c| c.audio_in = audio_in);
    let caller_addr = caller.local_addr();
    let listener_addr = listener.local_addr();
    let (caller_events, listener_events) = run_to_end(caller, listener, duration);

    assert_eq!(sas(&caller_events), sas(&listener_events));
    let (caller_role, caller_peer) = secure(&caller_events);
    let (listener_role, listener_peer) = secure(&listener_events);
    assert_ne!(caller_role, listener_role);
    assert_eq!(listener_peer, caller_addr);
    assert_eq!(caller_peer, listener_addr);
    (caller_events, listener_events, read_wav(&out))
}

#[test]
fn a_tone_crosses_a_secure_call() {
    let (caller_events, listener_events, samples) =
        call_once(AudioInput::Tone, Duration::from_millis(2500));

    let sent = last_stats(&caller_events);
    let received = last_stats(&listener_events);
    // 2.5 s of 20 ms frames is 125 packets.
    assert!(sent.packets_sent >= 100, "{sent:?}");
    assert!(received.packets_received >= 100, "{received:?}");
    assert!(received.rx_bitrate_bps > 0.0 || received.packets_received > 0);
    assert_eq!(received.srtp_rejected, 0, "{received:?}");
    // A clean loopback: next to nothing needs concealing.
    assert!(received.concealed_percent < 10.0, "{received:?}");

    // 100 ms windows clear of the start of playout and the end of the call: each should hold
    // the tone at its level and little else. A loaded machine may drain the jitter buffer now
    // and then (concealed, and the tone's phase moves on a frame), so a third may fall short.
    assert!(
        samples.len() > 96_000,
        "only {} samples written",
        samples.len()
    );
    let expected = f64::from(TONE_AMPLITUDE) * 32767.0;
    let windows: Vec<(f64, f64)> = samples[9_600..samples.len() - 9_600]
        .chunks_exact(4_800)
        .map(|w| {
            let tone = amplitude(w, 48_000, f64::from(TONE_FREQ_HZ));
            let leak = [220.0, 880.0, 1500.0]
                .map(|f| amplitude(w, 48_000, f))
                .into_iter()
                .fold(0.0, f64::max);
            (tone, leak)
        })
        .collect();
    let clean = windows
        .iter()
        .filter(|&&(tone, leak)| {
            tone > expected * 0.8 && tone < expected * 1.2 && leak < tone / 20.0
        })
        .count();
    assert!(
        clean * 3 >= windows.len() * 2,
        "{clean} of {} windows hold the tone (amplitude about {expected:.0}) cleanly; \
         (tone, strongest other) per window: {windows:.0?}",
        windows.len()
    );
}

#[test]
fn speech_from_a_wav_arrives_intact() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/speech.wav");
    let input = read_wav(&fixture);
    let (_, _, output) = call_once(AudioInput::File(fixture), Duration::from_millis(4800));
    // Output starts when the listener became secure: search each segment up to a second late.
    let (mean, correlations) = sotto_testkit::speech_similarity(&input, &output, 48_000);
    assert!(correlations.len() >= 4, "{correlations:?}");
    assert!(
        mean > 0.6,
        "mean cross-correlation {mean:.2}; (delay ms, correlation) per segment: {correlations:.2?}"
    );
}
