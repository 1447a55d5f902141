//! One-port demultiplexing (RFC 7983, RFC 5761 section 4, ZRTP per RFC 6189 section 5):
//! which protocol a datagram on the call's UDP port belongs to, from its first bytes.
//!
//! ```
//! use sotto_rtp::{classify, PacketKind};
//!
//! assert_eq!(classify(&[0x80, 0xc8, 0, 6]), PacketKind::Rtcp); // an SR
//! assert_eq!(classify(&[0x80, 0x6f, 0, 1]), PacketKind::Rtp); // PT 111, Opus
//! ```

/// What a datagram on the shared media port is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// STUN (first byte 0..=3).
    Stun,
    /// ZRTP (first byte 0x10 or 0x11 and the `ZRTP` magic cookie at bytes 4..8).
    Zrtp,
    /// RTP or SRTP (first byte 128..=191, not an RTCP packet type).
    Rtp,
    /// RTCP or SRTCP (first byte 128..=191, second byte 192..=223).
    Rtcp,
    /// Anything else, DTLS (20..=63) and TURN channels (64..=79) included: sotto uses neither.
    Unknown,
}

/// Classifies a datagram received on the media port.
pub fn classify(datagram: &[u8]) -> PacketKind {
    match datagram {
        [0..=3, ..] => PacketKind::Stun,
        [0x10 | 0x11, ..] if sotto_zrtp::wire::is_zrtp(datagram) => PacketKind::Zrtp,
        // RFC 5761 section 4: the second byte is M plus PT; RTCP types 192..=223 are RTP
        // payload types 64..=95 with the marker set, which RTP must not use.
        [128..=191, 192..=223, ..] => PacketKind::Rtcp,
        [128..=191, _, ..] => PacketKind::Rtp,
        _ => PacketKind::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_byte_is_never_rtp() {
        assert_eq!(classify(&[0x80]), PacketKind::Unknown);
        assert_eq!(classify(&[]), PacketKind::Unknown);
        assert_eq!(classify(&[0x00]), PacketKind::Stun);
    }
}
