//! A packet whose every retransmission is lost: the receiver gives it up, freezes, asks for a
//! keyframe at once and again every `keyframe_request_interval` while frozen, shows none of the
//! P-frames that follow (their reference is gone, they would decode to garbage), and recovers
//! with the keyframe the sender sends in answer.

#[path = "support/video.rs"]
mod video;

use std::time::Duration;

use video::{assert_in_order, Call, CallConfig};

const LOST_FRAME: u32 = 40;
const MS: Duration = Duration::from_millis(1);

fn config() -> CallConfig {
    CallConfig {
        one_way_delay: Duration::from_millis(20),
        jitter: Duration::ZERO,
        loss: 0.0,
        // No keyframe but the first one, unless asked for.
        gop: 10_000,
        frames: 150,
        ..CallConfig::default()
    }
}

#[test]
fn lost_packet_freezes_until_the_keyframe_it_asks_for() {
    // A dry run learns the sequence numbers; the same call again loses the second packet of
    // frame 40 on every transmission.
    let mut dry = Call::new(config());
    dry.run(Duration::from_secs(1));
    assert_eq!(dry.shown.len(), 150);
    let lost_seq = dry.sent_first_seq[LOST_FRAME as usize].wrapping_add(1);

    let mut call = Call::new(config());
    call.black_hole.insert(lost_seq);
    let lost_sent_at = call.start + video::FRAME_INTERVAL * LOST_FRAME;
    // The sender is slow to react: the first PLI goes unanswered, so the receiver must ask again.
    call.ignore_pli_until = Some(lost_sent_at + 350 * MS);
    call.run(Duration::from_secs(1));

    let stats = call.receiver.stats();
    assert_in_order(&call.shown);
    let shown = call.shown_indices();

    // Everything before the loss was shown.
    assert_eq!(
        shown[..LOST_FRAME as usize],
        (0..LOST_FRAME).collect::<Vec<_>>()[..]
    );
    // Then nothing until a keyframe: the next frame shown is the one the PLI produced.
    let after = &call.shown[LOST_FRAME as usize];
    assert!(after.keyframe, "frame {} shown while frozen", after.index);
    assert!(call.sent_keyframe[after.index as usize]);
    assert!(after.index > LOST_FRAME + 10);
    // And every frame from the keyframe on.
    assert_eq!(
        shown[LOST_FRAME as usize..],
        (after.index..150).collect::<Vec<_>>()[..]
    );

    // The gap is seen when the next packet arrives (20 ms after sending) and given up 200 ms
    // later (3 RTT is only 120 ms): the first request follows at once.
    let first = call.keyframe_requests[0] - lost_sent_at;
    assert!(
        first >= 220 * MS && first <= 225 * MS,
        "first request after {first:?}"
    );
    // Unanswered, it is repeated every 300 ms, and stops once the keyframe is shown.
    assert_eq!(call.keyframe_requests.len(), 2);
    assert_eq!(
        call.keyframe_requests[1] - call.keyframe_requests[0],
        300 * MS
    );
    assert_eq!(call.plis_honoured, 1);
    assert!(call.keyframe_requests.iter().all(|&t| t < after.at));

    assert_eq!(stats.freezes, 1);
    assert_eq!(stats.keyframe_requests, 2);
    assert_eq!(stats.packets_unrepaired, 1);
    assert!(stats.nacks_sent >= 3, "retransmission tried: {stats:?}");
    // Frozen from the give-up to the keyframe: one ignored request, then a round trip and a
    // frame interval for the keyframe to be made and to arrive.
    let frozen = after.at - call.keyframe_requests[0];
    assert_eq!(stats.frozen_for, frozen);
    assert!(
        frozen > 300 * MS && frozen < 420 * MS,
        "frozen for {frozen:?}"
    );
    assert_eq!(
        stats.frames_dropped,
        u64::from(after.index - LOST_FRAME),
        "every frame from the broken one to the keyframe was dropped"
    );
}
