//! Audio devices. This machine class has no sound card: only enumeration runs in CI.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use sotto_media::{list_devices, CaptureStream, PlaybackStream};

#[test]
fn listing_devices_works_without_a_sound_card() {
    let devices = list_devices().unwrap();
    for d in &devices {
        assert!(!d.name.is_empty());
        assert!(d.input || d.output, "{d:?}");
    }
}

#[test]
#[ignore = "needs a real microphone"]
#[allow(clippy::disallowed_methods, reason = "a device runs in real time")]
fn default_microphone_delivers_48k_samples() {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    let stream = CaptureStream::open(None, move |s| {
        seen.fetch_add(s.len(), Ordering::Relaxed);
    })
    .unwrap();
    // One second of wall time, as a device runs in real time.
    std::thread::sleep(std::time::Duration::from_secs(1));
    drop(stream);
    let n = count.load(Ordering::Relaxed);
    assert!((40_000..56_000).contains(&n), "{n} samples in a second");
}

#[test]
#[ignore = "needs a real speaker"]
#[allow(clippy::disallowed_methods, reason = "a device runs in real time")]
fn default_speaker_pulls_48k_samples() {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    let stream = PlaybackStream::open(None, move |buf| {
        buf.fill(0);
        seen.fetch_add(buf.len(), Ordering::Relaxed);
    })
    .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(1));
    drop(stream);
    let n = count.load(Ordering::Relaxed);
    assert!((40_000..60_000).contains(&n), "{n} samples in a second");
}

#[test]
fn unknown_device_name_is_a_clear_error() {
    let err = CaptureStream::open(Some("no such microphone"), |_| {}).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("no such microphone"), "{text}");
}

#[test]
fn a_default_device_that_cannot_open_says_what_to_use_instead() {
    // Where the default devices work (a machine with a sound card) there is nothing to check.
    for (direction, opened) in [
        ("input", CaptureStream::open(None, |_| {}).map(drop)),
        (
            "output",
            PlaybackStream::open(None, |b| b.fill(0)).map(drop),
        ),
    ] {
        match opened {
            Ok(()) => eprintln!("skipped: the default audio {direction} device opened"),
            Err(e) => {
                let text = e.to_string();
                assert!(text.contains(&format!("audio {direction}")), "{text}");
                assert!(text.contains("`none`, `tone` or `FILE.wav`"), "{text}");
            }
        }
    }
}
