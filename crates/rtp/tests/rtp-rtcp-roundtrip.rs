//! RTP and RTCP codecs against themselves (proptest round trips for every packet type and for
//! compound packets), against packets from pion/webrtc-rs test suites, and against damaged
//! input: truncation, bit flips and arbitrary bytes never panic.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use proptest::collection::vec;
use proptest::prelude::*;
use sotto_rtp::rtcp::{
    parse_compound, write_compound, Bye, Fir, FirEntry, Nack, NackPair, Pli, ReceiverReport,
    ReportBlock, RtcpPacket, Sdes, SdesChunk, SdesItem, SenderInfo, SenderReport,
};
use sotto_rtp::rtp::RtpWriter;
use sotto_rtp::{Error, RtpHeader, RtpPacket};

// ---------------------------------------------------------------------------------------------
// RTP

#[derive(Debug, Clone)]
struct RtpCase {
    marker: bool,
    payload_type: u8,
    sequence: u16,
    timestamp: u32,
    ssrc: u32,
    csrcs: Vec<u32>,
    extension: Option<(u16, Vec<u8>)>,
    padding: u8,
    payload: Vec<u8>,
}

fn rtp_case() -> impl Strategy<Value = RtpCase> {
    (
        any::<bool>(),
        0u8..128,
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
        vec(any::<u32>(), 0..=15),
        proptest::option::of((any::<u16>(), vec(any::<u8>(), 0..40))),
        any::<u8>(),
        vec(any::<u8>(), 0..300),
    )
        .prop_map(
            |(
                marker,
                payload_type,
                sequence,
                timestamp,
                ssrc,
                csrcs,
                extension,
                padding,
                payload,
            )| {
                RtpCase {
                    marker,
                    payload_type,
                    sequence,
                    timestamp,
                    ssrc,
                    csrcs,
                    extension,
                    padding,
                    payload,
                }
            },
        )
}

fn write_rtp(case: &RtpCase) -> Vec<u8> {
    let writer = RtpWriter {
        marker: case.marker,
        payload_type: case.payload_type,
        sequence: case.sequence,
        timestamp: case.timestamp,
        ssrc: case.ssrc,
        csrcs: &case.csrcs,
        extension: case.extension.as_ref().map(|(p, d)| (*p, &d[..])),
        padding: case.padding,
    };
    let mut buf = vec![0u8; 2048];
    let len = writer.write(&case.payload, &mut buf).unwrap();
    assert_eq!(
        len,
        writer.header_len() + case.payload.len() + usize::from(case.padding)
    );
    buf.truncate(len);
    buf
}

proptest! {
    #[test]
    fn rtp_round_trips(case in rtp_case()) {
        let bytes = write_rtp(&case);
        let packet = RtpPacket::parse(&bytes).unwrap();
        let h = packet.header;
        prop_assert_eq!(h.marker, case.marker);
        prop_assert_eq!(h.payload_type, case.payload_type);
        prop_assert_eq!(h.sequence, case.sequence);
        prop_assert_eq!(h.timestamp, case.timestamp);
        prop_assert_eq!(h.ssrc, case.ssrc);
        prop_assert_eq!(usize::from(h.csrc_count), case.csrcs.len());
        prop_assert_eq!(h.csrcs(), &case.csrcs[..]);
        prop_assert_eq!(h.padding, case.padding > 0);
        prop_assert_eq!(packet.payload, &case.payload[..]);
        match (&case.extension, h.extension) {
            (None, None) => {}
            (Some((profile, data)), Some(ext)) => {
                prop_assert_eq!(ext.profile, *profile);
                let got = ext.data(&bytes);
                prop_assert_eq!(got.len(), data.len().div_ceil(4) * 4);
                prop_assert_eq!(&got[..data.len()], &data[..]);
                prop_assert!(got[data.len()..].iter().all(|&b| b == 0));
            }
            (want, got) => prop_assert!(false, "extension {want:?} parsed as {got:?}"),
        }
        // The header alone parses the same, and payload_range agrees with the packet view.
        let header = RtpHeader::parse(&bytes).unwrap();
        prop_assert_eq!(header, h);
        prop_assert_eq!(&bytes[header.payload_range(&bytes).unwrap()], packet.payload);
    }

    #[test]
    fn rtp_truncation_and_bit_flips_never_panic(case in rtp_case(), flip in any::<(usize, u8)>()) {
        let bytes = write_rtp(&case);
        for len in 0..bytes.len() {
            let _ = RtpPacket::parse(&bytes[..len]);
        }
        let mut damaged = bytes.clone();
        let at = flip.0 % damaged.len();
        damaged[at] ^= flip.1 | 1;
        if let Ok(packet) = RtpPacket::parse(&damaged) {
            prop_assert!(packet.header.header_len + packet.payload.len() <= damaged.len());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..200)) {
        if let Ok(packet) = RtpPacket::parse(&bytes) {
            prop_assert!(packet.header.header_len <= bytes.len());
            if let Some(ext) = packet.header.extension {
                for element in ext.elements(&bytes) {
                    let _ = element;
                }
            }
        }
        for packet in parse_compound(&bytes) {
            let _ = packet.map(|p| format!("{p:?}"));
        }
    }
}

/// The RTP packet of pion/webrtc-rs `rtp` tests: marker, PT 96, one-word extension.
const PION_RTP: [u8; 25] = [
    0x90, 0xe0, 0x69, 0x8f, 0xd9, 0xc2, 0x93, 0xda, 0x1c, 0x64, 0x27, 0x82, 0x00, 0x01, 0x00, 0x01,
    0xff, 0xff, 0xff, 0xff, 0x98, 0x36, 0xbe, 0x88, 0x9e,
];

#[test]
fn parses_pion_rtp_packet_and_rewrites_it_byte_for_byte() {
    let packet = RtpPacket::parse(&PION_RTP).unwrap();
    let h = packet.header;
    assert!(h.marker);
    assert_eq!(h.payload_type, 96);
    assert_eq!(h.sequence, 27023);
    assert_eq!(h.timestamp, 3_653_407_706);
    assert_eq!(h.ssrc, 476_325_762);
    assert_eq!(h.header_len, 20);
    let ext = h.extension.unwrap();
    assert_eq!((ext.profile, ext.data(&PION_RTP)), (1, &[0xff; 4][..]));
    assert_eq!(packet.payload, &[0x98, 0x36, 0xbe, 0x88, 0x9e]);

    let mut writer = RtpWriter::new(96, 27023, 3_653_407_706, 476_325_762);
    writer.marker = true;
    writer.extension = Some((1, &[0xff; 4]));
    let mut buf = [0u8; 64];
    let len = writer.write(packet.payload, &mut buf).unwrap();
    assert_eq!(&buf[..len], &PION_RTP);
}

#[test]
fn rtp_rejects_what_it_must() {
    assert!(matches!(
        RtpPacket::parse(&PION_RTP[..11]),
        Err(Error::TooShort(_))
    ));
    // Extension header claims more words than present.
    assert!(matches!(
        RtpPacket::parse(&PION_RTP[..19]),
        Err(Error::TooShort(_))
    ));
    let mut v1 = PION_RTP;
    v1[0] = 0x50;
    assert!(matches!(RtpPacket::parse(&v1), Err(Error::Malformed(_))));
    // CSRC count 15 with no CSRCs present.
    let mut csrc = PION_RTP;
    csrc[0] = 0x8f;
    assert!(matches!(RtpPacket::parse(&csrc), Err(Error::TooShort(_))));

    let mut buf = [0u8; 16];
    let err = RtpWriter::new(0, 0, 0, 0)
        .write(&[0; 8], &mut buf)
        .unwrap_err();
    assert!(matches!(
        err,
        Error::BufferTooSmall {
            needed: 20,
            have: 16
        }
    ));
    let mut writer = RtpWriter::new(0, 0, 0, 0);
    writer.csrcs = &[0; 16];
    assert!(matches!(
        writer.write(&[], &mut [0; 128]),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        RtpWriter::new(128, 0, 0, 0).write(&[], &mut [0; 128]),
        Err(Error::InvalidArgument(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// RTCP

fn report_block() -> impl Strategy<Value = ReportBlock> {
    (
        any::<u32>(),
        any::<u8>(),
        -0x80_0000i32..=0x7f_ffff,
        any::<[u32; 4]>(),
    )
        .prop_map(
            |(ssrc, fraction_lost, cumulative_lost, [ext, jitter, lsr, dlsr])| ReportBlock {
                ssrc,
                fraction_lost,
                cumulative_lost,
                extended_highest_seq: ext,
                jitter,
                last_sr: lsr,
                delay_since_last_sr: dlsr,
            },
        )
}

/// SDES chunks as owned (ssrc, [(item type, value)]).
type SdesOwned = Vec<(u32, Vec<(u8, Vec<u8>)>)>;

/// Owned values of one RTCP packet; `view` borrows them as the codec's type.
#[derive(Debug, Clone)]
enum Owned {
    Sr(u32, SenderInfo, Vec<ReportBlock>),
    Rr(u32, Vec<ReportBlock>),
    Sdes(SdesOwned),
    Bye(Vec<u32>, Option<Vec<u8>>),
    Nack(u32, u32, Vec<NackPair>),
    Pli(u32, u32),
    Fir(u32, u32, Vec<FirEntry>),
}

fn owned() -> impl Strategy<Value = Owned> {
    let info = any::<(u64, u32, u32, u32)>().prop_map(|(ntp, rtp, packets, octets)| SenderInfo {
        ntp_timestamp: ntp,
        rtp_timestamp: rtp,
        packet_count: packets,
        octet_count: octets,
    });
    let item = (1u8..=255, vec(any::<u8>(), 0..=255));
    prop_oneof![
        (any::<u32>(), info, vec(report_block(), 0..=31)).prop_map(|(s, i, b)| Owned::Sr(s, i, b)),
        (any::<u32>(), vec(report_block(), 0..=31)).prop_map(|(s, b)| Owned::Rr(s, b)),
        vec((any::<u32>(), vec(item, 0..4)), 0..=31).prop_map(Owned::Sdes),
        (
            vec(any::<u32>(), 0..=31),
            proptest::option::of(vec(any::<u8>(), 0..=255))
        )
            .prop_map(|(s, r)| Owned::Bye(s, r)),
        (any::<u32>(), any::<u32>(), vec(any::<(u16, u16)>(), 1..20)).prop_map(|(a, b, p)| {
            Owned::Nack(
                a,
                b,
                p.into_iter()
                    .map(|(pid, blp)| NackPair { pid, blp })
                    .collect(),
            )
        }),
        any::<(u32, u32)>().prop_map(|(a, b)| Owned::Pli(a, b)),
        (any::<u32>(), any::<u32>(), vec(any::<(u32, u8)>(), 1..10)).prop_map(|(a, b, e)| {
            Owned::Fir(
                a,
                b,
                e.into_iter()
                    .map(|(ssrc, seq_nr)| FirEntry { ssrc, seq_nr })
                    .collect(),
            )
        }),
    ]
}

/// Borrowed SDES structure built from `Owned::Sdes` data.
struct SdesStore<'a> {
    items: Vec<Vec<SdesItem<'a>>>,
}

fn sdes_store(chunks: &SdesOwned) -> SdesStore<'_> {
    SdesStore {
        items: chunks
            .iter()
            .map(|(_, items)| {
                items
                    .iter()
                    .map(|(kind, value)| SdesItem { kind: *kind, value })
                    .collect()
            })
            .collect(),
    }
}

fn view<'a>(packet: &'a Owned, sdes: &'a [SdesChunk<'a>]) -> RtcpPacket<'a> {
    match packet {
        Owned::Sr(ssrc, info, blocks) => RtcpPacket::SenderReport(SenderReport {
            ssrc: *ssrc,
            info: *info,
            blocks: blocks[..].into(),
        }),
        Owned::Rr(ssrc, blocks) => RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: *ssrc,
            blocks: blocks[..].into(),
        }),
        Owned::Sdes(_) => RtcpPacket::Sdes(Sdes::from(sdes)),
        Owned::Bye(sources, reason) => RtcpPacket::Bye(Bye {
            sources: sources[..].into(),
            reason: reason.as_deref(),
        }),
        Owned::Nack(sender_ssrc, media_ssrc, pairs) => RtcpPacket::Nack(Nack {
            sender_ssrc: *sender_ssrc,
            media_ssrc: *media_ssrc,
            pairs: pairs[..].into(),
        }),
        Owned::Pli(sender_ssrc, media_ssrc) => RtcpPacket::Pli(Pli {
            sender_ssrc: *sender_ssrc,
            media_ssrc: *media_ssrc,
        }),
        Owned::Fir(sender_ssrc, media_ssrc, entries) => RtcpPacket::Fir(Fir {
            sender_ssrc: *sender_ssrc,
            media_ssrc: *media_ssrc,
            entries: entries[..].into(),
        }),
    }
}

/// Runs `check` on the borrowed views of `owned` packets.
fn with_views(owned: &[Owned], check: impl FnOnce(&[RtcpPacket<'_>])) {
    let empty = Vec::new();
    let stores: Vec<SdesStore<'_>> = owned
        .iter()
        .map(|o| match o {
            Owned::Sdes(chunks) => sdes_store(chunks),
            _ => sdes_store(&empty),
        })
        .collect();
    let chunks: Vec<Vec<SdesChunk<'_>>> = owned
        .iter()
        .zip(&stores)
        .map(|(o, store)| match o {
            Owned::Sdes(chunks) => chunks
                .iter()
                .zip(&store.items)
                .map(|((ssrc, _), items)| SdesChunk {
                    ssrc: *ssrc,
                    items: items[..].into(),
                })
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    let views: Vec<RtcpPacket<'_>> = owned.iter().zip(&chunks).map(|(o, c)| view(o, c)).collect();
    check(&views);
}

proptest! {
    #[test]
    fn each_rtcp_packet_round_trips(packet in owned(), padding in (0u8..64).prop_map(|p| p * 4)) {
        with_views(std::slice::from_ref(&packet), |views| {
            let mut buf = vec![0u8; 8192];
            let len = views[0].write(padding, &mut buf).unwrap();
            assert_eq!(len, views[0].encoded_len().unwrap() + usize::from(padding));
            assert_eq!(len % 4, 0);
            let parsed: Vec<_> = parse_compound(&buf[..len]).collect::<Result<_, _>>().unwrap();
            assert_eq!(parsed, views);
        });
    }

    #[test]
    fn compound_round_trips(packets in vec(owned(), 1..6), padding in (0u8..8).prop_map(|p| p * 4)) {
        with_views(&packets, |views| {
            let mut buf = vec![0u8; 32_768];
            let len = write_compound(views, padding, &mut buf).unwrap();
            let parsed: Vec<_> = parse_compound(&buf[..len]).collect::<Result<_, _>>().unwrap();
            assert_eq!(parsed, views);
            // Too small a buffer is an error naming the size needed, never a panic.
            match write_compound(views, padding, &mut buf[..len - 1]) {
                Err(Error::BufferTooSmall { needed, .. }) => assert!(needed > len - 1),
                other => panic!("{other:?}"),
            }
        });
    }

    #[test]
    fn rtcp_truncation_and_bit_flips_never_panic(
        packets in vec(owned(), 1..4),
        flips in vec(any::<(usize, u8)>(), 1..4),
    ) {
        with_views(&packets, |views| {
            let mut buf = vec![0u8; 16_384];
            let len = write_compound(views, 0, &mut buf).unwrap();
            let bytes = &buf[..len];
            let mut boundaries = vec![0];
            for view in views {
                boundaries.push(boundaries.last().unwrap() + view.encoded_len().unwrap());
            }
            for cut in 0..len {
                let results: Vec<_> = parse_compound(&bytes[..cut]).collect();
                // Cut at a packet boundary it is a shorter compound packet; anywhere else the
                // walk ends in an error.
                match boundaries.iter().position(|&b| b == cut) {
                    Some(n) => assert!(results.len() == n && results.iter().all(Result::is_ok)),
                    None => assert!(results.last().unwrap().is_err()),
                }
            }
            let mut damaged = bytes.to_vec();
            for (at, mask) in &flips {
                let at = at % damaged.len();
                damaged[at] ^= mask | 1;
            }
            for packet in parse_compound(&damaged).flatten() {
                let _ = format!("{packet:?}");
                let mut out = vec![0u8; 16_384];
                let _ = packet.write(0, &mut out);
            }
        });
    }
}

/// The compound packet of pion/webrtc-rs `rtcp` tests: RR, SDES, BYE, PLI and an RRR
/// (RTPFB FMT 5), which sotto does not handle and skips.
const PION_COMPOUND: [u8; 116] = [
    0x81, 0xc9, 0x0, 0x7, 0x90, 0x2f, 0x9e, 0x2e, 0xbc, 0x5e, 0x9a, 0x40, 0x0, 0x0, 0x0, 0x0, 0x0,
    0x0, 0x46, 0xe1, 0x0, 0x0, 0x1, 0x11, 0x9, 0xf3, 0x64, 0x32, 0x0, 0x2, 0x4a, 0x79, // RR
    0x81, 0xca, 0x0, 0xc, 0x90, 0x2f, 0x9e, 0x2e, 0x1, 0x26, 0x7b, 0x39, 0x63, 0x30, 0x30, 0x65,
    0x62, 0x39, 0x32, 0x2d, 0x31, 0x61, 0x66, 0x62, 0x2d, 0x39, 0x64, 0x34, 0x39, 0x2d, 0x61, 0x34,
    0x37, 0x64, 0x2d, 0x39, 0x31, 0x66, 0x36, 0x34, 0x65, 0x65, 0x65, 0x36, 0x39, 0x66, 0x35, 0x7d,
    0x0, 0x0, 0x0, 0x0, // SDES
    0x81, 0xcb, 0x0, 0x1, 0x90, 0x2f, 0x9e, 0x2e, // BYE
    0x81, 0xce, 0x0, 0x2, 0x90, 0x2f, 0x9e, 0x2e, 0x90, 0x2f, 0x9e, 0x2e, // PLI
    0x85, 0xcd, 0x0, 0x2, 0x90, 0x2f, 0x9e, 0x2e, 0x90, 0x2f, 0x9e, 0x2e, // RRR
];

#[test]
fn parses_pion_compound_and_skips_unknown_feedback() {
    let packets: Vec<_> = parse_compound(&PION_COMPOUND)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(packets.len(), 4);
    let RtcpPacket::ReceiverReport(rr) = packets[0] else {
        panic!("{:?}", packets[0])
    };
    assert_eq!(rr.ssrc, 0x902f_9e2e);
    let blocks: Vec<_> = rr.blocks.iter().collect();
    assert_eq!(
        blocks,
        [ReportBlock {
            ssrc: 0xbc5e_9a40,
            fraction_lost: 0,
            cumulative_lost: 0,
            extended_highest_seq: 0x46e1,
            jitter: 273,
            last_sr: 0x09f3_6432,
            delay_since_last_sr: 150_137,
        }]
    );
    let RtcpPacket::Sdes(sdes) = packets[1] else {
        panic!("{:?}", packets[1])
    };
    let chunk = sdes.chunks().next().unwrap();
    assert_eq!(chunk.ssrc, 0x902f_9e2e);
    assert_eq!(
        chunk.cname(),
        Some(&b"{9c00eb92-1afb-9d49-a47d-91f64eee69f5}"[..])
    );
    let RtcpPacket::Bye(bye) = packets[2] else {
        panic!("{:?}", packets[2])
    };
    assert_eq!(bye.sources.iter().collect::<Vec<_>>(), [0x902f_9e2e]);
    assert_eq!(bye.reason, None);
    assert_eq!(
        packets[3],
        RtcpPacket::Pli(Pli {
            sender_ssrc: 0x902f_9e2e,
            media_ssrc: 0x902f_9e2e
        })
    );

    // Everything but the skipped RRR re-encodes to the same bytes.
    let mut buf = [0u8; 128];
    let len = write_compound(&packets, 0, &mut buf).unwrap();
    assert_eq!(&buf[..len], &PION_COMPOUND[..104]);
}

#[test]
fn rtcp_lengths_are_checked_before_use() {
    // Length field larger than the datagram.
    assert!(matches!(
        parse_compound(&PION_COMPOUND[..31]).next(),
        Some(Err(Error::TooShort(_)))
    ));
    // RR announcing two blocks in a packet that holds one.
    let mut two = PION_COMPOUND;
    two[0] = 0x82;
    assert!(matches!(
        parse_compound(&two[..32]).next(),
        Some(Err(Error::TooShort(_)))
    ));
    // Padding count larger than the body.
    let mut pad = PION_COMPOUND;
    pad[84] = 0xa1;
    pad[91] = 9;
    let last: Vec<_> = parse_compound(&pad[..92]).collect();
    assert!(matches!(last.last(), Some(Err(Error::Malformed(_)))));
    // Padding on a packet that is not the last.
    let mut early = PION_COMPOUND;
    early[0] = 0xa1;
    assert!(matches!(
        parse_compound(&early).next(),
        Some(Err(Error::Malformed(_)))
    ));
    // A BYE whose reason length overruns.
    let bye = [0x81, 0xcb, 0, 2, 1, 2, 3, 4, 9, b'a', b'b', b'c'];
    assert!(matches!(
        parse_compound(&bye).next(),
        Some(Err(Error::TooShort(_)))
    ));
    // A NACK with no entries.
    let nack = [0x81, 0xcd, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2];
    assert!(matches!(
        parse_compound(&nack).next(),
        Some(Err(Error::TooShort(_)))
    ));
}

#[test]
fn rtcp_writer_rejects_what_the_wire_cannot_carry() {
    let blocks = [ReportBlock::default(); 32];
    let rr = RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: 1,
        blocks: blocks[..].into(),
    });
    assert!(matches!(
        rr.write(0, &mut [0; 1024]),
        Err(Error::InvalidArgument(_))
    ));
    let pli = RtcpPacket::Pli(Pli {
        sender_ssrc: 1,
        media_ssrc: 2,
    });
    assert!(matches!(
        pli.write(3, &mut [0; 64]),
        Err(Error::InvalidArgument(_))
    ));
    let nack = RtcpPacket::Nack(Nack {
        sender_ssrc: 1,
        media_ssrc: 2,
        pairs: (&[][..]).into(),
    });
    assert!(matches!(
        nack.write(0, &mut [0; 64]),
        Err(Error::InvalidArgument(_))
    ));
    let long = [0u8; 256];
    let bye = RtcpPacket::Bye(Bye {
        sources: (&[][..]).into(),
        reason: Some(&long),
    });
    assert!(matches!(
        bye.write(0, &mut [0; 512]),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn nack_lists_lost_sequence_numbers() {
    let pairs = [
        NackPair {
            pid: 100,
            blp: 0b1000_0000_0000_0011,
        },
        NackPair {
            pid: 65_535,
            blp: 1,
        },
    ];
    let nack = Nack {
        sender_ssrc: 1,
        media_ssrc: 2,
        pairs: pairs[..].into(),
    };
    assert_eq!(
        nack.lost().collect::<Vec<_>>(),
        [100, 101, 102, 116, 65_535, 0]
    );
}
