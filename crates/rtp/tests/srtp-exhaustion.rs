//! The sender refuses to protect past the last SRTP index (2^48 - 1) or SRTCP index
//! (2^31 - 1) of an SSRC with `Error::KeyExhausted`, so the engine rekeys instead of reusing
//! keystream; the receiver refuses an index that would overflow its rollover counter.

use sotto_rtp::srtp::{SrtpProfile, SrtpReceiver, SrtpSender};
use sotto_rtp::Error;

const PROFILE: SrtpProfile = SrtpProfile::Aes256CmHmacSha1_80;
const LAST_SRTP: u64 = (1 << 48) - 1;
const LAST_SRTCP: u32 = (1 << 31) - 1;

fn pair() -> (SrtpSender, SrtpReceiver) {
    let (key, salt) = ([0x33u8; 32], [0x44u8; 14]);
    (
        SrtpSender::new(PROFILE, &key, &salt).expect("sender"),
        SrtpReceiver::new(PROFILE, &key, &salt).expect("receiver"),
    )
}

fn rtp(ssrc: u32, seq: u16) -> Vec<u8> {
    let mut buf = vec![0u8; 64];
    buf[..12].copy_from_slice(&[0x80, 0x6f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    buf[2..4].copy_from_slice(&seq.to_be_bytes());
    buf[8..12].copy_from_slice(&ssrc.to_be_bytes());
    buf
}

#[test]
fn srtp_sender_stops_at_the_last_index() {
    let (mut tx, mut rx) = pair();
    tx.set_indices_for_test(5, LAST_SRTP - 1, 0).expect("state");
    rx.set_rtp_index_for_test(5, LAST_SRTP - 1).expect("state");

    let mut last = rtp(5, 0xffff);
    let len = tx.protect_rtp(&mut last, 20).expect("last index is usable");
    assert_eq!(
        rx.unprotect_rtp(&mut last[..len])
            .expect("receiver accepts the last index"),
        20
    );

    let mut next = rtp(5, 0);
    let before = next.clone();
    assert!(matches!(
        tx.protect_rtp(&mut next, 20),
        Err(Error::KeyExhausted)
    ));
    assert_eq!(next, before, "a refused packet is left untouched");
    // Still refused: nothing advanced.
    assert!(matches!(
        tx.protect_rtp(&mut next, 20),
        Err(Error::KeyExhausted)
    ));

    // Another SSRC under the same key is unaffected.
    let mut other = rtp(6, 0);
    assert!(tx.protect_rtp(&mut other, 20).is_ok());
}

#[test]
fn srtp_receiver_refuses_rollover_counter_overflow() {
    let (_, mut rx) = pair();
    rx.set_rtp_index_for_test(5, LAST_SRTP).expect("state");
    // Sequence 0 after 0xffff at the last ROC would need ROC 2^32.
    let mut packet = rtp(5, 0);
    packet.truncate(30);
    let before = packet.clone();
    assert!(matches!(
        rx.unprotect_rtp(&mut packet),
        Err(Error::KeyExhausted)
    ));
    assert_eq!(packet, before);
    assert_eq!(rx.stats().key_exhausted, 1);
}

#[test]
fn srtcp_sender_stops_at_the_last_index() {
    let (mut tx, mut rx) = pair();
    tx.set_indices_for_test(8, 0, LAST_SRTCP - 1)
        .expect("state");
    let mut buf = vec![0u8; 64];
    buf[..8].copy_from_slice(&[0x80, 201, 0, 1, 0, 0, 0, 8]);
    let len = tx.protect_rtcp(&mut buf, 8).expect("last index is usable");
    let index = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
    assert_eq!(
        index,
        0x8000_0000 | LAST_SRTCP,
        "E flag and the last 31-bit index"
    );
    assert_eq!(
        rx.unprotect_rtcp(&mut buf[..len])
            .expect("receiver accepts it"),
        8
    );

    let mut next = vec![0u8; 64];
    next[..8].copy_from_slice(&[0x80, 201, 0, 1, 0, 0, 0, 8]);
    let before = next.clone();
    assert!(matches!(
        tx.protect_rtcp(&mut next, 8),
        Err(Error::KeyExhausted)
    ));
    assert_eq!(next, before);
}
