#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use super::*;
use crate::{AlgoId, Zid};

fn id(s: &[u8; 4]) -> AlgoId {
    AlgoId(*s)
}

fn sample_hello() -> Hello {
    Hello {
        version: VERSION,
        client_id: *b"sotto 0.1       ",
        h3: [3; 32],
        zid: Zid([9; 12]),
        signature_capable: false,
        mitm: false,
        passive: false,
        hashes: vec![id(b"S256")],
        ciphers: vec![id(b"AES1"), id(b"AES3")],
        auth_tags: vec![id(b"HS32"), id(b"HS80"), id(b"SK32")],
        key_agreements: vec![id(b"X255"), id(b"DH3k"), id(b"Mult"), id(b"EC25")],
        sas_types: vec![
            id(b"B32 "),
            id(b"B256"),
            id(b"XXXX"),
            id(b"YYYY"),
            id(b"ZZZZ"),
        ],
        mac: [0xaa; 8],
    }
}

fn sample_commit(key_agreement: &[u8; 4], mode: CommitMode) -> Commit {
    Commit {
        h2: [2; 32],
        zid: Zid([1; 12]),
        hash: id(b"S256"),
        cipher: id(b"AES1"),
        auth_tag: id(b"HS80"),
        key_agreement: id(key_agreement),
        sas_type: id(b"B32 "),
        mode,
        mac: [0xcc; 8],
    }
}

fn encode(message: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    encode_message(message, &mut out);
    out
}

fn seal(message_bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    seal_packet(
        Header {
            sequence: 0x1234,
            ssrc: 0x0102_0304,
        },
        message_bytes,
        &mut out,
    );
    out
}

/// Replaces the CRC of a datagram edited by a test so only the edit is under test.
fn reseal(datagram: &mut [u8]) {
    let covered = datagram.len() - CRC_LEN;
    let crc = crc32c::crc32c(&datagram[..covered]);
    datagram[covered..].copy_from_slice(&crc.to_le_bytes());
}

fn malformed(result: Result<Packet<'_>, Error>) -> &'static str {
    match result {
        Err(Error::Malformed(why)) => why,
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn demux_recognises_zrtp_only() {
    let datagram = seal(&encode(&Message::HelloAck));
    assert!(is_zrtp(&datagram));
    let mut fragmented = datagram.clone();
    fragmented[0] = 0x11;
    assert!(is_zrtp(&fragmented));
    // RTP (version 2), STUN (first byte 0 or 1), short and cookie-less datagrams are not ZRTP.
    let mut rtp = datagram.clone();
    rtp[0] = 0x80;
    assert!(!is_zrtp(&rtp));
    let mut stun = datagram.clone();
    stun[0] = 0x00;
    assert!(!is_zrtp(&stun));
    let mut no_cookie = datagram.clone();
    no_cookie[6] ^= 1;
    assert!(!is_zrtp(&no_cookie));
    assert!(!is_zrtp(&datagram[..7]));
    assert!(!is_zrtp(&[]));
}

#[test]
fn packet_layout_is_header_message_crc() {
    let message = encode(&Message::HelloAck);
    let datagram = seal(&message);
    assert_eq!(
        &datagram[..HEADER_LEN],
        &[0x10, 0, 0x12, 0x34, 0x5a, 0x52, 0x54, 0x50, 1, 2, 3, 4]
    );
    assert_eq!(
        &datagram[HEADER_LEN..datagram.len() - CRC_LEN],
        &message[..]
    );
    let crc = crc32c::crc32c(&datagram[..datagram.len() - CRC_LEN]);
    // Least significant byte first, as bzrtp and libzrtpcpp send it.
    assert_eq!(&datagram[datagram.len() - CRC_LEN..], &crc.to_le_bytes());
    assert_eq!(&message[..], b"\x50\x5a\x00\x03HelloACK");
}

#[test]
fn seal_appends_to_existing_bytes() {
    let message = encode(&Message::Conf2Ack);
    let mut out = vec![0xee; 5];
    seal_packet(
        Header {
            sequence: 1,
            ssrc: 2,
        },
        &message,
        &mut out,
    );
    assert_eq!(&out[..5], &[0xee; 5]);
    let packet = parse_packet(&out[5..]).unwrap();
    assert_eq!(packet.message, Message::Conf2Ack);
    assert_eq!(
        packet.header,
        Header {
            sequence: 1,
            ssrc: 2
        }
    );
}

#[test]
fn message_names_follow_the_rfc() {
    let dh = DhPart {
        h1: [0; 32],
        rs1_id: [0; 8],
        rs2_id: [0; 8],
        aux_secret_id: [0; 8],
        pbx_secret_id: [0; 8],
        public_value: vec![0; 32],
        mac: [0; 8],
    };
    let confirm = Confirm {
        confirm_mac: [0; 8],
        iv: [0; 16],
        encrypted: vec![0; 40],
    };
    let cases = [
        (Message::Hello(sample_hello()), "Hello"),
        (Message::HelloAck, "HelloACK"),
        (
            Message::Commit(sample_commit(b"X255", CommitMode::Dh { hvi: [0; 32] })),
            "Commit",
        ),
        (Message::DhPart1(dh.clone()), "DHPart1"),
        (Message::DhPart2(dh), "DHPart2"),
        (Message::Confirm1(confirm.clone()), "Confirm1"),
        (Message::Confirm2(confirm), "Confirm2"),
        (Message::Conf2Ack, "Conf2ACK"),
        (Message::Error(ErrorCode::BAD_HVI), "Error"),
        (Message::ErrorAck, "ErrorACK"),
        (Message::GoClear { clear_mac: [0; 8] }, "GoClear"),
        (Message::ClearAck, "ClearACK"),
        (
            Message::SasRelay(SasRelay {
                mac: [0; 8],
                iv: [0; 16],
                encrypted: vec![0; 40],
            }),
            "SASrelay",
        ),
        (Message::RelayAck, "RelayACK"),
        (
            Message::Ping(Ping {
                version: VERSION,
                endpoint_hash: [0; 8],
            }),
            "Ping",
        ),
        (
            Message::PingAck(PingAck {
                version: VERSION,
                source_endpoint_hash: [0; 8],
                received_endpoint_hash: [0; 8],
                ssrc: 0,
            }),
            "PingACK",
        ),
    ];
    for (message, name) in cases {
        assert_eq!(message.name(), name);
        let bytes = encode(&message);
        // The type block is the name padded with spaces to 8 bytes.
        assert_eq!(&bytes[4..12], format!("{name:<8}").as_bytes());
        assert_eq!(parse_message(&bytes).unwrap(), message);
    }
}

#[test]
fn fixed_message_lengths_match_the_rfc() {
    let len = |m: &Message| encode(m).len();
    assert_eq!(len(&Message::HelloAck), 12);
    assert_eq!(len(&Message::Error(ErrorCode::TIMEOUT)), 16);
    assert_eq!(len(&Message::GoClear { clear_mac: [0; 8] }), 20);
    let ping = Ping {
        version: VERSION,
        endpoint_hash: [0; 8],
    };
    assert_eq!(len(&Message::Ping(ping)), 24);
    let ping_ack = PingAck {
        version: VERSION,
        source_endpoint_hash: [0; 8],
        received_endpoint_hash: [0; 8],
        ssrc: 0x0a0b_0c0d,
    };
    let bytes = encode(&Message::PingAck(ping_ack));
    assert_eq!(bytes.len(), 36);
    assert_eq!(&bytes[32..], &[0x0a, 0x0b, 0x0c, 0x0d]);
    let error = encode(&Message::Error(ErrorCode::GOCLEAR_NOT_ALLOWED));
    assert_eq!(&error[12..], &[0, 0, 1, 0]);
}

#[test]
fn hello_flags_and_counts_sit_where_the_rfc_puts_them() {
    let mut hello = sample_hello();
    hello.signature_capable = true;
    let bytes = encode(&Message::Hello(hello.clone()));
    // 88 fixed bytes plus 15 algorithm words.
    assert_eq!(bytes.len(), 88 + 4 * 15);
    let flags = &bytes[76..80];
    assert_eq!(flags, &[0x40, 0x01, 0x23, 0x45]);

    hello.signature_capable = false;
    hello.mitm = true;
    assert_eq!(encode(&Message::Hello(hello.clone()))[76], 0x20);
    hello.mitm = false;
    hello.passive = true;
    let bytes = encode(&Message::Hello(hello.clone()));
    assert_eq!(bytes[76], 0x10);
    assert_eq!(parse_message(&bytes).unwrap(), Message::Hello(hello));
}

#[test]
fn hello_ignores_unused_flag_bits() {
    let hello = sample_hello();
    let mut datagram = seal(&encode(&Message::Hello(hello.clone())));
    datagram[HEADER_LEN + 76] |= 0x8f;
    datagram[HEADER_LEN + 77] |= 0xf0;
    reseal(&mut datagram);
    assert_eq!(
        parse_packet(&datagram).unwrap().message,
        Message::Hello(hello)
    );
}

#[test]
fn hello_rejects_a_count_above_seven() {
    let mut hello = sample_hello();
    hello.hashes = vec![id(b"S256"); 7];
    let mut message = encode(&Message::Hello(hello));
    assert!(parse_message(&message).is_ok());
    // Claim 8 hashes and add one word so the lengths still agree.
    message[77] = 0x08;
    message.splice(80..80, *b"S384");
    let words = (message.len() / 4) as u16;
    message[2..4].copy_from_slice(&words.to_be_bytes());
    assert!(matches!(parse_message(&message), Err(Error::Malformed(_))));
}

#[test]
fn hello_counts_must_agree_with_the_length() {
    let mut message = encode(&Message::Hello(sample_hello()));
    message[79] = 0x44; // sc 5 -> 4 leaves a word over
    assert!(matches!(parse_message(&message), Err(Error::Malformed(_))));
    message[79] = 0x46; // sc 5 -> 6 runs past the end
    assert!(matches!(parse_message(&message), Err(Error::Malformed(_))));
}

#[test]
fn commit_mode_follows_key_agreement() {
    let dh = sample_commit(b"DH3k", CommitMode::Dh { hvi: [7; 32] });
    let mult = sample_commit(b"Mult", CommitMode::Multistream { nonce: [5; 16] });
    let prsh = sample_commit(
        b"Prsh",
        CommitMode::Preshared {
            nonce: [5; 16],
            key_id: [6; 8],
        },
    );
    for (commit, len) in [(dh, 116), (mult, 100), (prsh, 108)] {
        assert!(commit.mode_matches_key_agreement());
        let message = Message::Commit(commit);
        let bytes = encode(&message);
        assert_eq!(bytes.len(), len);
        assert_eq!(parse_message(&bytes).unwrap(), message);
    }
    assert!(!sample_commit(b"Mult", CommitMode::Dh { hvi: [0; 32] }).mode_matches_key_agreement());
    assert!(
        !sample_commit(b"X255", CommitMode::Multistream { nonce: [0; 16] })
            .mode_matches_key_agreement()
    );
}

#[test]
fn commit_with_the_wrong_length_for_its_mode_is_malformed() {
    let mut bytes = encode(&Message::Commit(sample_commit(
        b"DH3k",
        CommitMode::Dh { hvi: [7; 32] },
    )));
    // Key agreement sits after the preamble, type, H2, ZID and three algorithm words.
    let ka = 12 + 32 + 12 + 12;
    assert_eq!(&bytes[ka..ka + 4], b"DH3k");
    bytes[ka..ka + 4].copy_from_slice(b"Mult");
    assert!(matches!(parse_message(&bytes), Err(Error::Malformed(_))));
    bytes[ka..ka + 4].copy_from_slice(b"Prsh");
    assert!(matches!(parse_message(&bytes), Err(Error::Malformed(_))));
}

fn dh_part(pv_len: usize) -> DhPart {
    DhPart {
        h1: [1; 32],
        rs1_id: [2; 8],
        rs2_id: [3; 8],
        aux_secret_id: [4; 8],
        pbx_secret_id: [5; 8],
        public_value: (0..pv_len).map(|i| i as u8).collect(),
        mac: [6; 8],
    }
}

#[test]
fn dh_part_public_value_length_is_implied_and_bounded() {
    for pv_len in [4, 32, 64, 256, 384, MAX_PUBLIC_VALUE_LEN] {
        let message = Message::DhPart2(dh_part(pv_len));
        let bytes = encode(&message);
        assert_eq!(bytes.len(), 84 + pv_len);
        assert_eq!(parse_message(&bytes).unwrap(), message);
    }
    // Build over-long and empty public values by hand: the encoder refuses them.
    let mut too_long = encode(&Message::DhPart1(dh_part(MAX_PUBLIC_VALUE_LEN)));
    too_long.splice(100..100, [0; 4]);
    let words = (too_long.len() / 4) as u16;
    too_long[2..4].copy_from_slice(&words.to_be_bytes());
    assert!(matches!(parse_message(&too_long), Err(Error::Malformed(_))));
    let mut empty = encode(&Message::DhPart1(dh_part(4)));
    empty.drain(76..80);
    empty[2..4].copy_from_slice(&21u16.to_be_bytes());
    assert_eq!(empty.len(), 84);
    assert!(matches!(parse_message(&empty), Err(Error::Malformed(_))));
}

#[test]
fn confirm_encrypted_part_is_bounded() {
    let confirm = |len: usize| {
        Message::Confirm1(Confirm {
            confirm_mac: [1; 8],
            iv: [2; 16],
            encrypted: vec![3; len],
        })
    };
    for len in [40, 44, 40 + MAX_SIGNATURE_LEN] {
        let bytes = encode(&confirm(len));
        assert_eq!(bytes.len(), 36 + len);
        assert_eq!(parse_message(&bytes).unwrap(), confirm(len));
    }
    let mut short = encode(&confirm(40));
    short.truncate(72);
    short[2..4].copy_from_slice(&18u16.to_be_bytes());
    assert!(matches!(parse_message(&short), Err(Error::Malformed(_))));
}

#[test]
fn confirm_body_layout() {
    let body = ConfirmBody {
        h0: [0x11; 32],
        flags: ConfirmFlags {
            pbx_enrollment_e: true,
            sas_verified_v: false,
            allow_clear_a: true,
            disclosure_d: false,
        },
        cache_expiration: 0xffff_ffff,
        signature: vec![0x22; 4 * 300],
    };
    let mut plain = Vec::new();
    body.encode(&mut plain);
    assert_eq!(plain.len(), ConfirmBody::FIXED_LEN + 1200);
    // 15 zero bits, 9-bit signature length 300 = 0x12c, flags E and A.
    assert_eq!(&plain[32..36], &[0x00, 0x01, 0x2c, 0x0a]);
    assert_eq!(&plain[36..40], &[0xff; 4]);
    assert_eq!(ConfirmBody::parse(&plain).unwrap(), body);

    let flags = |octet: u8| {
        let mut p = plain[..40].to_vec();
        p[33] = 0;
        p[34] = 0;
        p[35] = octet;
        ConfirmBody::parse(&p).unwrap().flags
    };
    assert!(flags(0x08).pbx_enrollment_e);
    assert!(flags(0x04).sas_verified_v);
    assert!(flags(0x02).allow_clear_a);
    assert!(flags(0x01).disclosure_d);
    assert_eq!(flags(0xf0), ConfirmFlags::default());
}

#[test]
fn confirm_body_signature_length_must_match() {
    let body = ConfirmBody {
        h0: [0; 32],
        flags: ConfirmFlags::default(),
        cache_expiration: 0,
        signature: vec![7; 8],
    };
    let mut plain = Vec::new();
    body.encode(&mut plain);
    assert!(ConfirmBody::parse(&plain[..plain.len() - 4]).is_err());
    let mut longer = plain.clone();
    longer.extend_from_slice(&[0; 4]);
    assert!(ConfirmBody::parse(&longer).is_err());
    assert!(ConfirmBody::parse(&plain[..39]).is_err());
    assert!(ConfirmBody::parse(&[]).is_err());
}

#[test]
fn sas_relay_body_round_trips() {
    let body = SasRelayBody {
        flags: ConfirmFlags {
            pbx_enrollment_e: false,
            sas_verified_v: true,
            allow_clear_a: false,
            disclosure_d: true,
        },
        rendering: id(b"B256"),
        trusted_sas_hash: [0x5a; 32],
        signature: vec![1, 2, 3, 4],
    };
    let mut plain = Vec::new();
    body.encode(&mut plain);
    assert_eq!(plain.len(), SasRelayBody::FIXED_LEN + 4);
    assert_eq!(&plain[..8], &[0, 0, 1, 0x05, b'B', b'2', b'5', b'6']);
    assert_eq!(SasRelayBody::parse(&plain).unwrap(), body);
    assert!(SasRelayBody::parse(&plain[..40]).is_err());
}

#[test]
fn packet_checks_reject_what_they_should() {
    let good = seal(&encode(&Message::Hello(sample_hello())));
    assert!(parse_packet(&good).is_ok());

    let mut bad_crc = good.clone();
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 0x01;
    assert!(matches!(parse_packet(&bad_crc), Err(Error::BadCrc)));

    let mut fragmented = good.clone();
    fragmented[0] = 0x11;
    reseal(&mut fragmented);
    assert!(malformed(parse_packet(&fragmented)).contains("fragmented"));

    let mut no_cookie = good.clone();
    no_cookie[4] = b'X';
    reseal(&mut no_cookie);
    malformed(parse_packet(&no_cookie));

    let mut preamble = good.clone();
    preamble[HEADER_LEN] = 0x51;
    reseal(&mut preamble);
    malformed(parse_packet(&preamble));

    let mut length = good.clone();
    length[HEADER_LEN + 3] -= 1;
    reseal(&mut length);
    malformed(parse_packet(&length));

    let mut unknown = good.clone();
    unknown[HEADER_LEN + 4..HEADER_LEN + 12].copy_from_slice(b"Goodbye ");
    reseal(&mut unknown);
    assert_eq!(malformed(parse_packet(&unknown)), "unknown message type");

    for len in 0..good.len() {
        assert!(parse_packet(&good[..len]).is_err());
    }
}

#[test]
fn unused_header_bits_are_ignored() {
    let mut datagram = seal(&encode(&Message::RelayAck));
    datagram[1] = 0xff;
    reseal(&mut datagram);
    assert_eq!(parse_packet(&datagram).unwrap().message, Message::RelayAck);
}

#[test]
fn fixed_messages_reject_trailing_words() {
    let mut message = encode(&Message::ErrorAck);
    message.extend_from_slice(&[0; 4]);
    message[2..4].copy_from_slice(&4u16.to_be_bytes());
    assert_eq!(
        parse_message(&message).unwrap_err().to_string(),
        "malformed zrtp packet: trailing bytes after message"
    );
}

#[test]
fn crc_goes_out_least_significant_byte_first() {
    // bzrtp's HelloACK from test/bzrtpParserTest.c (sequence 0x09f2, SSRC 0x12345678).
    let captured: [u8; 28] = [
        0x10, 0x00, 0x09, 0xf2, 0x5a, 0x52, 0x54, 0x50, 0x12, 0x34, 0x56, 0x78, 0x50, 0x5a, 0x00,
        0x03, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x41, 0x43, 0x4b, 0x77, 0x0e, 0x44, 0x07,
    ];
    assert_eq!(crc32c::crc32c(&captured[..24]), 0x0744_0e77);
    let header = Header {
        sequence: 0x09f2,
        ssrc: 0x1234_5678,
    };
    assert_eq!(
        seal_packet_vec(header, &encode(&Message::HelloAck)),
        captured
    );
    let packet = parse_packet(&captured).unwrap();
    assert_eq!(packet.header, header);
    assert_eq!(packet.message, Message::HelloAck);
}

fn seal_packet_vec(header: Header, message: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    seal_packet(header, message, &mut out);
    out
}
