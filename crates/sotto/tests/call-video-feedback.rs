//! The video sender answers the peer's feedback: a generic NACK (RFC 4585) brings back the
//! very packet it names, byte for byte (the same SRTP packet, which the receiver never
//! accepted), and a PLI brings a keyframe. The statistics count both.

#[path = "support/call.rs"]
mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sotto::{CallEvent, EndReason, VideoStats};
use sotto_rtp::h264::{nal_unit_type, NAL_TYPE_FU_A, NAL_TYPE_IDR, NAL_TYPE_SPS, NAL_TYPE_STAP_A};
use sotto_rtp::rtcp::{self, Nack, NackPair, Pli, ReceiverReport, RtcpPacket};
use sotto_rtp::srtp::{self, SrtpReceiver, SrtpSender};
use sotto_rtp::RtpPacket;

/// Whether an (unprotected) H.264 RTP payload starts a keyframe: an SPS, alone or first in a
/// STAP-A, or the first fragment of an IDR slice.
fn starts_keyframe(payload: &[u8]) -> bool {
    let Some(&first) = payload.first() else {
        return false;
    };
    match nal_unit_type(first) {
        NAL_TYPE_SPS | NAL_TYPE_IDR => true,
        NAL_TYPE_STAP_A => payload
            .get(3)
            .is_some_and(|&h| nal_unit_type(h) == NAL_TYPE_SPS),
        NAL_TYPE_FU_A => payload
            .get(1)
            .is_some_and(|&fu| fu & 0x80 != 0 && fu & 0x1f == NAL_TYPE_IDR),
        _ => false,
    }
}

/// Reads the call's video packets for `wait`: each as sent (protected), by sequence number,
/// and the sequence numbers of those that start a keyframe.
fn read_video(
    peer: &support::ZrtpPeerCall,
    rx: &mut SrtpReceiver,
    wait: Duration,
) -> (Vec<(u16, Vec<u8>)>, Vec<u16>) {
    let mut buf = [0u8; 2048];
    let mut packets = Vec::new();
    let mut keyframes = Vec::new();
    let until = Instant::now() + wait;
    while Instant::now() < until {
        let Ok((len, _)) = peer.tap.recv_from(&mut buf) else {
            continue;
        };
        if !support::is_video_rtp(&buf[..len]) {
            continue;
        }
        let sent = buf[..len].to_vec();
        let Ok(n) = rx.unprotect_rtp(&mut buf[..len]) else {
            // A repeat of a packet already accepted: the replay window refuses it.
            continue;
        };
        let packet = RtpPacket::parse(&buf[..n]).expect("rtp");
        if starts_keyframe(packet.payload) {
            keyframes.push(packet.header.sequence);
        }
        packets.push((packet.header.sequence, sent));
    }
    (packets, keyframes)
}

/// Sends one feedback message as the peer's video stream, in a compound after an empty RR.
fn send_feedback(peer: &support::ZrtpPeerCall, tx: &mut SrtpSender, feedback: RtcpPacket<'_>) {
    let rr = RtcpPacket::ReceiverReport(ReceiverReport {
        ssrc: support::PEER_VIDEO_SSRC,
        blocks: (&[]).into(),
    });
    let mut buf = [0u8; 512];
    let len = rtcp::write_compound(&[rr, feedback], 0, &mut buf).expect("compound");
    let len = tx.protect_rtcp(&mut buf, len).expect("protect");
    peer.tap.send_to(&buf[..len], peer.call_addr).expect("send");
}

fn stats_where(peer: &support::ZrtpPeerCall, want: impl Fn(&VideoStats) -> bool) -> VideoStats {
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        match peer.call.next_event(Duration::from_secs(1)) {
            Some(CallEvent::Stats(stats)) => {
                if let Some(video) = stats.video.filter(|v| want(v)) {
                    return video;
                }
            }
            Some(CallEvent::Ended(reason)) => panic!("ended: {reason}"),
            _ => {}
        }
    }
    panic!("no stats as wanted within 5 s");
}

#[test]
fn nack_brings_the_packet_back_and_pli_a_keyframe() {
    let (peer, cache) = support::call_a_zrtp_peer_keeping_cache(|config| {
        support::send_pattern(config, 320, 240, 300_000);
        config.stats_interval = Duration::from_millis(200);
    });
    let video_info = support::answer_video(&peer, &cache);
    let (mut tx, mut rx) = srtp::from_zrtp(&video_info).expect("video keys");
    peer.tap
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");

    let (seen, keyframes) = read_video(&peer, &mut rx, Duration::from_millis(1500));
    assert!(
        seen.len() > 20,
        "only {} video packets in 1.5 s",
        seen.len()
    );
    let call_ssrc = RtpPacket::parse(&seen[0].1).expect("rtp").header.ssrc;
    // Only the first picture is a keyframe: nobody asked for another.
    assert!(keyframes.len() <= 1, "keyframes at {keyframes:?}");

    // NACK two packets the peer "lost": a recent one and the one after it.
    let (lost, original) = seen[seen.len() - 10].clone();
    let (next, next_original) = seen[seen.len() - 9].clone();
    assert_eq!(next, lost.wrapping_add(1));
    let pairs = [NackPair { pid: lost, blp: 1 }];
    send_feedback(
        &peer,
        &mut tx,
        RtcpPacket::Nack(Nack {
            sender_ssrc: support::PEER_VIDEO_SSRC,
            media_ssrc: call_ssrc,
            pairs: (&pairs).into(),
        }),
    );
    let mut buf = [0u8; 2048];
    let until = Instant::now() + Duration::from_secs(2);
    let mut resent = HashMap::new();
    while resent.len() < 2 {
        assert!(Instant::now() < until, "no retransmission: {resent:?}");
        let Ok((len, _)) = peer.tap.recv_from(&mut buf) else {
            continue;
        };
        let datagram = &buf[..len];
        if let Some(sequence) = support::video_sequence(datagram) {
            if sequence == lost || sequence == next {
                resent.insert(sequence, datagram.to_vec());
            }
        }
    }
    assert_eq!(
        resent[&lost], original,
        "the retransmission is the packet as sent"
    );
    assert_eq!(resent[&next], next_original);

    // A PLI: a keyframe follows.
    send_feedback(
        &peer,
        &mut tx,
        RtcpPacket::Pli(Pli {
            sender_ssrc: support::PEER_VIDEO_SSRC,
            media_ssrc: call_ssrc,
        }),
    );
    let (after, keyframes) = read_video(&peer, &mut rx, Duration::from_millis(700));
    assert!(!after.is_empty());
    assert!(
        !keyframes.is_empty(),
        "no keyframe within 700 ms of the PLI"
    );

    // Events queue up: take the first report that has seen it all.
    let stats = stats_where(&peer, |v| {
        v.retransmissions >= 2 && v.plis_received >= 1 && v.keyframes_sent >= 2
    });
    assert_eq!(stats.nacks_received, 1, "{stats:?}");
    assert_eq!(stats.plis_received, 1, "{stats:?}");
    assert!(stats.frames_sent > 30, "{stats:?}");

    peer.call.hang_up();
    assert_eq!(peer.call.wait(), EndReason::HungUp);
}
