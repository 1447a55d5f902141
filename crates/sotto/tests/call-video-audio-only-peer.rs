//! A call with video on, to a peer with video off: the peer never answers the video stream's
//! ZRTP, so the call reports video unavailable and goes on as an audio call to its end; the
//! peer sees an ordinary audio call.

#[path = "support/call.rs"]
mod support;

use std::time::{Duration, Instant};
use support::{last_stats, run_to_end, scratch, start_caller, start_listener};

use sotto::media::video::{VideoInput, VideoOutput};
use sotto::media::AudioInput;
use sotto::CallEvent;

const DURATION: Duration = Duration::from_secs(7);

#[test]
fn a_peer_without_video_leaves_an_audio_call() {
    let listener = start_listener(|_| {});
    let caller = start_caller(listener.local_addr(), DURATION, |c| {
        c.audio_in = AudioInput::Tone;
        c.video_in = VideoInput::Pattern;
        c.video_out = VideoOutput::File(scratch("y4m"));
        c.video_width = 320;
        c.video_height = 240;
    });

    let started = Instant::now();
    let mut secure_at = None;
    let mut unavailable = None;
    let mut caller_events = Vec::new();
    while unavailable.is_none() {
        let event = caller
            .next_event(Duration::from_secs(15))
            .expect("events until video is given up");
        match &event {
            CallEvent::Secure { .. } => secure_at = Some(Instant::now()),
            CallEvent::VideoUnavailable { reason } => {
                unavailable = Some((Instant::now(), reason.clone()))
            }
            CallEvent::VideoSecure { .. } => panic!("video cannot be secure: {event:?}"),
            CallEvent::Ended(reason) => panic!("ended before giving up video: {reason}"),
            _ => {}
        }
        caller_events.push(event);
    }
    let secure_at = secure_at.expect("secure before video is given up");
    let (given_up_at, reason) = unavailable.expect("unavailable");
    let waited = given_up_at - secure_at;
    eprintln!("video given up {waited:?} after secure: {reason}");
    assert!(reason.contains("did not answer"), "{reason}");
    // ZRTP's Hello timer gives up after about 4 s: quick enough not to leave the user wondering.
    assert!(waited < Duration::from_secs(6), "{waited:?}");
    assert!(
        started.elapsed() < DURATION,
        "gave up only after the call's duration"
    );

    let (rest, listener_events) = run_to_end(caller, listener, DURATION);
    caller_events.extend(rest);

    // The call went on as an audio call: audio arrived after video was given up too, and no
    // statistics ever carried video figures.
    let caller_stats = last_stats(&caller_events);
    let listener_stats = last_stats(&listener_events);
    assert!(caller_stats.video.is_none(), "{caller_stats:?}");
    assert!(
        listener_stats.packets_received >= 300,
        "7 s of 20 ms audio: {listener_stats:?}"
    );
    assert_eq!(listener_stats.srtp_rejected, 0, "{listener_stats:?}");
    // The listener saw nothing of video.
    assert!(
        !listener_events.iter().any(|e| matches!(
            e,
            CallEvent::VideoSecure { .. } | CallEvent::VideoUnavailable { .. }
        ) || matches!(e, CallEvent::Stats(s) if s.video.is_some())),
        "{listener_events:?}"
    );
}
