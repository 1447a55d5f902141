//! Turning the video off mid-call: the peer's pictures turn black (one a second, not a stream
//! of them), then the pattern comes back when it is turned on again.

#[path = "support/call.rs"]
mod support;

use std::thread;
use std::time::{Duration, Instant};
use support::{events_until_end, read_y4m, scratch, send_pattern, start_caller, start_listener};

use sotto::media::video::{read_frame_index, VideoOutput};
use sotto::media::{AudioOutput, VideoFrame};
use sotto::{CallEvent, EndReason};

const DURATION: Duration = Duration::from_secs(5);

/// What a received picture shows: `P` the pattern (its barcode reads), `_` black, `?` else.
fn shows(frame: &VideoFrame) -> char {
    let (luma, _, _) = frame.planes();
    let (min, max) = luma
        .iter()
        .fold((u8::MAX, 0), |(lo, hi), &y| (lo.min(y), hi.max(y)));
    if read_frame_index(frame).is_some() {
        'P'
    } else if max <= 24 && max - min <= 8 {
        '_'
    } else {
        '?'
    }
}

#[test]
fn video_muted_mid_call_sends_black_until_turned_on_again() {
    let out = scratch("y4m");
    let listener = start_listener(|c| {
        c.audio_out = AudioOutput::File(scratch("wav"));
        c.video_out = VideoOutput::File(out.clone());
    });
    let caller = start_caller(listener.local_addr(), DURATION, |c| {
        send_pattern(c, 320, 240, 300_000);
    });
    let until = Instant::now() + Duration::from_secs(15);
    while !matches!(
        caller.next_event(until.saturating_duration_since(Instant::now())),
        Some(CallEvent::VideoSecure { .. })
    ) {
        assert!(Instant::now() < until, "no VideoSecure within 15 s");
    }
    thread::sleep(Duration::from_millis(1_000));
    caller.set_video_muted(true);
    thread::sleep(Duration::from_millis(1_500));
    caller.set_video_muted(false);
    events_until_end(&caller, DURATION + Duration::from_secs(20));
    events_until_end(&listener, Duration::from_secs(15));
    assert_eq!(caller.wait(), EndReason::DurationReached);
    assert_eq!(listener.wait(), EndReason::PeerHungUp);

    let shown: String = read_y4m(&out).iter().map(shows).collect();
    let black = shown
        .find('_')
        .unwrap_or_else(|| panic!("no black picture (P pattern, _ black, ? other): {shown}"));
    let (before, after) = shown.split_at(black);
    let after = after.trim_start_matches(['_', '?']);
    assert!(
        before.contains("PPPPP") && after.starts_with("PPPPP"),
        "P pattern, _ black, ? other: {shown}"
    );
    // 1.5 s muted: a black picture each second (two, or three if a keyframe was asked for),
    // not the 45 of the full frame rate.
    let blacks = shown.matches('_').count();
    assert!(
        (1..=4).contains(&blacks),
        "{blacks} black pictures (P pattern, _ black, ? other): {shown}"
    );
}
