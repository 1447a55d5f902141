//! The session description as sotto reads and writes it (RFC 8866), and its writer.
//!
//! The model keeps what a sotto call acts on: origin, connection addresses, each media
//! stream's codecs (rtpmap, fmtp, rtcp-fb), direction, rtcp-mux, ptime, `a=zrtp-hash`, and ICE
//! credentials and candidates. Other attributes are read past and not kept. Writing a parsed
//! description and parsing it again gives the same description.

use core::fmt::Write as _;
use std::net::IpAddr;

use crate::attr::{Candidate, Direction, IceCredentials, ZrtpHash};

/// One SDP session description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionDescription {
    /// `o=`: who made it and which version it is.
    pub origin: Origin,
    /// `s=`, as written (RFC 8866 asks for `-` or a single space when there is no name).
    pub session_name: String,
    /// Session-level `c=`: the address of every stream that has none of its own.
    pub connection: Option<IpAddr>,
    /// `t=`: start and stop time (NTP seconds); `0 0` for a call.
    pub timing: (u64, u64),
    /// Session-level ICE credentials (a stream's own, if any, take precedence).
    pub ice: Option<IceCredentials>,
    /// The `m=` sections, in order: an answer has the offer's, in the offer's order.
    pub media: Vec<Media>,
}

/// `o=<username> <sess-id> <sess-version> IN <IP4|IP6> <address>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// `-` when there is none.
    pub username: String,
    /// Identifies the session; stays the same across re-offers.
    pub session_id: u64,
    /// Grows with every new description of the same session.
    pub session_version: u64,
    /// `IP4` or `IP6`.
    pub address_type: AddressType,
    /// An address or host name; identifies, never used to reach anyone.
    pub address: String,
}

/// `IP4` or `IP6`, the address types of `o=` and `c=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressType {
    /// IPv4.
    Ip4,
    /// IPv6.
    Ip6,
}

impl AddressType {
    /// The type of an address.
    pub fn of(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(_) => AddressType::Ip4,
            IpAddr::V6(_) => AddressType::Ip6,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            AddressType::Ip4 => "IP4",
            AddressType::Ip6 => "IP6",
        }
    }
}

/// The first field of `m=`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// `audio`.
    Audio,
    /// `video`.
    Video,
    /// Anything else (`application`, `text`, ...), which sotto always rejects.
    Other(String),
}

impl MediaKind {
    /// The `m=` token.
    pub fn as_str(&self) -> &str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Other(s) => s,
        }
    }
}

/// One `m=` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Media {
    /// Audio, video or other.
    pub kind: MediaKind,
    /// The port; 0 rejects the stream (RFC 3264 section 6).
    pub port: u16,
    /// The transport protocol, e.g. `RTP/SAVP`.
    pub protocol: String,
    /// With an RTP protocol: one entry per payload type of the `m=` line, in its order.
    pub codecs: Vec<Codec>,
    /// With any other protocol: the `m=` line's format tokens (sotto only rejects such streams).
    pub formats: Vec<String>,
    /// Media-level `c=`.
    pub connection: Option<IpAddr>,
    /// Which way media flows (a session-level direction applies when the stream has none).
    pub direction: Direction,
    /// `a=rtcp-mux` (RFC 5761): RTCP on the RTP port.
    pub rtcp_mux: bool,
    /// `a=ptime`: the packet duration the receiver prefers.
    pub ptime_ms: Option<u32>,
    /// `a=zrtp-hash` of this stream's ZRTP endpoint; of several (one per ZRTP version) the 1.10
    /// one is kept, or the first.
    pub zrtp_hash: Option<ZrtpHash>,
    /// Media-level ICE credentials.
    pub ice: Option<IceCredentials>,
    /// `a=candidate` lines.
    pub candidates: Vec<Candidate>,
}

impl Media {
    /// The codec with payload type `pt`.
    pub fn codec(&self, pt: u8) -> Option<&Codec> {
        self.codecs.iter().find(|c| c.payload_type == pt)
    }
}

/// One RTP payload type of a stream and what the SDP says about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Codec {
    /// 0 to 127.
    pub payload_type: u8,
    /// `a=rtpmap`; a static payload type (PCMU is 0) may come without.
    pub rtpmap: Option<RtpMap>,
    /// `a=fmtp` parameters, e.g. `minptime=10;useinbandfec=1`.
    pub fmtp: Option<String>,
    /// `a=rtcp-fb` values, e.g. `nack`, `nack pli`, `ccm fir` (an `a=rtcp-fb:*` applies to
    /// every payload type of the stream).
    pub feedback: Vec<String>,
}

impl Codec {
    /// The encoding name (`opus`, `H264`), if the codec has an rtpmap.
    pub fn encoding(&self) -> Option<&str> {
        self.rtpmap.as_ref().map(|r| r.encoding.as_str())
    }

    /// The `key=value` pairs of the fmtp, separated by `;` (as Opus and H.264 write them).
    pub fn fmtp_params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fmtp
            .as_deref()
            .unwrap_or_default()
            .split(';')
            .filter_map(|p| {
                let (k, v) = p.split_once('=')?;
                Some((k.trim(), v.trim()))
            })
    }

    /// One fmtp parameter, its name compared without regard to case.
    pub fn fmtp_param(&self, name: &str) -> Option<&str> {
        self.fmtp_params()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Whether the codec takes `a=rtcp-fb:<pt> <value>`.
    pub fn has_feedback(&self, value: &str) -> bool {
        self.feedback.iter().any(|f| f.eq_ignore_ascii_case(value))
    }
}

/// `a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtpMap {
    /// Encoding name as written (`opus`, `H264`); compare without regard to case.
    pub encoding: String,
    /// RTP clock rate.
    pub clock_rate_hz: u32,
    /// Audio channels, when given.
    pub channels: Option<u16>,
}

impl SessionDescription {
    /// The SDP text, lines ending in CRLF. Free-text fields (session name, fmtp and rtcp-fb
    /// values, names and tokens) are written with any line break or NUL replaced by a space,
    /// so a description can never smuggle in a line of its own.
    pub fn to_sdp(&self) -> String {
        let mut out = String::with_capacity(512 + 256 * self.media.len());
        let o = &self.origin;
        line(
            &mut out,
            format_args!(
                "v=0\r\no={} {} {} IN {} {}",
                Token(&o.username),
                o.session_id,
                o.session_version,
                o.address_type.as_str(),
                Token(&o.address)
            ),
        );
        line(&mut out, format_args!("s={}", Text(&self.session_name)));
        if let Some(c) = self.connection {
            write_connection(&mut out, c);
        }
        line(
            &mut out,
            format_args!("t={} {}", self.timing.0, self.timing.1),
        );
        if let Some(ice) = &self.ice {
            write_ice(&mut out, ice);
        }
        for m in &self.media {
            write_media(&mut out, m);
        }
        out
    }
}

fn write_media(out: &mut String, m: &Media) {
    let _ = write!(
        out,
        "m={} {} {}",
        Token(m.kind.as_str()),
        m.port,
        Token(&m.protocol)
    );
    for c in &m.codecs {
        let _ = write!(out, " {}", c.payload_type);
    }
    for f in &m.formats {
        let _ = write!(out, " {}", Token(f));
    }
    out.push_str("\r\n");
    if let Some(c) = m.connection {
        write_connection(out, c);
    }
    for c in &m.codecs {
        if let Some(map) = &c.rtpmap {
            let _ = write!(
                out,
                "a=rtpmap:{} {}/{}",
                c.payload_type,
                Token(&map.encoding),
                map.clock_rate_hz
            );
            if let Some(ch) = map.channels {
                let _ = write!(out, "/{ch}");
            }
            out.push_str("\r\n");
        }
        if let Some(fmtp) = &c.fmtp {
            line(
                out,
                format_args!("a=fmtp:{} {}", c.payload_type, Text(fmtp)),
            );
        }
        for fb in &c.feedback {
            line(
                out,
                format_args!("a=rtcp-fb:{} {}", c.payload_type, Text(fb)),
            );
        }
    }
    if let Some(ptime) = m.ptime_ms {
        line(out, format_args!("a=ptime:{ptime}"));
    }
    if m.rtcp_mux {
        out.push_str("a=rtcp-mux\r\n");
    }
    line(out, format_args!("a={}", m.direction.as_str()));
    if let Some(ice) = &m.ice {
        write_ice(out, ice);
    }
    if let Some(hash) = &m.zrtp_hash {
        line(out, format_args!("a=zrtp-hash:{hash}"));
    }
    for c in &m.candidates {
        line(out, format_args!("a=candidate:{c}"));
    }
}

fn write_connection(out: &mut String, address: IpAddr) {
    line(
        out,
        format_args!("c=IN {} {address}", AddressType::of(address).as_str()),
    );
}

fn write_ice(out: &mut String, ice: &IceCredentials) {
    line(
        out,
        format_args!("a=ice-ufrag:{}\r\na=ice-pwd:{}", ice.ufrag(), ice.pwd()),
    );
}

fn line(out: &mut String, args: core::fmt::Arguments<'_>) {
    let _ = out.write_fmt(args);
    out.push_str("\r\n");
}

/// Free text on a line of its own: line breaks and NUL become spaces.
struct Text<'a>(&'a str);

impl core::fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for c in self.0.chars() {
            f.write_char(if matches!(c, '\r' | '\n' | '\0') {
                ' '
            } else {
                c
            })?;
        }
        Ok(())
    }
}

/// A space-separated field: white space and control characters become `_`, and an empty
/// field `-`, so the field count of the line holds.
struct Token<'a>(&'a str);

impl core::fmt::Display for Token<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.0.is_empty() {
            return f.write_char('-');
        }
        for c in self.0.chars() {
            f.write_char(if c.is_whitespace() || c.is_control() {
                '_'
            } else {
                c
            })?;
        }
        Ok(())
    }
}
