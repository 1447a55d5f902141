//! Once sender and receiver exist, protecting and unprotecting RTP and RTCP allocates nothing:
//! an instrumented global allocator counts every allocation in this test binary.

use std::alloc::System;

use sotto_rtp::srtp::{SrtpProfile, SrtpReceiver, SrtpSender};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Runs the packet path of every kind (several SSRCs, a sequence wrap, replays, forgeries,
/// RTCP) on fresh endpoints and returns (allocations, reallocations) counted meanwhile.
fn count_packet_path(profile: SrtpProfile) -> (usize, usize) {
    let key = vec![0x42; profile.key_len()];
    let salt = [0x24; 14];
    let mut tx = SrtpSender::new(profile, &key, &salt).expect("sender");
    let mut rx = SrtpReceiver::new(profile, &key, &salt).expect("receiver");
    let mut buf = [0u8; 1500];
    let mut replayed = [0u8; 1500];

    let region = Region::new(GLOBAL);
    let mut ok = 0;
    for n in 0..600u32 {
        let ssrc = n % 3;
        let seq = (65_300 + n / 3) as u16;
        let size = [172usize, 1212, 40][n as usize % 3];
        buf[..12].copy_from_slice(&[0x80, 0x6f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        buf[2..4].copy_from_slice(&seq.to_be_bytes());
        buf[8..12].copy_from_slice(&ssrc.to_be_bytes());
        let len = tx.protect_rtp(&mut buf, size).expect("protect");
        replayed[..len].copy_from_slice(&buf[..len]);
        ok += usize::from(rx.unprotect_rtp(&mut buf[..len]).is_ok());
        assert!(rx.unprotect_rtp(&mut replayed[..len]).is_err());
        replayed[len - 1] ^= 1;
        assert!(rx.unprotect_rtp(&mut replayed[..len]).is_err());

        buf[..8].copy_from_slice(&[0x80, 200, 0, 6, 0, 0, 0, 0]);
        buf[4..8].copy_from_slice(&ssrc.to_be_bytes());
        let len = tx.protect_rtcp(&mut buf, 28).expect("protect rtcp");
        ok += usize::from(rx.unprotect_rtcp(&mut buf[..len]).is_ok());
    }
    let change = region.change();
    assert_eq!(ok, 1200, "{profile:?}");
    (change.allocations, change.reallocations)
}

#[test]
fn protect_and_unprotect_allocate_nothing() {
    for profile in [
        SrtpProfile::Aes128CmHmacSha1_80,
        SrtpProfile::Aes128CmHmacSha1_32,
        SrtpProfile::Aes256CmHmacSha1_80,
        SrtpProfile::Aes256CmHmacSha1_32,
    ] {
        // The counter is process-wide and the test harness's own thread allocates now and then
        // while a test starts. Harness noise only adds, and the packet path is the same every
        // run, so one clean run out of three proves the path itself allocates nothing.
        let runs: Vec<(usize, usize)> = (0..3).map(|_| count_packet_path(profile)).collect();
        assert!(
            runs.contains(&(0, 0)),
            "{profile:?} allocated on the packet path: {runs:?}"
        );
    }
}
