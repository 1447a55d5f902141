//! Packets reordered by less than `reorder_grace` are waited for, never NACKed: every frame
//! comes out complete and in decode order, with no NACK and no keyframe request.

#[path = "support/video.rs"]
mod video;

use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use sotto_rtp::video::{VideoReceiver, VideoReceiverConfig};
use video::{assert_in_order, base, feed, run_timers, stream, Call, CallConfig, Events};

const MS: Duration = Duration::from_millis(1);

#[test]
fn shuffled_within_the_grace_yields_no_nack() {
    let (aus, packets) = stream(120, 30, 65_400);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    // Each packet is held back by up to 3 places, as a jittery path does: none arrives more
    // than 6 places (6 ms) after one sent later.
    let mut keyed: Vec<(usize, usize)> = (0..packets.len())
        .map(|i| (2 * i + 1 + 2 * (rng.next_u32() % 4) as usize, i))
        .collect();
    keyed.sort_unstable();
    let order: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
    let config = VideoReceiverConfig::default();
    assert_eq!(config.reorder_grace, 10 * MS);
    let mut receiver = VideoReceiver::new(config);
    let mut events = Events::default();
    let start = base();
    // One packet a millisecond.
    for (n, &i) in order.iter().enumerate() {
        let now = start + MS * n as u32;
        run_timers(&mut receiver, &mut events, now);
        feed(&mut receiver, &mut events, now, &packets[i]);
    }
    run_timers(&mut receiver, &mut events, start + Duration::from_secs(5));

    assert!(events.nacks.is_empty(), "nacked {:?}", events.nacks);
    assert!(events.keyframe_requests.is_empty());
    assert_eq!(events.indices(), (0..120).collect::<Vec<_>>());
    for (index, _, annexb) in &events.frames {
        assert_eq!(annexb, &aus[*index as usize]);
    }
    let stats = receiver.stats();
    assert!(stats.packets_reordered > 50, "{stats:?}");
    assert_eq!((stats.nacks_sent, stats.frames_dropped), (0, 0));
}

#[test]
fn jitter_below_the_grace_over_a_lossless_path_sends_no_nack() {
    // Every packet of a frame leaves at once and each gets up to 8 ms of jitter: they arrive
    // thoroughly shuffled, but never more than 8 ms after a later one.
    let mut call = Call::new(CallConfig {
        jitter: Duration::from_millis(8),
        loss: 0.0,
        frames: 300,
        ..CallConfig::default()
    });
    call.run(Duration::from_secs(1));
    let stats = call.receiver.stats();
    assert!(stats.packets_reordered > 100, "{stats:?}");
    assert!(call.nacks.is_empty(), "nacked {:?}", call.nacks);
    assert_eq!(stats.nacks_sent, 0);
    assert!(call.keyframe_requests.is_empty());
    assert_in_order(&call.shown);
    assert_eq!(call.shown.len(), 300);
}
