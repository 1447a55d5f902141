//! The target delay follows the network: a seeded 20 ms stream, 5 s calm, 20 s with up to 30 ms
//! of extra random delay per packet, then 30 s calm again, all in virtual time. The target must
//! rise quickly under jitter, keep concealment rare once adapted, and come back down (with the
//! buffered delay following it) after the network calms.
#![cfg(not(loom))]

use std::time::{Duration, Instant};

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use sotto_rt::{jitter_buffer, JitterConfig, JitterStats, Playout};

const FRAME_MS: u64 = 20;
const CALM_UNTIL: u64 = 250; // packets: 5 s
const JITTER_UNTIL: u64 = 1250; // 20 s more
const PACKETS: u64 = 2750; // 30 s more
const BASE_DELAY_MS: f64 = 10.0;
const JITTER_MS: f64 = 30.0;

/// Stats at the pop of each whole second of playout time.
fn simulate(seed: u64) -> Vec<JitterStats> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut arrivals: Vec<(f64, u64)> = (0..PACKETS)
        .map(|i| {
            let extra = if (CALM_UNTIL..JITTER_UNTIL).contains(&i) {
                JITTER_MS * f64::from(rng.next_u32()) / f64::from(u32::MAX)
            } else {
                0.0
            };
            ((i * FRAME_MS) as f64 + BASE_DELAY_MS + extra, i)
        })
        .collect();
    arrivals.sort_by(|a, b| a.0.total_cmp(&b.0));

    let (mut input, mut output) = jitter_buffer(JitterConfig::default());
    #[allow(clippy::disallowed_methods)] // the origin of virtual time
    let t0 = Instant::now();
    let at = |ms: f64| t0 + Duration::from_secs_f64(ms / 1000.0);
    let mut next_arrival = arrivals.iter().peekable();
    let mut per_second = Vec::new();
    // Playout ticks with a phase of its own relative to the sender.
    for tick in 0..(PACKETS + 50) {
        let now_ms = (tick * FRAME_MS) as f64 + 7.0;
        while let Some(&&(arrival_ms, seq)) = next_arrival.peek() {
            if arrival_ms > now_ms {
                break;
            }
            input
                .push(seq as u16, (seq * 960) as u32, at(arrival_ms), &[0; 80])
                .expect("ring has room");
            next_arrival.next();
        }
        let _: Playout<'_> = output.pop_rt(at(now_ms));
        if (tick + 1) % 50 == 0 {
            per_second.push(output.stats());
        }
    }
    per_second
}

#[test]
fn target_delay_rises_under_jitter_and_falls_after_calm() {
    for seed in [1, 2, 3] {
        let s = simulate(seed);
        for (second, st) in s.iter().enumerate() {
            println!("seed {seed} t={:2}s {:?}", second + 1, st);
        }
        // Calm start: no jitter, no delay needed beyond the frame being played.
        assert!(s[4].target_delay_ms <= 4, "calm target {:?}", s[4]);
        assert!(s[4].playout_delay_ms < 20, "calm delay {:?}", s[4]);
        // Within a second of the jitter starting the target covers most of it.
        assert!(s[5].target_delay_ms >= 20, "slow to rise {:?}", s[5]);
        // Adapted: near the 95th percentile of 0..30 ms (28.5 ms), few frames concealed.
        for st in &s[9..25] {
            assert!(
                (22..=34).contains(&st.target_delay_ms),
                "jitter target {st:?}"
            );
        }
        let concealed = s[24].concealed - s[9].concealed;
        assert!(concealed <= 15, "{concealed} of 750 frames concealed");
        // Calm again: the target decays and the buffer sheds the extra delay.
        let end = s[53];
        assert!(end.target_delay_ms <= 4, "calm again {end:?}");
        assert!(
            end.playout_delay_ms < 20 + 4,
            "buffer did not shrink {end:?}"
        );
        assert!(end.compressed > 0);
        // It came down gradually, not in one step.
        assert!(s[26].target_delay_ms > 4, "fell too fast {:?}", s[26]);
    }
}
