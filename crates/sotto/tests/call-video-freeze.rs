//! A loss NACK cannot repair (a relay drops a packet and every retransmission of it) freezes
//! the picture on its last good frame, the receiver asks for a keyframe (PLI), and the picture
//! recovers at once: never a broken picture on the way, and the call goes on.

#[path = "support/call.rs"]
mod support;

use std::time::Duration;
use support::{
    last_video_stats, pattern_psnr, read_y4m, run_to_end, scratch, send_pattern, start_caller,
    start_listener, video_dropping_relay,
};

use sotto::media::video::VideoOutput;

const FPS: u32 = 30;
const DURATION: Duration = Duration::from_secs(5);
/// The new video packets (by arrival at the relay) that never get through, however often
/// they are sent: about 1 s and 3 s into the video at 320x240 and 400 kbit/s.
const DOOMED: [usize; 2] = [60, 180];

#[test]
fn an_unrepairable_loss_freezes_then_a_keyframe_recovers() {
    let out = scratch("y4m");
    let listener = start_listener(|c| {
        c.video_out = VideoOutput::File(out.clone());
        c.video_fps = FPS;
    });
    let relay = video_dropping_relay(listener.local_addr(), |n| DOOMED.contains(&n), true);
    let caller = start_caller(relay.addr, DURATION, |c| {
        send_pattern(c, 320, 240, 400_000);
        c.video_fps = FPS;
    });

    let (caller_events, listener_events) = run_to_end(caller, listener, DURATION);
    let dropped = relay.finish();

    let sent = last_video_stats(&caller_events);
    let received = last_video_stats(&listener_events);
    eprintln!(
        "sent {sent:?}\nreceived {received:?}\n{} datagrams dropped",
        dropped.len()
    );
    // NACK was tried (and the caller resent), then given up on.
    assert!(received.nacks_sent >= 2, "{received:?}");
    assert!(sent.retransmissions >= 2, "{sent:?}");
    // (More than two, and more freezes, only on a machine too busy to keep up.)
    assert!(received.packets_unrepaired >= 2, "{received:?}");
    // Each loss froze the picture, a PLI went out, and the caller sent a keyframe.
    assert!(received.freezes >= 2, "{received:?}");
    assert!(received.plis_sent >= 2, "{received:?}");
    assert!(sent.plis_received >= 2, "{sent:?}");
    assert!(sent.keyframes_sent >= 3, "{sent:?}");
    assert!(received.keyframes_received >= 3, "{received:?}");
    assert_eq!(received.decoder_errors, 0, "{received:?}");
    // A viewer forgives a short freeze.
    assert!(
        received.frozen > Duration::ZERO && received.frozen < Duration::from_secs(1),
        "{received:?}"
    );

    // What was shown: clean pictures only, in order, with two short gaps, up to the end.
    let frames = read_y4m(&out);
    let scores: Vec<(u32, f64)> = pattern_psnr(&frames).into_iter().flatten().collect();
    assert_eq!(
        scores.len(),
        frames.len(),
        "unreadable barcodes: broken pictures"
    );
    let worst = scores.iter().map(|(_, db)| *db).fold(f64::MAX, f64::min);
    assert!(worst >= 35.0, "a picture at {worst:.1} dB was shown");
    let gaps: Vec<(u32, u32)> = scores
        .windows(2)
        .filter(|w| w[1].0 != w[0].0 + 1)
        .map(|w| (w[0].0, w[1].0))
        .collect();
    eprintln!(
        "{} pictures, worst {worst:.1} dB, gaps {gaps:?}",
        frames.len()
    );
    assert!(gaps.iter().all(|(a, b)| a < b), "out of order: {gaps:?}");
    // A gap for each freeze, and none without one.
    assert!(
        gaps.len() >= 2 && gaps.len() as u64 <= received.freezes,
        "{gaps:?}"
    );
    // About 12 pictures each here (the 200 ms wait for a repair, then the keyframe's trip);
    // a second is the most a viewer should see, even on a busy machine.
    assert!(
        gaps.iter().all(|(a, b)| b - a <= FPS),
        "a freeze of a second or more: {gaps:?}"
    );
    let last = scores.last().expect("pictures").0;
    assert!(
        u64::from(last) + 5 >= sent.frames_sent,
        "the picture did not recover: last shown {last} of {}",
        sent.frames_sent
    );
}
