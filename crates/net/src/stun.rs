//! The few STUN messages sotto sends and the checks every received one passes, on top of
//! `stun-rs`. STUN is a handful of packets a second (checks paced at 50 ms, consent every
//! 5 s), not the media path, so these may allocate.

use std::net::SocketAddr;

use stun_rs::attributes::ice::{IceControlled, IceControlling, Priority, UseCandidate};
use stun_rs::attributes::stun::{
    ErrorCode, Fingerprint, MessageIntegrity, UserName, XorMappedAddress,
};
use stun_rs::error::{StunErrorLevel, StunErrorType};
use stun_rs::methods::BINDING;
use stun_rs::{
    DecoderContextBuilder, HMACKey, MessageClass, MessageDecoderBuilder, MessageEncoderBuilder,
    StunAttribute, StunAttributeType, StunMessage, StunMessageBuilder, TransactionId,
};

use crate::Error;

/// A STUN transaction id.
pub(crate) type Tid = [u8; 12];

const HEADER_LEN: usize = 20;
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];
/// Our messages stay far below this: USERNAME is at most 513 bytes (two 256-char ufrags).
const MAX_ENCODED: usize = 1024;

/// RFC 7983 demultiplexing plus the magic cookie: true when `packet` may be STUN and belongs to
/// a [`Gatherer`](crate::Gatherer) or [`Agent`](crate::Agent) rather than ZRTP or SRTP.
pub fn is_stun(packet: &[u8]) -> bool {
    packet.len() >= HEADER_LEN && packet[0] < 4 && packet[4..8] == MAGIC_COOKIE
}

/// STUN message class, read from the header before choosing the key to verify with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    Request,
    Indication,
    Success,
    Failure,
}

/// Header checks: STUN, a Binding, length matching the datagram, and a FINGERPRINT, when
/// present, that verifies (before any MESSAGE-INTEGRITY: a wrong one means "not STUN", which
/// is dropped rather than answered). Returns the class, the id and whether FINGERPRINT is there.
pub(crate) fn peek(packet: &[u8]) -> Result<(Class, Tid, bool), Error> {
    if !is_stun(packet) {
        return Err(Error::Malformed("not a stun message"));
    }
    let msg_type = u16::from_be_bytes([packet[0], packet[1]]);
    let length = usize::from(u16::from_be_bytes([packet[2], packet[3]]));
    if length + HEADER_LEN != packet.len() || length % 4 != 0 {
        return Err(Error::Malformed("length field does not match the datagram"));
    }
    // Method bits with the two class bits (0x0110) masked out.
    if msg_type & !0x0110 != BINDING.as_u16() {
        return Err(Error::Malformed("not a binding message"));
    }
    let class = match ((msg_type >> 7) & 2) | ((msg_type >> 4) & 1) {
        0 => Class::Request,
        1 => Class::Indication,
        2 => Class::Success,
        _ => Class::Failure,
    };
    let mut tid = [0u8; 12];
    tid.copy_from_slice(&packet[8..HEADER_LEN]);
    // FINGERPRINT is always the last attribute: type 0x8028, length 4 (RFC 8489 14.7).
    let tail = packet.len() - 8;
    let fingerprint = tail >= HEADER_LEN && packet[tail..tail + 4] == [0x80, 0x28, 0, 4];
    if fingerprint {
        let crc = crc32(&packet[..tail]) ^ 0x5354_554e;
        if crc.to_be_bytes() != packet[tail + 4..] {
            return Err(Error::BadFingerprint);
        }
    }
    Ok((class, tid, fingerprint))
}

/// CRC-32 (ISO 3309, as FINGERPRINT uses), bitwise: STUN messages are short and rare.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xedb8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// Decodes a whole datagram. With `key`, a MESSAGE-INTEGRITY that is present must verify (see
/// [`has_integrity`] for its presence); a FINGERPRINT that is present must verify.
pub(crate) fn decode(packet: &[u8], key: Option<&HMACKey>) -> Result<StunMessage, Error> {
    let ctx = DecoderContextBuilder::default().with_validation();
    let ctx = match key {
        Some(k) => ctx.with_key(k.clone()),
        None => ctx,
    };
    let decoder = MessageDecoderBuilder::default()
        .with_context(ctx.build())
        .build();
    let msg = match decoder.decode(packet) {
        Ok((msg, len)) if len == packet.len() => msg,
        Ok(_) => return Err(Error::Malformed("trailing bytes")),
        Err(e) => {
            return Err(match e.0 {
                StunErrorLevel::Attribute(a)
                    if a.error.error_type == StunErrorType::ValidationFailed =>
                {
                    if a.attr_type == Some(Fingerprint::get_type()) {
                        Error::BadFingerprint
                    } else {
                        Error::Unauthenticated
                    }
                }
                _ => Error::Malformed("undecodable attributes"),
            })
        }
    };
    Ok(msg)
}

/// True when the message carries MESSAGE-INTEGRITY (which [`decode`] verified).
pub(crate) fn has_integrity(msg: &StunMessage) -> bool {
    msg.get::<MessageIntegrity>().is_some()
}

/// The USERNAME attribute, if any.
pub(crate) fn username(msg: &StunMessage) -> Option<&str> {
    let attr = msg.get::<UserName>()?.as_user_name().ok()?;
    Some(attr.as_str())
}

/// The XOR-MAPPED-ADDRESS attribute, if any.
pub(crate) fn xor_mapped(msg: &StunMessage) -> Option<SocketAddr> {
    let attr = msg
        .get::<XorMappedAddress>()?
        .as_xor_mapped_address()
        .ok()?;
    Some(*attr.socket_address())
}

/// The ERROR-CODE attribute as code and reason.
pub(crate) fn error_code(msg: &StunMessage) -> Option<(u16, String)> {
    let attr = msg.get::<ErrorCode>()?.as_error_code().ok()?;
    let code = attr.error_code();
    Some((code.error_code(), code.reason().to_owned()))
}

/// The role a check claims, with its tie-breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RoleAttr {
    Controlling(u64),
    Controlled(u64),
}

/// ICE attributes of a received check.
pub(crate) struct CheckAttrs {
    pub priority: Option<u32>,
    pub use_candidate: bool,
    pub role: Option<RoleAttr>,
}

pub(crate) fn check_attrs(msg: &StunMessage) -> CheckAttrs {
    let attr = |a: Option<&StunAttribute>| a.cloned();
    let role = match attr(msg.get::<IceControlling>()) {
        Some(StunAttribute::IceControlling(t)) => Some(RoleAttr::Controlling(t.as_u64())),
        _ => match attr(msg.get::<IceControlled>()) {
            Some(StunAttribute::IceControlled(t)) => Some(RoleAttr::Controlled(t.as_u64())),
            _ => None,
        },
    };
    let priority = match attr(msg.get::<Priority>()) {
        Some(StunAttribute::Priority(p)) => Some(p.as_u32()),
        _ => None,
    };
    let use_candidate = msg.get::<UseCandidate>().is_some();
    CheckAttrs {
        priority,
        use_candidate,
        role,
    }
}

/// Encodes a Binding message: `attrs`, then MESSAGE-INTEGRITY when keyed, then FINGERPRINT
/// (always: the other end's demultiplexer relies on it, RFC 8445 section 7.2.2).
fn encode(
    class: MessageClass,
    tid: Tid,
    attrs: Vec<StunAttribute>,
    key: Option<&HMACKey>,
) -> Option<Vec<u8>> {
    let mut b =
        StunMessageBuilder::new(BINDING, class).with_transaction_id(TransactionId::from(tid));
    for a in attrs {
        b = b.with_attribute(a);
    }
    if let Some(key) = key {
        b = b.with_attribute(MessageIntegrity::new(key.clone()));
    }
    let msg = b.with_attribute(Fingerprint::default()).build();
    let mut buf = [0u8; MAX_ENCODED];
    let len = MessageEncoderBuilder::default()
        .build()
        .encode(&mut buf, &msg)
        .ok()?;
    Some(buf.get(..len)?.to_vec())
}

/// A plain Binding request to a STUN server (RFC 8489 section 6).
pub(crate) fn binding_request(tid: Tid) -> Option<Vec<u8>> {
    encode(MessageClass::Request, tid, Vec::new(), None)
}

/// A connectivity check (RFC 8445 section 7.2.2), keyed with the peer's password.
pub(crate) fn check_request(
    tid: Tid,
    username: &str,
    priority: u32,
    role: RoleAttr,
    use_candidate: bool,
    key: &HMACKey,
) -> Option<Vec<u8>> {
    let mut attrs = vec![
        UserName::new(username).ok()?.into(),
        Priority::new(priority).into(),
        match role {
            RoleAttr::Controlling(t) => IceControlling::new(t).into(),
            RoleAttr::Controlled(t) => IceControlled::new(t).into(),
        },
    ];
    if use_candidate {
        attrs.push(UseCandidate::default().into());
    }
    encode(MessageClass::Request, tid, attrs, Some(key))
}

/// A Binding success response telling the requester its address as we saw it.
pub(crate) fn success_response(tid: Tid, mapped: SocketAddr, key: &HMACKey) -> Option<Vec<u8>> {
    let attrs = vec![XorMappedAddress::from(mapped).into()];
    encode(MessageClass::SuccessResponse, tid, attrs, Some(key))
}

/// A Binding error response (400, 401 or 487); authenticated only when the request was.
pub(crate) fn error_response(tid: Tid, code: u16, key: Option<&HMACKey>) -> Option<Vec<u8>> {
    let reason = match code {
        400 => "Bad Request",
        401 => "Unauthenticated",
        _ => "Role Conflict",
    };
    let code = stun_rs::ErrorCode::new(code, reason).ok()?;
    encode(
        MessageClass::ErrorResponse,
        tid,
        vec![ErrorCode::from(code).into()],
        key,
    )
}
