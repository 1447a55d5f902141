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

/// The SSRC in the clear header of a datagram of `kind`: the sender's for RTP and RTCP (SRTP
/// and SRTCP leave it in the clear), the stream's for ZRTP. `None` for STUN and unknown
/// datagrams, or one too short to hold it. Only the header is read: whether the datagram is
/// genuine is for SRTP or ZRTP to say.
pub fn header_ssrc(datagram: &[u8], kind: PacketKind) -> Option<u32> {
    // RTP (RFC 3550 5.1) and ZRTP (RFC 6189 5) carry it at byte 8, RTCP (RFC 3550 6.4) at 4.
    let at = match kind {
        PacketKind::Rtp | PacketKind::Zrtp => 8,
        PacketKind::Rtcp => 4,
        PacketKind::Stun | PacketKind::Unknown => return None,
    };
    let bytes = datagram.get(at..at + 4)?;
    Some(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
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

    #[test]
    fn header_ssrc_reads_each_kinds_offset() {
        let mut rtp = [0u8; 12];
        rtp[0] = 0x80;
        rtp[8..].copy_from_slice(&0x1122_3344u32.to_be_bytes());
        assert_eq!(header_ssrc(&rtp, PacketKind::Rtp), Some(0x1122_3344));
        assert_eq!(header_ssrc(&rtp, PacketKind::Zrtp), Some(0x1122_3344));
        let mut rtcp = [0u8; 8];
        rtcp[4..].copy_from_slice(&0x5566_7788u32.to_be_bytes());
        assert_eq!(header_ssrc(&rtcp, PacketKind::Rtcp), Some(0x5566_7788));
        assert_eq!(header_ssrc(&rtp[..11], PacketKind::Rtp), None);
        assert_eq!(header_ssrc(&rtp, PacketKind::Stun), None);
        assert_eq!(header_ssrc(&rtp, PacketKind::Unknown), None);
    }
}
