//! Receive and send statistics against hand-computed RFC 3550 examples (jitter, fraction lost,
//! RTT from LSR/DLSR), a simulated stream with a known loss pattern, sequence unwrapping
//! across several wraps with reordering, and SSRC collision and loop detection.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use sotto_rtp::rtcp::ReportBlock;
use sotto_rtp::seq::SeqUnwrapper;
use sotto_rtp::stats::{
    ntp_from_system_time, ntp_middle, round_trip_time, rtt_from_ntp, ReceiveStats, SenderStats,
    SourceTable, SsrcCheck,
};

const MS: Duration = Duration::from_millis(1);

/// A starting point for virtual time; only differences between instants matter.
fn start() -> Instant {
    #[allow(
        clippy::disallowed_methods,
        reason = "an origin for virtual time, never read again"
    )]
    Instant::now()
}

#[test]
fn jitter_follows_the_rfc_formula() {
    // 8 kHz audio, 20 ms packets (160 ticks). Packet 3 arrives 10 ms (80 ticks) late.
    let t0 = start();
    let mut stats = ReceiveStats::new(7, 0, 8000);
    let arrivals_ms = [0u32, 20, 50, 60, 80];
    for (i, &ms) in arrivals_ms.iter().enumerate() {
        stats.on_packet(i as u16, 160 * i as u32, t0 + ms * MS);
    }
    // Probation swallows packet 0; D = 0, +80, -80, 0 for the later ones.
    // J = J + (|D| - J) / 16 by hand: 0, 5, 9.6875, 9.08
    let mut reference = 0.0f64;
    for d in [0.0, 80.0, 80.0, 0.0] {
        reference += (d - reference) / 16.0;
    }
    assert_eq!(reference.floor(), 9.0);
    assert_eq!(stats.jitter(), 9);
    assert_eq!(stats.report_block(t0).unwrap().jitter, 9);
}

#[test]
fn probation_then_fraction_and_cumulative_lost() {
    let t0 = start();
    let mut stats = ReceiveStats::new(1, 100, 48_000);
    assert!(!stats.on_packet(100, 0, t0));
    assert!(stats.on_probation());
    assert!(stats.report_block(t0).is_none());
    // The second in-sequence packet ends probation and becomes the base.
    assert!(stats.on_packet(101, 960, t0));
    assert!(!stats.on_probation());
    // 102..=120 with 105, 110 and 111 lost: 20 expected, 17 received.
    for seq in 102..=120u16 {
        if ![105, 110, 111].contains(&seq) {
            assert!(stats.on_packet(seq, 960 * u32::from(seq - 100), t0));
        }
    }
    let block = stats.report_block(t0).unwrap();
    assert_eq!(block.extended_highest_seq, 120);
    assert_eq!(block.cumulative_lost, 3);
    // 3 of 20 lost: (3 << 8) / 20 = 38.
    assert_eq!(block.fraction_lost, 38);
    // Next interval: 121..=130 all received, then a duplicate: fraction 0, cumulative
    // goes down by one since duplicates count as received.
    for seq in 121..=130u16 {
        stats.on_packet(seq, 0, t0);
    }
    stats.on_packet(130, 0, t0);
    let block = stats.report_block(t0).unwrap();
    assert_eq!(block.fraction_lost, 0);
    assert_eq!(block.cumulative_lost, 2);
}

#[test]
fn sequence_wrap_counts_cycles_and_a_big_jump_restarts() {
    let t0 = start();
    let mut stats = ReceiveStats::new(1, 65_530, 90_000);
    for seq in (65_530..=65_535).chain(0..=9u16) {
        stats.on_packet(seq, 0, t0);
    }
    let block = stats.report_block(t0).unwrap();
    assert_eq!(block.extended_highest_seq, (1 << 16) | 9);
    assert_eq!(block.cumulative_lost, 0);
    // A jump of 20000: ignored once, accepted as a restart when the next follows it.
    assert!(!stats.on_packet(20_009, 0, t0));
    assert!(stats.on_packet(20_010, 0, t0));
    assert_eq!(stats.extended_highest_seq(), 20_010);
    assert_eq!(stats.expected(), 1);
}

#[test]
fn simulated_stream_with_known_loss() {
    let t0 = start();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut stats = ReceiveStats::new(9, 60_000, 48_000);
    let total = 20_000u32;
    let mut lost = 0i32;
    for i in 0..total {
        let seq = 60_000u16.wrapping_add(i as u16);
        // The first two always arrive (probation); after that about 10% are lost.
        if i >= 2 && rng.next_u32() % 10 == 0 {
            lost += 1;
            continue;
        }
        stats.on_packet(seq, 960 * i, t0 + i * 20 * MS);
    }
    let block = stats
        .report_block(t0 + 400 * Duration::from_secs(1))
        .unwrap();
    assert_eq!(block.cumulative_lost, lost);
    // The base is the second packet; the last one, if lost, is not counted as expected.
    let last_received = stats.extended_highest_seq();
    assert_eq!(stats.expected(), last_received - 60_001 + 1);
    assert!(last_received > 1 << 16);
    let expected_fraction = (i64::from(lost) << 8) / i64::from(stats.expected());
    assert_eq!(i64::from(block.fraction_lost), expected_fraction);
    // Perfectly paced arrivals: no jitter.
    assert_eq!(block.jitter, 0);
}

#[test]
fn rtt_from_the_rfc_3550_example() {
    // RFC 3550 section 6.4.1, figure 2: A = 0xb710:8000 (46864.500 s), LSR = 0xb705:2000
    // (46853.125 s), DLSR = 0x0005:4000 (5.250 s): delay 0x0006:2000 = 6.125 s.
    let rtt = rtt_from_ntp(0xb710_8000, 0xb705_2000, 0x0005_4000).unwrap();
    assert_eq!(rtt, Duration::from_millis(6125));
    assert_eq!(rtt_from_ntp(0xb710_8000, 0, 0x0005_4000), None);
    assert_eq!(rtt_from_ntp(0xb705_2000, 0xb710_8000, 0), None);
}

#[test]
fn rtt_from_our_sr_send_times() {
    let t0 = start();
    let wall = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut sender = SenderStats::new(48_000);
    assert_eq!(sender.sender_info(t0, wall), None);
    sender.on_packet_sent(1000, 100, t0);
    sender.on_packet_sent(1960, 120, t0 + 20 * MS);
    let info = sender.sender_info(t0 + 30 * MS, wall).unwrap();
    assert_eq!((info.packet_count, info.octet_count), (2, 220));
    // 10 ms after the last packet: 480 ticks later.
    assert_eq!(info.rtp_timestamp, 1960 + 480);
    assert_eq!(info.ntp_timestamp >> 32, 1_700_000_000 + 2_208_988_800);

    // The peer received the SR 40 ms later, held it 250 ms, and its RR arrives 40 ms later.
    let mut receiver = ReceiveStats::new(5, 0, 48_000);
    receiver.on_packet(0, 0, t0);
    receiver.on_packet(1, 960, t0);
    let sr_arrival = t0 + 70 * MS;
    receiver.on_sender_report(info.ntp_timestamp, sr_arrival);
    let block = receiver.report_block(sr_arrival + 250 * MS).unwrap();
    assert_eq!(block.last_sr, ntp_middle(info.ntp_timestamp));
    assert_eq!(block.delay_since_last_sr, 250 * 65_536 / 1000);
    let rr_arrival = sr_arrival + 250 * MS + 40 * MS;
    let rtt = sender.round_trip_time(&block, rr_arrival).unwrap();
    // 16.16 fixed point rounds DLSR down by under 16 µs.
    assert!(
        rtt >= 80 * MS && rtt < 80 * MS + Duration::from_micros(20),
        "{rtt:?}"
    );
    // Same through the free function with the caller's own record of SR send times.
    let sent = [(0x1234, t0), (block.last_sr, t0 + 30 * MS)];
    assert_eq!(round_trip_time(&block, &sent, rr_arrival), Some(rtt));
    // A block about an SR we do not know, or none at all, gives no RTT.
    let unknown = ReportBlock {
        last_sr: 42,
        ..block
    };
    assert_eq!(sender.round_trip_time(&unknown, rr_arrival), None);
    let none = ReportBlock {
        last_sr: 0,
        ..block
    };
    assert_eq!(round_trip_time(&none, &sent, rr_arrival), None);
}

#[test]
fn ntp_conversion() {
    let wall = UNIX_EPOCH + Duration::new(1, 500_000_000);
    assert_eq!(
        ntp_from_system_time(wall),
        (2_208_988_801u64 << 32) | 0x8000_0000
    );
    assert_eq!(ntp_middle(0x1122_3344_5566_7788), 0x3344_5566);
    let _ = ntp_from_system_time(SystemTime::UNIX_EPOCH);
}

#[test]
fn ssrc_collision_and_loop_detection() {
    let t0 = start();
    let mut table = SourceTable::new(0xaaaa, 4);
    let peer = "10.0.0.2:5000";
    let other = "10.0.0.3:6000";
    assert_eq!(table.check(0x1111, peer, t0), SsrcCheck::NewSource);
    assert_eq!(table.check(0x1111, peer, t0), SsrcCheck::KnownSource);
    // A different address with a known SSRC: a third-party collision, then a loop.
    assert_eq!(
        table.check(0x1111, other, t0),
        SsrcCheck::ThirdPartyCollision
    );
    assert_eq!(table.check(0x1111, other, t0), SsrcCheck::ThirdPartyLoop);
    // Someone uses our SSRC: a collision; the engine picks a new one.
    assert_eq!(
        table.check(0xaaaa, "10.0.0.4:7000", t0),
        SsrcCheck::OwnSsrcCollision
    );
    assert_eq!(
        table.check(0xaaaa, "10.0.0.4:7000", t0),
        SsrcCheck::OwnTrafficLooped
    );
    table.set_own_ssrc(0xbbbb);
    assert_eq!(table.own_ssrc(), 0xbbbb);
    // The old SSRC is now just another source, and the conflict list times out.
    let later = t0 + Duration::from_secs(60);
    assert_eq!(
        table.check(0xaaaa, "10.0.0.4:7000", later),
        SsrcCheck::NewSource
    );
    assert_eq!(
        table.check(0x1111, other, later),
        SsrcCheck::ThirdPartyCollision
    );
    // The table is bounded.
    assert_eq!(table.check(0x2222, peer, later), SsrcCheck::NewSource);
    assert_eq!(table.check(0x3333, peer, later), SsrcCheck::NewSource);
    assert_eq!(table.check(0x4444, peer, later), SsrcCheck::TableFull);
    table.remove(0x2222);
    assert_eq!(table.len(), 3);
    assert_eq!(table.check(0x4444, peer, later), SsrcCheck::NewSource);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// A stream crossing several wraps, delivered with bounded reordering, unwraps to the
    /// sender's own counter, offset so the first packet received keeps its 16-bit value.
    #[test]
    fn seq_unwrap_across_wraps_with_reordering(
        start in any::<u16>(),
        seed in any::<u64>(),
        max_displacement in 1u64..2000,
    ) {
        let count = 3 * 65_536 + 1000;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // Sorting by n plus a random delay keeps every packet within max_displacement of
        // its place.
        let mut order: Vec<(u64, u64)> = (0..count)
            .map(|n| (n + u64::from(rng.next_u32()) % max_displacement, n))
            .collect();
        order.sort_unstable();
        let first = order[0].1;
        let base = u64::from((u64::from(start) + first) as u16);
        let mut unwrapper = SeqUnwrapper::new();
        for &(_, n) in &order {
            let seq = (u64::from(start) + n) as u16;
            // Packets sent before the first one received, across a wrap, cannot be placed.
            prop_assert_eq!(unwrapper.unwrap(seq), (base + n).checked_sub(first));
        }
        prop_assert_eq!(unwrapper.highest(), Some(base + count - 1 - first));
    }
}
