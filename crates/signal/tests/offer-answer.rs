//! Answer negotiation between sotto ends and with offers sotto must turn down in part or whole,
//! and the one-line form's refusals.

use sotto_signal::{
    Answer, Candidate, Direction, Error, IceCredentials, LocalMedia, LocalStream, MediaKind, Offer,
    Signal, ZrtpHash,
};

fn endpoint(last_octet: u8, port: u16, video: bool) -> LocalMedia {
    let mut audio = LocalStream::new(port, Some(ZrtpHash::new([last_octet; 32])));
    audio.candidates.push(
        Candidate::new(&format!(
            "1 1 UDP 2130706431 192.0.2.{last_octet} {port} typ host"
        ))
        .expect("candidate"),
    );
    LocalMedia {
        session_id: u64::from(last_octet) << 32,
        session_version: 1,
        address: format!("192.0.2.{last_octet}").parse().expect("address"),
        audio,
        video: video.then(|| LocalStream::new(port, Some(ZrtpHash::new([!last_octet; 32])))),
        ice: Some(
            IceCredentials::new(
                &format!("ufrag{last_octet}"),
                &format!("password{last_octet:0>16}"),
            )
            .expect("ice"),
        ),
    }
}

/// Replaces the audio m= section's codec lines of a sotto offer, keeping the rest.
fn with_audio_codecs(offer: &Offer, m_line: &str, attributes: &[&str]) -> Offer {
    let sdp = offer.to_sdp();
    let mut out = Vec::new();
    for line in sdp.split("\r\n") {
        if line.starts_with("m=audio") {
            out.push(m_line.to_owned());
            out.extend(attributes.iter().map(|a| (*a).to_owned()));
        } else if !(line.starts_with("a=rtpmap:111") || line.starts_with("a=fmtp:111")) {
            out.push(line.to_owned());
        }
    }
    Offer::parse(&out.join("\r\n")).expect("edited offer")
}

#[test]
fn sotto_and_sotto_agree_on_audio_and_video_with_each_others_hashes() {
    let (alice, bob) = (endpoint(1, 5004, true), endpoint(2, 6000, true));
    let offer = Offer::new(&alice).expect("offer");
    let (answer, at_bob) = Offer::from_line(&offer.to_line())
        .expect("line")
        .answer(&bob)
        .expect("answer");
    let at_alice = offer
        .accept(&Answer::from_line(&answer.to_line()).expect("line"))
        .expect("accepted");

    assert_eq!(at_alice.audio.remote.to_string(), "192.0.2.2:6000");
    assert_eq!(at_bob.audio.remote.to_string(), "192.0.2.1:5004");
    assert_eq!(at_alice.audio.remote_zrtp_hash, bob.audio.zrtp_hash);
    assert_eq!(at_bob.audio.remote_zrtp_hash, alice.audio.zrtp_hash);
    assert_eq!(at_alice.audio.remote_ice, bob.ice);
    assert_eq!(at_bob.audio.remote_candidates, alice.audio.candidates);
    for side in [&at_alice, &at_bob] {
        assert_eq!(side.audio.send_payload_type, 111);
        assert_eq!(side.audio.direction, Direction::SendRecv);
        assert!(side.audio.send_fec && side.audio.rtcp_mux);
        assert_eq!(side.audio.remote_ptime_ms, Some(20));
        let video = side.video.as_ref().expect("both want video");
        assert_eq!(video.send_payload_type, 96);
        assert_eq!(video.remote_profile_level_id, [0x42, 0xe0, 0x1f]);
        assert!(video.nack && video.pli && video.fir && video.rtcp_mux);
    }
    assert_eq!(
        at_alice
            .video
            .as_ref()
            .and_then(|v| v.remote_zrtp_hash.clone()),
        bob.video.as_ref().and_then(|v| v.zrtp_hash.clone())
    );
}

#[test]
fn video_flows_only_if_both_ends_want_it() {
    // Offered, not wanted: the answer keeps the m= line with port 0.
    let offer = Offer::new(&endpoint(1, 5004, true)).expect("offer");
    let (answer, at_bob) = offer.answer(&endpoint(2, 6000, false)).expect("answer");
    assert!(at_bob.video.is_none());
    assert_eq!(answer.0.media.len(), 2);
    assert_eq!(answer.0.media[1].kind, MediaKind::Video);
    assert_eq!(answer.0.media[1].port, 0);
    assert!(answer.to_sdp().contains("m=video 0 RTP/SAVP 96\r\n"));
    assert!(offer.accept(&answer).expect("accepted").video.is_none());

    // Wanted, not offered.
    let offer = Offer::new(&endpoint(1, 5004, false)).expect("offer");
    let (answer, at_bob) = offer.answer(&endpoint(2, 6000, true)).expect("answer");
    assert!(at_bob.video.is_none());
    assert_eq!(answer.0.media.len(), 1);
}

#[test]
fn an_offer_without_opus_is_refused_naming_what_it_has() {
    let offer = with_audio_codecs(
        &Offer::new(&endpoint(1, 5004, false)).expect("offer"),
        "m=audio 5004 RTP/SAVP 0 9 101",
        &[
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:9 G722/8000",
            "a=rtpmap:101 telephone-event/8000",
        ],
    );
    let err = offer
        .answer(&endpoint(2, 6000, false))
        .expect_err("no opus");
    assert_eq!(
        err,
        Error::NoOpus {
            offered: "PCMU/8000, G722/8000, telephone-event/8000".into()
        }
    );
    assert!(err.to_string().contains("sotto speaks only opus"), "{err}");

    // Opus at another clock rate is not opus.
    let offer = with_audio_codecs(
        &Offer::new(&endpoint(1, 5004, false)).expect("offer"),
        "m=audio 5004 RTP/SAVP 96",
        &["a=rtpmap:96 opus/16000/2"],
    );
    assert!(matches!(
        offer.answer(&endpoint(2, 6000, false)),
        Err(Error::NoOpus { .. })
    ));
}

#[test]
fn an_offer_without_usable_audio_is_refused() {
    let sdp = Offer::new(&endpoint(1, 5004, true))
        .expect("offer")
        .to_sdp()
        .replace("m=audio 5004", "m=audio 0");
    assert_eq!(
        Offer::parse(&sdp)
            .expect("parses")
            .answer(&endpoint(2, 6000, true)),
        Err(Error::NoAudio)
    );
}

#[test]
fn directions_are_answered_and_agreed_per_rfc_3264() {
    let mut alice = endpoint(1, 5004, false);
    alice.audio.direction = Direction::SendOnly;
    let offer = Offer::new(&alice).expect("offer");
    let (answer, at_bob) = offer.answer(&endpoint(2, 6000, false)).expect("answer");
    assert_eq!(answer.0.media[0].direction, Direction::RecvOnly);
    assert_eq!(at_bob.audio.direction, Direction::RecvOnly);
    assert_eq!(
        offer.accept(&answer).expect("accepted").audio.direction,
        Direction::SendOnly
    );

    // On hold both ways.
    alice.audio.direction = Direction::Inactive;
    let (answer, _) = Offer::new(&alice)
        .expect("offer")
        .answer(&endpoint(2, 6000, false))
        .expect("answer");
    assert_eq!(answer.0.media[0].direction, Direction::Inactive);
}

#[test]
fn h264_is_chosen_by_packetization_mode_and_profile_at_the_lower_level() {
    let base = Offer::new(&endpoint(1, 5004, true))
        .expect("offer")
        .to_sdp();
    let video_at = base.find("m=video").expect("video section");
    let offer_with =
        |video: &str| Offer::parse(&format!("{}{video}", &base[..video_at])).expect("edited offer");
    // Mode 0 only (single NAL units): sotto fragments with FU-A, so no video.
    let offer = offer_with(
        "m=video 5004 RTP/SAVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 profile-level-id=42e01f\r\n",
    );
    let (answer, agreed) = offer.answer(&endpoint(2, 6000, true)).expect("answer");
    assert!(agreed.video.is_none());
    assert_eq!(answer.0.media[1].port, 0);

    // High profile first, then constrained baseline mode 1 at level 4.0, then VP8.
    let offer = offer_with(concat!(
        "m=video 5004 RTP/SAVP 100 102 120\r\n",
        "a=rtpmap:100 H264/90000\r\n",
        "a=fmtp:100 packetization-mode=1;profile-level-id=640028\r\n",
        "a=rtpmap:102 H264/90000\r\n",
        "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e028\r\n",
        "a=rtcp-fb:102 nack pli\r\n",
        "a=rtpmap:120 VP8/90000\r\n",
    ));
    let (answer, agreed) = offer.answer(&endpoint(2, 6000, true)).expect("answer");
    let video = agreed.video.expect("constrained baseline accepted");
    assert_eq!(video.send_payload_type, 102);
    assert_eq!(video.remote_profile_level_id, [0x42, 0xe0, 0x28]);
    // Only the feedback the offer listed, and the lower level (3.1).
    assert!(video.pli && !video.nack && !video.fir);
    let codecs = &answer.0.media[1].codecs;
    assert_eq!(codecs.len(), 1);
    assert_eq!(
        codecs[0].fmtp.as_deref(),
        Some("packetization-mode=1;profile-level-id=42e01f")
    );
    assert_eq!(codecs[0].feedback, ["nack pli"]);
}

#[test]
fn other_media_are_rejected_in_place() {
    let sdp = Offer::new(&endpoint(1, 5004, true))
        .expect("offer")
        .to_sdp()
        + "m=text 5010 RTP/AVP 98\r\na=rtpmap:98 t140/1000\r\nm=application 5012 UDP/BFCP *\r\n";
    let (answer, agreed) = Offer::parse(&sdp)
        .expect("offer")
        .answer(&endpoint(2, 6000, true))
        .expect("answer");
    assert!(agreed.video.is_some());
    let ports: Vec<(String, u16)> = answer
        .0
        .media
        .iter()
        .map(|m| (m.kind.as_str().to_owned(), m.port))
        .collect();
    assert_eq!(
        ports,
        [
            ("audio".to_owned(), 6000),
            ("video".to_owned(), 6000),
            ("text".to_owned(), 0),
            ("application".to_owned(), 0)
        ]
    );
    let text = answer.to_sdp();
    assert!(text.contains("m=text 0 RTP/AVP 98\r\n"), "{text}");
    assert!(text.contains("m=application 0 UDP/BFCP *\r\n"), "{text}");
}

#[test]
fn an_answer_that_does_not_fit_the_offer_is_refused() {
    let alice = endpoint(1, 5004, true);
    let offer = Offer::new(&alice).expect("offer");
    let (answer, _) = offer.answer(&endpoint(2, 6000, true)).expect("answer");

    let mut fewer = answer.clone();
    fewer.0.media.pop();
    assert!(matches!(
        offer.accept(&fewer),
        Err(Error::AnswerMismatch(_))
    ));

    let mut swapped = answer.clone();
    swapped.0.media.swap(0, 1);
    assert!(matches!(
        offer.accept(&swapped),
        Err(Error::AnswerMismatch(_))
    ));

    let mut rejected = answer.clone();
    rejected.0.media[0].port = 0;
    assert_eq!(offer.accept(&rejected), Err(Error::AudioRejected));

    let mut no_opus = answer.clone();
    no_opus.0.media[0].codecs[0].rtpmap = None;
    assert!(matches!(offer.accept(&no_opus), Err(Error::NoOpus { .. })));

    let mut video_off = answer;
    video_off.0.media[1].port = 0;
    assert!(offer.accept(&video_off).expect("accepted").video.is_none());
}

#[test]
fn lines_are_refused_with_what_to_do() {
    let offer = Offer::new(&endpoint(1, 5004, false)).expect("offer");
    let line = offer.to_line();

    // A chat client's wrapping and the newline of a copy do not matter.
    let wrapped: String = line
        .as_bytes()
        .chunks(60)
        .map(|c| core::str::from_utf8(c).expect("ascii"))
        .collect::<Vec<_>>()
        .join("\n  ");
    assert_eq!(
        Offer::from_line(&format!(" {wrapped}\r\n")),
        Ok(offer.clone())
    );

    let err = Answer::from_line(&line).expect_err("an offer");
    assert_eq!(
        err.to_string(),
        "this line is an offer, an answer was expected: paste the other side's line"
    );
    assert!(matches!(
        Signal::from_line(&line.replacen("sotto1:", "sotto2:", 1)),
        Err(Error::BadLine(why)) if why.contains("update sotto")
    ));
    assert!(matches!(
        Signal::from_line("hello there"),
        Err(Error::BadLine(why)) if why.contains("sotto1:")
    ));
    assert!(matches!(
        Signal::from_line(&line.replacen("offer", "query", 1)),
        Err(Error::BadLine(_))
    ));
    // A paste cut off anywhere is refused, though most cuts leave an SDP that still parses.
    for len in 1..line.len() {
        assert!(Signal::from_line(&line[..len]).is_err(), "cut at {len}");
    }
    // Even cut at an SDP line boundary, re-encoded: the checksum no longer fits.
    let (head, checksum) = line.rsplit_once(':').expect("checksum");
    let b64 = head.rsplit_once(':').expect("payload").1;
    let sdp = offer.to_sdp();
    let shorter = &sdp[..sdp.trim_end().rfind("\r\n").expect("lines") + 2];
    assert!(
        Offer::parse(shorter).is_ok(),
        "the shorter sdp alone reads fine"
    );
    let forged = format!("sotto1:offer:{}:{checksum}", base64url(shorter.as_bytes()));
    assert_eq!(base64url(sdp.as_bytes()), b64, "so the forgery decodes");
    assert!(matches!(
        Signal::from_line(&forged),
        Err(Error::BadLine(why)) if why.contains("cut off")
    ));
    // A changed character.
    let flipped = line.replacen("sotto1:offer:dj0w", "sotto1:offer:dj1w", 1);
    assert!(matches!(
        Signal::from_line(&flipped),
        Err(Error::BadLine(why)) if why.contains("copy it again")
    ));
    assert!(matches!(
        Signal::from_line(&"A".repeat(sotto_signal::MAX_LINE_LEN + 1)),
        Err(Error::TooLong { .. })
    ));
}

#[test]
fn local_media_sotto_cannot_offer_is_refused() {
    let mut local = endpoint(1, 5004, false);
    local.audio.port = 0;
    assert!(matches!(
        Offer::new(&local),
        Err(Error::InvalidValue { .. })
    ));
    let mut local = endpoint(1, 5004, false);
    let candidate = local.audio.candidates[0].clone();
    local.audio.candidates = vec![candidate; sotto_signal::MAX_CANDIDATES + 1];
    assert!(matches!(Offer::new(&local), Err(Error::TooMany { .. })));
}

/// Unpadded base64url, written out here so the test does not trust the crate's encoder.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}
