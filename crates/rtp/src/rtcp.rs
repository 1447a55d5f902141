//! RTCP packets: RFC 3550 SR, RR, SDES and BYE, RFC 4585 generic NACK and PLI, RFC 5104 FIR;
//! compound packets parsed as an iterator and built into a caller buffer.
//!
//! The same types serve both directions. A parsed packet borrows its lists (report blocks,
//! NACK pairs, ...) from the received bytes; a packet to send borrows them from a slice of
//! values (`WireList::from(&blocks[..])`). Lists compare by value, so a packet equals its own
//! parse.
//!
//! Every length field is checked against the bytes actually present before it is used, and
//! no length is ever subtracted without checking it first. Packet types this crate does not
//! handle (APP, XR, other feedback formats) are skipped, not errors.
//!
//! ```
//! use sotto_rtp::rtcp::{parse_compound, write_compound, Pli, RtcpPacket, ReceiverReport};
//!
//! let packets = [
//!     RtcpPacket::ReceiverReport(ReceiverReport { ssrc: 1, blocks: (&[][..]).into() }),
//!     RtcpPacket::Pli(Pli { sender_ssrc: 1, media_ssrc: 2 }),
//! ];
//! let mut buf = [0u8; 64];
//! let len = write_compound(&packets, 0, &mut buf)?;
//! let parsed: Vec<_> = parse_compound(&buf[..len]).collect::<Result<_, _>>()?;
//! assert_eq!(parsed, packets);
//! # Ok::<(), sotto_rtp::Error>(())
//! ```

use std::fmt;

use crate::Error;

/// Packet type of a sender report.
pub const PT_SR: u8 = 200;
/// Packet type of a receiver report.
pub const PT_RR: u8 = 201;
/// Packet type of source description.
pub const PT_SDES: u8 = 202;
/// Packet type of goodbye.
pub const PT_BYE: u8 = 203;
/// Packet type of transport-layer feedback (RFC 4585).
pub const PT_RTPFB: u8 = 205;
/// Packet type of payload-specific feedback (RFC 4585).
pub const PT_PSFB: u8 = 206;
/// RTPFB format of a generic NACK.
pub const FMT_NACK: u8 = 1;
/// PSFB format of a picture loss indication.
pub const FMT_PLI: u8 = 1;
/// PSFB format of a full intra request.
pub const FMT_FIR: u8 = 4;
/// SDES item type of a CNAME.
pub const SDES_CNAME: u8 = 1;
/// Length of the common RTCP header.
pub const HEADER_LEN: usize = 4;
/// Most entries a 5-bit count field can announce.
pub const MAX_COUNT: usize = 31;

fn be32(bytes: &[u8], at: usize) -> u32 {
    match bytes.get(at..at + 4) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
        _ => 0,
    }
}

/// An item of a fixed wire size in a list inside an RTCP packet.
pub trait WireItem: Copy {
    /// The item's size on the wire.
    const LEN: usize;
    /// Decodes from exactly [`WireItem::LEN`] bytes.
    fn decode(bytes: &[u8]) -> Self;
    /// Encodes into exactly [`WireItem::LEN`] bytes.
    fn encode(&self, out: &mut [u8]);
}

impl WireItem for u32 {
    const LEN: usize = 4;
    fn decode(bytes: &[u8]) -> Self {
        be32(bytes, 0)
    }
    fn encode(&self, out: &mut [u8]) {
        out.copy_from_slice(&self.to_be_bytes());
    }
}

/// A list of items inside an RTCP packet: either the received bytes (decoded as iterated) or a
/// slice of values to send.
#[derive(Clone, Copy)]
pub struct WireList<'a, T> {
    repr: ListRepr<'a, T>,
}

#[derive(Clone, Copy)]
enum ListRepr<'a, T> {
    Wire(&'a [u8]),
    Values(&'a [T]),
}

impl<'a, T: WireItem> WireList<'a, T> {
    /// `bytes.len()` must be a multiple of `T::LEN`; the parser guarantees it.
    fn wire(bytes: &'a [u8]) -> Self {
        WireList {
            repr: ListRepr::Wire(bytes),
        }
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        match self.repr {
            ListRepr::Wire(bytes) => bytes.len() / T::LEN,
            ListRepr::Values(values) => values.len(),
        }
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The items, in order.
    pub fn iter(&self) -> WireListIter<'a, T> {
        WireListIter { repr: self.repr }
    }

    fn encode(&self, out: &mut [u8]) {
        match self.repr {
            ListRepr::Wire(bytes) => out.copy_from_slice(bytes),
            ListRepr::Values(values) => {
                for (value, chunk) in values.iter().zip(out.chunks_exact_mut(T::LEN)) {
                    value.encode(chunk);
                }
            }
        }
    }
}

impl<'a, T> From<&'a [T]> for WireList<'a, T> {
    fn from(values: &'a [T]) -> Self {
        WireList {
            repr: ListRepr::Values(values),
        }
    }
}

impl<'a, T, const N: usize> From<&'a [T; N]> for WireList<'a, T> {
    fn from(values: &'a [T; N]) -> Self {
        WireList {
            repr: ListRepr::Values(values),
        }
    }
}

impl<T: WireItem + PartialEq> PartialEq for WireList<'_, T> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<T: WireItem + Eq> Eq for WireList<'_, T> {}

impl<T: WireItem + fmt::Debug> fmt::Debug for WireList<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Iterator over a [`WireList`].
#[derive(Clone, Debug)]
pub struct WireListIter<'a, T> {
    repr: ListRepr<'a, T>,
}

impl<T> fmt::Debug for ListRepr<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListRepr::Wire(bytes) => write!(f, "Wire({} bytes)", bytes.len()),
            ListRepr::Values(values) => write!(f, "Values({})", values.len()),
        }
    }
}

impl<T: WireItem> Iterator for WireListIter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        match &mut self.repr {
            ListRepr::Wire(bytes) => {
                let (item, rest) = bytes.split_at_checked(T::LEN)?;
                *bytes = rest;
                Some(T::decode(item))
            }
            ListRepr::Values(values) => {
                let (item, rest) = values.split_first()?;
                *values = rest;
                Some(*item)
            }
        }
    }
}

/// A reception report block (RFC 3550 section 6.4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: u32,
    /// Fraction of packets lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost, a signed 24-bit value (duplicates can make it negative).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received (cycles in the high 16 bits).
    pub extended_highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// LSR: middle 32 bits of the NTP timestamp of the last SR received from this source.
    pub last_sr: u32,
    /// DLSR: delay since that SR was received, in 1/65536 seconds.
    pub delay_since_last_sr: u32,
}

impl WireItem for ReportBlock {
    const LEN: usize = 24;
    fn decode(b: &[u8]) -> Self {
        let lost = be32(b, 4) & 0x00ff_ffff;
        // Sign-extend the 24-bit cumulative loss.
        let cumulative_lost = ((lost << 8) as i32) >> 8;
        ReportBlock {
            ssrc: be32(b, 0),
            fraction_lost: (be32(b, 4) >> 24) as u8,
            cumulative_lost,
            extended_highest_seq: be32(b, 8),
            jitter: be32(b, 12),
            last_sr: be32(b, 16),
            delay_since_last_sr: be32(b, 20),
        }
    }
    fn encode(&self, out: &mut [u8]) {
        let lost = self.cumulative_lost.clamp(-0x80_0000, 0x7f_ffff) as u32 & 0x00ff_ffff;
        let words = [
            self.ssrc,
            u32::from(self.fraction_lost) << 24 | lost,
            self.extended_highest_seq,
            self.jitter,
            self.last_sr,
            self.delay_since_last_sr,
        ];
        for (word, chunk) in words.iter().zip(out.chunks_exact_mut(4)) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
    }
}

/// The sender information of an SR (RFC 3550 section 6.4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SenderInfo {
    /// Wall-clock time of the report as a 64-bit NTP timestamp (seconds since 1900, 32.32).
    pub ntp_timestamp: u64,
    /// The same instant in the stream's RTP timestamp units.
    pub rtp_timestamp: u32,
    /// Packets sent since the start of transmission.
    pub packet_count: u32,
    /// Payload octets sent since the start of transmission.
    pub octet_count: u32,
}

/// A sender report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SenderReport<'a> {
    /// The sender's SSRC.
    pub ssrc: u32,
    /// What the sender sent and when.
    pub info: SenderInfo,
    /// Reception reports, at most 31.
    pub blocks: WireList<'a, ReportBlock>,
}

/// A receiver report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiverReport<'a> {
    /// The reporter's SSRC.
    pub ssrc: u32,
    /// Reception reports, at most 31.
    pub blocks: WireList<'a, ReportBlock>,
}

/// One SDES item: a type (1 = CNAME) and up to 255 bytes of text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SdesItem<'a> {
    /// The item type, e.g. [`SDES_CNAME`]; never 0 (that ends the list).
    pub kind: u8,
    /// The item's value.
    pub value: &'a [u8],
}

/// One SDES chunk: a source and its items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SdesChunk<'a> {
    /// The source described.
    pub ssrc: u32,
    /// Its items.
    pub items: SdesItems<'a>,
}

impl<'a> SdesChunk<'a> {
    /// The CNAME of this source, if the chunk has one.
    pub fn cname(&self) -> Option<&'a [u8]> {
        self.items
            .iter()
            .find(|item| item.kind == SDES_CNAME)
            .map(|item| item.value)
    }

    /// Encoded size: SSRC, items, at least one terminating zero, padded to 4 bytes.
    fn encoded_len(&self) -> usize {
        let items: usize = self.items.iter().map(|i| 2 + i.value.len()).sum();
        (4 + items + 1).div_ceil(4) * 4
    }

    fn encode(&self, out: &mut [u8]) {
        out[..4].copy_from_slice(&self.ssrc.to_be_bytes());
        let mut at = 4;
        for item in self.items.iter() {
            out[at] = item.kind;
            out[at + 1] = item.value.len() as u8;
            out[at + 2..at + 2 + item.value.len()].copy_from_slice(item.value);
            at += 2 + item.value.len();
        }
        out[at..].fill(0);
    }
}

/// The items of an SDES chunk.
#[derive(Clone, Copy)]
pub struct SdesItems<'a> {
    repr: ListRepr<'a, SdesItem<'a>>,
}

impl<'a> SdesItems<'a> {
    /// The items, in order.
    pub fn iter(&self) -> impl Iterator<Item = SdesItem<'a>> + 'a {
        let mut repr = self.repr;
        std::iter::from_fn(move || match &mut repr {
            ListRepr::Wire(bytes) => {
                // Wire bytes were validated by the parser: items up to the first zero type.
                let (&kind, rest) = bytes.split_first()?;
                if kind == 0 {
                    return None;
                }
                let (&len, rest) = rest.split_first()?;
                let (value, rest) = rest.split_at_checked(usize::from(len))?;
                *bytes = rest;
                Some(SdesItem { kind, value })
            }
            ListRepr::Values(values) => {
                let (item, rest) = values.split_first()?;
                *values = rest;
                Some(*item)
            }
        })
    }
}

impl<'a> From<&'a [SdesItem<'a>]> for SdesItems<'a> {
    fn from(values: &'a [SdesItem<'a>]) -> Self {
        SdesItems {
            repr: ListRepr::Values(values),
        }
    }
}

impl PartialEq for SdesItems<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for SdesItems<'_> {}

impl fmt::Debug for SdesItems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Source description: chunks of items per source.
#[derive(Clone, Copy)]
pub struct Sdes<'a> {
    repr: ListRepr<'a, SdesChunk<'a>>,
}

impl<'a> Sdes<'a> {
    /// The chunks, in order.
    pub fn chunks(&self) -> impl Iterator<Item = SdesChunk<'a>> + 'a {
        let mut repr = self.repr;
        std::iter::from_fn(move || match &mut repr {
            ListRepr::Wire(bytes) => {
                let (chunk_len, items_len) = sdes_chunk_len(bytes)?;
                let chunk = SdesChunk {
                    ssrc: be32(bytes, 0),
                    items: SdesItems {
                        repr: ListRepr::Wire(bytes.get(4..4 + items_len)?),
                    },
                };
                *bytes = bytes.get(chunk_len..)?;
                Some(chunk)
            }
            ListRepr::Values(values) => {
                let (chunk, rest) = values.split_first()?;
                *values = rest;
                Some(*chunk)
            }
        })
    }

    /// Number of chunks.
    pub fn len(&self) -> usize {
        match self.repr {
            ListRepr::Values(values) => values.len(),
            ListRepr::Wire(_) => self.chunks().count(),
        }
    }

    /// Whether there are no chunks.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<'a> From<&'a [SdesChunk<'a>]> for Sdes<'a> {
    fn from(values: &'a [SdesChunk<'a>]) -> Self {
        Sdes {
            repr: ListRepr::Values(values),
        }
    }
}

impl PartialEq for Sdes<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.chunks().eq(other.chunks())
    }
}

impl Eq for Sdes<'_> {}

impl fmt::Debug for Sdes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.chunks()).finish()
    }
}

/// Walks one SDES chunk at the start of `bytes`: returns (chunk length including the padding
/// to 4 bytes, length of its items before the terminating zero), or `None` if it overruns.
fn sdes_chunk_len(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut at = 4;
    loop {
        match *bytes.get(at)? {
            0 => break,
            _ => {
                let len = usize::from(*bytes.get(at + 1)?);
                at += 2 + len;
            }
        }
    }
    let chunk_len = (at + 1).div_ceil(4) * 4;
    (chunk_len <= bytes.len()).then_some((chunk_len, at - 4))
}

/// Goodbye: sources leaving, with an optional reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bye<'a> {
    /// The sources leaving, at most 31.
    pub sources: WireList<'a, u32>,
    /// Why, up to 255 bytes.
    pub reason: Option<&'a [u8]>,
}

/// One generic NACK entry (RFC 4585 section 6.2.1): a lost packet and a bitmask of the 16
/// following ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NackPair {
    /// PID: sequence number of a lost packet.
    pub pid: u16,
    /// BLP: bit i set means `pid + i + 1` is lost too.
    pub blp: u16,
}

impl NackPair {
    /// The lost sequence numbers this entry names.
    pub fn lost(&self) -> impl Iterator<Item = u16> {
        let (pid, blp) = (self.pid, self.blp);
        std::iter::once(pid).chain(
            (0..16u16)
                .filter(move |bit| blp & (1 << bit) != 0)
                .map(move |bit| pid.wrapping_add(bit + 1)),
        )
    }
}

impl WireItem for NackPair {
    const LEN: usize = 4;
    fn decode(b: &[u8]) -> Self {
        let word = be32(b, 0);
        NackPair {
            pid: (word >> 16) as u16,
            blp: word as u16,
        }
    }
    fn encode(&self, out: &mut [u8]) {
        out[..2].copy_from_slice(&self.pid.to_be_bytes());
        out[2..4].copy_from_slice(&self.blp.to_be_bytes());
    }
}

/// A generic NACK (RTPFB, FMT 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nack<'a> {
    /// The SSRC of the packet's sender.
    pub sender_ssrc: u32,
    /// The media source whose packets are lost.
    pub media_ssrc: u32,
    /// At least one PID/BLP entry.
    pub pairs: WireList<'a, NackPair>,
}

impl Nack<'_> {
    /// Every lost sequence number named, in entry order.
    pub fn lost(&self) -> impl Iterator<Item = u16> + '_ {
        self.pairs.iter().flat_map(|pair| pair.lost())
    }
}

/// A picture loss indication (PSFB, FMT 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pli {
    /// The SSRC of the packet's sender.
    pub sender_ssrc: u32,
    /// The video source that should send a keyframe.
    pub media_ssrc: u32,
}

/// One FIR entry (RFC 5104 section 4.3.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirEntry {
    /// The media sender asked for a decoder refresh.
    pub ssrc: u32,
    /// Command sequence number, incremented per new request.
    pub seq_nr: u8,
}

impl WireItem for FirEntry {
    const LEN: usize = 8;
    fn decode(b: &[u8]) -> Self {
        FirEntry {
            ssrc: be32(b, 0),
            seq_nr: (be32(b, 4) >> 24) as u8,
        }
    }
    fn encode(&self, out: &mut [u8]) {
        out[..4].copy_from_slice(&self.ssrc.to_be_bytes());
        out[4..8].copy_from_slice(&(u32::from(self.seq_nr) << 24).to_be_bytes());
    }
}

/// A full intra request (PSFB, FMT 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fir<'a> {
    /// The SSRC of the packet's sender.
    pub sender_ssrc: u32,
    /// RFC 5104 says 0; the targets are in the entries.
    pub media_ssrc: u32,
    /// At least one entry.
    pub entries: WireList<'a, FirEntry>,
}

/// One RTCP packet of a compound packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RtcpPacket<'a> {
    /// SR.
    SenderReport(SenderReport<'a>),
    /// RR.
    ReceiverReport(ReceiverReport<'a>),
    /// SDES.
    Sdes(Sdes<'a>),
    /// BYE.
    Bye(Bye<'a>),
    /// Generic NACK.
    Nack(Nack<'a>),
    /// PLI.
    Pli(Pli),
    /// FIR.
    Fir(Fir<'a>),
}

impl RtcpPacket<'_> {
    /// (packet type, count or FMT field, body length in bytes) after checking every count.
    fn shape(&self) -> Result<(u8, usize, usize), Error> {
        fn count(n: usize, what: &'static str) -> Result<usize, Error> {
            if n > MAX_COUNT {
                return Err(Error::InvalidArgument(what));
            }
            Ok(n)
        }
        fn at_least_one(n: usize, what: &'static str) -> Result<usize, Error> {
            if n == 0 {
                return Err(Error::InvalidArgument(what));
            }
            Ok(n)
        }
        Ok(match self {
            RtcpPacket::SenderReport(sr) => {
                let n = count(sr.blocks.len(), "more than 31 report blocks")?;
                (PT_SR, n, 24 + n * ReportBlock::LEN)
            }
            RtcpPacket::ReceiverReport(rr) => {
                let n = count(rr.blocks.len(), "more than 31 report blocks")?;
                (PT_RR, n, 4 + n * ReportBlock::LEN)
            }
            RtcpPacket::Sdes(sdes) => {
                let mut len = 0;
                let mut chunks = 0;
                for chunk in sdes.chunks() {
                    for item in chunk.items.iter() {
                        if item.kind == 0 {
                            return Err(Error::InvalidArgument("sdes item type 0"));
                        }
                        if item.value.len() > 255 {
                            return Err(Error::InvalidArgument("sdes item longer than 255"));
                        }
                    }
                    len += chunk.encoded_len();
                    chunks += 1;
                }
                (PT_SDES, count(chunks, "more than 31 sdes chunks")?, len)
            }
            RtcpPacket::Bye(bye) => {
                let n = count(bye.sources.len(), "more than 31 bye sources")?;
                let reason = match bye.reason {
                    Some(r) if r.len() > 255 => {
                        return Err(Error::InvalidArgument("bye reason longer than 255"))
                    }
                    Some(r) => (1 + r.len()).div_ceil(4) * 4,
                    None => 0,
                };
                (PT_BYE, n, 4 * n + reason)
            }
            RtcpPacket::Nack(nack) => {
                let n = at_least_one(nack.pairs.len(), "nack without entries")?;
                (PT_RTPFB, usize::from(FMT_NACK), 8 + 4 * n)
            }
            RtcpPacket::Pli(_) => (PT_PSFB, usize::from(FMT_PLI), 8),
            RtcpPacket::Fir(fir) => {
                let n = at_least_one(fir.entries.len(), "fir without entries")?;
                (PT_PSFB, usize::from(FMT_FIR), 8 + 8 * n)
            }
        })
    }

    /// Encoded length in bytes (without padding).
    pub fn encoded_len(&self) -> Result<usize, Error> {
        Ok(HEADER_LEN + self.shape()?.2)
    }

    /// Writes this packet into `out`, followed by `padding` bytes of padding (a multiple of
    /// 4, the last one holding the count; 0 for none). Returns the length written.
    pub fn write(&self, padding: u8, out: &mut [u8]) -> Result<usize, Error> {
        if padding % 4 != 0 {
            return Err(Error::InvalidArgument("rtcp padding not a multiple of 4"));
        }
        let (packet_type, count, body_len) = self.shape()?;
        let total = HEADER_LEN + body_len + usize::from(padding);
        let words = u16::try_from(total / 4 - 1)
            .map_err(|_| Error::InvalidArgument("rtcp packet longer than 65535 words"))?;
        let have = out.len();
        let out = out.get_mut(..total).ok_or(Error::BufferTooSmall {
            needed: total,
            have,
        })?;
        out[0] = 0x80 | if padding > 0 { 0x20 } else { 0 } | count as u8;
        out[1] = packet_type;
        out[2..4].copy_from_slice(&words.to_be_bytes());
        let (body, pad) = out[HEADER_LEN..].split_at_mut(body_len);
        self.encode_body(body);
        if let Some((last, zeros)) = pad.split_last_mut() {
            zeros.fill(0);
            *last = padding;
        }
        Ok(total)
    }

    /// Fills `body`, exactly as long as [`RtcpPacket::shape`] says.
    fn encode_body(&self, body: &mut [u8]) {
        let put = |body: &mut [u8], at: usize, word: u32| {
            body[at..at + 4].copy_from_slice(&word.to_be_bytes());
        };
        match self {
            RtcpPacket::SenderReport(sr) => {
                put(body, 0, sr.ssrc);
                body[4..12].copy_from_slice(&sr.info.ntp_timestamp.to_be_bytes());
                put(body, 12, sr.info.rtp_timestamp);
                put(body, 16, sr.info.packet_count);
                put(body, 20, sr.info.octet_count);
                sr.blocks.encode(&mut body[24..]);
            }
            RtcpPacket::ReceiverReport(rr) => {
                put(body, 0, rr.ssrc);
                rr.blocks.encode(&mut body[4..]);
            }
            RtcpPacket::Sdes(sdes) => {
                let mut at = 0;
                for chunk in sdes.chunks() {
                    let len = chunk.encoded_len();
                    chunk.encode(&mut body[at..at + len]);
                    at += len;
                }
            }
            RtcpPacket::Bye(bye) => {
                let n = 4 * bye.sources.len();
                bye.sources.encode(&mut body[..n]);
                if let Some(reason) = bye.reason {
                    body[n] = reason.len() as u8;
                    body[n + 1..n + 1 + reason.len()].copy_from_slice(reason);
                    body[n + 1 + reason.len()..].fill(0);
                }
            }
            RtcpPacket::Nack(nack) => {
                put(body, 0, nack.sender_ssrc);
                put(body, 4, nack.media_ssrc);
                nack.pairs.encode(&mut body[8..]);
            }
            RtcpPacket::Pli(pli) => {
                put(body, 0, pli.sender_ssrc);
                put(body, 4, pli.media_ssrc);
            }
            RtcpPacket::Fir(fir) => {
                put(body, 0, fir.sender_ssrc);
                put(body, 4, fir.media_ssrc);
                fir.entries.encode(&mut body[8..]);
            }
        }
    }
}

/// Writes `packets` as one compound packet into `out`, with `padding` bytes of padding (a
/// multiple of 4) on the last one, the only place RFC 3550 allows it. Returns the length.
pub fn write_compound(
    packets: &[RtcpPacket<'_>],
    padding: u8,
    out: &mut [u8],
) -> Result<usize, Error> {
    let mut at = 0;
    let last = packets.len().saturating_sub(1);
    for (i, packet) in packets.iter().enumerate() {
        let pad = if i == last { padding } else { 0 };
        let have = out.len();
        let rest = out
            .get_mut(at..)
            .ok_or(Error::BufferTooSmall { needed: at, have })?;
        at += packet.write(pad, rest).map_err(|e| match e {
            Error::BufferTooSmall { needed, .. } => Error::BufferTooSmall {
                needed: at + needed,
                have,
            },
            e => e,
        })?;
    }
    Ok(at)
}

/// The common header of one RTCP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtcpHeader {
    /// The P bit.
    pub padding: bool,
    /// The 5-bit count (reports, chunks, sources) or feedback FMT.
    pub count: u8,
    /// The packet type, 200..=206 for the ones handled here.
    pub packet_type: u8,
    /// Length of the whole packet in bytes, header and padding included.
    pub len: usize,
}

impl RtcpHeader {
    /// Parses the header at the start of `bytes`, checking that the packet it announces fits.
    pub fn parse(bytes: &[u8]) -> Result<RtcpHeader, Error> {
        let Some(&[b0, packet_type, l0, l1]) = bytes.first_chunk::<HEADER_LEN>() else {
            return Err(Error::TooShort("rtcp header"));
        };
        if b0 >> 6 != 2 {
            return Err(Error::Malformed("rtcp version is not 2"));
        }
        let len = 4 * (usize::from(u16::from_be_bytes([l0, l1])) + 1);
        if len > bytes.len() {
            return Err(Error::TooShort("rtcp packet shorter than its length field"));
        }
        Ok(RtcpHeader {
            padding: b0 & 0x20 != 0,
            count: b0 & 0x1f,
            packet_type,
            len,
        })
    }
}

/// Iterates over the packets of a compound RTCP packet. Each item is a packet or the error
/// that stopped the walk; after an error the iterator ends. Unknown packet types are skipped.
pub fn parse_compound(bytes: &[u8]) -> Compound<'_> {
    Compound { rest: bytes }
}

/// Iterator over a compound RTCP packet, from [`parse_compound`].
#[derive(Clone, Debug)]
pub struct Compound<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Compound<'a> {
    type Item = Result<RtcpPacket<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.rest.is_empty() {
            let result = RtcpHeader::parse(self.rest).and_then(|header| {
                let (packet, rest) = self.rest.split_at(header.len);
                let is_last = rest.is_empty();
                self.rest = rest;
                parse_one(header, packet, is_last)
            });
            match result {
                Ok(Some(packet)) => return Some(Ok(packet)),
                Ok(None) => continue,
                Err(e) => {
                    self.rest = &[];
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

/// Parses one packet of `header.len` bytes; `Ok(None)` for a type this crate skips.
fn parse_one<'a>(
    header: RtcpHeader,
    packet: &'a [u8],
    is_last: bool,
) -> Result<Option<RtcpPacket<'a>>, Error> {
    let mut body = packet.get(HEADER_LEN..).unwrap_or(&[]);
    if header.padding {
        if !is_last {
            return Err(Error::Malformed("rtcp padding before the last packet"));
        }
        let count = usize::from(*body.last().ok_or(Error::Malformed("rtcp padding"))?);
        if count == 0 || count > body.len() {
            return Err(Error::Malformed("rtcp padding count out of range"));
        }
        body = &body[..body.len() - count];
    }
    let count = usize::from(header.count);
    let need = |len: usize, what: &'static str| -> Result<(), Error> {
        if body.len() < len {
            return Err(Error::TooShort(what));
        }
        Ok(())
    };
    let word = |at: usize| be32(body, at);
    Ok(Some(match (header.packet_type, header.count) {
        (PT_SR, _) => {
            let end = 24 + count * ReportBlock::LEN;
            need(end, "rtcp sr")?;
            // Bytes after the blocks are a profile-specific extension, ignored.
            RtcpPacket::SenderReport(SenderReport {
                ssrc: word(0),
                info: SenderInfo {
                    ntp_timestamp: u64::from(word(4)) << 32 | u64::from(word(8)),
                    rtp_timestamp: word(12),
                    packet_count: word(16),
                    octet_count: word(20),
                },
                blocks: WireList::wire(&body[24..end]),
            })
        }
        (PT_RR, _) => {
            let end = 4 + count * ReportBlock::LEN;
            need(end, "rtcp rr")?;
            RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc: word(0),
                blocks: WireList::wire(&body[4..end]),
            })
        }
        (PT_SDES, _) => {
            let mut at = 0;
            for _ in 0..count {
                let chunk = body.get(at..).unwrap_or(&[]);
                let (len, _) = sdes_chunk_len(chunk).ok_or(Error::TooShort("rtcp sdes chunk"))?;
                at += len;
            }
            RtcpPacket::Sdes(Sdes {
                repr: ListRepr::Wire(&body[..at]),
            })
        }
        (PT_BYE, _) => {
            let end = 4 * count;
            need(end, "rtcp bye")?;
            let reason = match body[end..].split_first() {
                None => None,
                Some((&len, text)) => Some(
                    text.get(..usize::from(len))
                        .ok_or(Error::TooShort("rtcp bye reason"))?,
                ),
            };
            RtcpPacket::Bye(Bye {
                sources: WireList::wire(&body[..end]),
                reason,
            })
        }
        (PT_RTPFB, FMT_NACK) => {
            need(12, "rtcp nack")?;
            let fci = &body[8..];
            if fci.len() % NackPair::LEN != 0 {
                return Err(Error::Malformed("rtcp nack fci not whole entries"));
            }
            RtcpPacket::Nack(Nack {
                sender_ssrc: word(0),
                media_ssrc: word(4),
                pairs: WireList::wire(fci),
            })
        }
        (PT_PSFB, FMT_PLI) => {
            need(8, "rtcp pli")?;
            RtcpPacket::Pli(Pli {
                sender_ssrc: word(0),
                media_ssrc: word(4),
            })
        }
        (PT_PSFB, FMT_FIR) => {
            need(16, "rtcp fir")?;
            let fci = &body[8..];
            if fci.len() % FirEntry::LEN != 0 {
                return Err(Error::Malformed("rtcp fir fci not whole entries"));
            }
            RtcpPacket::Fir(Fir {
                sender_ssrc: word(0),
                media_ssrc: word(4),
                entries: WireList::wire(fci),
            })
        }
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nack_pair_lists_lost_sequences_across_wrap() {
        let pair = NackPair {
            pid: 0xfffe,
            blp: 0b101,
        };
        assert_eq!(pair.lost().collect::<Vec<_>>(), [0xfffe, 0xffff, 1]);
    }

    #[test]
    fn negative_cumulative_loss_sign_extends() {
        let block = ReportBlock {
            cumulative_lost: -5,
            ..ReportBlock::default()
        };
        let mut bytes = [0u8; 24];
        block.encode(&mut bytes);
        assert_eq!(&bytes[5..8], &[0xff, 0xff, 0xfb]);
        assert_eq!(ReportBlock::decode(&bytes), block);
    }

    #[test]
    fn short_length_never_underflows() {
        // Length field 0 (4 bytes) with the padding bit: the padding count byte is the
        // header's own last byte, so there is no body for it.
        assert!(matches!(
            parse_compound(&[0xa0, 201, 0, 0]).next(),
            Some(Err(Error::Malformed(_)))
        ));
        // An SR whose length claims no body.
        assert!(matches!(
            parse_compound(&[0x80, 200, 0, 0]).next(),
            Some(Err(Error::TooShort(_)))
        ));
    }
}
