//! A Y4M file as the video input: it is sent at its own size, once; when it ends the call says
//! so and goes on as an audio call, and the receiver wrote every picture of the file, in order.

#[path = "support/call.rs"]
mod support;

use std::time::Duration;
use support::{
    last_stats, last_video_stats, pattern_psnr, read_y4m, run_to_end, scratch, start_caller,
    start_listener,
};

use sotto::media::video::{PatternSource, VideoInput, VideoOutput, Y4mSink};
use sotto::media::{AudioInput, AudioOutput, VideoSink, VideoSource};
use sotto::CallEvent;

const PICTURES: u32 = 20;
const DURATION: Duration = Duration::from_secs(3);

#[test]
fn a_video_file_is_sent_once_and_the_call_goes_on() {
    // 20 pictures of the pattern at a size other than the configured one.
    let input = scratch("y4m");
    let mut pattern = PatternSource::new(320, 240).expect("pattern");
    let mut sink = Y4mSink::create(&input, 30).expect("create input");
    for _ in 0..PICTURES {
        let frame = pattern.read().expect("read").expect("a pattern never ends");
        sink.write(&frame).expect("write");
    }
    sink.finish().expect("finish");

    let out = scratch("y4m");
    let listener = start_listener(|c| {
        c.audio_out = AudioOutput::File(scratch("wav"));
        c.video_out = VideoOutput::File(out.clone());
    });
    let caller = start_caller(listener.local_addr(), DURATION, |c| {
        c.audio_in = AudioInput::Tone;
        c.video_in = VideoInput::File(input);
    });
    let (caller_events, listener_events) = run_to_end(caller, listener, DURATION);

    let ended = caller_events
        .iter()
        .position(|e| matches!(e, CallEvent::VideoInputEnded))
        .expect("a VideoInputEnded event");
    let secure = caller_events
        .iter()
        .position(|e| matches!(e, CallEvent::VideoSecure { .. }))
        .expect("a VideoSecure event");
    assert!(secure < ended);
    assert_eq!(
        last_video_stats(&caller_events).frames_sent,
        u64::from(PICTURES)
    );
    // 3 s of audio, most of it after the video ended.
    assert!(last_stats(&listener_events).packets_received >= 120);

    let frames = read_y4m(&out);
    assert_eq!(frames.len(), PICTURES as usize);
    assert!(frames.iter().all(|f| (f.width(), f.height()) == (320, 240)));
    let indices: Vec<u32> = pattern_psnr(&frames)
        .into_iter()
        .map(|s| s.expect("readable barcode").0)
        .collect();
    assert_eq!(indices, (0..PICTURES).collect::<Vec<_>>());
}
