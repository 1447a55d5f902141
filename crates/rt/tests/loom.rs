//! loom models of the counter protocol shared by the two ends of a ring and of a jitter buffer:
//! relaxed increments on the real-time side, reads from any thread. Every interleaving must
//! give counts that never decrease and that account for every sample and packet.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p sotto-rt --test loom`. The rings themselves
//! are rtrb's (plain std atomics, which loom does not explore); their correctness is rtrb's.
#![cfg(loom)]

use std::time::Instant;

use loom::thread;
use sotto_rt::{audio_ring, jitter_buffer, JitterConfig, Playout};

#[test]
fn ring_counters_never_decrease_and_account_for_every_sample() {
    loom::model(|| {
        let (mut tx, mut rx) = audio_ring(2);
        let counters = tx.counters();
        let producer = thread::spawn(move || tx.push_rt(&[1, 2, 3]) + tx.push_rt(&[4]));
        let consumer = thread::spawn(move || {
            let mut out = [0i16; 2];
            rx.pop_or_silence_rt(&mut out) + rx.pop_or_silence_rt(&mut out)
        });
        let first = counters.snapshot();
        let second = counters.snapshot();
        assert!(second.overrun_samples >= first.overrun_samples);
        assert!(second.underrun_samples >= first.underrun_samples);
        let pushed = producer.join().unwrap();
        let popped = consumer.join().unwrap();
        let last = counters.snapshot();
        assert!(last.overrun_samples >= second.overrun_samples);
        assert!(last.underrun_samples >= second.underrun_samples);
        assert_eq!(pushed as u64 + last.overrun_samples, 4);
        assert_eq!(popped as u64 + last.underrun_samples, 4);
        assert!(popped <= pushed);
    });
}

#[test]
fn jitter_overflow_count_reaches_the_playout_side() {
    loom::model(|| {
        let (mut input, mut output) = jitter_buffer(JitterConfig {
            capacity_packets: 1,
            max_payload_len: 8,
            ..JitterConfig::default()
        });
        #[allow(clippy::disallowed_methods)] // the origin of virtual time
        let t0 = Instant::now();
        let network = thread::spawn(move || {
            let accepted = (0..3u16)
                .filter(|&seq| input.push(seq, u32::from(seq) * 960, t0, &[1]).is_ok())
                .count();
            (input, accepted as u64)
        });
        let mut frames = u64::from(matches!(output.pop_rt(t0), Playout::Frame(_)));
        let seen_before_join = output.stats().overflow;
        let (_input, accepted) = network.join().unwrap();
        frames += u64::from(matches!(output.pop_rt(t0), Playout::Frame(_)));
        let stats = output.stats();
        assert!(stats.overflow >= seen_before_join);
        assert_eq!(accepted + stats.overflow, 3);
        assert_eq!(stats.played, frames);
        assert!(frames <= accepted);
    });
}
