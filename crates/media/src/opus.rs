//! Opus at 48 kHz mono for voice: VOIP mode, in-band FEC and DTX on, decoder PLC and FEC
//! recovery. Encode and decode write into caller buffers and do not allocate, so the decoder
//! may run on a playout thread with preallocated buffers.

use ::opus::{Application, Bitrate, Channels, Decoder, Encoder};

use crate::{Error, SAMPLE_RATE_HZ};

/// libopus's lookahead at 48 kHz in VOIP mode: 2.5 ms of analysis plus 4 ms of delay
/// compensation. The decoded stream lags the input by this much.
const LOOKAHEAD_SAMPLES: usize = 312;
/// Loss expected before the receiver has reported any: enough for the encoder to spend bits
/// on FEC from the first packet.
const DEFAULT_PACKET_LOSS_PERCENT: i32 = 10;
/// Encoder complexity (0..=10): libopus's own default. Cheaper settings were measured and
/// refused: at 6 speech keeps its PESQ-WB score (within 0.04 on four samples) and encodes a third
/// faster, but libopus then skips the signal analysis its DTX decision relies on, and a steady
/// tone (music on hold, an in-band signalling tone) is taken for background noise and replaced
/// by comfort noise at a fifth of its level (BENCHMARKS.md has the figures).
pub const DEFAULT_COMPLEXITY: i32 = 9;
/// The 20 ms frame a decoder conceals before it has seen any packet.
const DEFAULT_FRAME_SAMPLES: usize = SAMPLE_RATE_HZ as usize / 50;

/// Encoder lookahead at 48 kHz (6.5 ms = 312 samples): part of the mouth-to-ear floor and the
/// offset to align decoded audio with its input.
pub fn lookahead_samples() -> usize {
    LOOKAHEAD_SAMPLES
}

/// A 48 kHz mono Opus encoder for voice with in-band FEC and DTX on.
pub struct OpusEncoder {
    inner: Encoder,
    frame_samples: usize,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder")
            .field("frame_samples", &self.frame_samples)
            .finish_non_exhaustive()
    }
}

impl OpusEncoder {
    /// An encoder for frames of `ptime_ms` (10 or 20) at `bitrate_bps` (6000..=510000). The
    /// packet-loss hint starts at 10 % so the first packets already carry FEC.
    pub fn new(ptime_ms: u32, bitrate_bps: i32) -> Result<Self, Error> {
        if ptime_ms != 10 && ptime_ms != 20 {
            return Err(Error::InvalidPtime(ptime_ms));
        }
        let mut inner = Encoder::new(SAMPLE_RATE_HZ, Channels::Mono, Application::Voip)
            .map_err(|e| Error::opus("encoder create", e))?;
        inner
            .set_bitrate(Bitrate::Bits(bitrate_bps))
            .map_err(|e| Error::opus("set bitrate", e))?;
        inner
            .set_inband_fec(true)
            .map_err(|e| Error::opus("enable FEC", e))?;
        inner
            .set_dtx(true)
            .map_err(|e| Error::opus("enable DTX", e))?;
        inner
            .set_packet_loss_perc(DEFAULT_PACKET_LOSS_PERCENT)
            .map_err(|e| Error::opus("set packet loss", e))?;
        inner
            .set_complexity(DEFAULT_COMPLEXITY)
            .map_err(|e| Error::opus("set complexity", e))?;
        Ok(Self {
            inner,
            frame_samples: (SAMPLE_RATE_HZ / 1000 * ptime_ms) as usize,
        })
    }

    /// Samples per frame: 480 at 10 ms, 960 at 20 ms.
    pub fn frame_samples(&self) -> usize {
        self.frame_samples
    }

    /// Tells the encoder how much loss to expect (0..=100 %), from receiver reports; more loss
    /// means more bits spent on FEC.
    pub fn set_packet_loss_percent(&mut self, pct: i32) -> Result<(), Error> {
        self.inner
            .set_packet_loss_perc(pct)
            .map_err(|e| Error::opus("set packet loss", e))
    }

    /// Trades CPU for quality (0..=10, default [`DEFAULT_COMPLEXITY`]); out of range is an
    /// error.
    pub fn set_complexity(&mut self, complexity: i32) -> Result<(), Error> {
        self.inner
            .set_complexity(complexity)
            .map_err(|e| Error::opus("set complexity", e))
    }

    /// Encodes exactly one frame of `pcm` into `out` and returns the packet length.
    ///
    /// During silence DTX makes packets of at most 2 bytes; RFC 7587 lets the sender skip
    /// them, and the receiver conceals the gap with comfort noise.
    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, Error> {
        if pcm.len() != self.frame_samples {
            return Err(Error::BufferSize {
                expected: self.frame_samples,
                got: pcm.len(),
            });
        }
        self.inner
            .encode(pcm, out)
            .map_err(|e| Error::opus("encode", e))
    }
}

/// A 48 kHz mono Opus decoder with packet-loss concealment and FEC recovery.
pub struct OpusDecoder {
    inner: Decoder,
    /// Duration of the last decoded frame: a lost frame is assumed to be as long.
    last_frame_samples: usize,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder")
            .field("last_frame_samples", &self.last_frame_samples)
            .finish_non_exhaustive()
    }
}

impl OpusDecoder {
    /// A decoder at 48 kHz mono.
    pub fn new() -> Result<Self, Error> {
        let inner = Decoder::new(SAMPLE_RATE_HZ, Channels::Mono)
            .map_err(|e| Error::opus("decoder create", e))?;
        Ok(Self {
            inner,
            last_frame_samples: DEFAULT_FRAME_SAMPLES,
        })
    }

    /// Decodes `packet` into `out` (at least one frame long, 5760 samples covers any packet)
    /// and returns the samples written. An empty packet means a lost one and is concealed.
    pub fn decode(&mut self, packet: &[u8], out: &mut [i16]) -> Result<usize, Error> {
        if packet.is_empty() {
            return self.conceal(out);
        }
        let n = self
            .inner
            .decode(packet, out, false)
            .map_err(|e| Error::opus("decode", e))?;
        self.last_frame_samples = n;
        Ok(n)
    }

    /// Recovers the frame lost just before `next_packet` from the FEC data that packet carries
    /// (plain concealment if it carries none). Decode `next_packet` itself afterwards.
    pub fn decode_fec(&mut self, next_packet: &[u8], out: &mut [i16]) -> Result<usize, Error> {
        let n = self.lost_frame_len(out.len())?;
        self.inner
            .decode(next_packet, &mut out[..n], true)
            .map_err(|e| Error::opus("FEC decode", e))
    }

    /// Conceals one lost frame (as long as the last one decoded) into `out`.
    pub fn conceal(&mut self, out: &mut [i16]) -> Result<usize, Error> {
        let n = self.lost_frame_len(out.len())?;
        self.inner
            .decode(&[], &mut out[..n], false)
            .map_err(|e| Error::opus("conceal", e))
    }

    fn lost_frame_len(&self, available: usize) -> Result<usize, Error> {
        if available < self.last_frame_samples {
            return Err(Error::BufferSize {
                expected: self.last_frame_samples,
                got: available,
            });
        }
        Ok(self.last_frame_samples)
    }
}
