//! One-port demultiplexing: every first-byte range of RFC 7983 and real STUN, ZRTP, RTP and
//! RTCP datagrams.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use sotto_rtp::rtcp::{write_compound, Pli, RtcpPacket};
use sotto_rtp::{classify, OpusPacketizer, PacketKind};
use sotto_zrtp::wire::{encode_message, seal_packet, Header, Message};

#[test]
fn first_byte_table() {
    for first in 0..=255u8 {
        for second in [
            0u8, 0x60, 0x6f, 0x7f, 0x80, 0xbf, 0xc0, 0xc8, 0xcd, 0xce, 0xdf, 0xe0, 0xff,
        ] {
            let datagram = [first, second, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            let want = match first {
                0..=3 => PacketKind::Stun,
                128..=191 if (192..=223).contains(&second) => PacketKind::Rtcp,
                128..=191 => PacketKind::Rtp,
                // 16/17 without the ZRTP cookie, DTLS 20..=63, TURN 64..=79 and the rest.
                _ => PacketKind::Unknown,
            };
            assert_eq!(classify(&datagram), want, "first {first} second {second}");
        }
    }
}

#[test]
fn zrtp_needs_its_magic_cookie() {
    let mut datagram = [0x10, 0, 0, 1, 0x5a, 0x52, 0x54, 0x50, 0, 0, 0, 1];
    assert_eq!(classify(&datagram), PacketKind::Zrtp);
    datagram[0] = 0x11;
    assert_eq!(classify(&datagram), PacketKind::Zrtp);
    datagram[7] = 0x51;
    assert_eq!(classify(&datagram), PacketKind::Unknown);
    assert_eq!(classify(&datagram[..7]), PacketKind::Unknown);
}

#[test]
fn real_datagrams() {
    // A ZRTP HelloAck as sotto-zrtp seals it.
    let mut message = Vec::new();
    encode_message(&Message::HelloAck, &mut message);
    let mut zrtp = Vec::new();
    seal_packet(
        Header {
            sequence: 1,
            ssrc: 0xdead_beef,
        },
        &message,
        &mut zrtp,
    );
    assert_eq!(classify(&zrtp), PacketKind::Zrtp);

    // The STUN Binding Request of RFC 5769 section 2.1 (header and first attribute).
    let stun = [
        0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6,
        0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10,
    ];
    assert_eq!(classify(&stun), PacketKind::Stun);

    // Opus RTP, with and without the marker.
    let mut packetizer = OpusPacketizer::new(1, 111, 0, 0);
    let mut buf = [0u8; 64];
    let len = packetizer.packetize(&[0x78, 1, 2], 960, &mut buf).unwrap();
    assert_eq!(buf[1], 0x80 | 111);
    assert_eq!(classify(&buf[..len]), PacketKind::Rtp);
    let len = packetizer.packetize(&[0x78, 1, 2], 960, &mut buf).unwrap();
    assert_eq!(buf[1], 111);
    assert_eq!(classify(&buf[..len]), PacketKind::Rtp);

    // RTCP: a PLI, and an RR with padding (first byte 0xa0).
    let pli = [RtcpPacket::Pli(Pli {
        sender_ssrc: 1,
        media_ssrc: 2,
    })];
    let len = write_compound(&pli, 4, &mut buf).unwrap();
    assert_eq!(buf[0], 0xa1);
    assert_eq!(classify(&buf[..len]), PacketKind::Rtcp);
    assert_eq!(classify(&[0x80, 0xc9, 0, 1, 0, 0, 0, 1]), PacketKind::Rtcp);

    // A DTLS ClientHello record header and a TURN ChannelData header: not ours.
    assert_eq!(classify(&[0x16, 0xfe, 0xfd, 0, 0]), PacketKind::Unknown);
    assert_eq!(
        classify(&[0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4]),
        PacketKind::Unknown
    );
}
