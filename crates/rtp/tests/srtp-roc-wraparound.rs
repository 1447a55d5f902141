//! The receiver's rollover-counter estimate (RFC 3711 section 3.3.1, appendix A) follows the
//! sender through several sequence-number wraps, with the stream starting anywhere (often
//! just below 65535), gaps, duplicates and packets reordered around each wrap: every packet
//! within the replay window decrypts exactly once, and older ones are refused.

use std::collections::HashSet;

use proptest::prelude::*;
use sotto_rtp::srtp::{SrtpProfile, SrtpReceiver, SrtpSender};
use sotto_rtp::Error;

const PROFILE: SrtpProfile = SrtpProfile::Aes128CmHmacSha1_32;

fn pair() -> (SrtpSender, SrtpReceiver) {
    let (key, salt) = ([0x0fu8; 16], [0xf0u8; 14]);
    (
        SrtpSender::new(PROFILE, &key, &salt).expect("sender"),
        SrtpReceiver::new(PROFILE, &key, &salt).expect("receiver"),
    )
}

/// Protects packet number `n` (its 48-bit index in the payload, so decryption is checkable).
fn protect(tx: &mut SrtpSender, index: u64) -> Vec<u8> {
    let mut buf = vec![0u8; 12 + 8 + 4];
    buf[..12].copy_from_slice(&[0x80, 0x6f, 0, 0, 0, 0, 0, 0, 0x0b, 0xad, 0xf0, 0x0d]);
    buf[2..4].copy_from_slice(&(index as u16).to_be_bytes());
    buf[12..20].copy_from_slice(&index.to_be_bytes());
    let len = tx.protect_rtp(&mut buf, 20).expect("protect");
    buf.truncate(len);
    buf
}

#[test]
fn late_packet_from_before_the_wrap_uses_the_previous_roc() {
    let (mut tx, mut rx) = pair();
    let p: Vec<Vec<u8>> = [65_534u64, 65_535, 65_536, 65_537]
        .iter()
        .map(|&i| protect(&mut tx, i))
        .collect();
    for i in [0, 2, 3, 1] {
        let mut buf = p[i].clone();
        let len = rx.unprotect_rtp(&mut buf).expect("decrypts");
        assert_eq!(
            u64::from_be_bytes(buf[12..len].try_into().expect("8")),
            65_534 + i as u64
        );
    }
}

#[test]
fn first_packet_at_65535() {
    let (mut tx, mut rx) = pair();
    for i in 65_535u64..65_600 {
        let mut buf = protect(&mut tx, i);
        assert!(rx.unprotect_rtp(&mut buf).is_ok(), "index {i}");
    }
}

fn start() -> impl Strategy<Value = u16> {
    prop_oneof![65_400u16..=65_535, any::<u16>()]
}

fn steps() -> impl Strategy<Value = Vec<u64>> {
    // Mostly consecutive, sometimes a loss burst; each burst stays well under 2^15 so the
    // sender's next packet is estimable, though reordering can still carry one further ahead.
    prop::collection::vec(prop_oneof![6 => Just(1u64), 1 => 2u64..8_000], 200..600)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn receiver_tracks_sender_across_wraps(
        start in start(),
        steps in steps(),
        swaps in prop::collection::vec((1usize..600, 1usize..8), 0..150),
        dups in prop::collection::vec((1usize..600, 1usize..20), 0..20),
        late_at_wraps in prop::collection::vec(1usize..6, 4),
    ) {
        let (mut tx, mut rx) = pair();
        let mut indices = vec![u64::from(start)];
        for step in &steps {
            let next = indices[indices.len() - 1] + step;
            indices.push(next);
        }
        prop_assume!(indices[indices.len() - 1] >> 16 >= 2);
        let packets: Vec<(u64, Vec<u8>)> =
            indices.iter().map(|&i| (i, protect(&mut tx, i))).collect();

        // Local reordering (the first packet stays first) and a few delayed duplicates.
        let mut order: Vec<usize> = (0..packets.len()).collect();
        for &(at, by) in &swaps {
            let a = at.min(order.len() - 1);
            let b = (a + by).min(order.len() - 1);
            order.swap(a, b);
        }
        // At each wrap, hold back the last packets before it behind the first ones after it.
        let wraps: Vec<usize> = (1..indices.len())
            .filter(|&k| indices[k] >> 16 != indices[k - 1] >> 16)
            .collect();
        for (w, &delay) in wraps.iter().zip(late_at_wraps.iter().cycle()) {
            let from = order.iter().position(|&k| k == w - 1).expect("present");
            if from > 0 {
                let held = order.remove(from);
                order.insert((from + delay).min(order.len()), held);
            }
        }
        for &(at, delay) in &dups {
            let a = at.min(order.len() - 1);
            let b = (a + delay).min(order.len());
            order.insert(b, order[a]);
        }

        let mut seen = HashSet::new();
        let mut highest = 0u64;
        for &k in &order {
            let (index, ref wire) = packets[k];
            let mut buf = wire.clone();
            let fresh = !seen.contains(&index) && (seen.is_empty() || index + 128 > highest);
            // RFC 3711 appendix A guesses the rollover counter from the highest index so far: a
            // packet more than 2^15 ahead of it (possible when reordering moves a packet past a
            // few loss bursts) cannot be placed and is refused one way or another.
            let placeable = seen.is_empty() || index < highest + 0x7fff;
            match rx.unprotect_rtp(&mut buf) {
                Ok(len) => {
                    prop_assert!(fresh, "index {} accepted twice or too old", index);
                    prop_assert_eq!(len, 20);
                    prop_assert_eq!(u64::from_be_bytes(buf[12..20].try_into().expect("8")), index);
                    seen.insert(index);
                    highest = highest.max(index);
                }
                Err(_) if !placeable => {}
                Err(e) => {
                    prop_assert!(!fresh, "index {} (seq {}) refused: {}", index, index as u16, e);
                    // A wrong rollover guess (auth failure) only for packets 2^15 behind.
                    if matches!(e, Error::AuthFailed) {
                        prop_assert!(index + 0x8000 <= highest, "index {} failed auth", index);
                    }
                }
            }
        }
        let stats = rx.stats();
        prop_assert_eq!(stats.unprotected, seen.len() as u64);
        prop_assert!(stats.unprotected + stats.replayed + stats.auth_failed == order.len() as u64);
    }
}
