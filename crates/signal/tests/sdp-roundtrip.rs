//! Whatever sotto-signal holds, it writes as SDP that reads back to the same value; offers and
//! answers survive the one-line form.

use std::net::IpAddr;

use proptest::collection::{btree_set, vec};
use proptest::option;
use proptest::prelude::*;
use sotto_signal::{
    AddressType, Answer, Candidate, Codec, Direction, IceCredentials, LocalMedia, LocalStream,
    Media, MediaKind, Offer, Origin, RtpMap, SessionDescription, Signal, ZrtpHash,
};

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![
        Just(Direction::SendRecv),
        Just(Direction::SendOnly),
        Just(Direction::RecvOnly),
        Just(Direction::Inactive),
    ]
}

fn ice() -> impl Strategy<Value = IceCredentials> {
    ("[a-zA-Z0-9+/]{4,12}", "[a-zA-Z0-9+/]{22,30}")
        .prop_map(|(u, p)| IceCredentials::new(&u, &p).expect("generated within the grammar"))
}

fn zrtp_hash() -> impl Strategy<Value = ZrtpHash> {
    (
        prop_oneof![Just("1.10".to_owned()), "[0-9.]{1,16}"],
        any::<[u8; 32]>(),
    )
        .prop_map(|(version, hash)| {
            let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
            ZrtpHash::parse(&format!("{version} {hex}")).expect("generated within the grammar")
        })
}

fn candidate() -> impl Strategy<Value = Candidate> {
    (
        "[a-zA-Z0-9+/]{1,8}",
        1u16..=256,
        prop_oneof![Just("UDP"), Just("TCP")],
        any::<u32>(),
        any::<IpAddr>(),
        any::<u16>(),
        prop_oneof![Just("host"), Just("srflx"), Just("relay")],
        option::of((any::<IpAddr>(), any::<u16>())),
    )
        .prop_map(|(f, c, t, p, a, port, kind, related)| {
            let mut s = format!("{f} {c} {t} {p} {a} {port} typ {kind}");
            if let Some((ra, rp)) = related {
                s.push_str(&format!(" raddr {ra} rport {rp}"));
            }
            Candidate::new(&s).expect("generated within the grammar")
        })
}

/// Free text with no blanks at either end (fmtp and rtcp-fb values are read trimmed).
fn trimmed_text() -> impl Strategy<Value = String> {
    "[!-~]([ -~]{0,16}[!-~])?"
}

fn codec(payload_type: u8) -> impl Strategy<Value = Codec> {
    (
        option::of(("[A-Za-z0-9.-]{1,12}", 1u32.., option::of(1u16..))),
        option::of(prop_oneof![Just(String::new()), trimmed_text()]),
        vec(trimmed_text(), 0..4),
    )
        .prop_map(move |(rtpmap, fmtp, feedback)| Codec {
            payload_type,
            rtpmap: rtpmap.map(|(encoding, clock_rate_hz, channels)| RtpMap {
                encoding,
                clock_rate_hz,
                channels,
            }),
            fmtp,
            feedback,
        })
}

fn codecs() -> impl Strategy<Value = Vec<Codec>> {
    btree_set(0u8..=127, 1..6).prop_flat_map(|pts| {
        pts.into_iter()
            .map(codec)
            .collect::<Vec<_>>()
            .prop_shuffle()
    })
}

fn media(session_has_connection: bool) -> impl Strategy<Value = Media> {
    let kind = prop_oneof![
        Just(MediaKind::Audio),
        Just(MediaKind::Video),
        "[a-z]{1,11}"
            .prop_filter("audio and video have their own variants", |k| {
                k != "audio" && k != "video"
            })
            .prop_map(MediaKind::Other),
    ];
    let rtp = prop_oneof![
        Just("RTP/AVP"),
        Just("RTP/SAVP"),
        Just("RTP/SAVPF"),
        Just("UDP/TLS/RTP/SAVPF"),
    ]
    .prop_flat_map(|p| (Just(p.to_owned()), codecs(), Just(Vec::new())));
    let other =
        prop_oneof![Just("udp"), Just("UDP/DTLS/SCTP"), Just("TCP/MSRP")].prop_flat_map(|p| {
            (
                Just(p.to_owned()),
                Just(Vec::new()),
                vec("[!-~]{1,8}", 1..4),
            )
        });
    (
        kind,
        any::<u16>(),
        prop_oneof![rtp, other],
        option::of(any::<IpAddr>()),
        direction(),
        any::<bool>(),
        option::of(1u32..),
        option::of(zrtp_hash()),
        option::of(ice()),
        vec(candidate(), 0..3),
    )
        .prop_map(
            move |(
                kind,
                port,
                (protocol, codecs, formats),
                connection,
                direction,
                rtcp_mux,
                ptime_ms,
                zrtp_hash,
                ice,
                candidates,
            )| {
                // A stream in use needs an address at one level or the other.
                let connection = match connection {
                    None if port != 0 && !session_has_connection => {
                        Some(IpAddr::from([192, 0, 2, 1]))
                    }
                    c => c,
                };
                Media {
                    kind,
                    port,
                    protocol,
                    codecs,
                    formats,
                    connection,
                    direction,
                    rtcp_mux,
                    ptime_ms,
                    zrtp_hash,
                    ice,
                    candidates,
                }
            },
        )
}

fn description() -> impl Strategy<Value = SessionDescription> {
    option::of(any::<IpAddr>()).prop_flat_map(|connection| {
        (
            (
                "-|[a-zA-Z0-9_.]{1,12}",
                any::<u64>(),
                any::<u64>(),
                prop_oneof![Just(AddressType::Ip4), Just(AddressType::Ip6)],
                "[a-z0-9.:]{1,20}",
            ),
            "[^\r\n\u{0}]{0,24}",
            any::<(u64, u64)>(),
            option::of(ice()),
            vec(media(connection.is_some()), 0..4),
        )
            .prop_map(
                move |(
                    (username, id, version, address_type, address),
                    name,
                    timing,
                    ice,
                    media,
                )| {
                    SessionDescription {
                        origin: Origin {
                            username,
                            session_id: id,
                            session_version: version,
                            address_type,
                            address,
                        },
                        session_name: name,
                        connection,
                        timing,
                        ice,
                        media,
                    }
                },
            )
    })
}

fn local_stream() -> impl Strategy<Value = LocalStream> {
    (
        1u16..,
        option::of(zrtp_hash()),
        direction(),
        vec(candidate(), 0..4),
    )
        .prop_map(|(port, zrtp_hash, direction, candidates)| LocalStream {
            port,
            zrtp_hash,
            direction,
            candidates,
        })
}

fn local_media() -> impl Strategy<Value = LocalMedia> {
    (
        any::<u64>(),
        any::<u64>(),
        any::<IpAddr>(),
        local_stream(),
        option::of(local_stream()),
        option::of(ice()),
    )
        .prop_map(
            |(session_id, session_version, address, audio, video, ice)| LocalMedia {
                session_id,
                session_version,
                address,
                audio,
                video,
                ice,
            },
        )
}

proptest! {
    #[test]
    fn any_description_reads_back_as_written(d in description()) {
        let sdp = d.to_sdp();
        prop_assert!(sdp.len() <= sotto_signal::MAX_SDP_LEN);
        prop_assert_eq!(SessionDescription::parse(&sdp), Ok(d), "{}", sdp);
    }

    #[test]
    fn offers_and_answers_survive_the_one_line_form(a in local_media(), b in local_media()) {
        let offer = Offer::new(&a).expect("valid local media");
        let line = offer.to_line();
        prop_assert!(line.starts_with("sotto1:offer:"));
        prop_assert!(line.bytes().all(|c| c.is_ascii_alphanumeric() || b"-_:".contains(&c)));
        prop_assert_eq!(Offer::from_line(&line), Ok(offer.clone()));
        prop_assert_eq!(Signal::from_line(&line), Ok(Signal::Offer(offer.clone())));

        let (answer, answered) = offer.answer(&b).expect("sotto answers sotto");
        let line = answer.to_line();
        prop_assert_eq!(Answer::from_line(&line), Ok(answer.clone()));
        let accepted = offer.accept(&answer).expect("sotto accepts sotto's answer");
        // Each side sends with the other's payload type, to the other's address.
        prop_assert_eq!(accepted.audio.send_payload_type, answered.audio.receive_payload_type);
        prop_assert_eq!(accepted.audio.remote.port(), b.audio.port);
        prop_assert_eq!(answered.audio.remote.port(), a.audio.port);
        prop_assert_eq!(&accepted.audio.remote_zrtp_hash, &b.audio.zrtp_hash);
        prop_assert_eq!(&answered.audio.remote_zrtp_hash, &a.audio.zrtp_hash);
        prop_assert_eq!(&answered.audio.remote_candidates, &a.audio.candidates);
        prop_assert_eq!(accepted.audio.direction.sends(), answered.audio.direction.receives());
        prop_assert_eq!(accepted.audio.direction.receives(), answered.audio.direction.sends());
        prop_assert_eq!(accepted.video.is_some(), a.video.is_some() && b.video.is_some());
        prop_assert_eq!(answered.video.is_some(), accepted.video.is_some());
    }
}
