//! Muting, seen by a peer holding the ZRTP keys: while the call is muted what it sends decodes
//! to silence and DTX leaves most frames unsent; unmuted, the tone is back.

#[path = "support/call.rs"]
mod support;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use sotto::media::OpusDecoder;
use sotto::{TONE_AMPLITUDE, TONE_FREQ_HZ};
use sotto_rtp::srtp::{self, SrtpReceiver};
use sotto_rtp::{classify, opus_payload, PacketKind};
use sotto_testkit::goertzel::amplitude;

/// What the peer received for `span`: the number of audio packets and their decoded samples.
fn receive(
    tap: &UdpSocket,
    srtp: &mut SrtpReceiver,
    decoder: &mut OpusDecoder,
    span: Duration,
) -> (usize, Vec<i16>) {
    let end = Instant::now() + span;
    let (mut packets, mut samples) = (0, Vec::new());
    let mut buf = [0u8; 2048];
    let mut pcm = [0i16; 5760];
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        tap.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .expect("timeout");
        let Ok((len, _)) = tap.recv_from(&mut buf) else {
            continue;
        };
        if classify(&buf[..len]) != PacketKind::Rtp {
            continue;
        }
        let plain = srtp.unprotect_rtp(&mut buf[..len]).expect("srtp");
        let payload = opus_payload(&buf[..plain]).expect("opus rtp");
        let n = decoder.decode(payload, &mut pcm).expect("decodes");
        samples.extend_from_slice(&pcm[..n]);
        packets += 1;
    }
    (packets, samples)
}

#[test]
fn a_muted_call_sends_silence_and_unmuting_brings_the_sound_back() {
    let support::ZrtpPeerCall {
        call,
        link: _peer,
        info,
        tap,
        ..
    } = support::call_a_zrtp_peer(|_| {});
    let (_, mut srtp) = srtp::from_zrtp(&info).expect("keys");
    let mut decoder = OpusDecoder::new().expect("decoder");
    let mut phase = |span_ms| {
        receive(
            &tap,
            &mut srtp,
            &mut decoder,
            Duration::from_millis(span_ms),
        )
    };
    let tone = |samples: &[i16]| amplitude(samples, 48_000, f64::from(TONE_FREQ_HZ));
    let full = f64::from(TONE_AMPLITUDE) * 32767.0;

    let (_, before) = phase(1_000);
    assert!(
        tone(&before) > full * 0.5,
        "{} before muting",
        tone(&before)
    );

    call.set_muted(true);
    // Frames already encoded, and DTX's hangover before it stops sending.
    phase(400);
    let (packets, muted) = phase(2_000);
    assert!(
        tone(&muted) < full * 0.01,
        "the tone at {:.0} of {full:.0} while muted",
        tone(&muted)
    );
    // 2 s is 100 frames; DTX sends one in 20 of the silent ones.
    assert!(packets <= 20, "{packets} packets in 2 s muted");

    call.set_muted(false);
    phase(200);
    let (packets, after) = phase(1_000);
    assert!(packets >= 40, "{packets} packets in 1 s after unmuting");
    assert!(tone(&after) > full * 0.5, "{} after unmuting", tone(&after));

    call.hang_up();
    let _ = call.wait();
}
