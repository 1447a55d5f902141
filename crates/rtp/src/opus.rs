//! The Opus RTP payload format (RFC 7587): one Opus packet per RTP payload, a 48 kHz RTP
//! clock whatever rate the codec runs at, a dynamic payload type, the marker bit on the first
//! packet of a talkspurt.
//!
//! ```
//! use sotto_rtp::{opus_payload, OpusPacketizer};
//!
//! let mut packetizer = OpusPacketizer::new(0x1234_5678, 111, 1000, 0);
//! let mut buf = [0u8; 1500];
//! let len = packetizer.packetize(&[0x78, 1, 2, 3], 960, &mut buf)?; // 20 ms
//! assert_eq!(opus_payload(&buf[..len])?, &[0x78, 1, 2, 3]);
//! assert_eq!((packetizer.sequence(), packetizer.timestamp()), (1001, 960));
//! # Ok::<(), sotto_rtp::Error>(())
//! ```

use std::fmt;

use crate::rtp::RtpWriter;
use crate::{Error, RtpPacket};

/// The RTP clock rate of Opus, always 48 kHz (RFC 7587 section 4.1).
pub const OPUS_CLOCK_RATE_HZ: u32 = 48_000;
/// The dynamic payload type sotto offers for Opus.
pub const DEFAULT_PAYLOAD_TYPE: u8 = 111;
/// Timestamp advance of a 20 ms frame at 48 kHz.
pub const SAMPLES_20MS: u32 = 960;
/// Opus packets this short (TOC and at most one byte) are DTX frames: silence.
const DTX_MAX_LEN: usize = 2;

/// Whether an encoded Opus frame is a DTX frame: silence between the encoder's comfort-noise
/// updates, which carries nothing the receiver's concealment does not make itself, so a
/// sender leaves it unsent ([`OpusPacketizer::skip_silence`]).
pub fn is_dtx(opus_frame: &[u8]) -> bool {
    opus_frame.len() <= DTX_MAX_LEN
}

/// Turns Opus packets into RTP packets, keeping SSRC, sequence number and timestamp.
#[derive(Clone, Debug)]
pub struct OpusPacketizer {
    ssrc: u32,
    payload_type: u8,
    sequence: u16,
    timestamp: u32,
    /// Whether the next speech packet starts a talkspurt (the stream start counts as one).
    talkspurt_start: bool,
}

impl OpusPacketizer {
    /// A packetizer starting at `initial_sequence` and `initial_timestamp`, which RFC 3550
    /// wants random (the caller's CSPRNG picks them).
    pub fn new(ssrc: u32, payload_type: u8, initial_sequence: u16, initial_timestamp: u32) -> Self {
        OpusPacketizer {
            ssrc,
            payload_type,
            sequence: initial_sequence,
            timestamp: initial_timestamp,
            talkspurt_start: true,
        }
    }

    /// Writes one RTP packet carrying `opus_frame` lasting `samples_48k` samples at 48 kHz into
    /// `out`; returns its length. The timestamp advances after the packet. A DTX frame (two
    /// bytes or fewer) is sent as is and makes the next longer frame carry the marker.
    pub fn packetize(
        &mut self,
        opus_frame: &[u8],
        samples_48k: u32,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        if opus_frame.is_empty() {
            return Err(Error::InvalidArgument("empty opus frame"));
        }
        let is_dtx = is_dtx(opus_frame);
        let mut writer =
            RtpWriter::new(self.payload_type, self.sequence, self.timestamp, self.ssrc);
        writer.marker = self.talkspurt_start && !is_dtx;
        let len = writer.write(opus_frame, out)?;
        self.talkspurt_start = is_dtx;
        self.sequence = self.sequence.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(samples_48k);
        Ok(len)
    }

    /// Lets `samples_48k` samples of silence pass without a packet (a DTX frame left unsent):
    /// the timestamp advances and the next packet carries the marker.
    pub fn skip_silence(&mut self, samples_48k: u32) {
        self.timestamp = self.timestamp.wrapping_add(samples_48k);
        self.talkspurt_start = true;
    }

    /// The SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The sequence number of the next packet.
    pub fn sequence(&self) -> u16 {
        self.sequence
    }

    /// The timestamp of the next packet.
    pub fn timestamp(&self) -> u32 {
        self.timestamp
    }
}

/// The Opus payload of an RTP packet (after header, extension and padding).
pub fn opus_payload(rtp_packet: &[u8]) -> Result<&[u8], Error> {
    let packet = RtpPacket::parse(rtp_packet)?;
    if packet.payload.is_empty() {
        return Err(Error::Malformed("empty opus payload"));
    }
    Ok(packet.payload)
}

/// Duration in 48 kHz samples of an Opus packet, from its TOC byte and frame count (RFC 6716
/// section 3.1). `None` for an empty or malformed packet or one longer than 120 ms.
pub fn opus_packet_samples_48k(opus_packet: &[u8]) -> Option<u32> {
    let toc = *opus_packet.first()?;
    let config = toc >> 3;
    let frame = match config {
        // SILK-only: 10, 20, 40, 60 ms.
        0..=11 => [480, 960, 1920, 2880][usize::from(config & 3)],
        // Hybrid: 10, 20 ms.
        12..=15 => [480, 960][usize::from(config & 1)],
        // CELT-only: 2.5, 5, 10, 20 ms.
        _ => [120, 240, 480, 960][usize::from(config & 3)],
    };
    let frames = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(*opus_packet.get(1)? & 0x3f),
    };
    let samples = frame * frames;
    (frames > 0 && samples <= 5760).then_some(samples)
}

/// The SDP lines that offer Opus (RFC 7587 section 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpusSdp {
    /// The dynamic payload type.
    pub payload_type: u8,
    /// Shortest packet duration we send, in ms.
    pub min_ptime_ms: u8,
    /// Whether we decode in-band FEC (`useinbandfec=1`).
    pub use_inband_fec: bool,
    /// Whether we may send DTX (`usedtx=1`).
    pub use_dtx: bool,
}

impl Default for OpusSdp {
    fn default() -> Self {
        OpusSdp {
            payload_type: DEFAULT_PAYLOAD_TYPE,
            min_ptime_ms: 10,
            use_inband_fec: true,
            use_dtx: true,
        }
    }
}

impl OpusSdp {
    /// The `a=rtpmap` value; RFC 7587 fixes it as `opus/48000/2`.
    pub fn rtpmap(&self) -> impl fmt::Display + '_ {
        Line(self, false)
    }

    /// The `a=fmtp` value, e.g. `111 minptime=10; useinbandfec=1; usedtx=1`.
    pub fn fmtp(&self) -> impl fmt::Display + '_ {
        Line(self, true)
    }
}

struct Line<'a>(&'a OpusSdp, bool);

impl fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sdp = self.0;
        if !self.1 {
            return write!(f, "{} opus/48000/2", sdp.payload_type);
        }
        write!(
            f,
            "{} minptime={}; useinbandfec={}; usedtx={}",
            sdp.payload_type,
            sdp.min_ptime_ms,
            u8::from(sdp.use_inband_fec),
            u8::from(sdp.use_dtx)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_timestamp_and_marker_follow_dtx() {
        let mut p = OpusPacketizer::new(9, DEFAULT_PAYLOAD_TYPE, 65_535, u32::MAX - 959);
        let mut buf = [0u8; 128];
        let speech = [0x78u8, 0xaa, 0xbb, 0xcc];
        let mut sent = Vec::new();
        let mut send = |p: &mut OpusPacketizer, frame: &[u8]| {
            let len = p.packetize(frame, SAMPLES_20MS, &mut buf).unwrap();
            let packet = RtpPacket::parse(&buf[..len]).unwrap();
            sent.push((
                packet.header.marker,
                packet.header.sequence,
                packet.header.timestamp,
            ));
        };
        send(&mut p, &speech);
        send(&mut p, &speech);
        send(&mut p, &[0x78]); // DTX frame
        send(&mut p, &speech);
        p.skip_silence(3 * SAMPLES_20MS);
        send(&mut p, &speech);
        assert_eq!(
            sent,
            [
                (true, 65_535, u32::MAX - 959),
                (false, 0, 0),
                (false, 1, 960),
                (true, 2, 1920),
                (true, 3, 5760),
            ]
        );
    }

    #[test]
    fn payload_extraction_checks_the_packet() {
        let mut p = OpusPacketizer::new(1, 111, 0, 0);
        let mut buf = [0u8; 16];
        assert!(matches!(
            p.packetize(&[], 960, &mut buf),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            p.packetize(&[1, 2, 3, 4, 5], 960, &mut buf),
            Err(Error::BufferTooSmall {
                needed: 17,
                have: 16
            })
        ));
        let len = p.packetize(&[1, 2, 3, 4], 960, &mut buf).unwrap();
        assert_eq!(opus_payload(&buf[..len]).unwrap(), &[1, 2, 3, 4]);
        assert!(matches!(opus_payload(&buf[..12]), Err(Error::Malformed(_))));
        assert!(opus_payload(&buf[..11]).is_err());
    }

    #[test]
    fn toc_gives_packet_duration() {
        // Config 1 (SILK NB 20 ms) code 0; config 31 (CELT FB 20 ms) code 1 = 2 frames;
        // config 16 (CELT NB 2.5 ms) code 3 with 6 frames; 3 x 60 ms is too long.
        assert_eq!(opus_packet_samples_48k(&[1 << 3]), Some(960));
        assert_eq!(opus_packet_samples_48k(&[31 << 3 | 1]), Some(1920));
        assert_eq!(opus_packet_samples_48k(&[16 << 3 | 3, 6]), Some(720));
        assert_eq!(opus_packet_samples_48k(&[3 << 3 | 3, 3]), None);
        assert_eq!(opus_packet_samples_48k(&[3 << 3 | 3]), None);
        assert_eq!(opus_packet_samples_48k(&[]), None);
    }

    #[test]
    fn sdp_lines() {
        let sdp = OpusSdp::default();
        assert_eq!(sdp.rtpmap().to_string(), "111 opus/48000/2");
        assert_eq!(
            sdp.fmtp().to_string(),
            "111 minptime=10; useinbandfec=1; usedtx=1"
        );
    }
}
