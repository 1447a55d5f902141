//! Replayed and too-old SRTP and SRTCP packets are rejected and counted, per SSRC, while
//! reordered packets inside the 128-packet window are accepted exactly once; a 17th SSRC is
//! refused without disturbing the others.

use sotto_rtp::srtp::{SrtpProfile, SrtpReceiver, SrtpSender};
use sotto_rtp::Error;

const PROFILE: SrtpProfile = SrtpProfile::Aes128CmHmacSha1_80;

fn pair() -> (SrtpSender, SrtpReceiver) {
    let (key, salt) = ([0x11u8; 16], [0x22u8; 14]);
    (
        SrtpSender::new(PROFILE, &key, &salt).expect("sender"),
        SrtpReceiver::new(PROFILE, &key, &salt).expect("receiver"),
    )
}

fn srtp(tx: &mut SrtpSender, ssrc: u32, seq: u16) -> Vec<u8> {
    let mut buf = vec![0u8; 64];
    buf[..12].copy_from_slice(&[0x80, 0x6f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    buf[2..4].copy_from_slice(&seq.to_be_bytes());
    buf[8..12].copy_from_slice(&ssrc.to_be_bytes());
    buf[12..20].copy_from_slice(b"payload!");
    let len = tx.protect_rtp(&mut buf, 20).expect("protect");
    buf.truncate(len);
    buf
}

fn srtcp(tx: &mut SrtpSender, ssrc: u32) -> Vec<u8> {
    let mut buf = vec![0u8; 64];
    buf[..8].copy_from_slice(&[0x81, 201, 0, 1, 0, 0, 0, 0]);
    buf[4..8].copy_from_slice(&ssrc.to_be_bytes());
    let len = tx.protect_rtcp(&mut buf, 8).expect("protect");
    buf.truncate(len);
    buf
}

fn deliver_rtp(rx: &mut SrtpReceiver, packet: &[u8]) -> Result<usize, Error> {
    rx.unprotect_rtp(&mut packet.to_vec())
}

#[test]
fn duplicate_srtp_is_rejected_and_counted() {
    let (mut tx, mut rx) = pair();
    let p: Vec<Vec<u8>> = (100..110).map(|s| srtp(&mut tx, 7, s)).collect();
    for packet in &p {
        assert!(deliver_rtp(&mut rx, packet).is_ok());
    }
    for packet in &p {
        assert!(matches!(deliver_rtp(&mut rx, packet), Err(Error::Replayed)));
    }
    let stats = rx.stats();
    assert_eq!((stats.unprotected, stats.replayed), (10, 10));
}

#[test]
fn reordered_inside_window_accepted_once_older_rejected() {
    let (mut tx, mut rx) = pair();
    let p: Vec<Vec<u8>> = (0..400u16).map(|s| srtp(&mut tx, 7, 1000 + s)).collect();
    // Deliver the newest first, then the 127 before it out of order: all inside the window.
    assert!(deliver_rtp(&mut rx, &p[399]).is_ok());
    for i in (272..399).rev() {
        assert!(deliver_rtp(&mut rx, &p[i]).is_ok(), "packet {i}");
    }
    for packet in &p[272..] {
        assert!(matches!(deliver_rtp(&mut rx, packet), Err(Error::Replayed)));
    }
    // 128 behind the highest: outside the window, never seen, still refused.
    assert!(matches!(
        deliver_rtp(&mut rx, &p[271]),
        Err(Error::Replayed)
    ));
    assert!(matches!(deliver_rtp(&mut rx, &p[0]), Err(Error::Replayed)));
    assert_eq!(rx.stats().unprotected, 128);
    assert_eq!(rx.stats().replayed, 130);
}

#[test]
fn windows_are_per_ssrc() {
    let (mut tx, mut rx) = pair();
    let a = srtp(&mut tx, 1, 500);
    let b = srtp(&mut tx, 2, 500);
    let a_old = srtp(&mut tx, 1, 10);
    assert!(deliver_rtp(&mut rx, &a).is_ok());
    assert!(deliver_rtp(&mut rx, &b).is_ok(), "same seq, other ssrc");
    assert!(matches!(deliver_rtp(&mut rx, &a_old), Err(Error::Replayed)));
}

#[test]
fn duplicate_srtcp_is_rejected_and_reordering_tolerated() {
    let (mut tx, mut rx) = pair();
    let p: Vec<Vec<u8>> = (0..200).map(|_| srtcp(&mut tx, 9)).collect();
    assert!(rx.unprotect_rtcp(&mut p[150].clone()).is_ok());
    assert!(rx.unprotect_rtcp(&mut p[100].clone()).is_ok());
    assert!(rx.unprotect_rtcp(&mut p[199].clone()).is_ok());
    for i in [150, 100, 199] {
        assert!(matches!(
            rx.unprotect_rtcp(&mut p[i].clone()),
            Err(Error::Replayed)
        ));
    }
    // Index 1 is more than 128 behind index 200.
    assert!(matches!(
        rx.unprotect_rtcp(&mut p[0].clone()),
        Err(Error::Replayed)
    ));
    assert_eq!(rx.stats().replayed, 4);
    assert_eq!(rx.stats().unprotected, 3);
}

#[test]
fn seventeenth_ssrc_refused_others_unaffected() {
    let (mut tx, mut rx) = pair();
    let mut tx_over = {
        let (t, _) = pair();
        t
    };
    for ssrc in 0..16 {
        assert!(deliver_rtp(&mut rx, &srtp(&mut tx, ssrc, 1)).is_ok());
    }
    // Our sender refuses a 17th SSRC too.
    let mut buf = [0u8; 64];
    buf[..12].copy_from_slice(&[0x80, 0x6f, 0, 1, 0, 0, 0, 0, 0, 0, 0, 99]);
    assert!(matches!(
        tx.protect_rtp(&mut buf, 12),
        Err(Error::TooManySsrcs)
    ));
    let extra = srtp(&mut tx_over, 99, 1);
    assert!(matches!(
        deliver_rtp(&mut rx, &extra),
        Err(Error::TooManySsrcs)
    ));
    assert_eq!(rx.stats().too_many_ssrcs, 1);
    for ssrc in 0..16 {
        assert!(deliver_rtp(&mut rx, &srtp(&mut tx, ssrc, 2)).is_ok());
    }
}

#[test]
fn forged_packet_of_new_ssrc_takes_no_slot() {
    let (mut tx, mut rx) = pair();
    for ssrc in 0..15 {
        assert!(deliver_rtp(&mut rx, &srtp(&mut tx, ssrc, 1)).is_ok());
    }
    // Fails authentication: must not occupy the last slot.
    let mut forged = srtp(&mut tx, 1000, 1);
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert!(matches!(
        deliver_rtp(&mut rx, &forged),
        Err(Error::AuthFailed)
    ));
    // The sender's own table is full; a second sender under the same key makes the packet.
    let (mut tx2, _) = pair();
    assert!(deliver_rtp(&mut rx, &srtp(&mut tx2, 2000, 1)).is_ok());
}
