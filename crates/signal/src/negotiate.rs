//! Offer/answer (RFC 3264) for a sotto call: Opus audio, optionally H.264 video, both RTP keyed
//! by ZRTP, each stream bound to its ZRTP endpoint by `a=zrtp-hash`.

use std::net::{IpAddr, SocketAddr};

use crate::attr::{Candidate, Direction, IceCredentials, ZrtpHash};
use crate::sdp::{AddressType, Codec, Media, MediaKind, Origin, RtpMap, SessionDescription};
use crate::{parse, Error, MAX_CANDIDATES};

/// The payload type sotto offers Opus on.
pub const OPUS_PAYLOAD_TYPE: u8 = 111;
/// The Opus fmtp sotto writes: 10 ms frames at least, in-band FEC wanted (RFC 7587).
pub const OPUS_FMTP: &str = "minptime=10;useinbandfec=1";
/// The packet duration sotto sends and asks for.
pub const OPUS_PTIME_MS: u32 = 20;
/// The payload type sotto offers H.264 on.
pub const H264_PAYLOAD_TYPE: u8 = 96;
/// The H.264 sotto sends: constrained baseline (what openh264 encodes), level 3.1,
/// packetization mode 1 (FU-A and STAP-A, RFC 6184).
pub const H264_PROFILE_LEVEL_ID: [u8; 3] = [0x42, 0xe0, 0x1f];
/// The RTCP feedback sotto's video takes: NACK, PLI and FIR.
pub const H264_FEEDBACK: [&str; 3] = ["nack", "nack pli", "ccm fir"];
/// The session name sotto writes.
pub const SESSION_NAME: &str = "sotto";
/// The protocol sotto offers: RTP whose SRTP keys come from ZRTP.
pub const PROTOCOL: &str = "RTP/SAVP";

/// What this endpoint brings to a call, for [`Offer::new`] and [`Offer::answer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalMedia {
    /// `o=` session id: random, kept for the life of the call (the caller draws it; this crate
    /// has no RNG).
    pub session_id: u64,
    /// `o=` version; start at 1 and raise it with every new description.
    pub session_version: u64,
    /// The address the media socket is reachable at (`c=`, and `o=`).
    pub address: IpAddr,
    /// The audio stream.
    pub audio: LocalStream,
    /// The video stream, if this end wants video.
    pub video: Option<LocalStream>,
    /// ICE credentials, if this end runs ICE.
    pub ice: Option<IceCredentials>,
}

/// One stream of [`LocalMedia`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalStream {
    /// The UDP port (sotto carries every stream on one port: give the same to each).
    pub port: u16,
    /// `a=zrtp-hash` of this stream's ZRTP session: always set it for audio; a video stream
    /// keyed in Multistream mode has its own Hello and so its own hash.
    pub zrtp_hash: Option<ZrtpHash>,
    /// Which way this end wants media to flow.
    pub direction: Direction,
    /// ICE candidates for this stream.
    pub candidates: Vec<Candidate>,
}

impl LocalStream {
    /// A send-and-receive stream on `port`, bound to a ZRTP Hello, without candidates.
    pub fn new(port: u16, zrtp_hash: Option<ZrtpHash>) -> Self {
        LocalStream {
            port,
            zrtp_hash,
            direction: Direction::SendRecv,
            candidates: Vec::new(),
        }
    }
}

/// An SDP offer (RFC 3264 section 5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer(pub SessionDescription);

/// An SDP answer (RFC 3264 section 6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer(pub SessionDescription);

/// What both ends agreed on, from this end's point of view: everything the engine needs to
/// run the call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// The Opus stream.
    pub audio: NegotiatedAudio,
    /// The H.264 stream, if both ends wanted video.
    pub video: Option<NegotiatedVideo>,
}

/// The audio stream both ends agreed on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegotiatedAudio {
    /// Where the peer receives it (its `c=` and port).
    pub remote: SocketAddr,
    /// The payload type to send Opus with (the peer's number for it).
    pub send_payload_type: u8,
    /// The payload type Opus arrives with (ours).
    pub receive_payload_type: u8,
    /// Which way media flows for this end.
    pub direction: Direction,
    /// The packet duration the peer asks for, if it says.
    pub remote_ptime_ms: Option<u32>,
    /// The peer's decoder uses in-band FEC (`useinbandfec=1`): worth encoding it.
    pub send_fec: bool,
    /// Both ends put RTCP on the RTP port.
    pub rtcp_mux: bool,
    /// The peer's `a=zrtp-hash` for this stream, for `SessionConfig::peer_hello_hash`. `None`
    /// when the peer sent none: then nothing binds its Hello to the signaling, and only the
    /// SAS comparison exposes a man in the middle.
    pub remote_zrtp_hash: Option<ZrtpHash>,
    /// The peer's ICE credentials for this stream (its own or the session's).
    pub remote_ice: Option<IceCredentials>,
    /// The peer's ICE candidates for this stream.
    pub remote_candidates: Vec<Candidate>,
}

/// The video stream both ends agreed on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegotiatedVideo {
    /// Where the peer receives it.
    pub remote: SocketAddr,
    /// The payload type to send H.264 with (the peer's number for it).
    pub send_payload_type: u8,
    /// The payload type H.264 arrives with (ours).
    pub receive_payload_type: u8,
    /// Which way media flows for this end.
    pub direction: Direction,
    /// The peer's profile-level-id: its profile and the highest level it decodes.
    pub remote_profile_level_id: [u8; 3],
    /// The peer takes generic NACK (`a=rtcp-fb:<pt> nack`).
    pub nack: bool,
    /// The peer takes PLI (`nack pli`).
    pub pli: bool,
    /// The peer takes FIR (`ccm fir`).
    pub fir: bool,
    /// Both ends put RTCP on the RTP port.
    pub rtcp_mux: bool,
    /// The peer's `a=zrtp-hash` for this stream.
    pub remote_zrtp_hash: Option<ZrtpHash>,
    /// The peer's ICE credentials for this stream.
    pub remote_ice: Option<IceCredentials>,
    /// The peer's ICE candidates for this stream.
    pub remote_candidates: Vec<Candidate>,
}

impl Offer {
    /// sotto's offer: an Opus stream and, if `local.video` is set, an H.264 stream, both
    /// `RTP/SAVP` with rtcp-mux, each with its `a=zrtp-hash` and candidates.
    pub fn new(local: &LocalMedia) -> Result<Offer, Error> {
        check_local(local)?;
        let mut media = vec![audio_media(
            &local.audio,
            PROTOCOL,
            OPUS_PAYLOAD_TYPE,
            true,
            local.audio.direction,
        )];
        if let Some(video) = &local.video {
            let codec = h264_codec(
                H264_PAYLOAD_TYPE,
                H264_PROFILE_LEVEL_ID,
                H264_FEEDBACK.iter().map(|f| (*f).to_owned()).collect(),
            );
            media.push(video_media(video, PROTOCOL, codec, true, video.direction));
        }
        Ok(Offer(session(local, media)))
    }

    /// Reads an SDP offer (see [`SessionDescription::parse`]).
    pub fn parse(sdp: &str) -> Result<Offer, Error> {
        parse::parse(sdp).map(Offer)
    }

    /// The SDP text.
    pub fn to_sdp(&self) -> String {
        self.0.to_sdp()
    }

    /// Answers the offer (RFC 3264 section 6): the first audio stream with Opus is accepted,
    /// the first video stream with packetization-mode 1 H.264 is accepted if `local.video` is
    /// set, every other stream is rejected (port 0), in the offer's order. Directions, payload
    /// types and rtcp-mux follow the offer.
    ///
    /// Errors: an offer with no audio ([`Error::NoAudio`]), audio without Opus
    /// ([`Error::NoOpus`]), or audio not over plain RTP profiles
    /// ([`Error::UnsupportedProtocol`], DTLS-SRTP for one).
    pub fn answer(&self, local: &LocalMedia) -> Result<(Answer, Negotiated), Error> {
        check_local(local)?;
        let offer = &self.0;
        let audio_index = offer
            .media
            .iter()
            .position(|m| m.kind == MediaKind::Audio && m.port != 0)
            .ok_or(Error::NoAudio)?;
        let offered_audio = &offer.media[audio_index];
        check_protocol(&offered_audio.protocol)?;
        let opus = find_opus(offered_audio)?;
        let video_index = local.video.as_ref().and_then(|_| usable_video(offer));
        let media = offer
            .media
            .iter()
            .enumerate()
            .map(|(i, m)| match (&local.video, video_index) {
                _ if i == audio_index => audio_media(
                    &local.audio,
                    &m.protocol,
                    opus.payload_type,
                    m.rtcp_mux,
                    local.audio.direction.with_peer(m.direction),
                ),
                (Some(video), Some(v)) if i == v => {
                    let Some((offered, profile)) = find_h264(m) else {
                        return rejected(m);
                    };
                    let feedback = H264_FEEDBACK
                        .iter()
                        .filter(|f| offered.has_feedback(f))
                        .map(|f| (*f).to_owned())
                        .collect();
                    // The offer's profile, at the lower of the two levels (RFC 6184 8.2.2).
                    let level = profile[2].min(H264_PROFILE_LEVEL_ID[2]);
                    let codec = h264_codec(
                        offered.payload_type,
                        [profile[0], profile[1], level],
                        feedback,
                    );
                    video_media(
                        video,
                        &m.protocol,
                        codec,
                        m.rtcp_mux,
                        video.direction.with_peer(m.direction),
                    )
                }
                _ => rejected(m),
            })
            .collect();
        let answer = Answer(session(local, media));
        let negotiated = negotiated(&answer.0, offer, audio_index, video_index)?;
        Ok((answer, negotiated))
    }

    /// Checks the peer's answer against this offer and says what was agreed.
    ///
    /// Errors: an answer with other streams than the offer ([`Error::AnswerMismatch`]), with
    /// the audio rejected ([`Error::AudioRejected`]) or without Opus ([`Error::NoOpus`]).
    pub fn accept(&self, answer: &Answer) -> Result<Negotiated, Error> {
        let (offer, answer) = (&self.0, &answer.0);
        if offer.media.len() != answer.media.len() {
            return Err(Error::AnswerMismatch(
                "it has a different number of media streams",
            ));
        }
        if offer
            .media
            .iter()
            .zip(&answer.media)
            .any(|(o, a)| o.kind != a.kind)
        {
            return Err(Error::AnswerMismatch(
                "its media streams are not the offer's",
            ));
        }
        let audio_index = offer
            .media
            .iter()
            .position(|m| m.kind == MediaKind::Audio && m.port != 0)
            .ok_or(Error::NoAudio)?;
        let answered = &answer.media[audio_index];
        if answered.port == 0 {
            return Err(Error::AudioRejected);
        }
        if answered.protocol != offer.media[audio_index].protocol {
            return Err(Error::AnswerMismatch("the audio protocol changed"));
        }
        find_opus(answered)?;
        let video_index = usable_video(offer).filter(|&v| {
            let a = &answer.media[v];
            a.port != 0 && a.protocol == offer.media[v].protocol && find_h264(a).is_some()
        });
        negotiated(offer, answer, audio_index, video_index)
    }
}

impl Answer {
    /// Reads an SDP answer (see [`SessionDescription::parse`]).
    pub fn parse(sdp: &str) -> Result<Answer, Error> {
        parse::parse(sdp).map(Answer)
    }

    /// The SDP text.
    pub fn to_sdp(&self) -> String {
        self.0.to_sdp()
    }
}

impl SessionDescription {
    /// Reads SDP text (RFC 8866), CRLF or LF line ends, at most
    /// [`MAX_SDP_LEN`](crate::MAX_SDP_LEN) bytes and [`MAX_LINES`](crate::MAX_LINES) lines.
    /// `v=`, `o=`, `s=`, `t=` and a connection address for every stream in use are required;
    /// the attributes a call depends on must be well-formed; unknown lines and attributes are
    /// read past.
    pub fn parse(sdp: &str) -> Result<SessionDescription, Error> {
        parse::parse(sdp)
    }
}

fn check_local(local: &LocalMedia) -> Result<(), Error> {
    if local.audio.port == 0 || local.video.as_ref().is_some_and(|v| v.port == 0) {
        return Err(Error::InvalidValue {
            what: "local media",
            reason: "a stream sotto offers or accepts needs a port other than 0",
        });
    }
    let too_many = |s: &LocalStream| s.candidates.len() > MAX_CANDIDATES;
    if too_many(&local.audio) || local.video.as_ref().is_some_and(too_many) {
        return Err(Error::TooMany {
            what: "ice candidates for one stream",
            max: MAX_CANDIDATES,
        });
    }
    Ok(())
}

fn session(local: &LocalMedia, media: Vec<Media>) -> SessionDescription {
    SessionDescription {
        origin: Origin {
            username: "-".to_owned(),
            session_id: local.session_id,
            session_version: local.session_version,
            address_type: AddressType::of(local.address),
            address: local.address.to_string(),
        },
        session_name: SESSION_NAME.to_owned(),
        connection: Some(local.address),
        timing: (0, 0),
        ice: local.ice.clone(),
        media,
    }
}

fn audio_media(
    stream: &LocalStream,
    protocol: &str,
    payload_type: u8,
    rtcp_mux: bool,
    direction: Direction,
) -> Media {
    Media {
        kind: MediaKind::Audio,
        port: stream.port,
        protocol: protocol.to_owned(),
        codecs: vec![Codec {
            payload_type,
            rtpmap: Some(RtpMap {
                encoding: "opus".to_owned(),
                clock_rate_hz: 48_000,
                channels: Some(2),
            }),
            fmtp: Some(OPUS_FMTP.to_owned()),
            feedback: Vec::new(),
        }],
        formats: Vec::new(),
        connection: None,
        direction,
        rtcp_mux,
        ptime_ms: Some(OPUS_PTIME_MS),
        zrtp_hash: stream.zrtp_hash.clone(),
        ice: None,
        candidates: stream.candidates.clone(),
    }
}

fn h264_codec(payload_type: u8, profile_level_id: [u8; 3], feedback: Vec<String>) -> Codec {
    let [p, c, l] = profile_level_id;
    Codec {
        payload_type,
        rtpmap: Some(RtpMap {
            encoding: "H264".to_owned(),
            clock_rate_hz: 90_000,
            channels: None,
        }),
        fmtp: Some(format!(
            "packetization-mode=1;profile-level-id={p:02x}{c:02x}{l:02x}"
        )),
        feedback,
    }
}

fn video_media(
    stream: &LocalStream,
    protocol: &str,
    codec: Codec,
    rtcp_mux: bool,
    direction: Direction,
) -> Media {
    Media {
        kind: MediaKind::Video,
        port: stream.port,
        protocol: protocol.to_owned(),
        codecs: vec![codec],
        formats: Vec::new(),
        connection: None,
        direction,
        rtcp_mux,
        ptime_ms: None,
        zrtp_hash: stream.zrtp_hash.clone(),
        ice: None,
        candidates: stream.candidates.clone(),
    }
}

/// The answer's line for a stream sotto turns down: port 0, the offer's formats, nothing else
/// (RFC 3264 section 6).
fn rejected(offered: &Media) -> Media {
    Media {
        kind: offered.kind.clone(),
        port: 0,
        protocol: offered.protocol.clone(),
        codecs: offered
            .codecs
            .iter()
            .map(|c| Codec {
                payload_type: c.payload_type,
                rtpmap: None,
                fmtp: None,
                feedback: Vec::new(),
            })
            .collect(),
        formats: offered.formats.clone(),
        connection: None,
        direction: Direction::Inactive,
        rtcp_mux: false,
        ptime_ms: None,
        zrtp_hash: None,
        ice: None,
        candidates: Vec::new(),
    }
}

/// The first video stream of an offer that sotto can take: in use, over a plain RTP profile,
/// with H.264 it can send and receive.
fn usable_video(offer: &SessionDescription) -> Option<usize> {
    offer.media.iter().position(|m| {
        m.kind == MediaKind::Video
            && m.port != 0
            && check_protocol(&m.protocol).is_ok()
            && find_h264(m).is_some()
    })
}

/// The plain RTP profiles ZRTP keys; DTLS-SRTP (`UDP/TLS/RTP/SAVPF`) and non-RTP are refused.
fn check_protocol(protocol: &str) -> Result<(), Error> {
    match protocol {
        "RTP/AVP" | "RTP/SAVP" | "RTP/AVPF" | "RTP/SAVPF" => Ok(()),
        other => Err(Error::UnsupportedProtocol(other.to_owned())),
    }
}

fn find_opus(media: &Media) -> Result<&Codec, Error> {
    media
        .codecs
        .iter()
        .find(|c| {
            c.rtpmap.as_ref().is_some_and(|r| {
                r.encoding.eq_ignore_ascii_case("opus")
                    && r.clock_rate_hz == 48_000
                    && r.channels.is_none_or(|ch| ch == 2)
            })
        })
        .ok_or_else(|| {
            let listed: Vec<String> = media
                .codecs
                .iter()
                .map(|c| match &c.rtpmap {
                    Some(r) => format!("{}/{}", r.encoding, r.clock_rate_hz),
                    None => format!("payload type {}", c.payload_type),
                })
                .collect();
            Error::NoOpus {
                offered: if listed.is_empty() {
                    "nothing".to_owned()
                } else {
                    listed.join(", ")
                },
            }
        })
}

/// The first H.264 payload type sotto can both send to and receive from: packetization mode 1
/// (sotto fragments with FU-A) and a profile a constrained-baseline stream fits (RFC 6184
/// table 5). Also gives its profile-level-id (absent means baseline level 1, `42000a`).
fn find_h264(media: &Media) -> Option<(&Codec, [u8; 3])> {
    media.codecs.iter().find_map(|c| {
        let r = c.rtpmap.as_ref()?;
        if !r.encoding.eq_ignore_ascii_case("H264") || r.clock_rate_hz != 90_000 {
            return None;
        }
        if c.fmtp_param("packetization-mode")? != "1" {
            return None;
        }
        let profile = match c.fmtp_param("profile-level-id") {
            None => [0x42, 0x00, 0x0a],
            Some(hex) => parse_profile_level_id(hex)?,
        };
        let [idc, iop, _] = profile;
        let constrained_baseline = match idc {
            0x42 => true,
            0x4d => iop & 0x80 != 0,
            0x58 => iop & 0xc0 == 0xc0,
            _ => false,
        };
        constrained_baseline.then_some((c, profile))
    })
}

fn parse_profile_level_id(hex: &str) -> Option<[u8; 3]> {
    if hex.len() != 6 || !hex.is_ascii() {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

/// The agreement, seen from `ours` (our SDP) with the peer's `theirs`.
fn negotiated(
    ours: &SessionDescription,
    theirs: &SessionDescription,
    audio_index: usize,
    video_index: Option<usize>,
) -> Result<Negotiated, Error> {
    let remote_address = |m: &Media| -> Result<SocketAddr, Error> {
        let ip = m
            .connection
            .or(theirs.connection)
            .ok_or(Error::Missing("c= (connection address) for a media stream"))?;
        Ok(SocketAddr::new(ip, m.port))
    };
    let remote_ice = |m: &Media| m.ice.clone().or_else(|| theirs.ice.clone());
    let (our_audio, their_audio) = (&ours.media[audio_index], &theirs.media[audio_index]);
    let (our_opus, their_opus) = (find_opus(our_audio)?, find_opus(their_audio)?);
    let audio = NegotiatedAudio {
        remote: remote_address(their_audio)?,
        send_payload_type: their_opus.payload_type,
        receive_payload_type: our_opus.payload_type,
        direction: our_audio.direction.with_peer(their_audio.direction),
        remote_ptime_ms: their_audio.ptime_ms,
        send_fec: their_opus.fmtp_param("useinbandfec") == Some("1"),
        rtcp_mux: our_audio.rtcp_mux && their_audio.rtcp_mux,
        remote_zrtp_hash: their_audio.zrtp_hash.clone(),
        remote_ice: remote_ice(their_audio),
        remote_candidates: their_audio.candidates.clone(),
    };
    let video = match video_index {
        None => None,
        Some(v) => {
            let (our_video, their_video) = (&ours.media[v], &theirs.media[v]);
            match (find_h264(our_video), find_h264(their_video)) {
                (Some((our_codec, _)), Some((their_codec, profile))) => Some(NegotiatedVideo {
                    remote: remote_address(their_video)?,
                    send_payload_type: their_codec.payload_type,
                    receive_payload_type: our_codec.payload_type,
                    direction: our_video.direction.with_peer(their_video.direction),
                    remote_profile_level_id: profile,
                    nack: their_codec.has_feedback("nack"),
                    pli: their_codec.has_feedback("nack pli"),
                    fir: their_codec.has_feedback("ccm fir"),
                    rtcp_mux: our_video.rtcp_mux && their_video.rtcp_mux,
                    remote_zrtp_hash: their_video.zrtp_hash.clone(),
                    remote_ice: remote_ice(their_video),
                    remote_candidates: their_video.candidates.clone(),
                }),
                _ => None,
            }
        }
    };
    Ok(Negotiated { audio, video })
}
