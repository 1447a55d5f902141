//! `Call::start_with_video`: the application's own video source and sink instead of the
//! configured ones. The source is read once per frame interval and its size is the size sent;
//! the sink gets every decoded picture, in order.

#[path = "support/call.rs"]
mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{caller_config, last_video_stats, listener_config, run_to_end};

use sotto::media::video::{read_frame_index, PatternSource};
use sotto::media::{VideoFrame, VideoSink};
use sotto::Call;

const DURATION: Duration = Duration::from_secs(2);

/// Keeps the frame index of every picture written.
struct Collect(Arc<Mutex<Vec<Option<u32>>>>);

impl VideoSink for Collect {
    fn write(&mut self, frame: &VideoFrame) -> Result<(), sotto::media::Error> {
        self.0.lock().expect("lock").push(read_frame_index(frame));
        Ok(())
    }

    fn finish(&mut self) -> Result<(), sotto::media::Error> {
        Ok(())
    }
}

#[test]
fn supplied_source_and_sink_carry_the_video() {
    let shown = Arc::new(Mutex::new(Vec::new()));
    let sink = Collect(Arc::clone(&shown));
    let listener = Call::start_with_video(listener_config(), None, Some(Box::new(sink)))
        .expect("listener starts");

    let mut call = caller_config(listener.local_addr(), DURATION);
    call.video_fps = 15;
    // The configured size is 640x480; the source's own size is what is sent.
    let source = PatternSource::new(160, 120).expect("pattern");
    let caller = Call::start_with_video(call, Some(Box::new(source)), None).expect("caller starts");
    let (caller_events, listener_events) = run_to_end(caller, listener, DURATION);

    let sent = last_video_stats(&caller_events);
    let received = last_video_stats(&listener_events);
    assert_eq!(received.received_resolution, Some((160, 120)));
    // 2 s at 15 frames per second.
    assert!((25..=31).contains(&sent.frames_sent), "{sent:?}");
    let shown = shown.lock().expect("lock").clone();
    assert_eq!(shown.len() as u64, received.frames_received);
    assert!(shown.len() as u64 + 2 >= sent.frames_sent, "{shown:?}");
    let indices: Vec<u32> = shown.into_iter().map(|i| i.expect("barcode")).collect();
    assert_eq!(indices, (0..indices.len() as u32).collect::<Vec<_>>());
}
