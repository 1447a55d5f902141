//! The RTP packet (RFC 3550 section 5.1) with RFC 8285 header extensions.
//!
//! Parsing is total and zero-copy: any byte string yields a header or an [`Error`], never a
//! panic. [`RtpHeader::parse`] reads the fixed header, the CSRC list and the extension but not
//! the padding, so it also works on SRTP packets whose padding count is still encrypted;
//! [`RtpPacket::parse`] checks the padding too and hands out the payload.
//!
//! ```
//! use sotto_rtp::rtp::RtpWriter;
//! use sotto_rtp::RtpPacket;
//!
//! let mut buf = [0u8; 64];
//! let len = RtpWriter::new(111, 7, 960, 0x1234_5678).write(b"opus", &mut buf)?;
//! let packet = RtpPacket::parse(&buf[..len])?;
//! assert_eq!((packet.header.sequence, packet.payload), (7, &b"opus"[..]));
//! # Ok::<(), sotto_rtp::Error>(())
//! ```

use std::ops::Range;

use crate::Error;

/// The RTP version this crate speaks.
pub const VERSION: u8 = 2;
/// Length of the fixed RTP header, without CSRCs or extension.
pub const FIXED_HEADER_LEN: usize = 12;
/// The most CSRCs the 4-bit CC field can announce.
pub const MAX_CSRCS: usize = 15;
/// The RFC 8285 one-byte header extension profile.
pub const ONE_BYTE_PROFILE: u16 = 0xbede;
/// The RFC 8285 two-byte header extension profile (the low 4 "appbits" are free).
pub const TWO_BYTE_PROFILE: u16 = 0x1000;

/// Where a header extension sits in the packet it was parsed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderExtension {
    /// The 16-bit profile field ("defined by profile"), e.g. [`ONE_BYTE_PROFILE`].
    pub profile: u16,
    /// Offset of the extension data (after its 4-byte header) in the packet.
    pub offset: usize,
    /// Length of the extension data in bytes, a multiple of 4.
    pub len: usize,
}

impl HeaderExtension {
    /// The extension data in `packet`, the packet this extension was parsed from.
    pub fn data<'p>(&self, packet: &'p [u8]) -> &'p [u8] {
        packet
            .get(self.offset..self.offset.saturating_add(self.len))
            .unwrap_or(&[])
    }

    /// The RFC 8285 elements of the extension in `packet`. Yields nothing for a profile that
    /// is neither the one-byte nor the two-byte form.
    pub fn elements<'p>(&self, packet: &'p [u8]) -> ExtensionElements<'p> {
        let form = if self.profile == ONE_BYTE_PROFILE {
            Some(false)
        } else if self.profile & 0xfff0 == TWO_BYTE_PROFILE {
            Some(true)
        } else {
            None
        };
        ExtensionElements {
            data: self.data(packet),
            two_byte: form.unwrap_or(false),
            done: form.is_none(),
        }
    }
}

/// One RFC 8285 header extension element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtensionElement<'p> {
    /// The local identifier negotiated in SDP (`a=extmap`).
    pub id: u8,
    /// The element's value.
    pub data: &'p [u8],
}

/// Iterator over RFC 8285 extension elements; yields an error once if an element overruns the
/// extension, then ends.
#[derive(Clone, Debug)]
pub struct ExtensionElements<'p> {
    data: &'p [u8],
    two_byte: bool,
    done: bool,
}

impl<'p> Iterator for ExtensionElements<'p> {
    type Item = Result<ExtensionElement<'p>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let (&first, rest) = self.data.split_first()?;
            if first == 0 {
                // A zero byte is padding between or after elements in both forms.
                self.data = rest;
                continue;
            }
            let (id, len, rest) = if self.two_byte {
                let Some((&len, rest)) = rest.split_first() else {
                    self.done = true;
                    return Some(Err(Error::Malformed("rtp extension element overruns")));
                };
                (first, usize::from(len), rest)
            } else {
                let id = first >> 4;
                if id == 15 {
                    // RFC 8285 section 4.2: ID 15 stops processing of the rest.
                    self.done = true;
                    return None;
                }
                (id, usize::from(first & 0x0f) + 1, rest)
            };
            let Some((data, rest)) = rest.split_at_checked(len) else {
                self.done = true;
                return Some(Err(Error::Malformed("rtp extension element overruns")));
            };
            self.data = rest;
            return Some(Ok(ExtensionElement { id, data }));
        }
        None
    }
}

/// A parsed RTP header (RFC 3550 section 5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpHeader {
    /// The M bit: first packet of a talkspurt (audio) or last packet of a frame (video).
    pub marker: bool,
    /// The 7-bit payload type.
    pub payload_type: u8,
    /// The 16-bit sequence number.
    pub sequence: u16,
    /// The media timestamp, in units of the payload's clock rate.
    pub timestamp: u32,
    /// The synchronisation source.
    pub ssrc: u32,
    /// Number of contributing sources, 0..=15.
    pub csrc_count: u8,
    /// Length of the whole header: fixed part, CSRCs and extension.
    pub header_len: usize,
    /// The P bit: the packet ends in padding whose last byte counts it.
    pub padding: bool,
    /// The header extension, if the X bit is set.
    pub extension: Option<HeaderExtension>,
    csrcs: [u32; MAX_CSRCS],
}

impl RtpHeader {
    /// Parses the header at the start of `packet`. The padding count is not read (it may be
    /// encrypted); see [`RtpHeader::payload_range`].
    pub fn parse(packet: &[u8]) -> Result<RtpHeader, Error> {
        let Some(fixed) = packet.first_chunk::<FIXED_HEADER_LEN>() else {
            return Err(Error::TooShort("rtp header"));
        };
        if fixed[0] >> 6 != VERSION {
            return Err(Error::Malformed("rtp version is not 2"));
        }
        let padding = fixed[0] & 0x20 != 0;
        let has_extension = fixed[0] & 0x10 != 0;
        let csrc_count = fixed[0] & 0x0f;
        let mut csrcs = [0u32; MAX_CSRCS];
        let csrc_end = FIXED_HEADER_LEN + 4 * usize::from(csrc_count);
        let csrc_bytes = packet
            .get(FIXED_HEADER_LEN..csrc_end)
            .ok_or(Error::TooShort("rtp csrc list"))?;
        for (slot, word) in csrcs.iter_mut().zip(csrc_bytes.chunks_exact(4)) {
            *slot = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        let mut header_len = csrc_end;
        let extension = if has_extension {
            let ext = packet
                .get(csrc_end..csrc_end + 4)
                .ok_or(Error::TooShort("rtp extension header"))?;
            let profile = u16::from_be_bytes([ext[0], ext[1]]);
            let len = 4 * usize::from(u16::from_be_bytes([ext[2], ext[3]]));
            let offset = csrc_end + 4;
            header_len = offset + len;
            if packet.len() < header_len {
                return Err(Error::TooShort("rtp extension"));
            }
            Some(HeaderExtension {
                profile,
                offset,
                len,
            })
        } else {
            None
        };
        Ok(RtpHeader {
            marker: fixed[1] & 0x80 != 0,
            payload_type: fixed[1] & 0x7f,
            sequence: u16::from_be_bytes([fixed[2], fixed[3]]),
            timestamp: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
            ssrc: u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]),
            csrc_count,
            header_len,
            padding,
            extension,
            csrcs,
        })
    }

    /// The contributing sources.
    pub fn csrcs(&self) -> &[u32] {
        self.csrcs
            .get(..usize::from(self.csrc_count))
            .unwrap_or(&self.csrcs)
    }

    /// The byte range of the payload in `packet` (the packet this header was parsed from):
    /// after the header, before the padding. Checks the padding count: at least 1 and no
    /// longer than what follows the header.
    pub fn payload_range(&self, packet: &[u8]) -> Result<Range<usize>, Error> {
        if packet.len() < self.header_len {
            return Err(Error::TooShort("rtp header"));
        }
        let mut end = packet.len();
        if self.padding {
            let count = usize::from(*packet.last().ok_or(Error::TooShort("rtp padding"))?);
            if count == 0 {
                return Err(Error::Malformed("rtp padding count is zero"));
            }
            if count > end - self.header_len {
                return Err(Error::Malformed("rtp padding longer than the payload"));
            }
            end -= count;
        }
        Ok(self.header_len..end)
    }
}

/// A parsed RTP packet borrowing its payload from the received bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// The header.
    pub header: RtpHeader,
    /// The payload, without header, extension or padding.
    pub payload: &'a [u8],
}

impl<'a> RtpPacket<'a> {
    /// Parses a whole (unencrypted) RTP packet, padding included.
    pub fn parse(packet: &'a [u8]) -> Result<Self, Error> {
        let header = RtpHeader::parse(packet)?;
        let range = header.payload_range(packet)?;
        let payload = packet.get(range).ok_or(Error::TooShort("rtp payload"))?;
        Ok(RtpPacket { header, payload })
    }
}

/// The fields of an RTP packet to send; [`RtpWriter::write`] serialises it with a payload into
/// a caller buffer without allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpWriter<'a> {
    /// The M bit.
    pub marker: bool,
    /// The 7-bit payload type.
    pub payload_type: u8,
    /// The sequence number.
    pub sequence: u16,
    /// The media timestamp.
    pub timestamp: u32,
    /// The synchronisation source.
    pub ssrc: u32,
    /// Contributing sources, at most [`MAX_CSRCS`].
    pub csrcs: &'a [u32],
    /// A header extension: profile and data. Data that is not a multiple of 4 bytes is padded
    /// with zero bytes, which RFC 8285 reads as padding.
    pub extension: Option<(u16, &'a [u8])>,
    /// Bytes of padding to append, the count byte included; 0 for none.
    pub padding: u8,
}

impl<'a> RtpWriter<'a> {
    /// A packet with no marker, CSRCs, extension or padding.
    pub fn new(payload_type: u8, sequence: u16, timestamp: u32, ssrc: u32) -> Self {
        RtpWriter {
            marker: false,
            payload_type,
            sequence,
            timestamp,
            ssrc,
            csrcs: &[],
            extension: None,
            padding: 0,
        }
    }

    /// Length of the header this writer produces (fixed part, CSRCs, extension).
    pub fn header_len(&self) -> usize {
        let ext = self
            .extension
            .map_or(0, |(_, data)| 4 + data.len().div_ceil(4) * 4);
        FIXED_HEADER_LEN + 4 * self.csrcs.len() + ext
    }

    /// Writes header, `payload` and padding into `out`; returns the packet length.
    pub fn write(&self, payload: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        if self.payload_type > 0x7f {
            return Err(Error::InvalidArgument("rtp payload type above 127"));
        }
        if self.csrcs.len() > MAX_CSRCS {
            return Err(Error::InvalidArgument("more than 15 rtp csrcs"));
        }
        let ext_words = match self.extension {
            Some((_, data)) => Some(
                u16::try_from(data.len().div_ceil(4))
                    .map_err(|_| Error::InvalidArgument("rtp extension longer than 65535 words"))?,
            ),
            None => None,
        };
        let header_len = self.header_len();
        let needed = header_len + payload.len() + usize::from(self.padding);
        let have = out.len();
        let out = out
            .get_mut(..needed)
            .ok_or(Error::BufferTooSmall { needed, have })?;
        // The slice is exactly `needed` long, so the fixed offsets below are in range.
        let (header, rest) = out.split_at_mut(header_len);
        header[0] = (VERSION << 6)
            | if self.padding > 0 { 0x20 } else { 0 }
            | if self.extension.is_some() { 0x10 } else { 0 }
            | self.csrcs.len() as u8;
        header[1] = if self.marker { 0x80 } else { 0 } | self.payload_type;
        header[2..4].copy_from_slice(&self.sequence.to_be_bytes());
        header[4..8].copy_from_slice(&self.timestamp.to_be_bytes());
        header[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        let mut at = FIXED_HEADER_LEN;
        for csrc in self.csrcs {
            header[at..at + 4].copy_from_slice(&csrc.to_be_bytes());
            at += 4;
        }
        if let (Some((profile, data)), Some(words)) = (self.extension, ext_words) {
            header[at..at + 2].copy_from_slice(&profile.to_be_bytes());
            header[at + 2..at + 4].copy_from_slice(&words.to_be_bytes());
            at += 4;
            header[at..at + data.len()].copy_from_slice(data);
            header[at + data.len()..].fill(0);
        }
        let (body, pad) = rest.split_at_mut(payload.len());
        body.copy_from_slice(payload);
        if let Some((count, zeros)) = pad.split_last_mut() {
            zeros.fill(0);
            *count = self.padding;
        }
        Ok(needed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc8285_one_byte_elements() {
        // Two elements (id 1 len 1, id 2 len 3) and one padding byte, as in RFC 8285 4.2.
        let data = [0x10, 0xaa, 0x22, 1, 2, 3, 0, 0];
        let mut buf = [0u8; 64];
        let mut writer = RtpWriter::new(96, 1, 2, 3);
        writer.extension = Some((ONE_BYTE_PROFILE, &data));
        let len = writer.write(b"x", &mut buf).unwrap();
        let header = RtpHeader::parse(&buf[..len]).unwrap();
        let ext = header.extension.unwrap();
        let elements: Vec<_> = ext.elements(&buf[..len]).map(Result::unwrap).collect();
        assert_eq!(
            elements,
            [
                ExtensionElement {
                    id: 1,
                    data: &[0xaa]
                },
                ExtensionElement {
                    id: 2,
                    data: &[1, 2, 3]
                }
            ]
        );
    }

    #[test]
    fn parses_rfc8285_two_byte_elements_and_reports_overrun() {
        let ok = [5, 0, 0, 2, 2, 9, 9, 7, 1, 0, 0, 0];
        let ext = HeaderExtension {
            profile: 0x1003,
            offset: 0,
            len: ok.len(),
        };
        let elements: Vec<_> = ext.elements(&ok).map(Result::unwrap).collect();
        assert_eq!(
            elements,
            [
                ExtensionElement { id: 5, data: &[] },
                ExtensionElement {
                    id: 2,
                    data: &[9, 9]
                },
                ExtensionElement { id: 7, data: &[0] },
            ]
        );
        let bad = [3, 9, 1, 2];
        let ext = HeaderExtension { len: 4, ..ext };
        let results: Vec<_> = ext.elements(&bad).collect();
        assert!(matches!(results[..], [Err(Error::Malformed(_))]));
    }

    #[test]
    fn rejects_bad_padding() {
        let mut buf = [0u8; 32];
        let mut writer = RtpWriter::new(0, 0, 0, 0);
        writer.padding = 4;
        let len = writer.write(b"ab", &mut buf).unwrap();
        assert_eq!(RtpPacket::parse(&buf[..len]).unwrap().payload, b"ab");
        buf[len - 1] = 0;
        assert!(RtpPacket::parse(&buf[..len]).is_err());
        buf[len - 1] = 7;
        assert!(RtpPacket::parse(&buf[..len]).is_err());
        buf[len - 1] = 6;
        assert_eq!(RtpPacket::parse(&buf[..len]).unwrap().payload, b"");
    }
}
