//! Our SRTP and SRTCP interoperate with libsrtp2 (Debian's libsrtp2-dev), for every profile:
//! each side unprotects what the other protects, across three rollovers with reordering, and
//! both reject the same forged and replayed packets.
//!
//! SRTP is deterministic (AES counter mode, HMAC-SHA1), so our protected bytes must also equal
//! libsrtp's bit for bit, SRTCP included: both number SRTCP packets from 1.

#[path = "support/libsrtp.rs"]
mod libsrtp;

use libsrtp::{Kind, Mode, AUTH_FAIL, REPLAY_FAIL, REPLAY_OLD};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sotto_rtp::srtp::{SrtpProfile, SrtpReceiver, SrtpSender};
use sotto_rtp::Error;

/// Our profile, libsrtp_tool's name for it, master key length.
const PROFILES: [(SrtpProfile, &str, usize); 4] = [
    (SrtpProfile::Aes128CmHmacSha1_80, "aes128_hmac80", 16),
    (SrtpProfile::Aes128CmHmacSha1_32, "aes128_hmac32", 16),
    (SrtpProfile::Aes256CmHmacSha1_80, "aes256_hmac80", 32),
    (SrtpProfile::Aes256CmHmacSha1_32, "aes256_hmac32", 32),
];

const SALT_LEN: usize = 14;
const SSRC: u32 = 0x5eed_cafe;

/// Seeded master key and salt.
fn key_material(seed: u64, key_len: usize) -> (Vec<u8>, Vec<u8>) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut key = vec![0; key_len];
    let mut salt = vec![0; SALT_LEN];
    rng.fill_bytes(&mut key);
    rng.fill_bytes(&mut salt);
    (key, salt)
}

/// A V=2, PT 111 RTP packet; `extension` is the body of an RFC 8285 one-byte-header
/// extension, a whole number of 32-bit words.
fn rtp_packet(
    seq: u16,
    csrcs: &[u32],
    extension: Option<&[u8]>,
    payload_len: usize,
    rng: &mut ChaCha20Rng,
) -> Vec<u8> {
    let cc = u8::try_from(csrcs.len()).expect("at most 15 csrcs");
    let x = if extension.is_some() { 0x10 } else { 0 };
    let marker = if seq % 50 == 0 { 0x80 } else { 0 };
    let mut packet = vec![0x80 | x | cc, marker | 111];
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend_from_slice(&u32::from(seq).wrapping_mul(960).to_be_bytes());
    packet.extend_from_slice(&SSRC.to_be_bytes());
    for csrc in csrcs {
        packet.extend_from_slice(&csrc.to_be_bytes());
    }
    if let Some(body) = extension {
        assert_eq!(body.len() % 4, 0, "extension body must be whole words");
        packet.extend_from_slice(&0xbedeu16.to_be_bytes());
        let words = u16::try_from(body.len() / 4).expect("short extension");
        packet.extend_from_slice(&words.to_be_bytes());
        packet.extend_from_slice(body);
    }
    let start = packet.len();
    packet.resize(start + payload_len, 0);
    rng.fill_bytes(&mut packet[start..]);
    packet
}

/// `count` packets from `first_seq` on, payloads of 1..=1200 bytes (with the usual Opus and
/// video sizes among them); the second carries two CSRCs, the third a header extension.
fn rtp_stream(first_seq: u16, count: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let sizes = [1, 2, 13, 80, 160, 1200, 500, 1000, 1199];
    (0..count)
        .map(|i| {
            let seq = first_seq.wrapping_add(i as u16);
            let payload_len = match sizes.get(i) {
                Some(&len) => len,
                None => 1 + rng.next_u32() as usize % 1200,
            };
            match i {
                1 => rtp_packet(
                    seq,
                    &[0x1111_1111, 0x2222_2222],
                    None,
                    payload_len,
                    &mut rng,
                ),
                2 => {
                    // Audio level (id 1) and a 2-byte element (id 2), then padding.
                    let ext = [0x10, 0x85, 0x21, 0xab, 0xcd, 0, 0, 0];
                    rtp_packet(seq, &[], Some(&ext), payload_len, &mut rng)
                }
                _ => rtp_packet(seq, &[], None, payload_len, &mut rng),
            }
        })
        .collect()
}

/// An RTCP compound packet: a sender report (no report blocks) and an SDES with a CNAME.
fn rtcp_compound(n: u32) -> Vec<u8> {
    let mut packet = vec![0x80, 200, 0, 6];
    packet.extend_from_slice(&SSRC.to_be_bytes());
    packet.extend_from_slice(&(0xe8f0_0000_0000_0000u64 + (u64::from(n) << 16)).to_be_bytes());
    packet.extend_from_slice(&n.wrapping_mul(48_000).to_be_bytes());
    packet.extend_from_slice(&(n * 250).to_be_bytes());
    packet.extend_from_slice(&(n * 250 * 80).to_be_bytes());
    let cname = b"alice@sotto.test";
    // SSRC, CNAME item (type, length, text), END, padded to a 32-bit boundary.
    let mut chunk = SSRC.to_be_bytes().to_vec();
    chunk.push(1);
    chunk.push(cname.len() as u8);
    chunk.extend_from_slice(cname);
    chunk.push(0);
    while chunk.len() % 4 != 0 {
        chunk.push(0);
    }
    packet.extend_from_slice(&[0x81, 202]);
    packet.extend_from_slice(&(chunk.len() as u16 / 4).to_be_bytes());
    packet.extend_from_slice(&chunk);
    packet
}

fn protect_rtp(sender: &mut SrtpSender, profile: SrtpProfile, packet: &[u8]) -> Vec<u8> {
    let mut buf = packet.to_vec();
    buf.resize(packet.len() + profile.rtp_tag_len(), 0);
    let len = sender
        .protect_rtp(&mut buf, packet.len())
        .expect("protect rtp");
    assert_eq!(len, packet.len() + profile.rtp_tag_len());
    buf.truncate(len);
    buf
}

fn protect_rtcp(sender: &mut SrtpSender, profile: SrtpProfile, packet: &[u8]) -> Vec<u8> {
    let mut buf = packet.to_vec();
    buf.resize(packet.len() + 4 + profile.rtcp_tag_len(), 0);
    let len = sender
        .protect_rtcp(&mut buf, packet.len())
        .expect("protect rtcp");
    assert_eq!(len, packet.len() + 4 + profile.rtcp_tag_len());
    buf.truncate(len);
    buf
}

fn unprotect_rtp(receiver: &mut SrtpReceiver, packet: &[u8]) -> Result<Vec<u8>, Error> {
    let mut buf = packet.to_vec();
    let len = receiver.unprotect_rtp(&mut buf)?;
    buf.truncate(len);
    Ok(buf)
}

fn unprotect_rtcp(receiver: &mut SrtpReceiver, packet: &[u8]) -> Result<Vec<u8>, Error> {
    let mut buf = packet.to_vec();
    let len = receiver.unprotect_rtcp(&mut buf)?;
    buf.truncate(len);
    Ok(buf)
}

fn libsrtp_ok(results: Vec<Result<Vec<u8>, i32>>, what: &str) -> Vec<Vec<u8>> {
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| r.unwrap_or_else(|status| panic!("libsrtp {what} #{i}: status {status}")))
        .collect()
}

/// The E flag and SRTCP index of a protected SRTCP packet.
fn srtcp_index(packet: &[u8], tag_len: usize) -> (bool, u32) {
    let at = packet.len() - tag_len - 4;
    let word = u32::from_be_bytes(packet[at..at + 4].try_into().expect("4 bytes"));
    (word & 0x8000_0000 != 0, word & 0x7fff_ffff)
}

#[test]
fn we_protect_rtp_libsrtp_unprotects() {
    for (n, (profile, name, key_len)) in PROFILES.into_iter().enumerate() {
        let (key, salt) = key_material(10 + n as u64, key_len);
        let plain = rtp_stream(40_000, 60, 20 + n as u64);
        let mut sender = SrtpSender::new(profile, &key, &salt).expect("sender");
        let protected: Vec<Vec<u8>> = plain
            .iter()
            .map(|p| protect_rtp(&mut sender, profile, p))
            .collect();
        // Short payloads may match their ciphertext by chance; longer ones cannot.
        for (p, s) in plain.iter().zip(&protected).filter(|(p, _)| p.len() >= 28) {
            assert_ne!(p[12..], s[12..p.len()], "{name}: not encrypted");
        }
        let back = libsrtp::run(Mode::Unprotect, Kind::Rtp, name, &key, &salt, &protected)
            .expect("libsrtp_tool");
        assert_eq!(libsrtp_ok(back, name), plain, "{name}");
    }
}

#[test]
fn libsrtp_protects_rtp_we_unprotect() {
    for (n, (profile, name, key_len)) in PROFILES.into_iter().enumerate() {
        let (key, salt) = key_material(30 + n as u64, key_len);
        let plain = rtp_stream(7, 60, 40 + n as u64);
        let theirs = libsrtp::run(Mode::Protect, Kind::Rtp, name, &key, &salt, &plain)
            .expect("libsrtp_tool");
        let theirs = libsrtp_ok(theirs, name);
        let mut sender = SrtpSender::new(profile, &key, &salt).expect("sender");
        let mut receiver = SrtpReceiver::new(profile, &key, &salt).expect("receiver");
        for (i, (p, s)) in plain.iter().zip(&theirs).enumerate() {
            assert_eq!(s.len(), p.len() + profile.rtp_tag_len(), "{name} #{i}");
            assert_eq!(
                &protect_rtp(&mut sender, profile, p),
                s,
                "{name} #{i}: bytes"
            );
            assert_eq!(
                &unprotect_rtp(&mut receiver, s).expect(name),
                p,
                "{name} #{i}"
            );
        }
    }
}

/// Delivery order for a stream of `count` packets: every fifth pair of neighbours swapped,
/// and the 8 packets around each sequence number wrap shuffled.
fn reordered(count: usize, first_seq: u16, rng: &mut ChaCha20Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..count).collect();
    for i in (3..count - 1).step_by(5) {
        order.swap(i, i + 1);
    }
    let first_wrap = (0x1_0000 - usize::from(first_seq)) % 0x1_0000;
    for wrap in (first_wrap..count).step_by(0x1_0000) {
        let window = &mut order[wrap.saturating_sub(4)..(wrap + 4).min(count)];
        // The point: a packet from before the wrap arrives after one from after it. One
        // shuffle in 70 leaves that undone; shuffle again then.
        while window.iter().position(|&i| i >= wrap) > window.iter().rposition(|&i| i < wrap) {
            for i in (1..window.len()).rev() {
                window.swap(i, rng.next_u32() as usize % (i + 1));
            }
        }
    }
    order
}

/// Small payloads keep this stream of 131 090 packets quick in debug builds; sizes are
/// covered by the tests above.
fn long_stream(first_seq: u16, count: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..count)
        .map(|i| {
            let payload_len = 1 + rng.next_u32() as usize % 40;
            rtp_packet(
                first_seq.wrapping_add(i as u16),
                &[],
                None,
                payload_len,
                &mut rng,
            )
        })
        .collect()
}

/// One stream across three rollovers, reordered on the way, in both directions. From 65530 on,
/// 131 090 packets run through indices 65530..=196619: the rollover counter goes 0 -> 1 -> 2 -> 3.
/// About 5 s per profile in a debug build, nearly all of it our unoptimised SRTP and the
/// test's own packet handling (libsrtp takes about 0.5 s per pass), so each profile is its
/// own test and they run in parallel.
fn three_rollovers_with_reordering(n: usize) {
    const FIRST_SEQ: u16 = 65_530;
    const COUNT: usize = 131_090;
    let (profile, name, key_len) = PROFILES[n];
    let (key, salt) = key_material(50 + n as u64, key_len);
    let plain = long_stream(FIRST_SEQ, COUNT, 60 + n as u64);
    let mut rng = ChaCha20Rng::seed_from_u64(70 + n as u64);
    let order = reordered(COUNT, FIRST_SEQ, &mut rng);

    // Both sides protect in order; the bytes must agree at every rollover.
    let mut sender = SrtpSender::new(profile, &key, &salt).expect("sender");
    let ours: Vec<Vec<u8>> = plain
        .iter()
        .map(|p| protect_rtp(&mut sender, profile, p))
        .collect();
    let theirs =
        libsrtp::run(Mode::Protect, Kind::Rtp, name, &key, &salt, &plain).expect("libsrtp_tool");
    let theirs = libsrtp_ok(theirs, name);
    if let Some(i) = (0..COUNT).find(|&i| ours[i] != theirs[i]) {
        panic!("{name}: protected packet #{i} differs from libsrtp's");
    }

    // We protect, the network reorders, libsrtp unprotects.
    let sent: Vec<Vec<u8>> = order.iter().map(|&i| ours[i].clone()).collect();
    let back =
        libsrtp::run(Mode::Unprotect, Kind::Rtp, name, &key, &salt, &sent).expect("libsrtp_tool");
    for (k, result) in back.iter().enumerate() {
        let i = order[k];
        assert_eq!(result.as_ref(), Ok(&plain[i]), "{name}: libsrtp on #{i}");
    }

    // libsrtp protects, the network reorders, we unprotect.
    let mut receiver = SrtpReceiver::new(profile, &key, &salt).expect("receiver");
    for &i in &order {
        match unprotect_rtp(&mut receiver, &theirs[i]) {
            Ok(p) => assert!(p == plain[i], "{name}: we unprotected #{i} wrongly"),
            Err(e) => panic!("{name}: we rejected #{i}: {e}"),
        }
    }
}

#[test]
fn three_rollovers_with_reordering_aes128_hmac80() {
    three_rollovers_with_reordering(0);
}

#[test]
fn three_rollovers_with_reordering_aes128_hmac32() {
    three_rollovers_with_reordering(1);
}

#[test]
fn three_rollovers_with_reordering_aes256_hmac80() {
    three_rollovers_with_reordering(2);
}

#[test]
fn three_rollovers_with_reordering_aes256_hmac32() {
    three_rollovers_with_reordering(3);
}

#[test]
fn rtcp_both_directions_with_index_progression() {
    const COUNT: u32 = 300;
    let plain: Vec<Vec<u8>> = (0..COUNT).map(rtcp_compound).collect();
    for (n, (profile, name, key_len)) in PROFILES.into_iter().enumerate() {
        // libsrtp gives every profile here the 80-bit SRTCP tag (RFC 4568 section 6.2).
        assert_eq!(profile.rtcp_tag_len(), 10, "{name}");
        let (key, salt) = key_material(80 + n as u64, key_len);

        let mut sender = SrtpSender::new(profile, &key, &salt).expect("sender");
        let ours: Vec<Vec<u8>> = plain
            .iter()
            .map(|p| protect_rtcp(&mut sender, profile, p))
            .collect();
        for (i, s) in ours.iter().enumerate() {
            assert_eq!(srtcp_index(s, 10), (true, 1 + i as u32), "{name} #{i}");
            assert_eq!(s[..8], plain[i][..8], "{name}: first header stays clear");
            assert_ne!(s[8..plain[i].len()], plain[i][8..], "{name}: not encrypted");
        }
        let back = libsrtp::run(Mode::Unprotect, Kind::Rtcp, name, &key, &salt, &ours)
            .expect("libsrtp_tool");
        assert_eq!(libsrtp_ok(back, name), plain, "{name}");

        let theirs = libsrtp::run(Mode::Protect, Kind::Rtcp, name, &key, &salt, &plain)
            .expect("libsrtp_tool");
        let theirs = libsrtp_ok(theirs, name);
        assert!(ours == theirs, "{name}: srtcp bytes differ from libsrtp's");
        let mut receiver = SrtpReceiver::new(profile, &key, &salt).expect("receiver");
        for (i, s) in theirs.iter().enumerate() {
            assert_eq!(&unprotect_rtcp(&mut receiver, s).expect(name), &plain[i]);
        }
    }
}

/// What our receiver says, in libsrtp's terms.
fn status(result: &Result<Vec<u8>, Error>) -> Result<(), &'static str> {
    match result {
        Ok(_) => Ok(()),
        Err(Error::AuthFailed) => Err("auth"),
        Err(Error::Replayed) => Err("replay"),
        Err(_) => Err("other"),
    }
}

fn libsrtp_status(result: &Result<Vec<u8>, i32>) -> Result<(), &'static str> {
    match result {
        Ok(_) => Ok(()),
        Err(AUTH_FAIL) => Err("auth"),
        Err(REPLAY_FAIL | REPLAY_OLD) => Err("replay"),
        Err(_) => Err("other"),
    }
}

fn flip(packet: &[u8], at: usize) -> Vec<u8> {
    let mut bad = packet.to_vec();
    bad[at] ^= 0x01;
    bad
}

#[test]
fn forged_and_replayed_packets_rejected_like_libsrtp() {
    for (n, (profile, name, key_len)) in PROFILES.into_iter().enumerate() {
        let (key, salt) = key_material(90 + n as u64, key_len);
        let plain = rtp_stream(100, 8, 95 + n as u64);
        let mut stream = plain.clone();
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        stream.push(rtp_packet(100 + 5000, &[], None, 50, &mut rng));
        stream.push(rtp_packet(100 + 5001, &[], None, 50, &mut rng));
        let theirs = libsrtp::run(Mode::Protect, Kind::Rtp, name, &key, &salt, &stream)
            .expect("libsrtp_tool");
        let p = libsrtp_ok(theirs, name);
        let arrivals = [
            p[0].clone(),
            p[1].clone(),
            flip(&p[2], p[2].len() - 1), // tag
            flip(&p[3], 20),             // ciphertext
            flip(&p[4], 3),              // sequence number, so the index
            p[1].clone(),                // replay
            p[2].clone(),                // genuine after its forgery: accepted
            p[3].clone(),                // likewise
            p[2].clone(),                // replay
            p[8].clone(),                // 5000 ahead
            p[5].clone(),                // now behind any window
            p[9][..15].to_vec(),         // shorter than header and tag
        ];
        let expected = [
            Ok(()),
            Ok(()),
            Err("auth"),
            Err("auth"),
            Err("auth"),
            Err("replay"),
            Ok(()),
            Ok(()),
            Err("replay"),
            Ok(()),
            Err("replay"),
        ];
        let libsrtp = libsrtp::run(Mode::Unprotect, Kind::Rtp, name, &key, &salt, &arrivals)
            .expect("libsrtp_tool");
        let mut receiver = SrtpReceiver::new(profile, &key, &salt).expect("receiver");
        let ours: Vec<_> = arrivals
            .iter()
            .map(|a| unprotect_rtp(&mut receiver, a))
            .collect();
        for (i, want) in expected.iter().enumerate() {
            assert_eq!(libsrtp_status(&libsrtp[i]), *want, "{name} libsrtp #{i}");
            assert_eq!(status(&ours[i]), *want, "{name} ours #{i}: {:?}", ours[i]);
        }
        // A packet cut short: both refuse it, each with its own reason.
        let last = arrivals.len() - 1;
        assert!(libsrtp[last].is_err(), "{name}: libsrtp took a cut packet");
        assert!(ours[last].is_err(), "{name}: we took a cut packet");

        // SRTCP: forged tag, forged index, replay.
        let rtcp: Vec<Vec<u8>> = (0..4).map(rtcp_compound).collect();
        let mut sender = SrtpSender::new(profile, &key, &salt).expect("sender");
        let s: Vec<Vec<u8>> = rtcp
            .iter()
            .map(|p| protect_rtcp(&mut sender, profile, p))
            .collect();
        let index_at = s[1].len() - 10 - 1;
        let arrivals = [
            s[0].clone(),
            flip(&s[1], s[1].len() - 1),
            flip(&s[2], index_at),
            s[1].clone(),
            s[0].clone(),
            s[3].clone(),
            s[3].clone(),
        ];
        let expected = [
            Ok(()),
            Err("auth"),
            Err("auth"),
            Ok(()),
            Err("replay"),
            Ok(()),
            Err("replay"),
        ];
        let libsrtp = libsrtp::run(Mode::Unprotect, Kind::Rtcp, name, &key, &salt, &arrivals)
            .expect("libsrtp_tool");
        let mut receiver = SrtpReceiver::new(profile, &key, &salt).expect("receiver");
        for (i, (a, want)) in arrivals.iter().zip(expected).enumerate() {
            assert_eq!(
                libsrtp_status(&libsrtp[i]),
                want,
                "{name} srtcp libsrtp #{i}"
            );
            let ours = unprotect_rtcp(&mut receiver, a);
            assert_eq!(status(&ours), want, "{name} srtcp ours #{i}: {ours:?}");
        }
    }
}

#[test]
fn libsrtp_bench_reports_means() {
    let (protect_ns, unprotect_ns) = libsrtp::bench("aes128_hmac80", 172, 1000).expect("bench");
    assert!(protect_ns.is_finite() && protect_ns > 0.0);
    assert!(unprotect_ns.is_finite() && unprotect_ns > 0.0);
}
