//! SDP as others write it: the examples of RFC 8866 and RFC 8839, and offers in the style of
//! the softphones that speak ZRTP (Linphone, baresip) and of a browser. Each is read, the parts
//! a call needs are checked, and sotto answers it or says why it cannot.

use std::net::IpAddr;

use sotto_signal::{
    Direction, Error, LocalMedia, LocalStream, MediaKind, Offer, SessionDescription, ZrtpHash,
};

/// RFC 8866 section 5, the example session description (LF line ends, as printed).
const RFC_8866: &str = "v=0
o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1
s=Call to John Smith
i=SDP Offer #1
u=http://www.jdoe.example.com/home.html
e=Jane Doe <jane@jdoe.example.com>
p=+1 617 555-6011
c=IN IP4 198.51.100.1
t=0 0
m=audio 49170 RTP/AVP 0
m=audio 49180 RTP/AVP 0
m=video 51372 RTP/AVP 99
c=IN IP6 2001:db8::2
a=rtpmap:99 h263-1998/90000
";

/// RFC 8839 section 4, the example offer with ICE.
const RFC_8839: &str = "v=0
o=jdoe 2890844526 2890842807 IN IP4 203.0.113.141
s=
c=IN IP4 192.0.2.3
t=0 0
a=ice-options:ice2
a=ice-pacing:50
a=ice-pwd:asd88fgpdd777uzjYhagZg
a=ice-ufrag:8hhY
m=audio 45664 RTP/AVP 0
b=RS:0
b=RR:0
a=rtpmap:0 PCMU/8000
a=candidate:1 1 UDP 2130706431 203.0.113.141 8998 typ host
a=candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 203.0.113.141 rport 8998
";

/// The RFC 6189 section 8.1 example attribute value.
const RFC_6189_HASH: &str = "1.10 fe30efd02423cb054e50efd0248742ac7a52c8f91bc2df881ae642c371ba46df";

/// An offer in the style of Linphone with ZRTP on: RTP/AVP, opus on a dynamic payload type
/// among speex, G.729 and telephone-events, one a=zrtp-hash per stream, session-level ICE,
/// rtcp-fb wildcards, and attributes sotto does not know (rtcp-xr, record, rtcp).
fn linphone_offer() -> String {
    [
        "v=0",
        "o=alice 2262 3383 IN IP4 192.168.1.20",
        "s=Talk",
        "c=IN IP4 192.168.1.20",
        "t=0 0",
        "a=ice-pwd:31ec21eb38b2ec6d36e8dc7b",
        "a=ice-ufrag:7d6a6b4d",
        "a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics",
        "a=record:off",
        "m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100",
        "a=rtpmap:96 opus/48000/2",
        "a=fmtp:96 useinbandfec=1",
        "a=rtpmap:97 speex/16000",
        "a=fmtp:97 vbr=on",
        "a=rtpmap:98 speex/8000",
        "a=fmtp:98 vbr=on",
        "a=fmtp:18 annexb=yes",
        "a=rtpmap:101 telephone-event/48000",
        "a=rtpmap:99 telephone-event/16000",
        "a=rtpmap:100 telephone-event/8000",
        &format!("a=zrtp-hash:{RFC_6189_HASH}"),
        "a=rtcp-mux",
        "a=rtcp:7079",
        "a=candidate:1 1 UDP 2130706303 192.168.1.20 7078 typ host",
        "a=candidate:2 1 UDP 1694498687 203.0.113.7 41532 typ srflx raddr 192.168.1.20 rport 7078",
        "a=rtcp-fb:* trr-int 1000",
        "a=rtcp-fb:* ccm tmmbr",
        "m=video 9078 RTP/AVP 96 97",
        "a=rtpmap:96 VP8/90000",
        "a=rtpmap:97 H264/90000",
        "a=fmtp:97 profile-level-id=42801F;packetization-mode=1",
        "a=zrtp-hash:1.10 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "a=rtcp-mux",
        "a=candidate:1 1 UDP 2130706303 192.168.1.20 9078 typ host",
        "a=rtcp-fb:* nack pli",
        "a=rtcp-fb:* ccm fir",
        "a=rtcp-fb:97 nack",
        "",
    ]
    .join("\r\n")
}

/// An offer in the style of baresip with its zrtp module: opus first, PCMU/PCMA, DTMF,
/// bandwidth and ssrc lines.
const BARESIP_OFFER: &str = "v=0\r
o=- 1967224934 2146451235 IN IP4 10.0.0.2\r
s=-\r
c=IN IP4 10.0.0.2\r
t=0 0\r
m=audio 10000 RTP/AVP 96 0 8 101\r
b=AS:128\r
a=rtpmap:96 opus/48000/2\r
a=fmtp:96 stereo=1;sprop-stereo=1\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:8 PCMA/8000\r
a=rtpmap:101 telephone-event/8000\r
a=fmtp:101 0-15\r
a=sendrecv\r
a=label:1\r
a=ssrc:3172829418 cname:a1f3c2d4-5e6f\r
a=rtcp-rsize\r
a=ptime:20\r
a=zrtp-hash:1.10 7f914a0172ee8ed757ce71b47fecdacd1d99f81bb6253e81ba74d831caa27a26\r
";

/// A browser's WebRTC offer, shortened: BUNDLE, DTLS-SRTP fingerprint, a data channel.
const BROWSER_OFFER: &str = "v=0\r
o=- 4611731400430051336 2 IN IP4 127.0.0.1\r
s=-\r
t=0 0\r
a=group:BUNDLE 0 1\r
a=extmap-allow-mixed\r
a=msid-semantic: WMS\r
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r
c=IN IP4 0.0.0.0\r
a=rtcp:9 IN IP4 0.0.0.0\r
a=ice-ufrag:Kd3T\r
a=ice-pwd:8qrbzUsTGc7Tr3lm0hXa7Hmq\r
a=ice-options:trickle\r
a=fingerprint:sha-256 9B:5E:D3:2B:8B:7D:71:5E:4C:8D:4E:F3:9F:6B:43:7E:5B:0A:7C:6E:A9:5D:0E:3A:8C:9E:2B:1F:6D:4A:3C:21\r
a=setup:actpass\r
a=mid:0\r
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r
a=sendrecv\r
a=msid:- 6f0e2d5b-3c1a-4b7e-9d8f-0a1b2c3d4e5f\r
a=rtcp-mux\r
a=rtpmap:111 opus/48000/2\r
a=rtcp-fb:111 transport-cc\r
a=fmtp:111 minptime=10;useinbandfec=1\r
a=rtpmap:63 red/48000/2\r
a=fmtp:63 111/111\r
a=rtpmap:9 G722/8000\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:8 PCMA/8000\r
a=rtpmap:13 CN/8000\r
a=rtpmap:110 telephone-event/48000\r
a=rtpmap:126 telephone-event/8000\r
a=ssrc:1573423418 cname:Yq3kQ2c+XV4ytb0k\r
m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r
c=IN IP4 0.0.0.0\r
a=ice-ufrag:Kd3T\r
a=ice-pwd:8qrbzUsTGc7Tr3lm0hXa7Hmq\r
a=mid:1\r
a=sctp-port:5000\r
a=max-message-size:262144\r
";

fn sotto(video: bool) -> LocalMedia {
    LocalMedia {
        session_id: 42,
        session_version: 1,
        address: "198.51.100.20".parse().expect("address"),
        audio: LocalStream::new(5004, Some(ZrtpHash::new([0x11; 32]))),
        video: video.then(|| LocalStream::new(5004, Some(ZrtpHash::new([0x22; 32])))),
        ice: None,
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

#[test]
fn rfc_8866_example_is_read_and_answered_with_no_opus() {
    let sdp = SessionDescription::parse(RFC_8866).expect("rfc 8866 example");
    assert_eq!(sdp.origin.username, "jdoe");
    assert_eq!(sdp.origin.session_id, 3_724_394_400);
    assert_eq!(sdp.origin.session_version, 3_724_394_405);
    assert_eq!(sdp.session_name, "Call to John Smith");
    assert_eq!(sdp.connection, Some(ip("198.51.100.1")));
    let kinds: Vec<_> = sdp.media.iter().map(|m| m.kind.clone()).collect();
    assert_eq!(
        kinds,
        [MediaKind::Audio, MediaKind::Audio, MediaKind::Video]
    );
    assert_eq!(sdp.media[2].connection, Some(ip("2001:db8::2")));
    let h263 = sdp.media[2].codec(99).and_then(|c| c.rtpmap.as_ref());
    assert_eq!(h263.map(|r| r.encoding.as_str()), Some("h263-1998"));
    assert!(sdp.media[0].codec(0).is_some_and(|c| c.rtpmap.is_none()));

    let err = Offer(sdp).answer(&sotto(true)).expect_err("no opus");
    assert_eq!(
        err.to_string(),
        "the peer offers no opus audio (it offers payload type 0); sotto speaks only opus"
    );
}

#[test]
fn rfc_8839_example_gives_session_level_ice_and_candidates() {
    let sdp = SessionDescription::parse(RFC_8839).expect("rfc 8839 example");
    assert_eq!(sdp.session_name, "", "an empty s= is tolerated");
    let ice = sdp.ice.as_ref().expect("session-level ice");
    assert_eq!((ice.ufrag(), ice.pwd()), ("8hhY", "asd88fgpdd777uzjYhagZg"));
    let candidates: Vec<&str> = sdp.media[0].candidates.iter().map(|c| c.as_str()).collect();
    assert_eq!(
        candidates,
        [
            "1 1 UDP 2130706431 203.0.113.141 8998 typ host",
            "2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 203.0.113.141 rport 8998",
        ]
    );
    assert!(matches!(
        Offer(sdp).answer(&sotto(false)),
        Err(Error::NoOpus { offered }) if offered == "PCMU/8000"
    ));
}

#[test]
fn a_linphone_style_offer_is_answered_with_opus_and_h264_on_its_payload_types() {
    let offer = Offer::parse(&linphone_offer()).expect("linphone-style offer");
    let audio = &offer.0.media[0];
    assert_eq!(audio.protocol, "RTP/AVP");
    assert_eq!(
        audio.zrtp_hash.as_ref().map(ToString::to_string).as_deref(),
        Some(RFC_6189_HASH)
    );
    assert!(audio.rtcp_mux);
    assert_eq!(audio.codecs.len(), 9);
    // Payload type 18 has an fmtp and no rtpmap (a static type).
    let g729 = audio.codec(18).expect("pt 18");
    assert_eq!(
        (g729.rtpmap.is_none(), g729.fmtp.as_deref()),
        (true, Some("annexb=yes"))
    );
    // rtcp-fb:* reaches every payload type.
    assert!(audio.codecs.iter().all(|c| c.has_feedback("ccm tmmbr")));

    let (answer, agreed) = offer.answer(&sotto(true)).expect("answered");
    // The answer speaks the offer's protocol and numbers.
    assert_eq!(agreed.audio.send_payload_type, 96);
    assert_eq!(agreed.audio.receive_payload_type, 96);
    assert!(agreed.audio.send_fec);
    assert!(agreed.audio.rtcp_mux);
    assert_eq!(agreed.audio.remote.to_string(), "192.168.1.20:7078");
    assert_eq!(
        agreed.audio.remote_zrtp_hash,
        Some(ZrtpHash::parse(RFC_6189_HASH).expect("hash"))
    );
    let ice = agreed.audio.remote_ice.as_ref().expect("session-level ice");
    assert_eq!(ice.ufrag(), "7d6a6b4d");
    assert_eq!(agreed.audio.remote_candidates.len(), 2);
    let video = agreed.video.expect("h264 packetization-mode 1 accepted");
    assert_eq!(video.send_payload_type, 97);
    assert_eq!(video.remote_profile_level_id, [0x42, 0x80, 0x1f]);
    assert!(video.nack && video.pli && video.fir);

    let sdp = answer.to_sdp();
    for line in [
        "m=audio 5004 RTP/AVP 96\r\n",
        "a=rtpmap:96 opus/48000/2\r\n",
        "a=fmtp:96 minptime=10;useinbandfec=1\r\n",
        "a=zrtp-hash:1.10 1111111111111111111111111111111111111111111111111111111111111111\r\n",
        "m=video 5004 RTP/AVP 97\r\n",
        "a=fmtp:97 packetization-mode=1;profile-level-id=42801f\r\n",
        "a=rtcp-fb:97 nack\r\na=rtcp-fb:97 nack pli\r\na=rtcp-fb:97 ccm fir\r\n",
    ] {
        assert!(sdp.contains(line), "{line:?} missing from\n{sdp}");
    }
    assert!(!sdp.contains("speex") && !sdp.contains("telephone-event"));
}

#[test]
fn a_baresip_style_offer_is_answered_audio_only() {
    let offer = Offer::parse(BARESIP_OFFER).expect("baresip-style offer");
    assert_eq!(offer.0.session_name, "-");
    assert_eq!(offer.0.media[0].ptime_ms, Some(20));
    assert_eq!(offer.0.media[0].direction, Direction::SendRecv);
    let (answer, agreed) = offer.answer(&sotto(true)).expect("answered");
    assert!(agreed.video.is_none(), "no video was offered");
    assert_eq!(answer.0.media.len(), 1);
    assert!(!agreed.audio.send_fec, "baresip did not ask for fec");
    assert!(!agreed.audio.rtcp_mux, "no rtcp-mux offered, none answered");
    assert!(!answer.to_sdp().contains("a=rtcp-mux"));
    assert_eq!(agreed.audio.remote_ptime_ms, Some(20));
}

#[test]
fn a_browser_offer_is_read_but_dtls_srtp_is_refused() {
    let offer = Offer::parse(BROWSER_OFFER).expect("browser offer");
    assert_eq!(offer.0.origin.session_id, 4_611_731_400_430_051_336);
    assert_eq!(
        offer.0.media[1].kind,
        MediaKind::Other("application".into())
    );
    assert_eq!(offer.0.media[1].formats, ["webrtc-datachannel"]);
    assert!(offer.0.media[0]
        .codec(111)
        .is_some_and(|c| c.has_feedback("transport-cc")));
    assert_eq!(
        offer.answer(&sotto(false)),
        Err(Error::UnsupportedProtocol("UDP/TLS/RTP/SAVPF".into()))
    );
}

#[test]
fn every_real_world_example_writes_back_to_itself() {
    for sdp in [
        RFC_8866.to_owned(),
        RFC_8839.to_owned(),
        linphone_offer(),
        BARESIP_OFFER.to_owned(),
        BROWSER_OFFER.to_owned(),
    ] {
        let first = SessionDescription::parse(&sdp).expect("example");
        let again = SessionDescription::parse(&first.to_sdp()).expect("as written by sotto");
        assert_eq!(first, again);
    }
}
