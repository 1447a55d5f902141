//! Jitter buffer ordering rules: reorder, duplicates, late packets, loss, wrap, start-up,
//! rejection of oversized payloads and a full ring, and sequence jumps. Virtual time throughout.
#![cfg(not(loom))]

use std::time::{Duration, Instant};

use sotto_rt::{jitter_buffer, JitterConfig, JitterFull, JitterInput, JitterOutput, Playout};

struct Harness {
    t0: Instant,
    input: JitterInput,
    output: JitterOutput,
}

impl Harness {
    fn new(cfg: JitterConfig) -> Self {
        let (input, output) = jitter_buffer(cfg);
        #[allow(clippy::disallowed_methods)] // the origin of virtual time
        let t0 = Instant::now();
        Self { t0, input, output }
    }

    fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    /// Pushes packet `seq` (timestamp `seq * 960`) arriving at `ms`; its payload names it.
    fn push(&mut self, seq: u16, ms: u64) {
        let at = self.at(ms);
        self.input
            .push(
                seq,
                u32::from(seq).wrapping_mul(960),
                at,
                &seq.to_be_bytes(),
            )
            .expect("pushed");
    }

    /// Pops at `ms` and describes the result: `F<seq>`, `L<next seq or ->`, or `E`.
    fn pop(&mut self, ms: u64) -> String {
        let at = self.at(ms);
        match self.output.pop_rt(at) {
            Playout::Frame(p) => format!("F{}", name(p)),
            Playout::Lost { next: Some(p) } => format!("L{}", name(p)),
            Playout::Lost { next: None } => "L-".to_owned(),
            Playout::Empty => "E".to_owned(),
        }
    }
}

fn name(payload: &[u8]) -> u16 {
    u16::from_be_bytes(payload.try_into().expect("2-byte payload"))
}

fn cfg() -> JitterConfig {
    JitterConfig::default()
}

#[test]
fn reordered_packets_play_in_sequence_then_it_drains() {
    let mut h = Harness::new(cfg());
    for seq in [10, 12, 11, 13] {
        h.push(seq, 0);
    }
    let played: Vec<String> = (0..5).map(|k| h.pop(100 + 20 * k)).collect();
    assert_eq!(played, ["F10", "F11", "F12", "F13", "E"]);
    let stats = h.output.stats();
    assert_eq!(stats.reordered, 1);
    assert_eq!(stats.played, 4);
    assert_eq!(stats.underruns, 1);
    assert_eq!(stats.concealed, 0);
}

#[test]
fn packets_older_than_the_first_one_still_play_before_it() {
    let mut h = Harness::new(cfg());
    h.push(5, 0);
    h.push(3, 1);
    h.push(4, 2);
    let played: Vec<String> = (0..3).map(|k| h.pop(100 + 20 * k)).collect();
    assert_eq!(played, ["F3", "F4", "F5"]);
}

#[test]
fn duplicates_are_dropped_whether_buffered_or_already_played() {
    let mut h = Harness::new(cfg());
    h.push(1, 0);
    h.push(1, 1);
    h.push(2, 2);
    assert_eq!(h.pop(100), "F1");
    h.push(1, 101);
    assert_eq!(h.pop(120), "F2");
    assert_eq!(h.pop(140), "E");
    let stats = h.output.stats();
    assert_eq!(stats.duplicates, 2);
    assert_eq!(stats.played, 2);
    assert_eq!(stats.late, 0);
}

#[test]
fn lost_frame_hands_over_the_next_packet_and_a_late_arrival_is_dropped() {
    let mut h = Harness::new(cfg());
    for seq in [1, 2, 4, 5] {
        h.push(seq, 0);
    }
    let played: Vec<String> = (0..4).map(|k| h.pop(100 + 20 * k)).collect();
    assert_eq!(played, ["F1", "F2", "L4", "F4"]);
    h.push(3, 170);
    assert_eq!(h.pop(180), "F5");
    let stats = h.output.stats();
    assert_eq!(stats.concealed, 1);
    assert_eq!(stats.late, 1);
    assert_eq!(stats.played, 4);
}

#[test]
fn lost_frame_without_a_following_packet_yet() {
    let mut h = Harness::new(cfg());
    h.push(1, 0);
    h.push(3, 0);
    h.push(6, 0);
    let played: Vec<String> = (0..5).map(|k| h.pop(100 + 20 * k)).collect();
    assert_eq!(played, ["F1", "L3", "F3", "L-", "L6"]);
    assert_eq!(h.pop(200), "F6");
    assert_eq!(h.output.stats().concealed, 3);
}

#[test]
fn a_missing_packet_is_waited_for_while_the_target_delay_allows() {
    let mut h = Harness::new(JitterConfig {
        min_delay_ms: 60,
        ..cfg()
    });
    // A burst of four fills the 60 ms target at once, so playout runs ahead of the network.
    for seq in 1..=4 {
        h.push(seq, 0);
    }
    let played: Vec<String> = (0..4).map(|k| h.pop(20 * k)).collect();
    assert_eq!(played, ["F1", "F2", "F3", "F4"]);
    h.push(6, 75);
    // Packet 5 is only 25 ms overdue: conceal, but wait for it instead of skipping it.
    assert_eq!(h.pop(80), "L-");
    h.push(5, 90);
    assert_eq!(h.pop(100), "F5");
    assert_eq!(h.pop(120), "F6");
    let stats = h.output.stats();
    assert_eq!(stats.concealed, 1);
    assert_eq!(stats.late, 0);
    assert!(stats.target_delay_ms >= 60);
}

#[test]
fn sequence_numbers_wrap() {
    let mut h = Harness::new(cfg());
    for seq in [65534, 0, 65535, 1] {
        h.push(seq, 0);
    }
    let played: Vec<String> = (0..4).map(|k| h.pop(100 + 20 * k)).collect();
    assert_eq!(played, ["F65534", "F65535", "F0", "F1"]);
    assert_eq!(h.output.stats().reordered, 1);
}

#[test]
fn playout_starts_once_the_target_delay_is_buffered() {
    let mut h = Harness::new(JitterConfig {
        min_delay_ms: 60,
        ..cfg()
    });
    h.push(1, 0);
    assert_eq!(h.pop(0), "E");
    h.push(2, 20);
    assert_eq!(h.pop(20), "E");
    h.push(3, 40);
    assert_eq!(h.pop(40), "E");
    assert_eq!(h.output.stats().buffered_ms, 60);
    h.push(4, 55);
    // Packets 1..=4 span 60 ms: start before the first has waited 60 ms.
    assert_eq!(h.pop(55), "F1");
    assert_eq!(h.output.stats().playout_delay_ms, 55);
}

#[test]
fn playout_starts_once_the_first_packet_has_waited_the_target_delay() {
    let mut h = Harness::new(JitterConfig {
        min_delay_ms: 60,
        ..cfg()
    });
    h.push(1, 0);
    assert_eq!(h.pop(59), "E");
    assert_eq!(h.pop(60), "F1");
    assert_eq!(h.output.stats().target_delay_ms, 60);
}

#[test]
fn oversized_payloads_are_rejected_and_multi_slot_payloads_arrive_intact() {
    let (mut input, mut output) = jitter_buffer(JitterConfig {
        max_payload_len: 300,
        ..cfg()
    });
    #[allow(clippy::disallowed_methods)] // the origin of virtual time
    let t0 = Instant::now();
    let big: Vec<u8> = (0..301u32).map(|i| (i * 7) as u8).collect();
    assert_eq!(
        input.push(1, 960, t0, &big),
        Err(JitterFull::PayloadTooLarge {
            len: 301,
            max_payload_len: 300
        })
    );
    assert_eq!(input.push(1, 960, t0, &big[..300]), Ok(()));
    assert_eq!(input.push(2, 1920, t0, &[]), Ok(()));
    assert_eq!(output.pop_rt(t0), Playout::Frame(&big[..300]));
    assert_eq!(output.pop_rt(t0), Playout::Frame(&[]));
    assert_eq!(output.stats().oversized, 1);
    assert!(matches!(
        input.push(3, 2880, t0, &vec![0; 70_000]),
        Err(JitterFull::PayloadTooLarge { len: 70_000, .. })
    ));
    assert_eq!(output.stats().oversized, 2);
}

#[test]
fn a_full_ring_rejects_and_counts_until_playout_drains_it() {
    let (mut input, mut output) = jitter_buffer(JitterConfig {
        capacity_packets: 2,
        max_payload_len: 100,
        ..cfg()
    });
    #[allow(clippy::disallowed_methods)] // the origin of virtual time
    let t0 = Instant::now();
    assert_eq!(input.push(1, 960, t0, &[1]), Ok(()));
    assert_eq!(input.push(2, 1920, t0, &[2]), Ok(()));
    assert_eq!(input.push(3, 2880, t0, &[3]), Err(JitterFull::RingFull));
    assert_eq!(output.stats().overflow, 1);
    assert_eq!(output.pop_rt(t0), Playout::Frame(&[1]));
    assert_eq!(input.push(3, 2880, t0, &[3]), Ok(()));
    assert_eq!(output.pop_rt(t0), Playout::Frame(&[2]));
    assert_eq!(output.pop_rt(t0), Playout::Frame(&[3]));
}

#[test]
fn a_sequence_jump_forward_restarts_the_stream() {
    let mut h = Harness::new(cfg());
    h.push(1, 0);
    h.push(2, 0);
    assert_eq!(h.pop(100), "F1");
    h.push(30_000, 110);
    h.push(30_001, 111);
    assert_eq!(h.pop(120), "F30000");
    assert_eq!(h.pop(140), "F30001");
    assert_eq!(h.output.stats().played, 3);
}

#[test]
fn a_sequence_jump_backward_restarts_the_stream() {
    let mut h = Harness::new(cfg());
    for seq in 40_000..40_003 {
        h.push(seq, 0);
    }
    assert_eq!(h.pop(100), "F40000");
    // Far more than the reorder window behind: a restarted sender, not a late packet.
    h.push(38_000, 110);
    assert_eq!(h.pop(120), "F38000");
    // A packet just behind the new stream's playout point is late, not another restart.
    h.push(37_999, 125);
    assert_eq!(h.pop(140), "E");
    assert_eq!(h.output.stats().late, 1);
}
