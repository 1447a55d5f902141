//! When the caller's decoder fails on a frame, `request_keyframe` freezes the receiver at
//! once: a keyframe request goes out immediately, no P-frame is shown until the keyframe
//! that answers it, and the frames from then on all come.

#[path = "support/video.rs"]
mod video;

use std::time::Duration;

use video::{assert_in_order, Call, CallConfig};

#[test]
fn decoder_error_freezes_and_asks_for_a_keyframe() {
    let mut call = Call::new(CallConfig {
        gop: 10_000,
        frames: 120,
        ..CallConfig::default()
    });
    call.run_until(call.start + Duration::from_secs(2));
    let shown_before = call.shown.len();
    assert!(shown_before >= 55);
    assert!(call.keyframe_requests.is_empty());
    let error_at = call.now;
    call.decoder_error();
    assert_eq!(call.keyframe_requests, [error_at]);
    call.run(Duration::from_secs(1));

    assert_in_order(&call.shown);
    let resumed = call.shown[shown_before];
    assert!(
        resumed.keyframe,
        "frame {} shown while frozen",
        resumed.index
    );
    assert_eq!(
        call.shown_indices()[shown_before..],
        (resumed.index..120).collect::<Vec<_>>()[..]
    );
    // About a round trip (45 ms) and a frame interval later.
    let frozen = resumed.at - error_at;
    assert!(frozen < Duration::from_millis(100), "frozen for {frozen:?}");
    let stats = call.receiver.stats();
    assert_eq!((stats.freezes, stats.keyframe_requests), (1, 1));
    assert_eq!(stats.frozen_for, frozen);
}
