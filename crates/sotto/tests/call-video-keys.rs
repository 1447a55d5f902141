//! The video stream has keys of its own: a peer that completes the audio stream's ZRTP and
//! then the video stream's Multistream exchange finds the call's video packets refused under
//! the audio keys and accepted under the video keys (and the other way round for audio), on
//! an SSRC of their own, and the video stream's RTCP under the video keys with the audio
//! stream's CNAME.

#[path = "support/call.rs"]
mod support;

use std::time::{Duration, Instant};

use sotto::zrtp::KeyAgreement;
use sotto::{CallEvent, EndReason};
use sotto_rtp::rtcp::{self, RtcpPacket};
use sotto_rtp::{classify, srtp, PacketKind, RtpPacket};

/// The CNAME in a compound's SDES, and the compound's sender SSRC.
fn sender_and_cname(plain: &[u8]) -> Option<(u32, Vec<u8>)> {
    let mut sender = None;
    let mut cname = None;
    for packet in rtcp::parse_compound(plain).flatten() {
        match packet {
            RtcpPacket::SenderReport(sr) => sender = Some(sr.ssrc),
            RtcpPacket::ReceiverReport(rr) => sender = Some(rr.ssrc),
            RtcpPacket::Sdes(sdes) => {
                cname = sdes
                    .chunks()
                    .next()
                    .and_then(|c| c.cname())
                    .map(<[u8]>::to_vec)
            }
            _ => {}
        }
    }
    Some((sender?, cname?))
}

#[test]
fn video_is_keyed_apart_from_audio() {
    let (peer, cache) = support::call_a_zrtp_peer_keeping_cache(|config| {
        support::send_pattern(config, 320, 240, 300_000);
    });
    let video_info = support::answer_video(&peer, &cache);
    let audio_info = &peer.info;
    assert_eq!(video_info.algorithms.key_agreement, KeyAgreement::Mult);
    // Multistream has no SAS of its own: the audio stream's covers it.
    assert!(video_info.sas.is_none());
    assert_ne!(
        video_info.srtp.remote_key.expose_secret(),
        audio_info.srtp.remote_key.expose_secret()
    );
    assert_ne!(
        video_info.srtp.remote_salt.expose_secret(),
        audio_info.srtp.remote_salt.expose_secret()
    );

    let video_secure = loop {
        match peer.call.next_event(Duration::from_secs(5)) {
            Some(CallEvent::VideoSecure { algorithms, .. }) => break algorithms,
            Some(CallEvent::VideoUnavailable { reason }) => panic!("video unavailable: {reason}"),
            Some(CallEvent::Ended(reason)) => panic!("ended: {reason}"),
            Some(_) => {}
            None => panic!("no VideoSecure event"),
        }
    };
    assert_eq!(video_secure.key_agreement, KeyAgreement::Mult);

    let (_, mut audio_rx) = srtp::from_zrtp(audio_info).expect("audio keys");
    let (_, mut video_rx) = srtp::from_zrtp(&video_info).expect("video keys");
    let mut buf = [0u8; 2048];
    peer.tap
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let until = Instant::now() + Duration::from_secs(8);
    let (mut audio_ssrc, mut video_ssrc) = (None, None);
    let (mut audio_cname, mut video_cname) = (None, None);
    while audio_ssrc.is_none()
        || video_ssrc.is_none()
        || audio_cname.is_none()
        || video_cname.is_none()
    {
        assert!(
            Instant::now() < until,
            "not every stream seen within 8 s: audio {audio_ssrc:?} {audio_cname:?}, video {video_ssrc:?} {video_cname:?}"
        );
        let Ok((len, _)) = peer.tap.recv_from(&mut buf) else {
            continue;
        };
        let datagram = buf[..len].to_vec();
        match classify(&datagram) {
            PacketKind::Rtp if support::is_video_rtp(&datagram) => {
                let mut under_audio = datagram.clone();
                assert!(
                    matches!(
                        audio_rx.unprotect_rtp(&mut under_audio),
                        Err(sotto_rtp::Error::AuthFailed)
                    ),
                    "the audio keys must refuse a video packet"
                );
                assert_eq!(under_audio, datagram, "a refused packet is left as it was");
                let mut plain = datagram;
                let n = video_rx.unprotect_rtp(&mut plain).expect("video keys");
                let packet = RtpPacket::parse(&plain[..n]).expect("rtp");
                assert!(!packet.payload.is_empty());
                video_ssrc = Some(packet.header.ssrc);
            }
            PacketKind::Rtp => {
                let mut under_video = datagram.clone();
                assert!(
                    video_rx.unprotect_rtp(&mut under_video).is_err(),
                    "the video keys must refuse an audio packet"
                );
                let mut plain = datagram;
                let n = audio_rx.unprotect_rtp(&mut plain).expect("audio keys");
                audio_ssrc = Some(RtpPacket::parse(&plain[..n]).expect("rtp").header.ssrc);
            }
            PacketKind::Rtcp => {
                let mut plain = datagram.clone();
                if let Ok(n) = video_rx.unprotect_rtcp(&mut plain) {
                    video_cname = sender_and_cname(&plain[..n]).or(video_cname);
                } else {
                    let mut plain = datagram;
                    let n = audio_rx
                        .unprotect_rtcp(&mut plain)
                        .expect("rtcp under one of the two keys");
                    audio_cname = sender_and_cname(&plain[..n]).or(audio_cname);
                }
            }
            _ => {}
        }
    }
    let (audio_sender, audio_cname) = audio_cname.expect("audio rtcp");
    let (video_sender, video_cname) = video_cname.expect("video rtcp");
    assert_ne!(audio_ssrc, video_ssrc);
    assert_eq!(Some(audio_sender), audio_ssrc);
    assert_eq!(Some(video_sender), video_ssrc);
    // One CNAME for both streams: what ties them together for lip sync.
    assert_eq!(audio_cname, video_cname);

    peer.call.hang_up();
    assert_eq!(peer.call.wait(), EndReason::HungUp);
}
