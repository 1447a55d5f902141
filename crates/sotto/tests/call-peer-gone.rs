//! A call against a ZRTP-only peer: once secure, media flows although the peer sends none,
//! it decrypts with the keys the peer derived and decodes to the tone; when the peer falls
//! silent the call ends with PeerGone after the peer timeout.

#[path = "support/call.rs"]
mod support;

use std::time::{Duration, Instant};

use sotto::media::OpusDecoder;
use sotto::{CallEvent, EndReason, TONE_FREQ_HZ};
use sotto_rtp::{classify, opus_payload, srtp, PacketKind};

/// Zero crossings per second of `x`, twice the frequency of a pure tone.
fn crossings_per_second(x: &[i16]) -> f64 {
    let crossings = x.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    crossings as f64 * 48_000.0 / x.len() as f64
}

#[test]
fn media_flows_to_a_silent_peer_until_it_is_gone() {
    let support::ZrtpPeerCall {
        call,
        call_addr,
        link: mut peer,
        info,
        tap,
    } = support::call_a_zrtp_peer(|config| {
        config.peer_timeout = Duration::from_millis(1500);
    });
    // Answer a lost Conf2ACK, then never send again.
    peer.serve_until(Instant::now() + Duration::from_millis(200))
        .expect("serve");

    let (_, mut receiver) = srtp::from_zrtp(&info).expect("keys");
    let mut decoder = OpusDecoder::new().expect("decoder");
    let mut pcm = Vec::new();
    let mut frame = vec![0i16; 5760];
    let mut buf = [0u8; 2048];
    tap.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let until = Instant::now() + Duration::from_millis(600);
    while Instant::now() < until {
        let Ok((len, from)) = tap.recv_from(&mut buf) else {
            continue;
        };
        assert_eq!(from, call_addr);
        if classify(&buf[..len]) != PacketKind::Rtp {
            continue;
        }
        let plain = receiver.unprotect_rtp(&mut buf[..len]).expect("decrypts");
        let payload = opus_payload(&buf[..plain]).expect("opus");
        let n = decoder.decode(payload, &mut frame).expect("decodes");
        pcm.extend_from_slice(&frame[..n]);
    }
    // 600 ms of 20 ms frames, allowing for the read timeout at the edges.
    assert!(pcm.len() >= 20 * 960, "only {} samples of media", pcm.len());
    let hz = crossings_per_second(&pcm[4800..]) / 2.0;
    assert!(
        (hz - f64::from(TONE_FREQ_HZ)).abs() < 20.0,
        "decoded tone at {hz:.0} Hz"
    );

    let mut events = Vec::new();
    while let Some(event) = call.next_event(Duration::from_secs(10)) {
        let ended = matches!(event, CallEvent::Ended(_));
        events.push(event);
        if ended {
            break;
        }
    }
    assert!(
        matches!(events.first(), Some(CallEvent::Sas { .. })),
        "{events:?}"
    );
    assert_eq!(events.last(), Some(&CallEvent::Ended(EndReason::PeerGone)));
    assert_eq!(call.wait(), EndReason::PeerGone);
}
