//! The real-time entry points never touch the allocator: the test binary's global allocator
//! aborts on any (de)allocation inside `assert_no_alloc`. `JitterInput::push` runs on the network
//! thread, not a callback, but it must not allocate per packet either, so it is checked too.
#![cfg(not(loom))]

use std::time::{Duration, Instant};

use assert_no_alloc::{assert_no_alloc, AllocDisabler};
use sotto_rt::{audio_ring, jitter_buffer, JitterConfig, Playout};

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

#[test]
fn ring_push_and_pop_do_not_allocate() {
    let (mut tx, mut rx) = audio_ring(3 * 960);
    let chunk = [1i16; 960];
    let mut out = [0i16; 1000];
    let (pushed, popped, real) = assert_no_alloc(|| {
        let mut pushed = 0;
        let mut popped = 0;
        let mut real = 0;
        for _ in 0..10 {
            // Overruns on the fourth chunk, underruns on the partial pops.
            for _ in 0..4 {
                pushed += tx.push_rt(&chunk);
            }
            popped += rx.pop_rt(&mut out[..500]);
            for _ in 0..3 {
                real += rx.pop_or_silence_rt(&mut out);
            }
        }
        (pushed, popped, real)
    });
    assert_eq!(pushed, 10 * 3 * 960);
    assert_eq!(popped + real, pushed);
    let counters = tx.counters().snapshot();
    assert_eq!(counters.overrun_samples, 10 * 960);
    // Each round: 2880 buffered, 500 + 1000 + 1000 + 380 real, then 620 of silence.
    assert_eq!(counters.underrun_samples, 10 * 620);
}

#[test]
fn jitter_push_and_pop_do_not_allocate_on_any_path() {
    let (mut input, mut output) = jitter_buffer(JitterConfig {
        capacity_packets: 16,
        max_payload_len: 400,
        ..JitterConfig::default()
    });
    #[allow(clippy::disallowed_methods)] // the origin of virtual time
    let t0 = Instant::now();
    let payload = [7u8; 400];
    let oversized = [0u8; 401];
    let mut seen = [0u32; 3];
    assert_no_alloc(|| {
        for i in 0u32..2000 {
            let now = t0 + Duration::from_millis(u64::from(i) * 20);
            let seq = (i as u16).wrapping_add(65_000);
            // Loss, duplicates, reordering, sizes spanning several ring slots, sequence jumps.
            if i % 7 != 3 {
                let arrival = now + Duration::from_millis(u64::from(i * 13 % 45));
                let len = (i as usize * 37) % 400;
                let _ = input.push(seq, i * 960, arrival, &payload[..len]);
            }
            if i % 11 == 0 {
                let _ = input.push(seq, i * 960, now, &payload[..10]);
                let _ = input.push(seq, i * 960, now, &oversized);
            }
            if i % 500 == 499 {
                let _ = input.push(seq.wrapping_add(20_000), 0, now, &payload[..5]);
            }
            match output.pop_rt(now) {
                Playout::Frame(_) => seen[0] += 1,
                Playout::Lost { .. } => seen[1] += 1,
                Playout::Empty => seen[2] += 1,
            }
        }
        // A stalled playout side: the ring fills and rejects.
        for i in 0..200u16 {
            let _ = input.push(i, u32::from(i) * 960, t0, &payload);
        }
    });
    assert!(seen.iter().all(|&n| n > 0), "every path taken: {seen:?}");
    let stats = output.stats();
    assert!(stats.overflow > 0 && stats.oversized > 0 && stats.duplicates > 0);
}
