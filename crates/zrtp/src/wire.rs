//! The ZRTP wire codec (RFC 6189 section 5): the packet header and CRC-32C, and every message.
//!
//! Parsing is total: any byte string yields a [`Packet`] or an [`Error`], never a panic, and
//! every count and length is checked before it is used. [`Packet::raw`] is the message exactly
//! as received, which is what total_hash, hvi and the message MACs cover.
//!
//! Sending is two steps so the caller can keep the message bytes for those hashes and for
//! byte-identical retransmission: [`encode_message`] then [`seal_packet`].
//!
//! ```
//! use sotto_zrtp::wire::{encode_message, parse_packet, seal_packet, Header, Message};
//!
//! let mut message = Vec::new();
//! encode_message(&Message::HelloAck, &mut message);
//! let mut datagram = Vec::new();
//! seal_packet(Header { sequence: 7, ssrc: 0xdead_beef }, &message, &mut datagram);
//!
//! let packet = parse_packet(&datagram).unwrap();
//! assert_eq!(packet.message, Message::HelloAck);
//! assert_eq!(packet.raw, &message[..]);
//! ```

mod body;
mod cursor;
mod messages;

pub use body::{ConfirmBody, ConfirmFlags, SasRelayBody, MAX_SIGNATURE_LEN};
pub use messages::{
    Commit, CommitMode, Confirm, DhPart, Hello, Ping, PingAck, SasRelay, MAX_ALGORITHMS,
    MAX_PUBLIC_VALUE_LEN,
};

use crate::{Error, ErrorCode};
use cursor::Reader;

/// The magic cookie `"ZRTP"` at bytes 4..8 of every ZRTP packet.
pub const ZRTP_MAGIC: u32 = 0x5a52_5450;
/// Length of the packet header: flags, sequence number, magic cookie, SSRC.
pub const HEADER_LEN: usize = 12;
/// Length of the CRC-32C trailer.
pub const CRC_LEN: usize = 4;
/// Length of the message header: preamble, length in words, 8-byte type block.
pub const MESSAGE_HEADER_LEN: usize = 12;
/// The protocol version sotto speaks and puts in Hello and Ping.
pub const VERSION: [u8; 4] = *b"1.10";

/// First byte of an unfragmented ZRTP packet.
const FIRST_BYTE: u8 = 0x10;
/// First byte of a fragmented ZRTP packet (draft-ietf-mmusic-zrtp fragmentation).
const FIRST_BYTE_FRAGMENTED: u8 = 0x11;
/// The message preamble `0x505a`.
const PREAMBLE: [u8; 2] = [0x50, 0x5a];

/// Whether a datagram on the shared media port is ZRTP (RFC 7983 demultiplexing): first byte
/// 0x10 (or 0x11, fragmented) and the magic cookie at bytes 4..8.
pub fn is_zrtp(datagram: &[u8]) -> bool {
    match datagram {
        [first, _, _, _, m0, m1, m2, m3, ..] => {
            matches!(*first, FIRST_BYTE | FIRST_BYTE_FRAGMENTED)
                && u32::from_be_bytes([*m0, *m1, *m2, *m3]) == ZRTP_MAGIC
        }
        _ => false,
    }
}

/// The fields of the packet header that vary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Sequence number, incremented for every packet sent, retransmissions included.
    pub sequence: u16,
    /// The sender's SSRC, the same as its media stream's.
    pub ssrc: u32,
}

/// A received ZRTP packet whose CRC and structure checked out.
#[derive(Debug)]
pub struct Packet<'a> {
    /// Sequence number and SSRC.
    pub header: Header,
    /// The decoded message.
    pub message: Message,
    /// The message bytes, from the `0x505a` preamble to the end of the message, without the
    /// packet header and CRC: exactly what total_hash, hvi and the message MACs cover.
    pub raw: &'a [u8],
}

/// A ZRTP message (RFC 6189 section 5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Hello (section 5.2).
    Hello(Hello),
    /// HelloACK (section 5.3).
    HelloAck,
    /// Commit (section 5.4).
    Commit(Commit),
    /// DHPart1, sent by the responder (section 5.5).
    DhPart1(DhPart),
    /// DHPart2, sent by the initiator (section 5.6).
    DhPart2(DhPart),
    /// Confirm1, sent by the responder (section 5.7).
    Confirm1(Confirm),
    /// Confirm2, sent by the initiator (section 5.7).
    Confirm2(Confirm),
    /// Conf2ACK (section 5.8).
    Conf2Ack,
    /// Error, with its section 5.9 code.
    Error(ErrorCode),
    /// ErrorACK (section 5.10).
    ErrorAck,
    /// GoClear (section 5.11).
    GoClear {
        /// HMAC of "GoClear " keyed with the sender's mackey (truncated to 64 bits).
        clear_mac: [u8; 8],
    },
    /// ClearACK (section 5.12).
    ClearAck,
    /// SASrelay (section 5.13).
    SasRelay(SasRelay),
    /// RelayACK (section 5.14).
    RelayAck,
    /// Ping (section 5.15).
    Ping(Ping),
    /// PingACK (section 5.16).
    PingAck(PingAck),
}

impl Message {
    /// The RFC's name of the message type, without the padding spaces of the type block
    /// (`"Hello"`, `"HelloACK"`, `"DHPart1"`, `"SASrelay"`, ...).
    pub fn name(&self) -> &'static str {
        self.type_block().trim_end_matches(' ')
    }

    /// The 8-byte message type block, as on the wire.
    fn type_block(&self) -> &'static str {
        match self {
            Message::Hello(_) => "Hello   ",
            Message::HelloAck => "HelloACK",
            Message::Commit(_) => "Commit  ",
            Message::DhPart1(_) => "DHPart1 ",
            Message::DhPart2(_) => "DHPart2 ",
            Message::Confirm1(_) => "Confirm1",
            Message::Confirm2(_) => "Confirm2",
            Message::Conf2Ack => "Conf2ACK",
            Message::Error(_) => "Error   ",
            Message::ErrorAck => "ErrorACK",
            Message::GoClear { .. } => "GoClear ",
            Message::ClearAck => "ClearACK",
            Message::SasRelay(_) => "SASrelay",
            Message::RelayAck => "RelayACK",
            Message::Ping(_) => "Ping    ",
            Message::PingAck(_) => "PingACK ",
        }
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            Message::Hello(m) => m.encode_body(out),
            Message::Commit(m) => m.encode_body(out),
            Message::DhPart1(m) | Message::DhPart2(m) => m.encode_body(out),
            Message::Confirm1(m) | Message::Confirm2(m) => m.encode_body(out),
            Message::Error(code) => out.extend_from_slice(&code.0.to_be_bytes()),
            Message::GoClear { clear_mac } => out.extend_from_slice(clear_mac),
            Message::SasRelay(m) => m.encode_body(out),
            Message::Ping(m) => m.encode_body(out),
            Message::PingAck(m) => m.encode_body(out),
            Message::HelloAck
            | Message::Conf2Ack
            | Message::ErrorAck
            | Message::ClearAck
            | Message::RelayAck => {}
        }
    }

    /// Decodes the body that follows a type block; `None` for an unknown type block.
    fn parse_body(block: &[u8; 8], r: &mut Reader<'_>) -> Result<Option<Message>, Error> {
        Ok(Some(match block {
            b"Hello   " => Message::Hello(Hello::parse(r)?),
            b"HelloACK" => Message::HelloAck,
            b"Commit  " => Message::Commit(Commit::parse(r)?),
            b"DHPart1 " => Message::DhPart1(DhPart::parse(r)?),
            b"DHPart2 " => Message::DhPart2(DhPart::parse(r)?),
            b"Confirm1" => Message::Confirm1(Confirm::parse(r)?),
            b"Confirm2" => Message::Confirm2(Confirm::parse(r)?),
            b"Conf2ACK" => Message::Conf2Ack,
            b"Error   " => Message::Error(ErrorCode(r.u32()?)),
            b"ErrorACK" => Message::ErrorAck,
            b"GoClear " => Message::GoClear {
                clear_mac: r.array::<8>()?,
            },
            b"ClearACK" => Message::ClearAck,
            b"SASrelay" => Message::SasRelay(SasRelay::parse(r)?),
            b"RelayACK" => Message::RelayAck,
            b"Ping    " => Message::Ping(Ping::parse(r)?),
            b"PingACK " => Message::PingAck(PingAck::parse(r)?),
            _ => return Ok(None),
        }))
    }
}

/// Decodes one message (preamble to end of message, no packet header or CRC), as kept for
/// hashing. The length field must match `message.len()` and every byte must be used.
pub fn parse_message(message: &[u8]) -> Result<Message, Error> {
    let mut r = Reader::new(message);
    if r.array::<2>()? != PREAMBLE {
        return Err(Error::Malformed("bad message preamble"));
    }
    let words = u16::from_be_bytes(r.array::<2>()?);
    if usize::from(words) * 4 != message.len() {
        return Err(Error::Malformed(
            "message length field does not match the packet",
        ));
    }
    let block = r.array::<8>()?;
    let parsed = Message::parse_body(&block, &mut r)?;
    let parsed = parsed.ok_or(Error::Malformed("unknown message type"))?;
    r.finish()?;
    Ok(parsed)
}

/// Checks and decodes a datagram: length, first byte, magic cookie, CRC-32C (a mismatch is
/// [`Error::BadCrc`]: drop it silently), then the message. Fragmented packets (first byte
/// 0x11) are not supported and are [`Error::Malformed`].
pub fn parse_packet(datagram: &[u8]) -> Result<Packet<'_>, Error> {
    let (header, rest) = datagram
        .split_first_chunk::<HEADER_LEN>()
        .ok_or(Error::Malformed("packet shorter than its header"))?;
    let (raw, crc) = rest
        .split_last_chunk::<CRC_LEN>()
        .ok_or(Error::Malformed("packet shorter than its crc"))?;
    if raw.len() < MESSAGE_HEADER_LEN {
        return Err(Error::Malformed("packet too short for a message"));
    }
    let [first, _unused, s0, s1, m0, m1, m2, m3, c0, c1, c2, c3] = *header;
    if u32::from_be_bytes([m0, m1, m2, m3]) != ZRTP_MAGIC {
        return Err(Error::Malformed("no zrtp magic cookie"));
    }
    match first {
        FIRST_BYTE => {}
        FIRST_BYTE_FRAGMENTED => {
            return Err(Error::Malformed(
                "fragmented zrtp packets are not supported",
            ))
        }
        _ => return Err(Error::Malformed("not a zrtp packet")),
    }
    let covered = datagram.len() - CRC_LEN;
    let computed = crc32c::crc32c(datagram.get(..covered).unwrap_or_default());
    if crc_bytes(computed) != *crc {
        return Err(Error::BadCrc);
    }
    Ok(Packet {
        header: Header {
            sequence: u16::from_be_bytes([s0, s1]),
            ssrc: u32::from_be_bytes([c0, c1, c2, c3]),
        },
        message: parse_message(raw)?,
        raw,
    })
}

/// Appends the bytes of `message`: preamble, length, type block and fields. Keep them: they
/// are what [`seal_packet`] sends and what the hashes and MACs cover.
///
/// Variable fields must respect the limits the parser enforces (lists of at most
/// [`MAX_ALGORITHMS`], whole-word public values and encrypted parts, a Commit mode that matches
/// its key agreement); this is checked in debug builds.
pub fn encode_message(message: &Message, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&PREAMBLE);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(message.type_block().as_bytes());
    message.encode_body(out);
    let len = out.len() - start;
    debug_assert!(len % 4 == 0, "zrtp messages are whole 32-bit words");
    let words = u16::try_from(len / 4).unwrap_or(u16::MAX);
    if let Some(field) = out.get_mut(start + 2..start + 4) {
        field.copy_from_slice(&words.to_be_bytes());
    }
}

/// The CRC-32C as transmitted. RFC 6189 borrows the SCTP checksum (RFC 3309), whose reflected
/// register goes out least significant byte first; bzrtp and libzrtpcpp both send it so, which
/// the captured packets in the tests confirm.
fn crc_bytes(crc: u32) -> [u8; CRC_LEN] {
    crc.to_le_bytes()
}

/// Appends a whole packet: the header, `message_bytes` (from [`encode_message`]) and the
/// CRC-32C over both.
pub fn seal_packet(header: Header, message_bytes: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[FIRST_BYTE, 0]);
    out.extend_from_slice(&header.sequence.to_be_bytes());
    out.extend_from_slice(&ZRTP_MAGIC.to_be_bytes());
    out.extend_from_slice(&header.ssrc.to_be_bytes());
    out.extend_from_slice(message_bytes);
    let crc = crc32c::crc32c(out.get(start..).unwrap_or_default());
    out.extend_from_slice(&crc_bytes(crc));
}

#[cfg(test)]
mod tests;
