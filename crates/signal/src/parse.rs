//! The SDP reader: strict where a call depends on it (the mandatory lines, addresses, ports,
//! payload types, rtpmap, fmtp, rtcp-fb, ptime, directions, ICE, `a=zrtp-hash`), tolerant of
//! everything else (unknown line types and attributes are read past), bounded in every
//! dimension, and total: any input gives a description or an [`Error`], never a panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::attr::{check_ice_chars, parse_candidate, parse_zrtp_hash, Direction, IceCredentials};
use crate::sdp::{AddressType, Codec, Media, MediaKind, Origin, RtpMap, SessionDescription};
use crate::{
    Error, MAX_CANDIDATES, MAX_FEEDBACK, MAX_FORMATS, MAX_LINES, MAX_MEDIA, MAX_SDP_LEN,
    MAX_ZRTP_HASHES,
};

type Reason = &'static str;

/// Why a line was refused: broken, or one too many of something bounded.
enum Fault {
    Malformed(Reason),
    TooMany(&'static str, usize),
}

impl From<Reason> for Fault {
    fn from(reason: Reason) -> Self {
        Fault::Malformed(reason)
    }
}

/// ICE credentials as they come, a line at a time.
#[derive(Default)]
struct IceLines {
    ufrag: Option<String>,
    pwd: Option<String>,
}

impl IceLines {
    fn set(&mut self, name: &str, value: &str) -> Result<(), Reason> {
        let (slot, min, reason) = if name == "ice-ufrag" {
            (
                &mut self.ufrag,
                4,
                "ice-ufrag must be 4 to 256 of a-z A-Z 0-9 + /",
            )
        } else {
            (
                &mut self.pwd,
                22,
                "ice-pwd must be 22 to 256 of a-z A-Z 0-9 + /",
            )
        };
        check_ice_chars(value, min, reason)?;
        if slot.is_some() {
            return Err("a second ice credential of one kind");
        }
        *slot = Some(value.to_owned());
        Ok(())
    }

    fn finish(self) -> Result<Option<IceCredentials>, Error> {
        match (self.ufrag, self.pwd) {
            (None, None) => Ok(None),
            (Some(ufrag), Some(pwd)) => IceCredentials::new(&ufrag, &pwd).map(Some),
            _ => Err(Error::Missing("a=ice-ufrag and a=ice-pwd pair")),
        }
    }
}

/// An `m=` section being read.
struct MediaLines {
    media: Media,
    direction: Option<Direction>,
    wildcard_feedback: Vec<String>,
    ice: IceLines,
    zrtp_hashes: usize,
    is_rtp: bool,
}

pub(crate) fn parse(text: &str) -> Result<SessionDescription, Error> {
    if text.len() > MAX_SDP_LEN {
        return Err(Error::TooLong {
            len: text.len(),
            max: MAX_SDP_LEN,
        });
    }
    let mut started = false;
    let mut counted = 0usize;
    let mut origin = None;
    let mut session_name = None;
    let mut connection = None;
    let mut timing = None;
    let mut direction = None;
    let mut ice = IceLines::default();
    let mut media: Vec<MediaLines> = Vec::new();

    for (index, raw) in text.split('\n').enumerate() {
        let n = index + 1;
        let at = |reason| Error::Malformed { line: n, reason };
        let fault = |fault| match fault {
            Fault::Malformed(reason) => at(reason),
            Fault::TooMany(what, max) => Error::TooMany { what, max },
        };
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.is_empty() {
            // A trailing newline, or gaps a paste introduced.
            continue;
        }
        counted += 1;
        if counted > MAX_LINES {
            return Err(Error::TooMany {
                what: "lines",
                max: MAX_LINES,
            });
        }
        if line.contains(['\r', '\0']) {
            return Err(at("stray carriage return or nul inside a line"));
        }
        let bytes = line.as_bytes();
        if bytes.len() < 2 || !bytes[0].is_ascii_lowercase() || bytes[1] != b'=' {
            return Err(at("expected <letter>=<value>"));
        }
        let (kind, value) = (bytes[0], &line[2..]);
        if !started {
            if kind == b'v' && value == "0" {
                started = true;
                continue;
            }
            return Err(at("an sdp starts with v=0"));
        }
        match (kind, media.last_mut()) {
            (b'v', _) => return Err(at("a second v= line")),
            (b'm', _) => {
                if media.len() == MAX_MEDIA {
                    return Err(Error::TooMany {
                        what: "media streams",
                        max: MAX_MEDIA,
                    });
                }
                media.push(parse_media_line(value).map_err(fault)?);
            }
            (b'c', None) => {
                if connection.is_some() {
                    return Err(at("a second session-level c= line"));
                }
                connection = Some(parse_connection(value).map_err(at)?);
            }
            (b'c', Some(m)) => {
                if m.media.connection.is_some() {
                    return Err(at("a second c= line in one media section"));
                }
                m.media.connection = Some(parse_connection(value).map_err(at)?);
            }
            (b'o', None) => {
                if origin.is_some() {
                    return Err(at("a second o= line"));
                }
                origin = Some(parse_origin(value).map_err(at)?);
            }
            (b's', None) => {
                if session_name.is_some() {
                    return Err(at("a second s= line"));
                }
                session_name = Some(value.to_owned());
            }
            // Only the first time span matters to a call; others (and r=, z=) are read past.
            (b't', None) if timing.is_none() => {
                timing = Some(parse_timing(value).map_err(at)?);
            }
            (b'o' | b's' | b't', Some(_)) => return Err(at("session-level line after an m= line")),
            (b'a', None) => {
                session_attribute(value, &mut direction, &mut ice).map_err(at)?;
            }
            (b'a', Some(m)) => media_attribute(value, m).map_err(fault)?,
            // i=, u=, e=, p=, b=, r=, z=, k= and future types carry nothing a call uses.
            _ => {}
        }
    }
    if !started {
        return Err(Error::Missing("v=0"));
    }
    let origin = origin.ok_or(Error::Missing("o="))?;
    let session_name = session_name.ok_or(Error::Missing("s="))?;
    let timing = timing.ok_or(Error::Missing("t="))?;
    let media = media
        .into_iter()
        .map(|m| finish_media(m, direction, connection))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SessionDescription {
        origin,
        session_name,
        connection,
        timing,
        ice: ice.finish()?,
        media,
    })
}

fn finish_media(
    lines: MediaLines,
    session_direction: Option<Direction>,
    session_connection: Option<IpAddr>,
) -> Result<Media, Error> {
    let MediaLines {
        mut media,
        direction,
        wildcard_feedback,
        ice,
        ..
    } = lines;
    media.direction = direction.or(session_direction).unwrap_or_default();
    media.ice = ice.finish()?;
    for codec in &mut media.codecs {
        for fb in &wildcard_feedback {
            if !codec.feedback.contains(fb) {
                if codec.feedback.len() == MAX_FEEDBACK {
                    return Err(Error::TooMany {
                        what: "rtcp-fb values for one payload type",
                        max: MAX_FEEDBACK,
                    });
                }
                codec.feedback.push(fb.clone());
            }
        }
    }
    if media.port != 0 && media.connection.is_none() && session_connection.is_none() {
        return Err(Error::Missing("c= (connection address) for a media stream"));
    }
    Ok(media)
}

fn session_attribute(
    attribute: &str,
    direction: &mut Option<Direction>,
    ice: &mut IceLines,
) -> Result<(), Reason> {
    let (name, value) = attribute.split_once(':').unwrap_or((attribute, ""));
    if let Some(d) = Direction::from_attribute(name) {
        return set_direction(direction, d);
    }
    match name {
        "ice-ufrag" | "ice-pwd" => ice.set(name, value.trim()),
        // Everything else at session level (a=zrtp-hash, which RFC 6189 puts on each stream
        // since each has a Hello of its own, group, ice-options, fingerprint, ...) is not kept.
        _ => Ok(()),
    }
}

fn set_direction(slot: &mut Option<Direction>, d: Direction) -> Result<(), Reason> {
    match slot {
        Some(old) if *old != d => Err("conflicting direction attributes"),
        _ => {
            *slot = Some(d);
            Ok(())
        }
    }
}

fn media_attribute(attribute: &str, m: &mut MediaLines) -> Result<(), Fault> {
    let (name, value) = attribute.split_once(':').unwrap_or((attribute, ""));
    if let Some(d) = Direction::from_attribute(name) {
        return set_direction(&mut m.direction, d).map_err(Fault::from);
    }
    match name {
        "rtcp-mux" => m.media.rtcp_mux = true,
        "ice-ufrag" | "ice-pwd" => m.ice.set(name, value.trim())?,
        "ptime" => {
            let ptime = parse_number::<u32>(value.trim(), 10).ok_or("ptime must be a number")?;
            if ptime == 0 {
                return Err(Fault::Malformed("ptime must be more than 0 ms"));
            }
            m.media.ptime_ms = Some(ptime);
        }
        "zrtp-hash" => {
            m.zrtp_hashes += 1;
            if m.zrtp_hashes > MAX_ZRTP_HASHES {
                return Err(Fault::TooMany(
                    "zrtp-hash attributes for one stream",
                    MAX_ZRTP_HASHES,
                ));
            }
            let hash = parse_zrtp_hash(value)?;
            // One per ZRTP version may come; sotto's Hello is 1.10.
            let keep = match &m.media.zrtp_hash {
                None => true,
                Some(old) => old.version() != "1.10" && hash.version() == "1.10",
            };
            if keep {
                m.media.zrtp_hash = Some(hash);
            }
        }
        "candidate" => {
            if m.media.candidates.len() == MAX_CANDIDATES {
                return Err(Fault::TooMany(
                    "ice candidates for one stream",
                    MAX_CANDIDATES,
                ));
            }
            m.media.candidates.push(parse_candidate(value)?);
        }
        "rtpmap" | "fmtp" | "rtcp-fb" if m.is_rtp => codec_attribute(name, value, m)?,
        _ => {}
    }
    Ok(())
}

fn codec_attribute(name: &str, value: &str, m: &mut MediaLines) -> Result<(), Fault> {
    let (pt, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if name == "rtcp-fb" && pt == "*" {
        if rest.is_empty() {
            return Err(Fault::Malformed("rtcp-fb without a feedback type"));
        }
        if m.wildcard_feedback.len() == MAX_FEEDBACK {
            return Err(Fault::TooMany(
                "rtcp-fb values for one payload type",
                MAX_FEEDBACK,
            ));
        }
        m.wildcard_feedback.push(rest.to_owned());
        return Ok(());
    }
    let pt = parse_payload_type(pt)?;
    // An attribute for a payload type the m= line does not list describes nothing.
    let Some(codec) = m.media.codecs.iter_mut().find(|c| c.payload_type == pt) else {
        return Ok(());
    };
    match name {
        "rtpmap" => {
            if codec.rtpmap.is_some() {
                return Err(Fault::Malformed("a second rtpmap for one payload type"));
            }
            codec.rtpmap = Some(parse_rtpmap(rest)?);
        }
        "fmtp" => {
            if codec.fmtp.is_some() {
                return Err(Fault::Malformed("a second fmtp for one payload type"));
            }
            codec.fmtp = Some(rest.to_owned());
        }
        _ => {
            if rest.is_empty() {
                return Err(Fault::Malformed("rtcp-fb without a feedback type"));
            }
            if codec.feedback.len() == MAX_FEEDBACK {
                return Err(Fault::TooMany(
                    "rtcp-fb values for one payload type",
                    MAX_FEEDBACK,
                ));
            }
            codec.feedback.push(rest.to_owned());
        }
    }
    Ok(())
}

fn parse_rtpmap(value: &str) -> Result<RtpMap, Reason> {
    let mut parts = value.split('/');
    let encoding = parts.next().unwrap_or_default();
    if encoding.is_empty() || !encoding.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("rtpmap needs an encoding name");
    }
    let clock_rate_hz = parts
        .next()
        .and_then(|c| parse_number::<u32>(c, 10))
        .filter(|&c| c > 0)
        .ok_or("rtpmap needs a clock rate")?;
    let channels = match parts.next() {
        None => None,
        Some(c) => Some(
            parse_number::<u16>(c, 5)
                .filter(|&c| c > 0)
                .ok_or("rtpmap channels must be a number")?,
        ),
    };
    if parts.next().is_some() {
        return Err("rtpmap has too many fields");
    }
    Ok(RtpMap {
        encoding: encoding.to_owned(),
        clock_rate_hz,
        channels,
    })
}

fn parse_media_line(value: &str) -> Result<MediaLines, Fault> {
    let mut fields = value.split(' ').filter(|f| !f.is_empty());
    let kind = fields
        .next()
        .ok_or("m= needs media, port, protocol and formats")?;
    let port = fields
        .next()
        .ok_or("m= needs media, port, protocol and formats")?;
    let protocol = fields
        .next()
        .ok_or("m= needs media, port, protocol and formats")?;
    // A port count (`49170/2`) asks for consecutive ports, which a call on one port ignores.
    let (port, count) = port.split_once('/').unwrap_or((port, "1"));
    let port = parse_number::<u16>(port, 5).ok_or("m= port must be 0 to 65535")?;
    if parse_number::<u16>(count, 5).is_none() {
        return Err(Fault::Malformed("m= port count must be a number"));
    }
    if !is_token(kind) || !is_token(protocol) {
        return Err(Fault::Malformed("m= media and protocol must be tokens"));
    }
    let is_rtp = protocol.split('/').any(|p| p == "RTP");
    let mut codecs: Vec<Codec> = Vec::new();
    let mut formats: Vec<String> = Vec::new();
    for fmt in fields {
        if codecs.len() + formats.len() == MAX_FORMATS {
            return Err(Fault::TooMany("formats on one m= line", MAX_FORMATS));
        }
        if is_rtp {
            let pt = parse_payload_type(fmt)?;
            if codecs.iter().any(|c| c.payload_type == pt) {
                return Err(Fault::Malformed(
                    "a payload type listed twice on the m= line",
                ));
            }
            codecs.push(Codec {
                payload_type: pt,
                rtpmap: None,
                fmtp: None,
                feedback: Vec::new(),
            });
        } else {
            if !is_token(fmt) {
                return Err(Fault::Malformed("m= formats must be tokens"));
            }
            formats.push(fmt.to_owned());
        }
    }
    if codecs.is_empty() && formats.is_empty() {
        return Err(Fault::Malformed("m= needs at least one format"));
    }
    let kind = match kind {
        "audio" => MediaKind::Audio,
        "video" => MediaKind::Video,
        other => MediaKind::Other(other.to_owned()),
    };
    Ok(MediaLines {
        media: Media {
            kind,
            port,
            protocol: protocol.to_owned(),
            codecs,
            formats,
            connection: None,
            direction: Direction::default(),
            rtcp_mux: false,
            ptime_ms: None,
            zrtp_hash: None,
            ice: None,
            candidates: Vec::new(),
        },
        direction: None,
        wildcard_feedback: Vec::new(),
        ice: IceLines::default(),
        zrtp_hashes: 0,
        is_rtp,
    })
}

fn parse_connection(value: &str) -> Result<IpAddr, Reason> {
    let mut fields = value.split(' ');
    let (Some(net), Some(kind), Some(address), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err("c= must be \"IN IP4|IP6 <address>\"");
    };
    if net != "IN" {
        return Err("c= network type must be IN");
    }
    // A multicast TTL or address count follows a slash; the address is what a call needs.
    let address = address.split('/').next().unwrap_or_default();
    match kind {
        "IP4" => address.parse::<Ipv4Addr>().map(IpAddr::V4),
        "IP6" => address.parse::<Ipv6Addr>().map(IpAddr::V6),
        _ => return Err("c= address type must be IP4 or IP6"),
    }
    .map_err(|_| "c= must carry an ip address of its type (host names are not resolved)")
}

fn parse_origin(value: &str) -> Result<Origin, Reason> {
    let fields: Vec<&str> = value.split(' ').collect();
    let [username, id, version, net, kind, address] = fields[..] else {
        return Err("o= must be \"<user> <id> <version> IN IP4|IP6 <address>\"");
    };
    let session_id = parse_number::<u64>(id, 20).ok_or("o= session id must be a number")?;
    let session_version =
        parse_number::<u64>(version, 20).ok_or("o= session version must be a number")?;
    if net != "IN" {
        return Err("o= network type must be IN");
    }
    let address_type = match kind {
        "IP4" => AddressType::Ip4,
        "IP6" => AddressType::Ip6,
        _ => return Err("o= address type must be IP4 or IP6"),
    };
    if !is_token(username) || !is_token(address) {
        return Err("o= username and address must be non-empty tokens");
    }
    Ok(Origin {
        username: username.to_owned(),
        session_id,
        session_version,
        address_type,
        address: address.to_owned(),
    })
}

fn parse_timing(value: &str) -> Result<(u64, u64), Reason> {
    let mut fields = value.split(' ');
    match (fields.next(), fields.next(), fields.next()) {
        (Some(start), Some(stop), None) => Ok((
            parse_number(start, 20).ok_or("t= start must be a number")?,
            parse_number(stop, 20).ok_or("t= stop must be a number")?,
        )),
        _ => Err("t= must be \"<start> <stop>\""),
    }
}

fn parse_payload_type(s: &str) -> Result<u8, Reason> {
    parse_number::<u8>(s, 3)
        .filter(|&pt| pt <= 127)
        .ok_or("rtp payload type must be 0 to 127")
}

/// A decimal number of at most `max_digits` digits, no sign.
fn parse_number<T: core::str::FromStr>(s: &str, max_digits: usize) -> Option<T> {
    if s.is_empty() || s.len() > max_digits || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// RFC 8866's token: visible ASCII.
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic())
}
