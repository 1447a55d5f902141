//! Duplicated packets and replays of old ones change nothing: each frame comes out once, in
//! order and intact, nothing is NACKed, no keyframe is asked for and the stream never starts
//! over. They are counted, as duplicates when the packet is still held and as late otherwise.

#[path = "support/video.rs"]
mod video;

use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use sotto_rtp::video::{VideoReceiver, VideoReceiverConfig};
use video::{base, feed, run_timers, stream, Events};

const MS: Duration = Duration::from_millis(1);

#[test]
fn duplicates_and_replays_are_ignored() {
    let (aus, packets) = stream(200, 50, 65_000);
    // A small buffer, so that replays also reach back past it.
    let mut receiver = VideoReceiver::new(VideoReceiverConfig {
        max_packets: 64,
        ..VideoReceiverConfig::default()
    });
    let mut events = Events::default();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let start = base();
    let mut injected = 0u64;
    for (n, packet) in packets.iter().enumerate() {
        let now = start + MS * n as u32;
        run_timers(&mut receiver, &mut events, now);
        feed(&mut receiver, &mut events, now, packet);
        // Every packet twice.
        feed(&mut receiver, &mut events, now, packet);
        injected += 1;
        // And a replay of an older one, from just now to far beyond the buffer.
        if n > 0 {
            let back = 1 + rng.next_u32() as usize % n.min(400);
            feed(&mut receiver, &mut events, now, &packets[n - back]);
            injected += 1;
        }
        // Now and then, the whole frame again right after it was shown.
        if packet.marker && packet.frame % 7 == 0 {
            for old in packets.iter().filter(|p| p.frame == packet.frame) {
                feed(&mut receiver, &mut events, now, old);
                injected += 1;
            }
        }
    }
    run_timers(&mut receiver, &mut events, start + Duration::from_secs(10));

    assert_eq!(events.indices(), (0..200).collect::<Vec<_>>());
    for (index, _, annexb) in &events.frames {
        assert_eq!(annexb, &aus[*index as usize]);
    }
    assert!(events.nacks.is_empty(), "nacked {:?}", events.nacks);
    assert!(events.keyframe_requests.is_empty());
    let stats = receiver.stats();
    assert_eq!(stats.resets, 0);
    assert_eq!(stats.frames, 200);
    assert_eq!(stats.frames_dropped, 0);
    assert_eq!(stats.duplicates + stats.late, injected);
    assert!(stats.duplicates > 0 && stats.late > 0, "{stats:?}");
    assert_eq!(stats.packets, packets.len() as u64 + injected);
}
