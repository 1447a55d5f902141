//! Our SRTP and SRTCP output is bit-for-bit what webrtc-srtp's `Context` produces for every
//! profile, across a sequence-number wrap, with CSRCs and header extensions; and each side
//! decrypts what the other encrypted.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sotto_rtp::srtp::{SrtpProfile, SrtpReceiver, SrtpSender};
use webrtc_srtp::context::Context;
use webrtc_srtp::protection_profile::ProtectionProfile;

const PROFILES: [(SrtpProfile, ProtectionProfile); 4] = [
    (
        SrtpProfile::Aes128CmHmacSha1_80,
        ProtectionProfile::Aes128CmHmacSha1_80,
    ),
    (
        SrtpProfile::Aes128CmHmacSha1_32,
        ProtectionProfile::Aes128CmHmacSha1_32,
    ),
    (
        SrtpProfile::Aes256CmHmacSha1_80,
        ProtectionProfile::Aes256CmHmacSha1_80,
    ),
    (
        SrtpProfile::Aes256CmHmacSha1_32,
        ProtectionProfile::Aes256CmHmacSha1_32,
    ),
];

/// A plain RTP packet: optional CSRCs and a generic (RFC 3550) header extension.
fn rtp(rng: &mut ChaCha20Rng, seq: u16, ssrc: u32, i: usize) -> Vec<u8> {
    let csrcs = i % 3;
    let extension = i % 4 == 1;
    let mut p = vec![0x80 | csrcs as u8, 0x60 | (i as u8 & 0x80), 0, 0];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(i as u32 * 960).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    for c in 0..csrcs {
        p.extend_from_slice(&(0xc000 + c as u32).to_be_bytes());
    }
    if extension {
        p[0] |= 0x10;
        p.extend_from_slice(&[0xab, 0xcd, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8]);
    }
    let payload = [0, 1, 17, 160, 1200][i % 5];
    let start = p.len();
    p.resize(start + payload, 0);
    rng.fill_bytes(&mut p[start..]);
    p
}

/// A compound-looking RTCP packet (SR header, sender SSRC, random body).
fn rtcp(rng: &mut ChaCha20Rng, ssrc: u32, i: usize) -> Vec<u8> {
    let words = [1usize, 6, 12, 30][i % 4];
    let mut p = vec![0u8; 4 + 4 * words];
    p[..4].copy_from_slice(&[0x80, 200, 0, words as u8]);
    p[4..8].copy_from_slice(&ssrc.to_be_bytes());
    rng.fill_bytes(&mut p[8..]);
    p
}

fn keys(rng: &mut ChaCha20Rng, profile: SrtpProfile) -> (Vec<u8>, Vec<u8>) {
    let mut key = vec![0u8; profile.key_len()];
    let mut salt = vec![0u8; profile.salt_len()];
    rng.fill_bytes(&mut key);
    rng.fill_bytes(&mut salt);
    (key, salt)
}

#[test]
fn srtp_matches_webrtc_for_every_profile_across_a_wrap() {
    let mut rng = ChaCha20Rng::seed_from_u64(3711);
    for (profile, theirs) in PROFILES {
        let (key, salt) = keys(&mut rng, profile);
        let mut ours_tx = SrtpSender::new(profile, &key, &salt).expect("sender");
        let mut ours_rx = SrtpReceiver::new(profile, &key, &salt).expect("receiver");
        let mut their_tx = Context::new(&key, &salt, theirs, None, None).expect("webrtc");
        let mut their_rx = Context::new(&key, &salt, theirs, None, None).expect("webrtc");
        for i in 0..300 {
            // Two SSRCs, one starting just before the wrap.
            let (ssrc, seq) = if i % 2 == 0 {
                (0x1111_2222, 65_400u16.wrapping_add(i as u16 / 2))
            } else {
                (0x3333_4444, 7 + i as u16 / 2)
            };
            let plain = rtp(&mut rng, seq, ssrc, i);
            let expected = their_tx.encrypt_rtp(&plain).expect("webrtc encrypt");
            let mut buf = vec![0u8; plain.len() + profile.rtp_tag_len()];
            buf[..plain.len()].copy_from_slice(&plain);
            let len = ours_tx.protect_rtp(&mut buf, plain.len()).expect("protect");
            assert_eq!(len, expected.len());
            assert_eq!(
                &buf[..len],
                &expected[..],
                "{profile:?} packet {i} seq {seq}"
            );

            let theirs_plain = their_rx
                .decrypt_rtp(&buf[..len])
                .expect("webrtc decrypt ours");
            assert_eq!(&theirs_plain[..], &plain[..]);
            let mut theirs_wire = expected.to_vec();
            let plain_len = ours_rx
                .unprotect_rtp(&mut theirs_wire)
                .expect("unprotect theirs");
            assert_eq!(&theirs_wire[..plain_len], &plain[..]);
        }
        assert_eq!(ours_rx.stats().unprotected, 300);
    }
}

#[test]
fn srtcp_matches_webrtc_for_every_profile() {
    let mut rng = ChaCha20Rng::seed_from_u64(5761);
    for (profile, theirs) in PROFILES {
        assert_eq!(profile.rtcp_tag_len(), 10, "srtcp keeps the 80-bit tag");
        let (key, salt) = keys(&mut rng, profile);
        let mut ours_tx = SrtpSender::new(profile, &key, &salt).expect("sender");
        let mut ours_rx = SrtpReceiver::new(profile, &key, &salt).expect("receiver");
        let mut their_tx = Context::new(&key, &salt, theirs, None, None).expect("webrtc");
        let mut their_rx = Context::new(&key, &salt, theirs, None, None).expect("webrtc");
        for i in 0..60 {
            let ssrc = [0xaaaa_0001, 0xbbbb_0002, 0xcccc_0003][i % 3];
            let plain = rtcp(&mut rng, ssrc, i);
            let expected = their_tx.encrypt_rtcp(&plain).expect("webrtc encrypt");
            let mut buf = vec![0u8; plain.len() + 4 + profile.rtcp_tag_len()];
            buf[..plain.len()].copy_from_slice(&plain);
            let len = ours_tx
                .protect_rtcp(&mut buf, plain.len())
                .expect("protect");
            assert_eq!(&buf[..len], &expected[..], "{profile:?} rtcp packet {i}");

            let theirs_plain = their_rx
                .decrypt_rtcp(&buf[..len])
                .expect("webrtc decrypt ours");
            assert_eq!(&theirs_plain[..], &plain[..]);
            let mut theirs_wire = expected.to_vec();
            let plain_len = ours_rx
                .unprotect_rtcp(&mut theirs_wire)
                .expect("unprotect theirs");
            assert_eq!(&theirs_wire[..plain_len], &plain[..]);
        }
    }
}

#[test]
fn zrtp_algorithms_map_to_profiles() {
    use sotto_zrtp::{AuthTag, CipherAlgorithm};
    let cases = [
        (
            CipherAlgorithm::Aes1,
            AuthTag::Hs80,
            SrtpProfile::Aes128CmHmacSha1_80,
        ),
        (
            CipherAlgorithm::Aes1,
            AuthTag::Hs32,
            SrtpProfile::Aes128CmHmacSha1_32,
        ),
        (
            CipherAlgorithm::Aes3,
            AuthTag::Hs80,
            SrtpProfile::Aes256CmHmacSha1_80,
        ),
        (
            CipherAlgorithm::Aes3,
            AuthTag::Hs32,
            SrtpProfile::Aes256CmHmacSha1_32,
        ),
    ];
    for (cipher, tag, profile) in cases {
        assert_eq!(SrtpProfile::from_zrtp(cipher, tag), Some(profile));
    }
    assert_eq!(SrtpProfile::Aes256CmHmacSha1_32.key_len(), 32);
    assert_eq!(SrtpProfile::Aes256CmHmacSha1_32.rtp_tag_len(), 4);
    assert_eq!(SrtpProfile::Aes128CmHmacSha1_80.rtp_tag_len(), 10);
}
