//! Joining a stream mid-way (its first keyframe never arrives): the receiver shows none of the
//! P-frames it cannot decode, asks for a keyframe once `join_keyframe_wait` has passed without
//! one, and shows everything from the keyframe that answers. Not counted as a freeze.

#[path = "support/video.rs"]
mod video;

use std::time::Duration;

use video::{assert_in_order, Call, CallConfig};

const JOIN_FRAME: u32 = 20;
const MS: Duration = Duration::from_millis(1);

fn config() -> CallConfig {
    CallConfig {
        jitter: Duration::ZERO,
        gop: 10_000,
        frames: 100,
        ..CallConfig::default()
    }
}

#[test]
fn joining_mid_stream_asks_for_a_keyframe_after_a_short_wait() {
    let mut dry = Call::new(config());
    dry.run(Duration::from_secs(1));
    let first = dry.sent_first_seq[0];
    let join = dry.sent_first_seq[JOIN_FRAME as usize];

    let mut call = Call::new(config());
    let mut seq = first;
    while seq != join {
        call.black_hole.insert(seq);
        seq = seq.wrapping_add(1);
    }
    call.run(Duration::from_secs(1));

    let joined_at = call.start + video::FRAME_INTERVAL * JOIN_FRAME + 20 * MS;
    assert_eq!(call.keyframe_requests, [joined_at + 150 * MS]);
    assert_in_order(&call.shown);
    let first_shown = call.shown[0];
    assert!(first_shown.keyframe);
    assert!(first_shown.index > JOIN_FRAME);
    assert_eq!(
        call.shown_indices(),
        (first_shown.index..100).collect::<Vec<_>>()
    );
    let stats = call.receiver.stats();
    assert_eq!(stats.freezes, 0);
    assert_eq!(stats.frozen_for, Duration::ZERO);
    // Frames 20 up to the keyframe arrived whole and were not shown.
    assert_eq!(
        stats.frames_dropped,
        u64::from(first_shown.index - JOIN_FRAME)
    );
    // Nothing before the first packet received is NACKed: it cannot be known to exist.
    assert_eq!(stats.nacks_sent, 0);
}
