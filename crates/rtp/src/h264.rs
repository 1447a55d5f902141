//! The H.264 RTP payload format (RFC 6184), packetization-mode 1 (non-interleaved): single NAL
//! unit packets, STAP-A aggregation and FU-A fragmentation, on a 90 kHz RTP clock.
//!
//! [`H264Packetizer`] turns one access unit (Annex-B bytes or a list of NAL units) into RTP
//! packets no longer than a maximum payload size, written one at a time into caller buffers
//! without allocating. [`H264Depacketizer`] is a sans-IO state machine: feed it the payloads of
//! one stream in sequence order with [`H264Depacketizer::handle_payload`], then drain
//! [`H264Depacketizer::poll_frame`] until it returns `None`. A frame that lost a packet is
//! dropped whole, never handed out with missing or torn NAL units, and
//! [`H264Depacketizer::needs_keyframe`] tells the caller to ask for an IDR (PLI).
//!
//! ```
//! use sotto_rtp::h264::{H264Depacketizer, H264Packetizer};
//! use sotto_rtp::RtpPacket;
//!
//! let sps = [0x67, 0x42, 0xc0, 0x1f];
//! let pps = [0x68, 0xce, 0x3c, 0x80];
//! let idr = [0x65u8; 3000];
//! let mut au = Vec::new();
//! for nal in [&sps[..], &pps[..], &idr[..]] {
//!     au.extend_from_slice(&[0, 0, 0, 1]);
//!     au.extend_from_slice(nal);
//! }
//!
//! let mut packetizer = H264Packetizer::new(0x1234_5678, 96, 100, 1200)?;
//! let mut depacketizer = H264Depacketizer::new();
//! let mut buf = [0u8; 1500];
//! let mut packets = packetizer.start_access_unit(&au, 90_000);
//! while let Some(len) = packets.next_packet(&mut buf) {
//!     depacketizer.handle_packet(&buf[..len?])?;
//! }
//! let frame = depacketizer.poll_frame().expect("the marker ends the frame");
//! assert_eq!(frame.annexb, &au[..]);
//! assert!(frame.has_idr && frame.has_sps && frame.has_pps);
//! assert_eq!(frame.timestamp, 90_000);
//! # Ok::<(), sotto_rtp::Error>(())
//! ```

use std::collections::VecDeque;
use std::mem;

use crate::rtp::{RtpWriter, FIXED_HEADER_LEN};
use crate::{Error, RtpPacket};

/// The RTP clock rate of H.264 video, always 90 kHz (RFC 6184 section 8.2.1).
pub const H264_CLOCK_RATE_HZ: u32 = 90_000;
/// A maximum payload size that keeps RTP over IPv6, UDP, SRTP and TURN under 1500 bytes.
pub const DEFAULT_MAX_PAYLOAD_LEN: usize = 1200;
/// The largest access unit [`H264Depacketizer::new`] reassembles: 4 MiB of Annex-B.
pub const DEFAULT_MAX_FRAME_LEN: usize = 4 * 1024 * 1024;
/// The smallest maximum payload size: an FU-A needs two header bytes and one byte of data.
pub const MIN_PAYLOAD_LEN: usize = 3;

/// NAL unit type of a coded slice of an IDR picture.
pub const NAL_TYPE_IDR: u8 = 5;
/// NAL unit type of a sequence parameter set.
pub const NAL_TYPE_SPS: u8 = 7;
/// NAL unit type of a picture parameter set.
pub const NAL_TYPE_PPS: u8 = 8;
/// RTP payload type of a single-time aggregation packet (RFC 6184 section 5.7.1).
pub const NAL_TYPE_STAP_A: u8 = 24;
/// RTP payload type of a fragmentation unit without DON (RFC 6184 section 5.8).
pub const NAL_TYPE_FU_A: u8 = 28;

/// The four-byte Annex-B start code the depacketizer puts before each NAL unit.
const START_CODE: [u8; 4] = [0, 0, 0, 1];
/// Frames completed but not yet polled that the depacketizer keeps; older ones are dropped.
const MAX_READY_FRAMES: usize = 4;
/// A sequence number this far behind the last one counts as a duplicate or late packet and
/// is ignored; further behind, it is taken as a jump (a gap).
const MAX_LATE: i16 = 100;

/// The NAL unit type: the low five bits of the NAL unit header.
pub fn nal_unit_type(header: u8) -> u8 {
    header & 0x1f
}

/// Whether a NAL unit of this type can travel on its own: types 1 to 23. Type 0 and 24 to 31
/// are unspecified by H.264 and mean packet types to RFC 6184.
fn is_sendable_type(nal_type: u8) -> bool {
    (1..=23).contains(&nal_type)
}

/// The NAL units of an Annex-B byte stream: each starts after a `00 00 01` start code (the
/// four-byte form's extra zero and trailing zero bytes are trimmed). Bytes before the first
/// start code are skipped; empty NAL units are skipped.
#[derive(Clone, Debug)]
pub struct AnnexBNalUnits<'a> {
    rest: &'a [u8],
}

/// Where the next `00 00 01` starts in `data`.
fn find_start_code(data: &[u8]) -> Option<usize> {
    data.windows(3).position(|w| w == [0, 0, 1])
}

/// `data` without its trailing zero bytes.
fn trim_trailing_zeros(data: &[u8]) -> &[u8] {
    let end = data.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    data.get(..end).unwrap_or(&[])
}

impl<'a> AnnexBNalUnits<'a> {
    /// The NAL units of `annexb`.
    pub fn new(annexb: &'a [u8]) -> Self {
        let rest = find_start_code(annexb)
            .and_then(|at| annexb.get(at + 3..))
            .unwrap_or(&[]);
        AnnexBNalUnits { rest }
    }
}

impl<'a> Iterator for AnnexBNalUnits<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        while !self.rest.is_empty() {
            let (nal, rest) = match find_start_code(self.rest) {
                Some(at) => (
                    self.rest.get(..at).unwrap_or(&[]),
                    self.rest.get(at + 3..).unwrap_or(&[]),
                ),
                None => (self.rest, &[][..]),
            };
            self.rest = rest;
            let nal = trim_trailing_zeros(nal);
            if !nal.is_empty() {
                return Some(nal);
            }
        }
        None
    }
}

/// Where the NAL units of an access unit come from.
#[derive(Clone, Debug)]
enum NalSource<'a> {
    AnnexB(AnnexBNalUnits<'a>),
    List(std::slice::Iter<'a, &'a [u8]>),
}

impl<'a> Iterator for NalSource<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            NalSource::AnnexB(units) => units.next(),
            NalSource::List(list) => list.by_ref().copied().find(|nal| !nal.is_empty()),
        }
    }
}

impl NalSource<'_> {
    fn is_exhausted(&self) -> bool {
        self.clone().next().is_none()
    }
}

/// Turns access units into RTP packets (RFC 6184 packetization-mode 1), keeping SSRC and
/// sequence number. Each packet's payload is at most the maximum payload size given to
/// [`H264Packetizer::new`]; all packets of an access unit carry its timestamp and the last
/// one carries the marker bit.
#[derive(Clone, Debug)]
pub struct H264Packetizer {
    ssrc: u32,
    payload_type: u8,
    sequence: u16,
    max_payload_len: usize,
}

impl H264Packetizer {
    /// A packetizer starting at `initial_sequence` (which RFC 3550 wants random) whose RTP
    /// payloads are at most `max_payload_len` bytes (the RTP header comes on top). Fails if
    /// `max_payload_len` is below [`MIN_PAYLOAD_LEN`] or `payload_type` above 127.
    pub fn new(
        ssrc: u32,
        payload_type: u8,
        initial_sequence: u16,
        max_payload_len: usize,
    ) -> Result<Self, Error> {
        if max_payload_len < MIN_PAYLOAD_LEN {
            return Err(Error::InvalidArgument(
                "h264 max payload size below 3 bytes; use at least 3",
            ));
        }
        if payload_type > 0x7f {
            return Err(Error::InvalidArgument("rtp payload type above 127"));
        }
        Ok(H264Packetizer {
            ssrc,
            payload_type,
            sequence: initial_sequence,
            max_payload_len,
        })
    }

    /// Starts sending the access unit in `annexb` (NAL units after `00 00 01` or
    /// `00 00 00 01` start codes) at RTP `timestamp` (90 kHz). Call
    /// [`H264AccessUnit::next_packet`] until it returns `None`.
    pub fn start_access_unit<'p, 'a>(
        &'p mut self,
        annexb: &'a [u8],
        timestamp: u32,
    ) -> H264AccessUnit<'p, 'a> {
        H264AccessUnit {
            packetizer: self,
            source: NalSource::AnnexB(AnnexBNalUnits::new(annexb)),
            fragment: None,
            timestamp,
        }
    }

    /// Starts sending the access unit made of `nal_units` (each without start code; empty
    /// ones are skipped) at RTP `timestamp` (90 kHz).
    pub fn start_access_unit_nals<'p, 'a>(
        &'p mut self,
        nal_units: &'a [&'a [u8]],
        timestamp: u32,
    ) -> H264AccessUnit<'p, 'a> {
        H264AccessUnit {
            packetizer: self,
            source: NalSource::List(nal_units.iter()),
            fragment: None,
            timestamp,
        }
    }

    /// The SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The sequence number of the next packet.
    pub fn sequence(&self) -> u16 {
        self.sequence
    }

    /// The maximum RTP payload size.
    pub fn max_payload_len(&self) -> usize {
        self.max_payload_len
    }
}

/// A NAL unit being sent in FU-A fragments.
#[derive(Clone, Copy, Debug)]
struct Fragment<'a> {
    nal: &'a [u8],
    /// Offset of the next byte to send; 1 before the first fragment (the header is not sent).
    offset: usize,
    /// Whether this is the access unit's last NAL unit.
    last_nal: bool,
}

/// The packets of one access unit, produced one at a time by
/// [`H264AccessUnit::next_packet`].
#[derive(Debug)]
pub struct H264AccessUnit<'p, 'a> {
    packetizer: &'p mut H264Packetizer,
    source: NalSource<'a>,
    fragment: Option<Fragment<'a>>,
    timestamp: u32,
}

impl<'a> H264AccessUnit<'_, 'a> {
    /// Writes the next RTP packet of the access unit into `out` and returns its length, or
    /// `None` once all packets are out. On [`Error::BufferTooSmall`] nothing is consumed: call
    /// again with a larger buffer. A NAL unit of type 0 or 24 to 31 (which RFC 6184 reserves
    /// for packet types) is skipped and reported as [`Error::InvalidArgument`]; the next call
    /// goes on with the rest.
    pub fn next_packet(&mut self, out: &mut [u8]) -> Option<Result<usize, Error>> {
        if let Some(fragment) = self.fragment {
            return Some(self.write_fragment(fragment, out));
        }
        let mut after_first = self.source.clone();
        let first = after_first.next()?;
        let first_header = *first.first()?;
        if !is_sendable_type(nal_unit_type(first_header)) {
            self.source = after_first;
            return Some(Err(Error::InvalidArgument(
                "h264 nal unit type 0 or 24..31 cannot be sent; drop it before packetizing",
            )));
        }
        let max = self.packetizer.max_payload_len;
        if first.len() > max {
            let fragment = Fragment {
                nal: first,
                offset: 1,
                last_nal: after_first.is_exhausted(),
            };
            let result = self.write_fragment(fragment, out);
            if result.is_ok() {
                self.source = after_first;
            }
            return Some(result);
        }
        // Aggregate as many following NAL units as fit after this one.
        let mut count = 1usize;
        let mut stap_len = 1 + 2 + first.len();
        let mut stap_header = first_header & 0xe0;
        let mut after_all = after_first.clone();
        if first.len() <= usize::from(u16::MAX) {
            loop {
                let mut probe = after_all.clone();
                let Some(nal) = probe.next() else { break };
                let Some(&header) = nal.first() else { break };
                if !is_sendable_type(nal_unit_type(header))
                    || nal.len() > usize::from(u16::MAX)
                    || stap_len + 2 + nal.len() > max
                {
                    break;
                }
                stap_len += 2 + nal.len();
                // F is set if any unit's F is; NRI is the highest of the units'.
                stap_header =
                    ((stap_header | header) & 0x80) | (stap_header & 0x60).max(header & 0x60);
                count += 1;
                after_all = probe;
            }
        }
        if count == 1 {
            let marker = after_first.is_exhausted();
            let result = self.writer(marker).write(first, out);
            if result.is_ok() {
                self.commit(after_first);
            }
            return Some(result);
        }
        let marker = after_all.is_exhausted();
        let result = self.write_stap_a(stap_header | NAL_TYPE_STAP_A, stap_len, count, out, marker);
        if result.is_ok() {
            self.commit(after_all);
        }
        Some(result)
    }

    fn writer(&self, marker: bool) -> RtpWriter<'static> {
        let p = &self.packetizer;
        let mut writer = RtpWriter::new(p.payload_type, p.sequence, self.timestamp, p.ssrc);
        writer.marker = marker;
        writer
    }

    fn commit(&mut self, source: NalSource<'a>) {
        self.source = source;
        self.packetizer.sequence = self.packetizer.sequence.wrapping_add(1);
    }

    /// Writes the RTP header and returns the payload part of `out`, exactly `payload_len`
    /// long.
    fn write_header<'o>(
        &self,
        marker: bool,
        payload_len: usize,
        out: &'o mut [u8],
    ) -> Result<&'o mut [u8], Error> {
        let needed = FIXED_HEADER_LEN + payload_len;
        let have = out.len();
        let out = out
            .get_mut(..needed)
            .ok_or(Error::BufferTooSmall { needed, have })?;
        let header_len = self.writer(marker).write(&[], out)?;
        out.get_mut(header_len..)
            .ok_or(Error::BufferTooSmall { needed, have })
    }

    fn write_stap_a(
        &self,
        stap_header: u8,
        stap_len: usize,
        count: usize,
        out: &mut [u8],
        marker: bool,
    ) -> Result<usize, Error> {
        let payload = self.write_header(marker, stap_len, out)?;
        let (first, mut rest) = payload
            .split_first_mut()
            .ok_or(Error::InvalidArgument("empty stap-a"))?;
        *first = stap_header;
        for nal in self.source.clone().take(count) {
            let size = u16::try_from(nal.len())
                .map_err(|_| Error::InvalidArgument("stap-a nal unit above 65535 bytes"))?;
            let (size_field, tail) = rest
                .split_at_mut_checked(2)
                .ok_or(Error::InvalidArgument("stap-a overruns"))?;
            size_field.copy_from_slice(&size.to_be_bytes());
            let (body, tail) = tail
                .split_at_mut_checked(nal.len())
                .ok_or(Error::InvalidArgument("stap-a overruns"))?;
            body.copy_from_slice(nal);
            rest = tail;
        }
        Ok(FIXED_HEADER_LEN + stap_len)
    }

    fn write_fragment(&mut self, fragment: Fragment<'a>, out: &mut [u8]) -> Result<usize, Error> {
        let Fragment {
            nal,
            offset,
            last_nal,
        } = fragment;
        let header = nal.first().copied().unwrap_or(0);
        let data = nal.get(offset..).unwrap_or(&[]);
        let chunk_len = data.len().min(self.packetizer.max_payload_len - 2);
        let chunk = data.get(..chunk_len).unwrap_or(&[]);
        let start = offset == 1;
        let end = chunk_len == data.len();
        let payload = self.write_header(end && last_nal, 2 + chunk_len, out)?;
        let (fu, body) = payload
            .split_at_mut_checked(2)
            .ok_or(Error::InvalidArgument("fu-a overruns"))?;
        fu[0] = (header & 0xe0) | NAL_TYPE_FU_A;
        fu[1] = if start { 0x80 } else { 0 } | if end { 0x40 } else { 0 } | nal_unit_type(header);
        body.copy_from_slice(chunk);
        self.fragment = (!end).then_some(Fragment {
            nal: fragment.nal,
            offset: offset + chunk_len,
            last_nal,
        });
        self.packetizer.sequence = self.packetizer.sequence.wrapping_add(1);
        Ok(FIXED_HEADER_LEN + 2 + chunk_len)
    }
}

/// One reassembled access unit, borrowed from the depacketizer until the next poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct H264Frame<'a> {
    /// The NAL units, each after a `00 00 00 01` start code.
    pub annexb: &'a [u8],
    /// The RTP timestamp (90 kHz) shared by the frame's packets.
    pub timestamp: u32,
    /// Whether the frame holds a coded slice of an IDR picture (NAL type 5): a keyframe.
    pub has_idr: bool,
    /// Whether the frame holds a sequence parameter set (NAL type 7).
    pub has_sps: bool,
    /// Whether the frame holds a picture parameter set (NAL type 8).
    pub has_pps: bool,
}

/// Counters of what the depacketizer saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct H264DepacketizerStats {
    /// Payloads handled, duplicates included.
    pub packets: u64,
    /// Payloads ignored as duplicates or late (sequence number not after the last one).
    pub duplicates: u64,
    /// Gaps in the sequence numbers.
    pub losses: u64,
    /// Payloads that were not valid packetization-mode 1 H.264.
    pub malformed: u64,
    /// Frames handed out.
    pub frames: u64,
    /// Frames dropped because a packet was lost or broken.
    pub frames_dropped: u64,
    /// Frames dropped because they outgrew the maximum frame size.
    pub frames_too_large: u64,
    /// Completed frames thrown away because they were not polled in time.
    pub frames_unpolled: u64,
}

/// A completed frame waiting to be polled.
#[derive(Debug)]
struct Completed {
    data: Vec<u8>,
    timestamp: u32,
    has_idr: bool,
    has_sps: bool,
    has_pps: bool,
}

/// Reassembles access units from H.264 RTP payloads (RFC 6184 packetization-mode 1:
/// single NAL unit, STAP-A and FU-A packets).
///
/// Feed the payloads of one SSRC in sequence-number order (the jitter buffer orders them)
/// with [`H264Depacketizer::handle_payload`] or [`H264Depacketizer::handle_packet`], then
/// drain [`H264Depacketizer::poll_frame`] until it returns `None`. A frame ends at the marker
/// bit or when the timestamp changes. A frame in which a sequence number is missing, a
/// fragment lacks its start or end, or a payload is malformed is dropped whole, and
/// [`H264Depacketizer::needs_keyframe`] turns true until a frame with an IDR comes out.
/// Duplicate payloads are ignored. Nothing is allocated per packet once the buffers have
/// grown to the frame size.
///
/// The first payload sets the sequence reference: if the very first packets of the stream are
/// lost, that cannot be seen.
#[derive(Debug)]
pub struct H264Depacketizer {
    max_frame_len: usize,
    /// The Annex-B frame being assembled.
    frame: Vec<u8>,
    /// Timestamp of the frame being assembled, `None` between frames.
    timestamp: Option<u32>,
    /// The frame being assembled lost something and will be dropped.
    broken: bool,
    /// The frame outgrew `max_frame_len`.
    too_large: bool,
    /// NAL type of the FU-A being reassembled, if one is open.
    fu_type: Option<u8>,
    has_idr: bool,
    has_sps: bool,
    has_pps: bool,
    last_sequence: Option<u16>,
    needs_keyframe: bool,
    ready: VecDeque<Completed>,
    polled: Option<Completed>,
    spare: Vec<Vec<u8>>,
    stats: H264DepacketizerStats,
}

impl Default for H264Depacketizer {
    fn default() -> Self {
        Self::new()
    }
}

impl H264Depacketizer {
    /// A depacketizer for frames up to [`DEFAULT_MAX_FRAME_LEN`].
    pub fn new() -> Self {
        Self::with_max_frame_len(DEFAULT_MAX_FRAME_LEN)
    }

    /// A depacketizer that drops (and counts) frames longer than `max_frame_len` bytes of
    /// Annex-B.
    pub fn with_max_frame_len(max_frame_len: usize) -> Self {
        H264Depacketizer {
            max_frame_len,
            frame: Vec::new(),
            timestamp: None,
            broken: false,
            too_large: false,
            fu_type: None,
            has_idr: false,
            has_sps: false,
            has_pps: false,
            last_sequence: None,
            needs_keyframe: false,
            ready: VecDeque::with_capacity(MAX_READY_FRAMES),
            polled: None,
            spare: Vec::new(),
            stats: H264DepacketizerStats::default(),
        }
    }

    /// Parses an (unencrypted) RTP packet and handles its payload. A packet that is not
    /// valid RTP changes nothing and is reported; its absence shows as a gap later.
    pub fn handle_packet(&mut self, rtp_packet: &[u8]) -> Result<(), Error> {
        let packet = RtpPacket::parse(rtp_packet)?;
        let h = packet.header;
        self.handle_payload(packet.payload, h.sequence, h.timestamp, h.marker)
    }

    /// Handles one RTP payload with its header's sequence number, timestamp and marker bit.
    /// An error means the payload was malformed; the frame it belongs to is dropped either
    /// way. Drain [`H264Depacketizer::poll_frame`] afterwards.
    pub fn handle_payload(
        &mut self,
        payload: &[u8],
        sequence: u16,
        timestamp: u32,
        marker: bool,
    ) -> Result<(), Error> {
        self.stats.packets += 1;
        let gap = match self.last_sequence {
            None => false,
            Some(last) => {
                let delta = sequence.wrapping_sub(last) as i16;
                if (-MAX_LATE..=0).contains(&delta) {
                    self.stats.duplicates += 1;
                    return Ok(());
                }
                delta != 1
            }
        };
        self.last_sequence = Some(sequence);
        if gap {
            self.stats.losses += 1;
            self.needs_keyframe = true;
        }
        if self.timestamp.is_some_and(|ts| ts != timestamp) {
            // A lost packet may have ended the previous frame.
            self.broken |= gap;
            self.finish_frame();
        }
        if self.timestamp.is_none() {
            self.timestamp = Some(timestamp);
        }
        // A lost packet may have started or continued this frame.
        self.broken |= gap;
        let result = if self.broken {
            Ok(())
        } else {
            self.append_payload(payload)
        };
        if result.is_err() {
            self.stats.malformed += 1;
            self.broken = true;
        }
        if marker {
            self.finish_frame();
        }
        result
    }

    /// The next completed frame, borrowed until the next call on the depacketizer.
    pub fn poll_frame(&mut self) -> Option<H264Frame<'_>> {
        if let Some(old) = self.polled.take() {
            self.recycle(old.data);
        }
        let completed = self.ready.pop_front()?;
        let c = self.polled.insert(completed);
        Some(H264Frame {
            annexb: &c.data,
            timestamp: c.timestamp,
            has_idr: c.has_idr,
            has_sps: c.has_sps,
            has_pps: c.has_pps,
        })
    }

    /// Whether a frame was lost or dropped since the last frame with an IDR was handed out:
    /// the decoder needs a keyframe, so the caller should send a PLI (RFC 4585), rate-limited.
    pub fn needs_keyframe(&self) -> bool {
        self.needs_keyframe
    }

    /// The counters.
    pub fn stats(&self) -> H264DepacketizerStats {
        self.stats
    }

    fn recycle(&mut self, mut buf: Vec<u8>) {
        if self.spare.len() < MAX_READY_FRAMES + 2 {
            buf.clear();
            self.spare.push(buf);
        }
    }

    /// Appends `00 00 00 01` and the NAL unit parts, or marks the frame too large.
    fn append(&mut self, parts: &[&[u8]]) -> Result<(), Error> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if self.frame.len().saturating_add(len) > self.max_frame_len {
            self.too_large = true;
            self.broken = true;
            return Ok(());
        }
        for part in parts {
            self.frame.extend_from_slice(part);
        }
        Ok(())
    }

    fn note_nal(&mut self, nal_type: u8) {
        match nal_type {
            NAL_TYPE_IDR => self.has_idr = true,
            NAL_TYPE_SPS => self.has_sps = true,
            NAL_TYPE_PPS => self.has_pps = true,
            _ => {}
        }
    }

    fn append_payload(&mut self, payload: &[u8]) -> Result<(), Error> {
        let Some((&header, body)) = payload.split_first() else {
            return Err(Error::TooShort("empty h264 payload"));
        };
        let packet_type = nal_unit_type(header);
        if packet_type != NAL_TYPE_FU_A && self.fu_type.is_some() {
            return Err(Error::Malformed("h264 fu-a fragment without its end"));
        }
        match packet_type {
            1..=23 => {
                self.append(&[&START_CODE, payload])?;
                self.note_nal(packet_type);
                Ok(())
            }
            NAL_TYPE_STAP_A => self.append_stap_a(body),
            NAL_TYPE_FU_A => self.append_fu_a(header, body),
            25..=27 | 29 => Err(Error::UnsupportedPayload(
                "h264 stap-b, mtap or fu-b needs packetization-mode 2; offer mode 1",
            )),
            _ => Err(Error::Malformed("h264 nal unit type 0, 30 or 31")),
        }
    }

    fn append_stap_a(&mut self, mut body: &[u8]) -> Result<(), Error> {
        // Check the whole aggregate before taking any of it.
        let mut check = body;
        if check.is_empty() {
            return Err(Error::Malformed("h264 stap-a without nal units"));
        }
        while !check.is_empty() {
            let (size, rest) = check
                .split_first_chunk::<2>()
                .ok_or(Error::TooShort("h264 stap-a nal unit size"))?;
            let size = usize::from(u16::from_be_bytes(*size));
            let (nal, rest) = rest
                .split_at_checked(size)
                .ok_or(Error::TooShort("h264 stap-a nal unit overruns the packet"))?;
            let &nal_header = nal
                .first()
                .ok_or(Error::Malformed("h264 stap-a with an empty nal unit"))?;
            if !is_sendable_type(nal_unit_type(nal_header)) {
                return Err(Error::Malformed("h264 stap-a holds a packet-type nal unit"));
            }
            check = rest;
        }
        while let Some((size, rest)) = body.split_first_chunk::<2>() {
            let size = usize::from(u16::from_be_bytes(*size));
            let Some((nal, rest)) = rest.split_at_checked(size) else {
                break;
            };
            self.append(&[&START_CODE, nal])?;
            if let Some(&h) = nal.first() {
                self.note_nal(nal_unit_type(h));
            }
            body = rest;
        }
        Ok(())
    }

    fn append_fu_a(&mut self, indicator: u8, body: &[u8]) -> Result<(), Error> {
        let Some((&fu_header, data)) = body.split_first() else {
            return Err(Error::TooShort("h264 fu-a header"));
        };
        let start = fu_header & 0x80 != 0;
        let end = fu_header & 0x40 != 0;
        let nal_type = nal_unit_type(fu_header);
        if start && end {
            return Err(Error::Malformed("h264 fu-a with both start and end bits"));
        }
        if !is_sendable_type(nal_type) {
            return Err(Error::Malformed("h264 fu-a of a packet-type nal unit"));
        }
        if start {
            if self.fu_type.is_some() {
                return Err(Error::Malformed("h264 fu-a fragment without its end"));
            }
            let nal_header = (indicator & 0xe0) | nal_type;
            self.append(&[&START_CODE, &[nal_header], data])?;
            self.fu_type = Some(nal_type);
        } else {
            match self.fu_type {
                None => return Err(Error::Malformed("h264 fu-a fragment without its start")),
                Some(open) if open != nal_type => {
                    return Err(Error::Malformed(
                        "h264 fu-a fragments of different nal types",
                    ))
                }
                Some(_) => self.append(&[data])?,
            }
        }
        if end {
            self.fu_type = None;
            self.note_nal(nal_type);
        }
        Ok(())
    }

    /// Ends the frame being assembled: hands it out if it is whole, drops it otherwise.
    fn finish_frame(&mut self) {
        let Some(timestamp) = self.timestamp.take() else {
            return;
        };
        if self.fu_type.take().is_some() {
            self.broken = true;
        }
        let (has_idr, has_sps, has_pps) = (self.has_idr, self.has_sps, self.has_pps);
        self.has_idr = false;
        self.has_sps = false;
        self.has_pps = false;
        if self.broken {
            self.broken = false;
            self.frame.clear();
            if mem::take(&mut self.too_large) {
                self.stats.frames_too_large += 1;
            } else {
                self.stats.frames_dropped += 1;
            }
            self.needs_keyframe = true;
            return;
        }
        if self.frame.is_empty() {
            return;
        }
        if self.ready.len() >= MAX_READY_FRAMES {
            if let Some(old) = self.ready.pop_front() {
                self.stats.frames_unpolled += 1;
                self.needs_keyframe = true;
                self.recycle(old.data);
            }
        }
        let next = self.spare.pop().unwrap_or_default();
        let data = mem::replace(&mut self.frame, next);
        self.stats.frames += 1;
        if has_idr {
            self.needs_keyframe = false;
        }
        self.ready.push_back(Completed {
            data,
            timestamp,
            has_idr,
            has_sps,
            has_pps,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packets(p: &mut H264Packetizer, au: &[u8], ts: u32) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = [0u8; 2000];
        let mut packets = p.start_access_unit(au, ts);
        while let Some(len) = packets.next_packet(&mut buf) {
            out.push(buf[..len.unwrap()].to_vec());
        }
        out
    }

    #[test]
    fn annexb_split_trims_zeros_and_skips_junk() {
        let data = [
            9, 9, 0, 0, 0, 1, 0x67, 1, 0, 0, 0, 0, 1, 0x68, 2, 0, 0, 1, 0, 0, 1, 0x65,
        ];
        let nals: Vec<_> = AnnexBNalUnits::new(&data).collect();
        assert_eq!(nals, [&[0x67, 1][..], &[0x68, 2], &[0x65]]);
        assert_eq!(AnnexBNalUnits::new(&[1, 2, 3]).count(), 0);
        assert_eq!(AnnexBNalUnits::new(&[0, 0, 1]).count(), 0);
    }

    #[test]
    fn sps_pps_and_small_slice_share_one_stap_a() {
        let au = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 1, 0x45, 4, 5,
        ];
        let mut p = H264Packetizer::new(1, 96, 7, 100).unwrap();
        let sent = packets(&mut p, &au, 3000);
        assert_eq!(sent.len(), 1);
        let packet = RtpPacket::parse(&sent[0]).unwrap();
        assert!(packet.header.marker);
        // F=0, NRI=max(3,3,2)=3, type 24.
        assert_eq!(
            packet.payload,
            [0x78, 0, 3, 0x67, 1, 2, 0, 2, 0x68, 3, 0, 3, 0x45, 4, 5]
        );
        assert_eq!(p.sequence(), 8);
    }

    #[test]
    fn large_nal_goes_in_fu_a() {
        let mut au = vec![0, 0, 0, 1, 0x65];
        au.extend(1..=20u8);
        let mut p = H264Packetizer::new(1, 96, 0, 10).unwrap();
        let sent = packets(&mut p, &au, 0);
        let payloads: Vec<_> = sent
            .iter()
            .map(|s| RtpPacket::parse(s).unwrap().payload.to_vec())
            .collect();
        assert_eq!(payloads.len(), 3);
        assert_eq!(payloads[0][..3], [0x7c, 0x85, 1]);
        assert_eq!(payloads[1][..3], [0x7c, 0x05, 9]);
        assert_eq!(payloads[2], [0x7c, 0x45, 17, 18, 19, 20]);
    }

    #[test]
    fn buffer_too_small_consumes_nothing() {
        let au = [0, 0, 1, 0x41, 1, 2, 3];
        let mut p = H264Packetizer::new(1, 96, 0, 100).unwrap();
        let mut packets = p.start_access_unit(&au, 0);
        let mut small = [0u8; 12];
        assert!(matches!(
            packets.next_packet(&mut small),
            Some(Err(Error::BufferTooSmall { needed: 16, .. }))
        ));
        let mut buf = [0u8; 16];
        assert_eq!(packets.next_packet(&mut buf).unwrap().unwrap(), 16);
        assert!(packets.next_packet(&mut buf).is_none());
        assert_eq!(p.sequence(), 1);
    }

    #[test]
    fn rejects_tiny_mtu() {
        assert!(H264Packetizer::new(1, 96, 0, 2).is_err());
        assert!(H264Packetizer::new(1, 128, 0, 1200).is_err());
    }
}
