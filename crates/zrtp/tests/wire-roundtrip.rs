//! The wire codec against itself (proptest round trips, corruption, truncation, arbitrary
//! bytes) and against packets captured from bzrtp and libzrtpcpp.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use hmac::{Hmac, Mac};
use proptest::collection::vec;
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use sotto_zrtp::wire::{
    encode_message, parse_packet, seal_packet, Commit, CommitMode, Confirm, ConfirmBody,
    ConfirmFlags, DhPart, Header, Hello, Message, Ping, PingAck, SasRelay, SasRelayBody,
    HEADER_LEN, MAX_PUBLIC_VALUE_LEN, MAX_SIGNATURE_LEN, VERSION,
};
use sotto_zrtp::{AlgoId, Error, ErrorCode, Zid};

// ---------------------------------------------------------------------------------------------
// Strategies

fn algo_id() -> impl Strategy<Value = AlgoId> {
    prop_oneof![
        prop::sample::select(vec![
            *b"S256", *b"S384", *b"AES1", *b"AES3", *b"HS32", *b"HS80", *b"X255", *b"DH3k",
            *b"EC25", *b"Mult", *b"B32 ", *b"B256",
        ]),
        any::<[u8; 4]>(),
    ]
    .prop_map(AlgoId)
}

fn algo_list() -> impl Strategy<Value = Vec<AlgoId>> {
    vec(algo_id(), 0..=7)
}

fn hello() -> impl Strategy<Value = Hello> {
    (
        (
            any::<[u8; 4]>(),
            any::<[u8; 16]>(),
            any::<[u8; 32]>(),
            any::<[u8; 12]>(),
            any::<(bool, bool, bool)>(),
        ),
        (
            algo_list(),
            algo_list(),
            algo_list(),
            algo_list(),
            algo_list(),
        ),
        any::<[u8; 8]>(),
    )
        .prop_map(
            |(
                (version, client_id, h3, zid, (s, m, p)),
                (hashes, ciphers, auth_tags, key_agreements, sas_types),
                mac,
            )| Hello {
                version,
                client_id,
                h3,
                zid: Zid(zid),
                signature_capable: s,
                mitm: m,
                passive: p,
                hashes,
                ciphers,
                auth_tags,
                key_agreements,
                sas_types,
                mac,
            },
        )
}

fn commit() -> impl Strategy<Value = Commit> {
    let mode = prop_oneof![
        (
            algo_id().prop_filter("dh mode", |a| &a.0 != b"Mult" && &a.0 != b"Prsh"),
            any::<[u8; 32]>()
        )
            .prop_map(|(ka, hvi)| (ka, CommitMode::Dh { hvi })),
        any::<[u8; 16]>().prop_map(|nonce| (AlgoId(*b"Mult"), CommitMode::Multistream { nonce })),
        (any::<[u8; 16]>(), any::<[u8; 8]>()).prop_map(|(nonce, key_id)| (
            AlgoId(*b"Prsh"),
            CommitMode::Preshared { nonce, key_id }
        )),
    ];
    (
        any::<[u8; 32]>(),
        any::<[u8; 12]>(),
        (algo_id(), algo_id(), algo_id(), algo_id()),
        mode,
        any::<[u8; 8]>(),
    )
        .prop_map(
            |(h2, zid, (hash, cipher, auth_tag, sas_type), (key_agreement, mode), mac)| Commit {
                h2,
                zid: Zid(zid),
                hash,
                cipher,
                auth_tag,
                key_agreement,
                sas_type,
                mode,
                mac,
            },
        )
}

fn words(min: usize, max: usize) -> impl Strategy<Value = Vec<u8>> {
    (min / 4..=max / 4).prop_flat_map(|w| vec(any::<u8>(), w * 4))
}

fn dh_part() -> impl Strategy<Value = DhPart> {
    (
        any::<[u8; 32]>(),
        any::<[[u8; 8]; 4]>(),
        words(4, MAX_PUBLIC_VALUE_LEN),
        any::<[u8; 8]>(),
    )
        .prop_map(
            |(h1, [rs1_id, rs2_id, aux_secret_id, pbx_secret_id], public_value, mac)| DhPart {
                h1,
                rs1_id,
                rs2_id,
                aux_secret_id,
                pbx_secret_id,
                public_value,
                mac,
            },
        )
}

fn encrypted_part() -> impl Strategy<Value = ([u8; 8], [u8; 16], Vec<u8>)> {
    (
        any::<[u8; 8]>(),
        any::<[u8; 16]>(),
        words(40, 40 + MAX_SIGNATURE_LEN),
    )
}

fn confirm() -> impl Strategy<Value = Confirm> {
    encrypted_part().prop_map(|(confirm_mac, iv, encrypted)| Confirm {
        confirm_mac,
        iv,
        encrypted,
    })
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        hello().prop_map(Message::Hello),
        Just(Message::HelloAck),
        commit().prop_map(Message::Commit),
        dh_part().prop_map(Message::DhPart1),
        dh_part().prop_map(Message::DhPart2),
        confirm().prop_map(Message::Confirm1),
        confirm().prop_map(Message::Confirm2),
        Just(Message::Conf2Ack),
        any::<u32>().prop_map(|c| Message::Error(ErrorCode(c))),
        Just(Message::ErrorAck),
        any::<[u8; 8]>().prop_map(|clear_mac| Message::GoClear { clear_mac }),
        Just(Message::ClearAck),
        encrypted_part().prop_map(|(mac, iv, encrypted)| Message::SasRelay(SasRelay {
            mac,
            iv,
            encrypted
        })),
        Just(Message::RelayAck),
        (any::<[u8; 4]>(), any::<[u8; 8]>()).prop_map(|(version, endpoint_hash)| {
            Message::Ping(Ping {
                version,
                endpoint_hash,
            })
        }),
        (
            any::<[u8; 4]>(),
            any::<[u8; 8]>(),
            any::<[u8; 8]>(),
            any::<u32>()
        )
            .prop_map(
                |(version, source, received, ssrc)| Message::PingAck(PingAck {
                    version,
                    source_endpoint_hash: source,
                    received_endpoint_hash: received,
                    ssrc,
                })
            ),
    ]
}

fn header() -> impl Strategy<Value = Header> {
    (any::<u16>(), any::<u32>()).prop_map(|(sequence, ssrc)| Header { sequence, ssrc })
}

fn flags() -> impl Strategy<Value = ConfirmFlags> {
    any::<[bool; 4]>().prop_map(|[e, v, a, d]| ConfirmFlags {
        pbx_enrollment_e: e,
        sas_verified_v: v,
        allow_clear_a: a,
        disclosure_d: d,
    })
}

fn encode(message: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    encode_message(message, &mut out);
    out
}

fn seal(header: Header, message_bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    seal_packet(header, message_bytes, &mut out);
    out
}

/// Recomputes the CRC so a corrupted packet reaches the message parser.
fn reseal(datagram: &mut [u8]) {
    let covered = datagram.len() - 4;
    let crc = crc32c::crc32c(&datagram[..covered]);
    datagram[covered..].copy_from_slice(&crc.to_le_bytes());
}

// ---------------------------------------------------------------------------------------------
// Properties

proptest! {
    #[test]
    fn every_message_round_trips(message in message(), header in header()) {
        let bytes = encode(&message);
        prop_assert_eq!(bytes.len() % 4, 0);
        let datagram = seal(header, &bytes);
        prop_assert_eq!(datagram.len(), HEADER_LEN + bytes.len() + 4);
        let packet = parse_packet(&datagram).unwrap();
        prop_assert_eq!(packet.header, header);
        prop_assert_eq!(packet.raw, &bytes[..]);
        prop_assert_eq!(&packet.message, &message);
        // Encoding what was parsed gives the same bytes: retransmissions stay byte-identical.
        prop_assert_eq!(encode(&packet.message), bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..2200)) {
        let _ = parse_packet(&bytes);
        let _ = ConfirmBody::parse(&bytes);
        let _ = SasRelayBody::parse(&bytes);
    }

    #[test]
    fn arbitrary_bytes_behind_a_valid_header_never_panic(
        header in header(),
        body in vec(any::<u8>(), 0..1200),
        block in prop::sample::select(vec![
            *b"Hello   ", *b"HelloACK", *b"Commit  ", *b"DHPart1 ", *b"DHPart2 ", *b"Confirm1",
            *b"Confirm2", *b"Conf2ACK", *b"Error   ", *b"ErrorACK", *b"GoClear ", *b"ClearACK",
            *b"SASrelay", *b"RelayACK", *b"Ping    ", *b"PingACK ",
        ]),
        length_slack in -2i32..=2,
    ) {
        // A correct preamble, a plausible length field and a known type, so the message
        // parsers themselves see the hostile bytes.
        let mut message = vec![0x50, 0x5a, 0, 0];
        message.extend_from_slice(&block);
        message.extend_from_slice(&body);
        let words = (message.len() / 4) as i32 + length_slack;
        message[2..4].copy_from_slice(&(words.clamp(0, 0xffff) as u16).to_be_bytes());
        let datagram = seal(header, &message);
        if let Ok(packet) = parse_packet(&datagram) {
            prop_assert_eq!(packet.raw, &message[..]);
            // Unused flag bits are ignored, so the value, not the bytes, must survive.
            let again = encode(&packet.message);
            prop_assert_eq!(again.len(), message.len());
            prop_assert_eq!(parse_packet(&seal(header, &again)).unwrap().message, packet.message);
        }
    }

    #[test]
    fn any_bit_flip_is_rejected(message in message(), header in header(), bit in any::<prop::sample::Index>()) {
        let mut datagram = seal(header, &encode(&message));
        let bit = bit.index(datagram.len() * 8);
        datagram[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(parse_packet(&datagram).is_err());
    }

    #[test]
    fn bit_flips_past_the_crc_never_panic(
        message in message(),
        header in header(),
        bit in any::<prop::sample::Index>(),
    ) {
        let mut datagram = seal(header, &encode(&message));
        let bit = bit.index((datagram.len() - 4) * 8);
        datagram[bit / 8] ^= 1 << (bit % 8);
        reseal(&mut datagram);
        if let Ok(packet) = parse_packet(&datagram) {
            prop_assert_eq!(packet.raw, &datagram[HEADER_LEN..datagram.len() - 4]);
        }
    }

    #[test]
    fn truncated_or_extended_packets_are_rejected(
        message in message(),
        header in header(),
        cut in any::<prop::sample::Index>(),
        extra in vec(any::<u8>(), 1..16),
    ) {
        let datagram = seal(header, &encode(&message));
        let len = cut.index(datagram.len());
        prop_assert!(parse_packet(&datagram[..len]).is_err());
        // Dropping words from the message and fixing the CRC leaves a wrong length field.
        let mut shorter = datagram[..len.max(HEADER_LEN)].to_vec();
        shorter.extend_from_slice(&[0; 4]);
        if shorter.len() < datagram.len() {
            reseal(&mut shorter);
            prop_assert!(parse_packet(&shorter).is_err());
        }
        let mut longer = datagram.clone();
        longer.extend_from_slice(&extra);
        prop_assert!(parse_packet(&longer).is_err());
    }

    #[test]
    fn confirm_body_round_trips(
        h0 in any::<[u8; 32]>(),
        flags in flags(),
        cache_expiration in any::<u32>(),
        signature in words(0, MAX_SIGNATURE_LEN),
    ) {
        let body = ConfirmBody { h0, flags, cache_expiration, signature };
        let mut plain = Vec::new();
        body.encode(&mut plain);
        prop_assert_eq!(plain.len(), ConfirmBody::FIXED_LEN + body.signature.len());
        prop_assert_eq!(ConfirmBody::parse(&plain).unwrap(), body);
        prop_assert!(ConfirmBody::parse(&plain[..plain.len() - 1]).is_err());
    }

    #[test]
    fn sas_relay_body_round_trips(
        flags in flags(),
        rendering in algo_id(),
        trusted_sas_hash in any::<[u8; 32]>(),
        signature in words(0, MAX_SIGNATURE_LEN),
    ) {
        let body = SasRelayBody { flags, rendering, trusted_sas_hash, signature };
        let mut plain = Vec::new();
        body.encode(&mut plain);
        prop_assert_eq!(plain.len(), SasRelayBody::FIXED_LEN + body.signature.len());
        prop_assert_eq!(SasRelayBody::parse(&plain).unwrap(), body);
        prop_assert!(SasRelayBody::parse(&plain[..plain.len() - 1]).is_err());
    }
}

// ---------------------------------------------------------------------------------------------
// Known-good packets.
//
// bzrtp 5.1.x test/bzrtpParserTest.c `patternZRTPPackets` (captured from a call between two
// bzrtp endpoints, SSRCs 0x12345678 and 0x87654321, DH3k), its hash chains `H12345678` and
// `H87654321`, the Confirm keys `zrtpkeyi/r` and `mackeyi/r`, and `HelloPacketZrtpHash`, a Hello
// produced by libzrtpcpp.

const HELLO_12345678: &str = concat!(
    "100009f15a52545012345678505a001e48656c6c6f202020312e31304c494e50484f4e452d5a525450435050e8d526c1",
    "3a0c4c6ace18aac7c4a4070e657a4dca78f2cccd20503873e97e08297eb00497c0feb2c92431497f0001123153323536",
    "4145533148533332485338304448336b4448326b4d756c7442333220a0fd0fadebe08656e3658102",
);
const HELLO_87654321: &str = concat!(
    "100002ce5a52545087654321505a001e48656c6c6f202020312e31304c494e50484f4e452d5a5254504350508d0f5a20",
    "79974201994545f70e3106e105c0b924e9c978c738f59748ef426a3e9242c2cf44ee9c65ca5878f10001123153323536",
    "4145533148533332485338304448336b4448326b4d756c7442333220b3909195e467a321e35f9c92",
);
const HELLO_ACK: &str = "100009f25a52545012345678505a000348656c6c6f41434b770e4407";
const COMMIT: &str = concat!(
    "100002d05a52545087654321505a001d436f6d6d69742020d9ff148b34aa69e933c162e66be8cd9de30fb76ae86a622b",
    "cbe46b9105c7c87e9242c2cf44ee9c65ca5878f15332353641455331485333324448336b423332201ec0fe2e72064dfb",
    "fc92028c030fb8f891b4e796ac25fdf968c6e967a942b15bbb6d9cd24b13a9ae255ca9c1",
);
const DH_PART1: &str = concat!(
    "100009f55a52545012345678505a00754448506172743120287c28e4d73d1439b56d1c479d590af21033de6bd52bfb26",
    "a5874de9206b9fddabbcc68dbd5de667006944b1842c27108c4e588aed7e8b442c3a1302df58b6da8055ecb020c77650",
    "c41ba826115cf5717eb4862217de1408465cac888c416b9522baf83e672094a084a393419a1a7c2f04f4143f115402ba",
    "eec220fa38f7baa4bf4a700268dcb2e91a8a87a5e49c42078226b4dae31bdc78c7d8a8005c0014e400fe6c2dce62c971",
    "5ded4e669ff530c00453f6152fe1853bd9409b5007437c3601a1da66c4202f45c0ccb264639c079d232780a17fc2e0a0",
    "fdc39883a3aa6bdc9f6ac33294f080a0d9f1834148a9b5ed625088ec3332d25fdcccaec974ca0aab820601463530cd68",
    "ec09ab8cb039e5d85ca2e482fe4601bde77f601b5062fb6fee6cf1f79bb71c7648b5bea5837307a2e273c76834c8ef12",
    "c432df373ddc070ea69282bdba20c4b48d1f191c150f5f01df671f59d15e9960f6b867e246621130fb819d0bec36e98d",
    "43fe55d961983f2e396a2643b06d08ec2e427e23826fd9bbfd0acd48e7d58ba58034ca964f5825ba435e3d1cee72b835",
    "8c5dd96924583621b045a4ad40da94980fb1ed6cad26030482ff150041870693d486a97eb8d970346d8e6a16e24652b0",
    "785453af",
);
const DH_PART2: &str = concat!(
    "100002d15a52545087654321505a007544485061727432209eb2a58be89637f55a4134b2ecda8495f0f89bab614f7c9e",
    "56b73bd346babe9aae9797da5f9f89bafe61665f9ea45bcbd569cffbfddcac79ac1d0be51575392ee5a92a60d7e348d0",
    "1fd86165fd2e5cef43f56399b34525e3bcf0e1adf784cd8220e36f2c7751f1112e4a2cfd2f5e74a93799fff74c2da8cf",
    "51fd5be751146dbc2f5bb97785adb47299ad7b6c6adf4dca2fef8b5e4bf3d9fdbd471a72e241d8faa12500a3fe12daf6",
    "16b3b30802fd0a6aab8517d70ff46bdf8fe205f45b1326a9e257b6da76173c52138d83c02be72ebdb0de984f7a95a175",
    "196eda19ff7fdd7001123c9ed7fec32239ce4f86d8854075d4fe9357bc9b01a47135709d6291474e32a2761606afc7e3",
    "e5dc25ace76825690f978d91328123b108f3a32b3dfbcf99120a59b9bb761671a20b0a5a6c37999de63a0589f7c6fcf3",
    "fe36977786e47c48930b268e31e922ccd3e05629c826e61fa8b89398ecd97c4a45d371359f14c199d5210bfa0ffb317a",
    "a07035b39b1be765fde37d0bcc344bf15a9f19a48fc830f18799c275552a34d7819c541282695f8b01c14595f5b12d27",
    "0da9c393542f57047b20b7ac3368b3ef9a3395829dfa2ab988060488512c46db83d72fea1f0f24ab03efb061c790dc78",
    "17f29aab",
);
const CONFIRM1: &str = concat!(
    "100009f65a52545012345678505a0013436f6e6669726d31b121eee267a4fda694249a60f02e5ed933e1d84154a37cea",
    "e961aef9190db368689ef81a189187c56e5e2d5e32a2b26631b8e559c910bba0006cee0c6dfbeb3285b66e93",
);
const CONFIRM2: &str = concat!(
    "100002d25a52545087654321505a0013436f6e6669726d320fecfa4b45179db3927d1c53860112d92548ca18b9109504",
    "b7c8ee872bec593992961173a6692b11cd1da173b2c9296f82326a0a564057fbacab20b8e2a92c616a05e8b5",
);
const CONF2_ACK: &str = "100009f75a52545012345678505a0003436f6e663241434b23c11b45";
const HELLO_LIBZRTPCPP: &str = concat!(
    "100000015a52545076dca7bd505a002648656c6c6f202020312e3130504a53205a52545020332e302e302020e4ba78ba",
    "a02ad4361ab8d2dd578a6816bbe405b869b7af064d1c09531cebc6292012a2f06cfd0ffb88d8e6520002445153333834",
    "5332353632465333414553333246533141455331534b3332534b36344853333248533830454332354448336b45433338",
    "4448326b4d756c744233322005c9f1872b41a99a0a1dcd3c",
);
const ZRTPKEYR: &str = "0950cd9ec2785431932e99311558d02a";
const MACKEYR: &str = "3aa5224326138fd6545940b85cf40f0cbc9c4f7d55eb4ba51e1c42d05eac1206";
const ZRTPKEYI: &str = "22f6eaaaa4ad53307197cc686bb0cb55";
const MACKEYI: &str = "dc47e1c74811b154142a91299fa48b4587168d3ae6b00c084fa548d596671a1b";

/// H0..H3 of the endpoint with SSRC 0x12345678 (bzrtpParserTest.c `H12345678`).
const H_12345678: [&str; 4] = [
    "bbbf7eb114d5d40c6bb0795819c1d083c9e1f42e11cd7ec3aad8b917e6b59e86",
    "287c28e4d73d1439b56d1c479d590af21033de6bd52bfb26a5874de9206b9fdd",
    "7012ef2e852ffc84b88dcc03d78f530163fbd3b02dbb9e98220de3e36425040f",
    "e8d526c13a0c4c6ace18aac7c4a4070e657a4dca78f2cccd20503873e97e0829",
];
/// H0..H3 of the endpoint with SSRC 0x87654321 (bzrtpParserTest.c `H87654321`).
const H_87654321: [&str; 4] = [
    "0902cc13c48403316891054de06df4c96ab5be82e83733b7a9cebeb542aa54ba",
    "9eb2a58be89637f55a4134b2ecda8495f0f89bab614f7c9e56b73bd346babe9a",
    "d9ff148b34aa69e933c162e66be8cd9de30fb76ae86a622bcbe46b9105c7c87e",
    "8d0f5a2079974201994545f70e3106e105c0b924e9c978c738f59748ef426a3e",
];

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

fn hex32(s: &str) -> [u8; 32] {
    hex(s).try_into().unwrap()
}

fn ids(names: &[&[u8; 4]]) -> Vec<AlgoId> {
    names.iter().map(|n| AlgoId(**n)).collect()
}

fn hmac_sha256_64(key: &[u8], data: &[u8]) -> [u8; 8] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes()[..8].try_into().unwrap()
}

/// Checks the message MAC the way a receiver does once it learns the next hash image: HMAC
/// keyed with that image over the raw message without its last 8 bytes.
fn assert_message_mac(raw: &[u8], key: &[u8; 32], mac: &[u8; 8]) {
    assert_eq!(&hmac_sha256_64(key, &raw[..raw.len() - 8]), mac);
}

/// Parses a captured packet, checks that re-encoding reproduces it byte for byte, and returns
/// the message.
fn parse_vector(hex_packet: &str, sequence: u16, ssrc: u32) -> (Vec<u8>, Message) {
    let datagram = hex(hex_packet);
    let packet = parse_packet(&datagram).unwrap();
    assert_eq!(packet.header, Header { sequence, ssrc });
    assert_eq!(packet.raw, &datagram[HEADER_LEN..datagram.len() - 4]);
    let bytes = encode(&packet.message);
    assert_eq!(bytes, packet.raw);
    assert_eq!(seal(packet.header, &bytes), datagram);
    (packet.raw.to_vec(), packet.message)
}

#[test]
fn hash_chain_vectors_are_consistent() {
    for chain in [H_12345678, H_87654321] {
        for i in 0..3 {
            let next: [u8; 32] = Sha256::digest(hex32(chain[i])).into();
            assert_eq!(next, hex32(chain[i + 1]));
        }
    }
}

#[test]
fn bzrtp_hello_parses() {
    let (raw, message) = parse_vector(HELLO_12345678, 0x09f1, 0x1234_5678);
    let Message::Hello(hello) = message else {
        panic!("not a hello: {message:?}")
    };
    assert_eq!(hello.version, VERSION);
    assert_eq!(&hello.client_id, b"LINPHONE-ZRTPCPP");
    assert_eq!(hello.h3, hex32(H_12345678[3]));
    assert_eq!(hello.zid.0.to_vec(), hex("7eb00497c0feb2c92431497f"));
    assert!(!hello.signature_capable && !hello.mitm && !hello.passive);
    assert_eq!(hello.hashes, ids(&[b"S256"]));
    assert_eq!(hello.ciphers, ids(&[b"AES1"]));
    assert_eq!(hello.auth_tags, ids(&[b"HS32", b"HS80"]));
    assert_eq!(hello.key_agreements, ids(&[b"DH3k", b"DH2k", b"Mult"]));
    assert_eq!(hello.sas_types, ids(&[b"B32 "]));
    assert_message_mac(&raw, &hex32(H_12345678[2]), &hello.mac);

    let (raw, message) = parse_vector(HELLO_87654321, 0x02ce, 0x8765_4321);
    let Message::Hello(hello) = message else {
        panic!("not a hello: {message:?}")
    };
    assert_eq!(hello.h3, hex32(H_87654321[3]));
    assert_message_mac(&raw, &hex32(H_87654321[2]), &hello.mac);
}

#[test]
fn libzrtpcpp_hello_parses_with_unknown_algorithms() {
    let (_, message) = parse_vector(HELLO_LIBZRTPCPP, 0x0001, 0x76dc_a7bd);
    let Message::Hello(hello) = message else {
        panic!("not a hello: {message:?}")
    };
    assert_eq!(&hello.client_id, b"PJS ZRTP 3.0.0  ");
    assert_eq!(hello.hashes, ids(&[b"S384", b"S256"]));
    assert_eq!(hello.ciphers, ids(&[b"2FS3", b"AES3", b"2FS1", b"AES1"]));
    assert_eq!(hello.auth_tags, ids(&[b"SK32", b"SK64", b"HS32", b"HS80"]));
    assert_eq!(
        hello.key_agreements,
        ids(&[b"EC25", b"DH3k", b"EC38", b"DH2k", b"Mult"])
    );
    assert_eq!(hello.sas_types, ids(&[b"B32 "]));
}

#[test]
fn bzrtp_handshake_packets_parse() {
    let (_, message) = parse_vector(HELLO_ACK, 0x09f2, 0x1234_5678);
    assert_eq!(message, Message::HelloAck);

    let (raw, message) = parse_vector(COMMIT, 0x02d0, 0x8765_4321);
    let Message::Commit(commit) = message else {
        panic!("not a commit: {message:?}")
    };
    assert_eq!(commit.h2, hex32(H_87654321[2]));
    assert_eq!(commit.zid.0.to_vec(), hex("9242c2cf44ee9c65ca5878f1"));
    assert_eq!(
        [
            commit.hash,
            commit.cipher,
            commit.auth_tag,
            commit.key_agreement,
            commit.sas_type
        ],
        [b"S256", b"AES1", b"HS32", b"DH3k", b"B32 "].map(|n| AlgoId(*n))
    );
    assert!(matches!(commit.mode, CommitMode::Dh { .. }));
    assert_message_mac(&raw, &hex32(H_87654321[1]), &commit.mac);

    for (packet, sequence, ssrc, chain, part1) in [
        (DH_PART1, 0x09f5, 0x1234_5678, H_12345678, true),
        (DH_PART2, 0x02d1, 0x8765_4321, H_87654321, false),
    ] {
        let (raw, message) = parse_vector(packet, sequence, ssrc);
        let dh = match (message, part1) {
            (Message::DhPart1(dh), true) | (Message::DhPart2(dh), false) => dh,
            (other, _) => panic!("wrong dhpart: {other:?}"),
        };
        assert_eq!(dh.h1, hex32(chain[1]));
        assert_eq!(dh.public_value.len(), 384, "DH3k public value");
        assert_message_mac(&raw, &hex32(chain[0]), &dh.mac);
    }

    let (_, message) = parse_vector(CONF2_ACK, 0x09f7, 0x1234_5678);
    assert_eq!(message, Message::Conf2Ack);
}

#[test]
fn bzrtp_confirms_decrypt_to_their_bodies() {
    use aes::cipher::{AsyncStreamCipher, KeyIvInit};
    type Aes128CfbDec = cfb_mode::Decryptor<aes::Aes128>;

    // Confirm1 comes from the responder (0x12345678) under its keys, Confirm2 from the initiator.
    for (packet, sequence, ssrc, key, mac_key, chain, first) in [
        (
            CONFIRM1,
            0x09f6,
            0x1234_5678,
            ZRTPKEYR,
            MACKEYR,
            H_12345678,
            true,
        ),
        (
            CONFIRM2,
            0x02d2,
            0x8765_4321,
            ZRTPKEYI,
            MACKEYI,
            H_87654321,
            false,
        ),
    ] {
        let (_, message) = parse_vector(packet, sequence, ssrc);
        let confirm = match (message, first) {
            (Message::Confirm1(c), true) | (Message::Confirm2(c), false) => c,
            (other, _) => panic!("wrong confirm: {other:?}"),
        };
        assert_eq!(confirm.encrypted.len(), ConfirmBody::FIXED_LEN);
        assert_eq!(
            hmac_sha256_64(&hex(mac_key), &confirm.encrypted),
            confirm.confirm_mac
        );
        let mut plain = confirm.encrypted.clone();
        Aes128CfbDec::new_from_slices(&hex(key), &confirm.iv)
            .unwrap()
            .decrypt(&mut plain);
        let body = ConfirmBody::parse(&plain).unwrap();
        assert_eq!(body.h0, hex32(chain[0]));
        assert_eq!(body.flags, ConfirmFlags::default());
        assert_eq!(body.cache_expiration, 0xffff_ffff);
        assert!(body.signature.is_empty());
        let mut again = Vec::new();
        body.encode(&mut again);
        assert_eq!(again, plain);
    }
}

#[test]
fn a_damaged_capture_is_a_crc_error() {
    let mut datagram = hex(COMMIT);
    datagram[40] ^= 0x80;
    assert!(matches!(parse_packet(&datagram), Err(Error::BadCrc)));
}
