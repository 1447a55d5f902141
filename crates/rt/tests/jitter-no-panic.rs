//! Any sequence of packets and pops, with arbitrary sequence numbers, timestamps, arrival times
//! (also out of order), payload sizes and configurations, leaves the jitter buffer panic-free,
//! hands out only payloads that were pushed, and keeps its counters consistent.
#![cfg(not(loom))]

use std::time::{Duration, Instant};

use proptest::prelude::*;
use sotto_rt::{jitter_buffer, JitterConfig, Playout};

#[derive(Debug, Clone)]
enum Op {
    Push {
        sequence: u16,
        timestamp: u32,
        arrival_ms: u16,
        len: usize,
    },
    Pop {
        advance_ms: u16,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<u16>(), any::<u32>(), any::<u16>(), 0usize..700).prop_map(
            |(sequence, timestamp, arrival_ms, len)| Op::Push {
                sequence,
                timestamp,
                arrival_ms,
                len
            }
        ),
        // Mostly a near-steady stream, so the interesting paths (reorder, loss, wrap) are hit.
        (0u16..8, any::<u16>(), 0u16..200, 0usize..200).prop_map(
            |(step, timestamp, arrival_ms, len)| {
                Op::Push {
                    sequence: step,
                    timestamp: u32::from(timestamp),
                    arrival_ms,
                    len,
                }
            }
        ),
        (0u16..60).prop_map(|advance_ms| Op::Pop { advance_ms }),
    ]
}

fn config() -> impl Strategy<Value = JitterConfig> {
    (
        0u32..2000,
        0u32..100_000,
        any::<u32>(),
        any::<u32>(),
        0usize..100,
        0usize..600,
        prop_oneof![Just(f64::NAN), -1.0f64..2.0],
    )
        .prop_map(
            |(frame_samples, clock_rate_hz, min_delay_ms, max_delay_ms, capacity, max_len, q)| {
                JitterConfig {
                    frame_samples,
                    clock_rate_hz,
                    min_delay_ms,
                    max_delay_ms,
                    capacity_packets: capacity,
                    max_payload_len: max_len,
                    quantile: q,
                }
            },
        )
}

proptest! {
    #[test]
    fn never_panics_and_plays_only_what_was_pushed(
        cfg in config(),
        ops in proptest::collection::vec(op(), 0..300),
    ) {
        let max_len = cfg.max_payload_len.clamp(1, 65535);
        let (mut input, mut output) = jitter_buffer(cfg);
        #[allow(clippy::disallowed_methods)] // the origin of virtual time
        let t0 = Instant::now();
        let mut now = t0;
        let mut base_seq: u16 = 0;
        let mut accepted = 0u64;
        for op in ops {
            match op {
                Op::Push { sequence, timestamp, arrival_ms, len } => {
                    // Small values are steps from a moving base; the rest are arbitrary jumps.
                    let sequence = if sequence < 8 {
                        base_seq = base_seq.wrapping_add(1);
                        base_seq.wrapping_add(sequence)
                    } else {
                        sequence
                    };
                    // Every payload byte carries the low byte of the sequence number.
                    let payload = vec![sequence as u8; len];
                    let arrival = t0 + Duration::from_millis(u64::from(arrival_ms));
                    let result = input.push(sequence, timestamp, arrival, &payload);
                    prop_assert!(len <= max_len || result.is_err());
                    accepted += u64::from(result.is_ok());
                }
                Op::Pop { advance_ms } => {
                    now += Duration::from_millis(u64::from(advance_ms));
                    match output.pop_rt(now) {
                        Playout::Frame(p) | Playout::Lost { next: Some(p) } => {
                            prop_assert!(p.len() <= max_len);
                            prop_assert!(p.windows(2).all(|w| w[0] == w[1]));
                        }
                        Playout::Lost { next: None } | Playout::Empty => {}
                    }
                }
            }
        }
        let stats = output.stats();
        prop_assert!(stats.played + stats.late + stats.duplicates <= accepted);
        prop_assert!(stats.target_delay_ms <= 10_000);
    }
}
