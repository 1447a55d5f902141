//! Truncated, bit-flipped and wrongly keyed SRTP and SRTCP packets are rejected and counted,
//! and change nothing: not the buffer, not the rollover counter, not the replay window. The
//! genuine packets decrypt afterwards.

use sotto_rtp::srtp::{SrtpProfile, SrtpReceiver, SrtpSender, SrtpStats};

fn rejected(stats: SrtpStats) -> u64 {
    stats.auth_failed
        + stats.replayed
        + stats.malformed
        + stats.too_many_ssrcs
        + stats.key_exhausted
}

fn rtp_plain(seq: u16, i: usize) -> Vec<u8> {
    // CSRC and extension on some packets so truncation crosses every header field.
    let mut p = vec![0x81, 0x6f, 0, 0, 0, 0, 1, 0, 0xca, 0xfe, 0, 1, 0, 0, 0, 9];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    if i % 2 == 0 {
        p[0] |= 0x10;
        p.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0xff, 0, 0]);
    }
    p.extend((0..40).map(|b| b as u8 ^ i as u8));
    p
}

fn rtcp_plain(i: usize) -> Vec<u8> {
    let mut p = vec![0x80, 200, 0, 6, 0xca, 0xfe, 0, 2];
    p.extend((0..20).map(|b| b as u8 ^ i as u8));
    p
}

/// Feeds every corruption of `genuine` to `unprotect` and checks each is refused untouched.
fn assert_all_rejected(
    rx: &mut SrtpReceiver,
    genuine: &[u8],
    unprotect: fn(&mut SrtpReceiver, &mut [u8]) -> Result<usize, sotto_rtp::Error>,
) {
    let mut attempts = 0;
    for len in 0..genuine.len() {
        let mut cut = genuine[..len].to_vec();
        assert!(unprotect(rx, &mut cut).is_err(), "truncated to {len}");
        assert_eq!(cut, genuine[..len]);
        attempts += 1;
    }
    for bit in 0..genuine.len() * 8 {
        let mut flipped = genuine.to_vec();
        flipped[bit / 8] ^= 1 << (bit % 8);
        let copy = flipped.clone();
        assert!(unprotect(rx, &mut flipped).is_err(), "bit {bit} flipped");
        assert_eq!(flipped, copy, "bit {bit}: buffer changed");
        attempts += 1;
    }
    let mut extended = genuine.to_vec();
    extended.push(0);
    assert!(unprotect(rx, &mut extended).is_err());
    attempts += 1;
    assert!(rejected(rx.stats()) >= attempts);
}

#[test]
fn tampered_srtp_rejected_then_genuine_decrypts() {
    for profile in [
        SrtpProfile::Aes128CmHmacSha1_32,
        SrtpProfile::Aes256CmHmacSha1_80,
    ] {
        let key = vec![0x5c; profile.key_len()];
        let salt = [0x3a; 14];
        let mut tx = SrtpSender::new(profile, &key, &salt).expect("sender");
        let mut rx = SrtpReceiver::new(profile, &key, &salt).expect("receiver");
        let mut wrong_key = key.clone();
        wrong_key[0] ^= 1;
        let mut wrong_rx = SrtpReceiver::new(profile, &wrong_key, &salt).expect("receiver");

        // Around a wrap, so a forged sequence number could drag the ROC if state moved early.
        let seqs = [65_533u16, 65_534, 65_535, 0, 1, 2];
        let plains: Vec<Vec<u8>> = seqs
            .iter()
            .enumerate()
            .map(|(i, &s)| rtp_plain(s, i))
            .collect();
        let wire: Vec<Vec<u8>> = plains
            .iter()
            .map(|p| {
                let mut buf = vec![0u8; p.len() + 10];
                buf[..p.len()].copy_from_slice(p);
                let len = tx.protect_rtp(&mut buf, p.len()).expect("protect");
                buf.truncate(len);
                buf
            })
            .collect();

        // The first packet establishes the SSRC; attack each packet before its genuine copy.
        assert_eq!(
            rx.unprotect_rtp(&mut wire[0].clone()).expect("first"),
            plains[0].len()
        );
        for (i, genuine) in wire.iter().enumerate().skip(1) {
            let before = rejected(rx.stats());
            assert_all_rejected(&mut rx, genuine, |rx, b| rx.unprotect_rtp(b));
            assert!(rejected(rx.stats()) > before);
            let mut copy = genuine.clone();
            assert!(wrong_rx.unprotect_rtp(&mut copy).is_err());
            assert_eq!(&copy, genuine);
            let mut buf = genuine.clone();
            let len = rx
                .unprotect_rtp(&mut buf)
                .expect("genuine packet after the attack");
            assert_eq!(&buf[..len], &plains[i][..], "{profile:?} packet {i}");
        }
        assert_eq!(rx.stats().unprotected, 6);
        assert_eq!(wrong_rx.stats().unprotected, 0);
        assert_eq!(wrong_rx.stats().auth_failed, 5);
    }
}

#[test]
fn tampered_srtcp_rejected_then_genuine_decrypts() {
    let profile = SrtpProfile::Aes128CmHmacSha1_80;
    let key = [0x6d; 16];
    let salt = [0x1f; 14];
    let mut tx = SrtpSender::new(profile, &key, &salt).expect("sender");
    let mut rx = SrtpReceiver::new(profile, &key, &salt).expect("receiver");
    let mut wrong_rx = SrtpReceiver::new(profile, &key, &[0x1e; 14]).expect("receiver");
    for i in 0..4 {
        let plain = rtcp_plain(i);
        let mut buf = vec![0u8; plain.len() + 14];
        buf[..plain.len()].copy_from_slice(&plain);
        let len = tx.protect_rtcp(&mut buf, plain.len()).expect("protect");
        let genuine = buf[..len].to_vec();
        assert_all_rejected(&mut rx, &genuine, |rx, b| rx.unprotect_rtcp(b));
        assert!(wrong_rx.unprotect_rtcp(&mut genuine.clone()).is_err());
        let plain_len = rx.unprotect_rtcp(&mut buf[..len]).expect("genuine");
        assert_eq!(&buf[..plain_len], &plain[..]);
    }
    assert_eq!(rx.stats().unprotected, 4);
    assert_eq!(wrong_rx.stats().auth_failed, 4);
}
