//! Whatever arrives (garbage payloads, torn fragments, wild sequence and timestamp jumps,
//! timers at odd moments, decoder errors), the receiver never panics, never holds more than
//! its buffer, never names more than `MAX_NACK_SEQUENCES` in a NACK, only hands out frames that
//! are Annex-B NAL units of sendable types within the size bound, and its memory stays bounded:
//! an instrumented allocator sees it allocate nothing at all once created.

use std::alloc::System;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use sotto_rtp::h264::AnnexBNalUnits;
use sotto_rtp::video::{VideoEvent, VideoReceiver, VideoReceiverConfig, MAX_NACK_SEQUENCES};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const MAX_PACKETS: usize = 32;
const MAX_FRAME_LEN: usize = 4096;

#[derive(Clone, Debug)]
enum Op {
    Packet {
        seq_step: i32,
        ts_step: u32,
        marker: bool,
        payload: Vec<u8>,
    },
    Wait(u16),
    Rtt(u16),
    DecoderError,
}

/// Payloads: arbitrary bytes, or shaped like the three packetization-mode 1 packet types
/// with random contents, so that frames do complete now and then.
fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // A whole keyframe in one STAP-A (SPS, PPS, IDR slice), so that frames do come out
        // (about eight a case) and their checks run.
        Just(vec![0x78, 0, 2, 0x67, 1, 0, 2, 0x68, 2, 0, 3, 0x65, 3, 4]),
        proptest::collection::vec(any::<u8>(), 0..40),
        (1u8..=23, proptest::collection::vec(1u8.., 0..30)).prop_map(|(t, body)| {
            let mut p = vec![0x60 | t];
            p.extend(body);
            p
        }),
        (proptest::collection::vec((1u8..=23, 1usize..6), 1..4)).prop_map(|units| {
            let mut p = vec![0x78];
            for (t, len) in units {
                p.extend_from_slice(&(len as u16).to_be_bytes());
                p.push(0x60 | t);
                p.extend(std::iter::repeat_n(0x5a, len - 1));
            }
            p
        }),
        (any::<bool>(), any::<bool>(), 1u8..=23, 0usize..50).prop_map(|(s, e, t, len)| {
            let mut p = vec![0x7c, u8::from(s) << 7 | u8::from(e) << 6 | t];
            p.extend(std::iter::repeat_n(0x33, len));
            p
        }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let seq_step = prop_oneof![
        8 => -3i32..=4,
        1 => any::<u16>().prop_map(i32::from),
    ];
    let ts_step = prop_oneof![
        4 => Just(0u32),
        4 => Just(3000u32),
        1 => any::<u32>(),
    ];
    prop_oneof![
        12 => (seq_step, ts_step, any::<bool>(), payload()).prop_map(
            |(seq_step, ts_step, marker, payload)| Op::Packet { seq_step, ts_step, marker, payload }
        ),
        3 => (0u16..400).prop_map(Op::Wait),
        1 => (0u16..2000).prop_map(Op::Rtt),
        1 => Just(Op::DecoderError),
    ]
}

fn check_events(receiver: &mut VideoReceiver, now: Instant) {
    let mut events = 0;
    while let Some(event) = receiver.poll_event(now) {
        events += 1;
        assert!(events < 10_000, "poll_event never runs dry");
        match event {
            VideoEvent::Frame(frame) => {
                assert!(frame.annexb.len() <= MAX_FRAME_LEN);
                assert!(frame.annexb.starts_with(&[0, 0, 0, 1]));
                let mut units = 0;
                for nal in AnnexBNalUnits::new(frame.annexb) {
                    assert!((1..=23).contains(&(nal[0] & 0x1f)), "nal type {}", nal[0]);
                    units += 1;
                }
                assert!(units > 0);
            }
            VideoEvent::Nack(lost) => {
                assert!(!lost.is_empty() && lost.len() <= MAX_NACK_SEQUENCES);
            }
            VideoEvent::KeyframeRequest => {}
        }
    }
}

/// Runs `ops` on a fresh receiver; returns the allocations made after it was created.
fn run(start: Instant, ops: &[Op]) -> usize {
    let mut receiver = VideoReceiver::new(VideoReceiverConfig {
        max_packets: MAX_PACKETS,
        max_frame_len: MAX_FRAME_LEN,
        ..VideoReceiverConfig::default()
    });
    let region = Region::new(GLOBAL);
    let mut now = start;
    let mut sequence = 1000u16;
    let mut timestamp = 0u32;
    for op in ops {
        match op {
            Op::Packet {
                seq_step,
                ts_step,
                marker,
                payload,
            } => {
                sequence = sequence.wrapping_add(*seq_step as u16);
                timestamp = timestamp.wrapping_add(*ts_step);
                receiver.handle_packet(now, sequence, timestamp, *marker, payload);
            }
            Op::Wait(ms) => {
                now += Duration::from_millis(u64::from(*ms));
                if receiver.poll_timeout().is_some_and(|t| t <= now) {
                    receiver.handle_timeout(now);
                }
            }
            Op::Rtt(ms) => receiver.set_rtt(Duration::from_millis(u64::from(*ms))),
            Op::DecoderError => receiver.request_keyframe(now),
        }
        check_events(&mut receiver, now);
        let stats = receiver.stats();
        assert!(stats.buffered_packets <= MAX_PACKETS, "{stats:?}");
        assert!(stats.missing_packets <= MAX_PACKETS, "{stats:?}");
        if let Some(deadline) = receiver.poll_timeout() {
            // Nothing is scheduled absurdly far ahead either.
            assert!(deadline <= now + Duration::from_secs(30));
        }
    }
    let change = region.change();
    change.allocations + change.reallocations
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn anything_goes_and_memory_stays_bounded(ops in proptest::collection::vec(op(), 1..400)) {
        let start = {
            #[allow(clippy::disallowed_methods, reason = "an origin for virtual time")]
            Instant::now()
        };
        // Everything is allocated up front: nothing that arrives makes it allocate more.
        prop_assert_eq!(run(start, &ops), 0);
    }
}
