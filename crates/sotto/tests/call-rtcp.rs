//! The call's RTCP, seen by a peer holding the ZRTP keys: an SRTCP-protected SR with SDES
//! CNAME about what was sent; an RR answering it gives the call its round-trip time; hanging
//! up sends BYE.

#[path = "support/call.rs"]
mod support;

use std::time::{Duration, Instant};

use sotto::{CallEvent, EndReason};
use sotto_rtp::rtcp::{self, ReceiverReport, ReportBlock, RtcpPacket};
use sotto_rtp::stats::ntp_middle;
use sotto_rtp::{classify, srtp, PacketKind};

#[test]
fn sender_reports_give_rtt_and_hanging_up_says_bye() {
    let support::ZrtpPeerCall {
        call,
        call_addr,
        link: _peer,
        info,
        tap,
    } = support::call_a_zrtp_peer(|config| {
        config.stats_interval = Duration::from_millis(200);
    });
    let (mut peer_tx, mut peer_rx) = srtp::from_zrtp(&info).expect("keys");

    // Wait for the first SR (half the 5 s interval after secure), answer it with an RR.
    let mut buf = [0u8; 2048];
    tap.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let until = Instant::now() + Duration::from_secs(8);
    let (call_ssrc, sr_ntp, packets) = loop {
        assert!(Instant::now() < until, "no sender report within 8 s");
        let Ok((len, _)) = tap.recv_from(&mut buf) else {
            continue;
        };
        if classify(&buf[..len]) != PacketKind::Rtcp {
            continue;
        }
        let plain = peer_rx.unprotect_rtcp(&mut buf[..len]).expect("srtcp");
        let packets: Vec<_> = rtcp::parse_compound(&buf[..plain])
            .collect::<Result<_, _>>()
            .expect("parses");
        let RtcpPacket::SenderReport(sr) = packets[0] else {
            panic!("the call has sent media, so it reports as a sender: {packets:?}");
        };
        let cname = packets.iter().find_map(|p| match p {
            RtcpPacket::Sdes(sdes) => sdes.chunks().next().and_then(|c| c.cname()),
            _ => None,
        });
        assert!(cname.is_some_and(|c| !c.is_empty()), "{packets:?}");
        break (sr.ssrc, sr.info.ntp_timestamp, sr.info.packet_count);
    };
    assert!(packets > 50, "SR counts {packets} packets");
    let block = [ReportBlock {
        ssrc: call_ssrc,
        last_sr: ntp_middle(sr_ntp),
        ..ReportBlock::default()
    }];
    let rr = RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: 0x5eed_0001,
        blocks: (&block).into(),
    });
    let len = rtcp::write_compound(&[rr], 0, &mut buf).expect("rr");
    let len = peer_tx.protect_rtcp(&mut buf, len).expect("protect");
    tap.send_to(&buf[..len], call_addr).expect("send");

    let rtt = loop {
        match call.next_event(Duration::from_secs(5)) {
            Some(CallEvent::Stats(stats)) if stats.rtt_ms.is_some() => break stats.rtt_ms,
            Some(CallEvent::Ended(reason)) => panic!("ended: {reason}"),
            Some(_) => {}
            None => panic!("no stats with an rtt"),
        }
    };
    // Loopback and a DLSR of zero: the reply's own processing time, well under a second.
    assert!(rtt.is_some_and(|ms| (0.0..1000.0).contains(&ms)), "{rtt:?}");

    call.hang_up();
    let bye = loop {
        let Ok((len, _)) = tap.recv_from(&mut buf) else {
            panic!("no BYE after hanging up");
        };
        if classify(&buf[..len]) != PacketKind::Rtcp {
            continue;
        }
        let plain = peer_rx.unprotect_rtcp(&mut buf[..len]).expect("srtcp");
        break rtcp::parse_compound(&buf[..plain])
            .flatten()
            .any(|p| matches!(p, RtcpPacket::Bye(_)));
    };
    assert!(bye);
    assert_eq!(call.wait(), EndReason::HungUp);
}
