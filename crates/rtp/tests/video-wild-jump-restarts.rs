//! A wild jump in sequence number or timestamp (a sender that started over) is taken as a new
//! stream: nothing of the old one is waited for or NACKed, a keyframe is asked for at once,
//! and the new stream is shown from its first keyframe on, P-frames never before it.

#[path = "support/video.rs"]
mod video;

use std::time::{Duration, Instant};

use sotto_rtp::video::{VideoReceiver, VideoReceiverConfig};
use video::{base, feed, run_timers, stream, Events, Packet};

const MS: Duration = Duration::from_millis(1);

/// Feeds `packets` one a millisecond from `from`, running timers in between; returns the end.
fn play(
    receiver: &mut VideoReceiver,
    events: &mut Events,
    from: Instant,
    packets: &[Packet],
) -> Instant {
    let mut now = from;
    for packet in packets {
        run_timers(receiver, events, now);
        feed(receiver, events, now, packet);
        now += MS;
    }
    now
}

/// Plays 30 frames of a stream, then `second`, and returns the events, the time the second
/// stream began and the receiver.
fn old_then_new(second: &[Packet]) -> (Events, Instant, VideoReceiver) {
    let (_, first) = stream(30, 30, 1_000);
    let mut receiver = VideoReceiver::new(VideoReceiverConfig::default());
    let mut events = Events::default();
    let start = base();
    let switch = play(&mut receiver, &mut events, start, &first);
    assert_eq!(events.indices(), (0..30).collect::<Vec<_>>());
    let end = play(&mut receiver, &mut events, switch, second);
    run_timers(&mut receiver, &mut events, end + Duration::from_secs(2));
    (events, switch, receiver)
}

/// A second stream of 30 frames (keyframes every 10) from `first_seq`, with timestamps
/// shifted by `ts_shift`.
fn second_stream(first_seq: u16, ts_shift: u32) -> Vec<Packet> {
    let (_, mut packets) = stream(30, 10, first_seq);
    for p in &mut packets {
        p.timestamp = p.timestamp.wrapping_add(ts_shift);
    }
    packets
}

fn assert_shows_second_stream_from_a_keyframe(events: &Events, from_frame: u32) {
    let shown: Vec<_> = events.frames[30..].iter().map(|f| (f.0, f.1)).collect();
    assert!(shown[0].1, "P-frame {} shown before a keyframe", shown[0].0);
    assert_eq!(
        shown.iter().map(|f| f.0).collect::<Vec<_>>(),
        (from_frame..30).collect::<Vec<_>>()
    );
}

#[test]
fn sequence_jump_ahead_restarts_at_once() {
    // 5000 ahead: more than the buffer, less than half the sequence space.
    let (events, switch, receiver) = old_then_new(&second_stream(6_200, 0));
    assert_eq!(events.keyframe_requests, [switch]);
    assert!(events.nacks.is_empty(), "nacked {:?}", events.nacks);
    // Its first packet begins a keyframe: shown without waiting for another.
    assert_shows_second_stream_from_a_keyframe(&events, 0);
    let stats = receiver.stats();
    assert_eq!((stats.resets, stats.freezes), (1, 1));
}

#[test]
fn sequence_jump_back_restarts_after_a_run() {
    // 40000 ahead reads as far behind: three in a row in sequence make a new stream.
    let (events, switch, receiver) = old_then_new(&second_stream(41_000, 0));
    assert_eq!(events.keyframe_requests, [switch + 2 * MS]);
    assert!(events.nacks.is_empty(), "nacked {:?}", events.nacks);
    // The first keyframe lost its first two packets: shown from the next keyframe.
    assert_shows_second_stream_from_a_keyframe(&events, 10);
    let stats = receiver.stats();
    assert_eq!((stats.resets, stats.late), (1, 2));
}

#[test]
fn timestamp_jump_restarts() {
    // Sequence numbers run on, timestamps leap half the clock back.
    let (_, old) = stream(30, 30, 1_000);
    let next_seq = old.last().unwrap().sequence.wrapping_add(1);
    let (events, switch, receiver) = old_then_new(&second_stream(next_seq, 1 << 31));
    assert_eq!(events.keyframe_requests, [switch]);
    assert!(events.nacks.is_empty());
    assert_shows_second_stream_from_a_keyframe(&events, 0);
    assert_eq!(receiver.stats().resets, 1);
}
