//! Feeds SRTP and SRTCP receivers arbitrary bytes, and genuine protected packets with fuzzed
//! edits, so that inputs also reach the code past the authentication check. A refused packet
//! must leave the buffer untouched; an accepted one can only shrink.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sotto_rtp::srtp::{SrtpProfile, SrtpReceiver, SrtpSender};

const KEY: [u8; 16] = [7; 16];
const SALT: [u8; 14] = [9; 14];

fn check(receiver: &mut SrtpReceiver, packet: &[u8], rtcp: bool) {
    let mut buf = packet.to_vec();
    let result = if rtcp {
        receiver.unprotect_rtcp(&mut buf)
    } else {
        receiver.unprotect_rtp(&mut buf)
    };
    match result {
        Ok(len) => assert!(len <= packet.len()),
        Err(_) => assert_eq!(buf, packet, "a refused packet was modified"),
    }
}

fuzz_target!(|data: &[u8]| {
    let profile = SrtpProfile::Aes128CmHmacSha1_80;
    let mut receiver = SrtpReceiver::new(profile, &KEY, &SALT).expect("keys");
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let rtcp = selector & 1 == 1;
    check(&mut receiver, rest, rtcp);

    // A genuine packet, then the same packet with the fuzz input XORed over it.
    let mut sender = SrtpSender::new(profile, &KEY, &SALT).expect("keys");
    let mut buf = [0u8; 256];
    let plain: &[u8] = if rtcp {
        &[
            0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6,
        ]
    } else {
        &[
            0x80,
            111,
            0xff,
            0xf0 | (selector >> 4),
            0,
            0,
            0,
            1,
            0,
            0,
            0,
            2,
            1,
            2,
            3,
            4,
            5,
            6,
            7,
            8,
        ]
    };
    buf[..plain.len()].copy_from_slice(plain);
    let len = if rtcp {
        sender.protect_rtcp(&mut buf, plain.len())
    } else {
        sender.protect_rtp(&mut buf, plain.len())
    }
    .expect("protect");
    let genuine = buf[..len].to_vec();
    let mut forged = genuine.clone();
    for (b, x) in forged.iter_mut().zip(rest) {
        *b ^= x;
    }
    check(&mut receiver, &forged, rtcp);
    check(&mut receiver, &genuine, rtcp);
});
