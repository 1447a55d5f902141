//! The H.264 payload format (RFC 6184, packetization-mode 1) against itself: access units of
//! many sizes packetized at many MTUs come back byte for byte; single NAL unit, STAP-A and
//! FU-A packets appear where they should; a lost packet drops its frame and asks for a
//! keyframe; duplicates change nothing; damaged and arbitrary payloads never panic.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use proptest::collection::vec;
use proptest::prelude::*;
use sotto_rtp::h264::{H264Depacketizer, H264Packetizer, NAL_TYPE_FU_A, NAL_TYPE_STAP_A};
use sotto_rtp::{Error, RtpPacket};

/// A frame as it came out of the depacketizer.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Frame {
    annexb: Vec<u8>,
    timestamp: u32,
    has_idr: bool,
    has_sps: bool,
    has_pps: bool,
}

fn annexb(nals: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for nal in nals {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(nal);
    }
    out
}

fn expected(nals: &[Vec<u8>], timestamp: u32) -> Frame {
    let has = |t: u8| nals.iter().any(|n| n[0] & 0x1f == t);
    Frame {
        annexb: annexb(nals),
        timestamp,
        has_idr: has(5),
        has_sps: has(7),
        has_pps: has(8),
    }
}

fn packetize(p: &mut H264Packetizer, annexb: &[u8], timestamp: u32) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; p.max_payload_len() + 12];
    let mut packets = p.start_access_unit(annexb, timestamp);
    while let Some(len) = packets.next_packet(&mut buf) {
        out.push(buf[..len.unwrap()].to_vec());
    }
    out
}

fn packetize_nals(p: &mut H264Packetizer, nals: &[Vec<u8>], timestamp: u32) -> Vec<Vec<u8>> {
    let refs: Vec<&[u8]> = nals.iter().map(Vec::as_slice).collect();
    let mut out = Vec::new();
    let mut buf = vec![0u8; p.max_payload_len() + 12];
    let mut packets = p.start_access_unit_nals(&refs, timestamp);
    while let Some(len) = packets.next_packet(&mut buf) {
        out.push(buf[..len.unwrap()].to_vec());
    }
    out
}

fn feed(d: &mut H264Depacketizer, packets: &[Vec<u8>]) -> Vec<Frame> {
    let mut frames = Vec::new();
    for packet in packets {
        let _ = d.handle_packet(packet);
        while let Some(f) = d.poll_frame() {
            frames.push(Frame {
                annexb: f.annexb.to_vec(),
                timestamp: f.timestamp,
                has_idr: f.has_idr,
                has_sps: f.has_sps,
                has_pps: f.has_pps,
            });
        }
    }
    frames
}

fn payload(packet: &[u8]) -> Vec<u8> {
    RtpPacket::parse(packet).unwrap().payload.to_vec()
}

/// Checks what RFC 6184 and the packetizer promise about the packets of one access unit.
fn check_packets(packets: &[Vec<u8>], mtu: usize, timestamp: u32, first_sequence: u16) {
    for (i, packet) in packets.iter().enumerate() {
        let p = RtpPacket::parse(packet).unwrap();
        assert!(
            p.payload.len() <= mtu,
            "payload {} > {mtu}",
            p.payload.len()
        );
        assert_eq!(
            p.header.marker,
            i + 1 == packets.len(),
            "marker on packet {i}"
        );
        assert_eq!(p.header.timestamp, timestamp);
        assert_eq!(p.header.sequence, first_sequence.wrapping_add(i as u16));
        assert_eq!(p.header.payload_type, 96);
    }
}

/// A NAL unit: F=0, any NRI, a type 1..=23, and a body free of zero bytes so that it survives
/// an Annex-B round trip without emulation prevention.
fn nal(max_body: usize) -> impl Strategy<Value = Vec<u8>> {
    (0u8..4, 1u8..=23, vec(1u8..=255, 0..max_body)).prop_map(|(nri, t, body)| {
        let mut nal = vec![nri << 5 | t];
        nal.extend(body);
        nal
    })
}

/// NAL units of mixed sizes: mostly small, some around a packet, a few several packets long.
fn any_nal() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![4 => nal(16), 3 => nal(1600), 1 => nal(6000)]
}

fn access_units() -> impl Strategy<Value = Vec<Vec<Vec<u8>>>> {
    vec(vec(any_nal(), 1..6), 1..4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn annexb_access_units_round_trip(
        aus in access_units(),
        mtu in prop_oneof![3usize..40, 40usize..1500],
        seq in any::<u16>(),
    ) {
        let mut p = H264Packetizer::new(7, 96, seq, mtu).unwrap();
        let mut d = H264Depacketizer::new();
        let mut all = Vec::new();
        let mut want = Vec::new();
        for (i, nals) in aus.iter().enumerate() {
            let ts = 3000 * i as u32;
            let first = p.sequence();
            let packets = packetize(&mut p, &annexb(nals), ts);
            check_packets(&packets, mtu, ts, first);
            all.extend(packets);
            want.push(expected(nals, ts));
        }
        prop_assert_eq!(feed(&mut d, &all), want);
        prop_assert!(!d.needs_keyframe());
        prop_assert_eq!(d.stats().frames_dropped, 0);
    }

    #[test]
    fn nal_lists_with_any_bytes_round_trip(
        aus in vec(vec((0u8..4, 1u8..=23, vec(any::<u8>(), 0..3000)), 1..5), 1..3),
        mtu in 3usize..1500,
    ) {
        let aus: Vec<Vec<Vec<u8>>> = aus
            .into_iter()
            .map(|au| {
                au.into_iter()
                    .map(|(nri, t, body)| {
                        let mut nal = vec![nri << 5 | t];
                        nal.extend(body);
                        nal
                    })
                    .collect()
            })
            .collect();
        let mut p = H264Packetizer::new(7, 96, u16::MAX - 3, mtu).unwrap();
        let mut d = H264Depacketizer::new();
        let mut all = Vec::new();
        let mut want = Vec::new();
        for (i, nals) in aus.iter().enumerate() {
            let ts = (u32::MAX - 1000).wrapping_add(3000 * i as u32);
            let first = p.sequence();
            let packets = packetize_nals(&mut p, nals, ts);
            check_packets(&packets, mtu, ts, first);
            all.extend(packets);
            want.push(expected(nals, ts));
        }
        prop_assert_eq!(feed(&mut d, &all), want);
    }

    /// Losing any one packet of an access unit drops that frame (never hands it out torn) and
    /// raises needs_keyframe until an IDR frame arrives.
    #[test]
    fn losing_any_packet_drops_the_frame(
        nals in vec(any_nal(), 1..6),
        mtu in 3usize..1500,
        lost in any::<prop::sample::Index>(),
    ) {
        let mut p = H264Packetizer::new(7, 96, 100, mtu).unwrap();
        let idr = vec![vec![0x67, 1, 2], vec![0x68, 3], vec![0x65, 4, 5, 6]];
        let slice = vec![vec![0x41, 9, 9, 9]];
        let warm_up = packetize_nals(&mut p, &idr, 0);
        let mut target = packetize_nals(&mut p, &nals, 3000);
        let after = packetize_nals(&mut p, &slice, 6000);
        let keyframe = packetize_nals(&mut p, &idr, 9000);
        let lost = lost.index(target.len());
        target.remove(lost);

        let mut d = H264Depacketizer::new();
        let mut frames = feed(&mut d, &warm_up);
        frames.extend(feed(&mut d, &target));
        frames.extend(feed(&mut d, &after));
        prop_assert!(d.needs_keyframe());
        prop_assert!(d.stats().frames_dropped >= 1);
        prop_assert!(d.stats().losses == 1 || d.stats().malformed >= 1);
        frames.extend(feed(&mut d, &keyframe));
        prop_assert!(!d.needs_keyframe());

        // Whatever came out is whole; the damaged frame did not come out.
        prop_assert_eq!(&frames[0], &expected(&idr, 0));
        prop_assert_eq!(frames.last().unwrap(), &expected(&idr, 9000));
        for f in &frames {
            prop_assert_ne!(f.timestamp, 3000);
            if f.timestamp == 6000 {
                prop_assert_eq!(f, &expected(&slice, 6000));
            }
        }
    }

    /// Duplicates, right after the original or a few packets later, change nothing.
    #[test]
    fn duplicates_do_not_corrupt(
        aus in vec(vec(any_nal(), 1..5), 1..4),
        mtu in 3usize..1500,
        dups in vec((any::<prop::sample::Index>(), 0usize..5), 0..8),
    ) {
        let mut p = H264Packetizer::new(7, 96, 65_530, mtu).unwrap();
        let mut all = Vec::new();
        let mut want = Vec::new();
        for (i, nals) in aus.iter().enumerate() {
            all.extend(packetize_nals(&mut p, nals, 1000 * i as u32));
            want.push(expected(nals, 1000 * i as u32));
        }
        let mut stream = all.clone();
        for (at, later) in dups {
            let at = at.index(all.len());
            // Where the original now sits in `stream`, then `later` packets after it.
            let pos = stream.iter().position(|s| *s == all[at]).unwrap();
            let insert = (pos + 1 + later).min(stream.len());
            stream.insert(insert, all[at].clone());
        }
        let mut d = H264Depacketizer::new();
        prop_assert_eq!(feed(&mut d, &stream), want);
        prop_assert!(!d.needs_keyframe());
    }

    /// Arbitrary payloads with arbitrary headers never panic, and whatever comes out fits the
    /// frame bound.
    #[test]
    fn garbage_payloads_never_panic(
        input in vec((vec(any::<u8>(), 0..64), any::<u16>(), 0u32..4, any::<bool>()), 0..64),
        first_bytes in vec(prop_oneof![Just(24u8), Just(28u8), Just(0x7c), Just(0x78), any::<u8>()], 64),
    ) {
        let mut d = H264Depacketizer::with_max_frame_len(256);
        for (i, (mut payload, seq_step, ts, marker)) in input.into_iter().enumerate() {
            if let Some(b) = payload.first_mut() {
                *b = first_bytes[i % first_bytes.len()];
            }
            let _ = d.handle_payload(&payload, seq_step % 3, ts, marker);
            let _ = d.handle_packet(&payload);
            while let Some(f) = d.poll_frame() {
                prop_assert!(f.annexb.len() <= 256);
            }
        }
    }

    /// Truncated and bit-flipped packets of real access units never panic.
    #[test]
    fn damaged_packets_never_panic(
        nals in vec(any_nal(), 1..5),
        mtu in 3usize..400,
        damage in vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<u8>(), any::<bool>()), 1..8),
    ) {
        let mut p = H264Packetizer::new(7, 96, 0, mtu).unwrap();
        let mut packets = packetize_nals(&mut p, &nals, 0);
        for (which, at, byte, truncate) in damage {
            let which = which.index(packets.len());
            let packet = &mut packets[which];
            if packet.is_empty() {
                continue;
            }
            let at = at.index(packet.len());
            if truncate {
                packet.truncate(at);
            } else {
                packet[at] ^= byte;
            }
        }
        let mut d = H264Depacketizer::new();
        let _ = feed(&mut d, &packets);
    }
}

#[test]
fn nal_units_at_the_mtu_boundary() {
    for mtu in [3usize, 4, 5, 100, 1200] {
        for len in [mtu - 1, mtu, mtu + 1, 2 * mtu, 2 * mtu + 1] {
            if len == 0 {
                continue;
            }
            let mut nal = vec![0x65u8];
            nal.resize(len, 0xab);
            let mut p = H264Packetizer::new(1, 96, 0, mtu).unwrap();
            let packets = packetize_nals(&mut p, std::slice::from_ref(&nal), 0);
            check_packets(&packets, mtu, 0, 0);
            let payloads: Vec<_> = packets.iter().map(|p| payload(p)).collect();
            if len <= mtu {
                assert_eq!(payloads, [nal.clone()], "mtu {mtu} len {len}");
            } else {
                // The NAL header travels in the FU indicator and header, not as data.
                let per = mtu - 2;
                assert_eq!(
                    payloads.len(),
                    (len - 1).div_ceil(per),
                    "mtu {mtu} len {len}"
                );
                for (i, p) in payloads.iter().enumerate() {
                    assert_eq!(p[0] & 0x1f, NAL_TYPE_FU_A);
                    assert_eq!(p[0] & 0xe0, 0x60);
                    assert_eq!(p[1] & 0x80 != 0, i == 0);
                    assert_eq!(p[1] & 0x40 != 0, i + 1 == payloads.len());
                    assert_eq!(p[1] & 0x1f, 5);
                }
            }
            let mut d = H264Depacketizer::new();
            assert_eq!(feed(&mut d, &packets), [expected(&[nal], 0)]);
        }
    }
}

#[test]
fn stap_a_fills_the_mtu_exactly() {
    // 1 STAP-A header byte, then 2 + 10 and 2 + 20 bytes: 35 in all.
    let nals = vec![vec![0x67; 10], vec![0x68; 20]];
    for (mtu, count) in [(35, 1), (34, 2)] {
        let mut p = H264Packetizer::new(1, 96, 0, mtu).unwrap();
        let packets = packetize_nals(&mut p, &nals, 0);
        assert_eq!(packets.len(), count, "mtu {mtu}");
        check_packets(&packets, mtu, 0, 0);
        if count == 1 {
            assert_eq!(payload(&packets[0])[0] & 0x1f, NAL_TYPE_STAP_A);
            assert_eq!(payload(&packets[0]).len(), 35);
        }
        let mut d = H264Depacketizer::new();
        assert_eq!(feed(&mut d, &packets), [expected(&nals, 0)]);
    }
}

#[test]
fn sps_pps_aggregate_and_the_idr_slice_is_fragmented() {
    let sps = vec![0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8];
    let pps = vec![0x68, 0xce, 0x3c, 0x80];
    let mut idr = vec![0x65];
    idr.extend((0..100_000u32).map(|i| (i % 251 + 1) as u8));
    let mut slice = vec![0x41];
    slice.extend([7u8; 50]);
    let nals = vec![sps.clone(), pps.clone(), idr.clone(), slice.clone()];
    let mut p = H264Packetizer::new(1, 96, 0, 1200).unwrap();
    let packets = packetize(&mut p, &annexb(&nals), 90_000);
    check_packets(&packets, 1200, 90_000, 0);
    let payloads: Vec<_> = packets.iter().map(|p| payload(p)).collect();
    // STAP-A(SPS, PPS), FU-A x ceil(99_999 / 1198), then the slice alone.
    let mut stap = vec![0x78, 0, 9];
    stap.extend(&sps);
    stap.extend([0, 4]);
    stap.extend(&pps);
    assert_eq!(payloads[0], stap);
    let fus = 99_999usize.div_ceil(1198);
    assert_eq!(payloads.len(), 1 + fus + 1);
    assert!(payloads[1..=fus].iter().all(|p| p[0] == 0x7c));
    assert_eq!(payloads[1][1], 0x85);
    assert_eq!(payloads[fus][1], 0x45);
    assert_eq!(payloads[fus + 1], slice);

    let mut d = H264Depacketizer::new();
    let frames = feed(&mut d, &packets);
    assert_eq!(frames, [expected(&nals, 90_000)]);
    assert!(frames[0].has_idr && frames[0].has_sps && frames[0].has_pps);
}

#[test]
fn a_timestamp_change_ends_a_frame_without_marker() {
    let mut d = H264Depacketizer::new();
    d.handle_payload(&[0x41, 1], 1, 100, false).unwrap();
    d.handle_payload(&[0x41, 2], 2, 100, false).unwrap();
    assert!(d.poll_frame().is_none());
    d.handle_payload(&[0x41, 3], 3, 200, true).unwrap();
    let f = d.poll_frame().unwrap();
    assert_eq!(
        (f.annexb, f.timestamp),
        (&[0, 0, 0, 1, 0x41, 1, 0, 0, 0, 1, 0x41, 2][..], 100)
    );
    let f = d.poll_frame().unwrap();
    assert_eq!((f.annexb, f.timestamp), (&[0, 0, 0, 1, 0x41, 3][..], 200));
    assert!(d.poll_frame().is_none());
    assert!(!d.needs_keyframe());
}

#[test]
fn a_timestamp_change_mid_fragment_drops_the_frame() {
    let mut d = H264Depacketizer::new();
    d.handle_payload(&[0x7c, 0x85, 1, 2], 1, 100, false)
        .unwrap();
    d.handle_payload(&[0x7c, 0x05, 3, 4], 2, 100, false)
        .unwrap();
    d.handle_payload(&[0x41, 9], 3, 200, true).unwrap();
    let f = d.poll_frame().unwrap();
    assert_eq!(f.timestamp, 200);
    assert!(d.poll_frame().is_none());
    assert!(d.needs_keyframe());
    assert_eq!(d.stats().frames_dropped, 1);
}

#[test]
fn fu_a_without_start_drops_the_frame() {
    let mut d = H264Depacketizer::new();
    assert!(matches!(
        d.handle_payload(&[0x7c, 0x05, 3, 4], 1, 100, false),
        Err(Error::Malformed(_))
    ));
    d.handle_payload(&[0x7c, 0x45, 5], 2, 100, true).unwrap();
    assert!(d.poll_frame().is_none());
    assert!(d.needs_keyframe());
    // The next frame is whole again.
    d.handle_payload(&[0x65, 1], 3, 200, true).unwrap();
    assert!(d.poll_frame().unwrap().has_idr);
    assert!(!d.needs_keyframe());
}

#[test]
fn stap_a_sizes_must_fit() {
    for bad in [
        &[0x78, 0, 5, 0x67, 1][..], // size overruns
        &[0x78, 0, 1, 0x67, 0][..], // trailing half size field
        &[0x78, 0, 0][..],          // empty NAL unit
        &[0x78][..],                // no NAL units
        &[0x78, 0, 1, 0x7c][..],    // an FU-A inside
    ] {
        let mut d = H264Depacketizer::new();
        assert!(d.handle_payload(bad, 1, 0, true).is_err(), "{bad:?}");
        assert!(d.poll_frame().is_none());
        assert!(d.needs_keyframe());
    }
    let mut d = H264Depacketizer::new();
    assert!(matches!(
        d.handle_payload(&[0x79, 0, 0, 0, 1, 0x41], 1, 0, true),
        Err(Error::UnsupportedPayload(_))
    ));
}

#[test]
fn oversized_frames_are_dropped_and_counted() {
    let mut p = H264Packetizer::new(1, 96, 0, 1200).unwrap();
    let big = vec![0x41; 5000];
    let small = vec![0x41; 100];
    let mut packets = packetize_nals(&mut p, std::slice::from_ref(&big), 0);
    packets.extend(packetize_nals(&mut p, std::slice::from_ref(&small), 3000));
    let mut d = H264Depacketizer::with_max_frame_len(4096);
    assert_eq!(feed(&mut d, &packets), [expected(&[small], 3000)]);
    assert_eq!(d.stats().frames_too_large, 1);
    assert!(d.needs_keyframe());
}

#[test]
fn reserved_nal_types_are_refused_and_skipped() {
    let nals = [vec![0x1c, 1, 2], vec![0x41, 3]];
    let mut p = H264Packetizer::new(1, 96, 0, 1200).unwrap();
    let refs: Vec<&[u8]> = nals.iter().map(Vec::as_slice).collect();
    let mut packets = p.start_access_unit_nals(&refs, 0);
    let mut buf = [0u8; 1500];
    assert!(matches!(
        packets.next_packet(&mut buf),
        Some(Err(Error::InvalidArgument(_)))
    ));
    let len = packets.next_packet(&mut buf).unwrap().unwrap();
    assert_eq!(payload(&buf[..len]), [0x41, 3]);
    assert!(RtpPacket::parse(&buf[..len]).unwrap().header.marker);
    assert!(packets.next_packet(&mut buf).is_none());
}

#[test]
fn an_empty_access_unit_sends_nothing() {
    let mut p = H264Packetizer::new(1, 96, 5, 1200).unwrap();
    assert!(packetize(&mut p, &[], 0).is_empty());
    assert!(packetize(&mut p, &[0, 0, 0, 1, 0, 0, 1], 0).is_empty());
    assert_eq!(p.sequence(), 5);
}
