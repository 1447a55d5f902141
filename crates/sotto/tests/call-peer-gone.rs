//! A call against a ZRTP-only peer: once secure, media flows although the peer sends none,
//! it decrypts with the keys the peer derived and decodes to the tone; when the peer falls
//! silent the call ends with PeerGone after the peer timeout.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sotto::media::{AudioInput, OpusDecoder};
use sotto::zrtp_udp::ZrtpOverUdp;
use sotto::{Call, CallConfig, CallEvent, EndReason, TONE_FREQ_HZ};
use sotto_rtp::{classify, opus_payload, srtp, PacketKind};
use sotto_zrtp::cache::MemoryCache;
use sotto_zrtp::{Session, SessionConfig};

fn scratch(ext: &str) -> PathBuf {
    sotto_testkit::scratch_path(Path::new(env!("CARGO_TARGET_TMPDIR")), ext).expect("scratch")
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().expect("addr")
}

/// Zero crossings per second of `x`, twice the frequency of a pure tone.
fn crossings_per_second(x: &[i16]) -> f64 {
    let crossings = x.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    crossings as f64 * 48_000.0 / x.len() as f64
}

#[test]
fn media_flows_to_a_silent_peer_until_it_is_gone() {
    let peer_socket = UdpSocket::bind(loopback()).expect("bind");
    let peer_addr = peer_socket.local_addr().expect("addr");
    let tap = peer_socket.try_clone().expect("clone");

    let mut config = CallConfig::new(loopback(), Some(peer_addr), scratch("sqlite"));
    config.audio_in = AudioInput::Tone;
    config.peer_timeout = Duration::from_millis(1500);
    let call = Call::start(config).expect("start");
    let call_addr = call.local_addr();

    let session = Session::new(
        SessionConfig::default(),
        Arc::new(MemoryCache::new()),
        &mut rand_core::OsRng,
        Instant::now(),
    )
    .expect("session");
    let mut peer = ZrtpOverUdp::new(peer_socket, Some(call_addr), session);
    let info = peer.handshake(Duration::from_secs(10)).expect("handshake");
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
