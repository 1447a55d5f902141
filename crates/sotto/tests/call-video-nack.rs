//! Lost video packets are repaired by NACK: a relay between two calls drops a few of the
//! caller's video packets (never a retransmission); the listener NACKs them, the caller
//! resends them from its history, and every picture still decodes, in order, at full quality.

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
/// Every this many new video packets one is dropped, from the first drop on (320x240 at
/// 400 kbit/s is about two packets a frame).
const DROP_EVERY: usize = 30;
const FIRST_DROP: usize = 40;
const MAX_DROPS: usize = 8;

#[test]
fn dropped_video_packets_are_repaired_by_nack() {
    let out = scratch("y4m");
    let listener = start_listener(|c| {
        c.video_out = VideoOutput::File(out.clone());
        c.video_fps = FPS;
    });
    // Retransmissions get through.
    let doomed = |n: usize| {
        n >= FIRST_DROP
            && (n - FIRST_DROP) % DROP_EVERY == 0
            && n < FIRST_DROP + MAX_DROPS * DROP_EVERY
    };
    let relay = video_dropping_relay(listener.local_addr(), doomed, false);
    let caller = start_caller(relay.addr, DURATION, |c| {
        send_pattern(c, 320, 240, 400_000);
        c.video_fps = FPS;
    });

    let (caller_events, listener_events) = run_to_end(caller, listener, DURATION);
    let dropped = relay.finish();
    assert_eq!(
        dropped.len(),
        MAX_DROPS,
        "the relay dropped too few packets"
    );

    let sent = last_video_stats(&caller_events);
    let received = last_video_stats(&listener_events);
    eprintln!("sent {sent:?}\nreceived {received:?}");
    let drops = dropped.len() as u64;
    // Each loss was NACKed and resent, and the resent packet filled its gap in time. (On a
    // machine so busy that the sender stalls for a few hundred milliseconds, one resend may
    // come after the receiver gave up on it.)
    let unrepaired = received.packets_unrepaired;
    assert!(unrepaired <= 1, "{received:?}");
    assert!(received.nacks_sent >= 1, "{received:?}");
    assert!(sent.nacks_received >= 1, "{sent:?}");
    assert!(sent.retransmissions >= drops, "{sent:?}");
    assert_eq!(
        received.packets_repaired + unrepaired,
        drops,
        "{received:?}"
    );
    assert_eq!(received.decoder_errors, 0, "{received:?}");
    // Nothing froze, unless the machine could not keep up (an unrepaired packet, or a decoder
    // starved of CPU dropping frames and asking for a keyframe).
    let kept_up = received.freezes == 0;
    if kept_up {
        assert_eq!(received.frames_dropped, 0, "{received:?}");
        assert_eq!(received.plis_sent, 0, "{received:?}");
    } else {
        eprintln!("the machine did not keep up: {received:?}");
    }

    // The pictures: in order, at the quality of a clean call, and (when the machine kept up)
    // every one that was sent.
    let frames = read_y4m(&out);
    let scores: Vec<(u32, f64)> = pattern_psnr(&frames).into_iter().flatten().collect();
    assert_eq!(scores.len(), frames.len(), "unreadable barcodes");
    let indices: Vec<u32> = scores.iter().map(|s| s.0).collect();
    assert!(
        indices.windows(2).all(|w| w[1] > w[0]),
        "out of order: {indices:?}"
    );
    if kept_up {
        assert!(
            frames.len() as u64 + 3 >= sent.frames_sent,
            "{} pictures shown of {} sent",
            frames.len(),
            sent.frames_sent
        );
        // Every picture sent is shown; the encoder's rate control may drop one now and then
        // before it is sent, which leaves a gap of one.
        assert!(
            indices.windows(2).all(|w| w[1] - w[0] <= 2),
            "pictures are missing: {indices:?}"
        );
    }
    let mean = scores.iter().map(|(_, db)| db).sum::<f64>() / scores.len() as f64;
    eprintln!("{} pictures, mean PSNR {mean:.2} dB", frames.len());
    assert!(mean >= 40.0, "mean PSNR {mean:.2} dB");
}
