//! Band-limited sample-rate conversion for i16 mono audio.
//!
//! A windowed-sinc polyphase filter: 256 precomputed phases with linear interpolation between
//! neighbouring phases, so any pair of rates works without a huge filter bank, and the position
//! is tracked with exact integer arithmetic so long runs never drift. All buffers are sized in
//! [`Resampler::new`]; [`Resampler::process_rt`] never allocates and may run in a device callback.

use crate::Error;

/// Filter phases stored per input sample step; intermediate phases are interpolated.
const PHASES: usize = 256;
/// Sinc zero crossings on each side of the centre tap: trades CPU for stop-band rejection.
const ZERO_CROSSINGS: f64 = 16.0;
/// Pass band as a fraction of the lower Nyquist frequency, leaving room for the transition band.
const ROLLOFF: f64 = 0.92;
/// Input samples buffered beyond the filter length between compactions.
const BLOCK: usize = 1024;
const MIN_RATE_HZ: u32 = 8_000;
const MAX_RATE_HZ: u32 = 384_000;

/// Streaming sample-rate converter from `in_rate_hz` to `out_rate_hz`.
///
/// The filter is linear-phase and centred, so output sample `n` lines up in time with input
/// position `n * in_rate_hz / out_rate_hz`: the converter adds no delay of its own, but it holds
/// back [`Resampler::lookahead_samples`] input samples until later input arrives.
pub struct Resampler {
    in_rate_hz: u32,
    out_rate_hz: u32,
    filter: Option<Filter>,
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler")
            .field("in_rate_hz", &self.in_rate_hz)
            .field("out_rate_hz", &self.out_rate_hz)
            .field("taps", &self.filter.as_ref().map_or(0, |f| f.taps))
            .finish()
    }
}

struct Filter {
    taps: usize,
    /// `(PHASES + 1) * taps` coefficients; phase `p` is the kernel shifted by `p / PHASES`.
    table: Box<[f32]>,
    buf: Box<[f32]>,
    len: usize,
    /// Index in `buf` of the first tap of the next output sample; may run past `len` when
    /// downsampling, meaning input still to be skipped.
    pos: usize,
    /// Fractional part of the position in units of `1 / out_rate_hz`.
    frac: u64,
    step_whole: usize,
    step_frac: u64,
    out_rate: u64,
}

impl Resampler {
    /// A converter between two rates in 8 kHz..=384 kHz.
    pub fn new(in_rate_hz: u32, out_rate_hz: u32) -> Result<Self, Error> {
        for rate in [in_rate_hz, out_rate_hz] {
            if !(MIN_RATE_HZ..=MAX_RATE_HZ).contains(&rate) {
                return Err(Error::InvalidSampleRate(rate));
            }
        }
        let filter = (in_rate_hz != out_rate_hz).then(|| Filter::new(in_rate_hz, out_rate_hz));
        Ok(Self {
            in_rate_hz,
            out_rate_hz,
            filter,
        })
    }

    /// The input rate.
    pub fn in_rate_hz(&self) -> u32 {
        self.in_rate_hz
    }

    /// The output rate.
    pub fn out_rate_hz(&self) -> u32 {
        self.out_rate_hz
    }

    /// Input samples the converter must see beyond a position before it can emit the output
    /// sample there; feed this many zeros at the end of a stream to drain it.
    pub fn lookahead_samples(&self) -> usize {
        self.filter.as_ref().map_or(0, |f| f.taps / 2 + 1)
    }

    /// The most output samples that `input_len` input samples can produce in one call,
    /// counting what is already buffered: size output buffers with it.
    pub fn max_output_len(&self, input_len: usize) -> usize {
        match &self.filter {
            None => input_len,
            Some(f) => {
                let span = (input_len + f.buf.len()) as u64 * u64::from(self.out_rate_hz);
                (span / u64::from(self.in_rate_hz)) as usize + 2
            }
        }
    }

    /// Converts as much of `input` as fits into `output` and returns `(consumed, produced)`.
    ///
    /// Never allocates, locks or panics; the work is bounded by the two lengths. Unconsumed
    /// input (only when `output` filled up) must be passed again in the next call.
    pub fn process_rt(&mut self, input: &[i16], output: &mut [i16]) -> (usize, usize) {
        match &mut self.filter {
            None => {
                let n = input.len().min(output.len());
                output[..n].copy_from_slice(&input[..n]);
                (n, n)
            }
            Some(f) => f.process(input, output),
        }
    }
}

impl Filter {
    fn new(in_rate_hz: u32, out_rate_hz: u32) -> Self {
        let ratio = f64::from(out_rate_hz) / f64::from(in_rate_hz);
        // Cut-off in cycles per input sample: below the lower of the two Nyquist rates.
        let cutoff = 0.5 * ratio.min(1.0) * ROLLOFF;
        let half = (ZERO_CROSSINGS / (2.0 * cutoff)).ceil() as usize;
        let taps = 2 * half;
        let mut table = vec![0.0f32; (PHASES + 1) * taps].into_boxed_slice();
        for (p, phase) in table.chunks_exact_mut(taps).enumerate() {
            let shift = p as f64 / PHASES as f64;
            let mut sum = 0.0;
            let mut coeffs = vec![0.0f64; taps];
            for (j, c) in coeffs.iter_mut().enumerate() {
                // Distance in input samples from tap j to the output position.
                let x = (half as f64 - 1.0) + shift - j as f64;
                *c = kernel(x, cutoff, half as f64);
                sum += *c;
            }
            // Unity gain at DC in every phase, so interpolating between phases adds no ripple.
            for (dst, c) in phase.iter_mut().zip(&coeffs) {
                *dst = (c / sum) as f32;
            }
        }
        let buf = vec![0.0f32; taps + BLOCK].into_boxed_slice();
        let out_rate = u64::from(out_rate_hz);
        Self {
            taps,
            table,
            buf,
            // `half - 1` zeros of history centre the first output on the first input sample.
            len: half - 1,
            pos: 0,
            frac: 0,
            step_whole: (in_rate_hz / out_rate_hz) as usize,
            step_frac: u64::from(in_rate_hz % out_rate_hz),
            out_rate,
        }
    }

    fn process(&mut self, input: &[i16], output: &mut [i16]) -> (usize, usize) {
        let mut consumed = 0;
        let mut produced = 0;
        loop {
            let take = (self.buf.len() - self.len).min(input.len() - consumed);
            for (dst, &src) in self.buf[self.len..self.len + take]
                .iter_mut()
                .zip(&input[consumed..consumed + take])
            {
                *dst = f32::from(src);
            }
            self.len += take;
            consumed += take;

            while produced < output.len() && self.pos + self.taps <= self.len {
                output[produced] = self.sample_at_pos();
                produced += 1;
                self.pos += self.step_whole;
                self.frac += self.step_frac;
                if self.frac >= self.out_rate {
                    self.frac -= self.out_rate;
                    self.pos += 1;
                }
            }

            let drop = self.pos.min(self.len);
            self.buf.copy_within(drop..self.len, 0);
            self.len -= drop;
            self.pos -= drop;

            // After compaction fewer than `taps` samples remain, so the next pass always takes
            // input: the loop ends within `input.len()` passes.
            if consumed == input.len() || produced == output.len() {
                return (consumed, produced);
            }
        }
    }

    fn sample_at_pos(&self) -> i16 {
        let scaled = self.frac * PHASES as u64;
        let phase = (scaled / self.out_rate) as usize;
        let weight = (scaled % self.out_rate) as f32 / self.out_rate as f32;
        let lo = &self.table[phase * self.taps..(phase + 1) * self.taps];
        let hi = &self.table[(phase + 1) * self.taps..(phase + 2) * self.taps];
        let x = &self.buf[self.pos..self.pos + self.taps];
        let (mut acc_lo, mut acc_hi) = (0.0f32, 0.0f32);
        for ((s, l), h) in x.iter().zip(lo).zip(hi) {
            acc_lo += s * l;
            acc_hi += s * h;
        }
        let y = acc_lo + (acc_hi - acc_lo) * weight;
        // `as` saturates, which is the clipping wanted here.
        y.round() as i16
    }
}

/// Blackman-windowed sinc low-pass with `cutoff` in cycles per sample, `half` samples wide.
fn kernel(x: f64, cutoff: f64, half: f64) -> f64 {
    if x.abs() >= half {
        return 0.0;
    }
    let arg = 2.0 * cutoff * x;
    let sinc = if arg.abs() < 1e-12 {
        1.0
    } else {
        (std::f64::consts::PI * arg).sin() / (std::f64::consts::PI * arg)
    };
    let t = x / half;
    let window = 0.42
        + 0.5 * (std::f64::consts::PI * t).cos()
        + 0.08 * (2.0 * std::f64::consts::PI * t).cos();
    2.0 * cutoff * sinc * window
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use sotto_testkit::goertzel::energy_fraction;

    pub(crate) fn tone(rate_hz: u32, freq_hz: f64, len: usize) -> Vec<i16> {
        (0..len)
            .map(|n| {
                let t = n as f64 / f64::from(rate_hz);
                (10_000.0 * (std::f64::consts::TAU * freq_hz * t).sin()).round() as i16
            })
            .collect()
    }

    fn resample_all(r: &mut Resampler, input: &[i16], piece: usize) -> Vec<i16> {
        let mut out = Vec::new();
        let mut buf = vec![0i16; r.max_output_len(piece)];
        for chunk in input.chunks(piece) {
            let (consumed, produced) = r.process_rt(chunk, &mut buf);
            assert_eq!(
                consumed,
                chunk.len(),
                "max_output_len leaves room for a whole chunk"
            );
            out.extend_from_slice(&buf[..produced]);
        }
        out
    }

    #[test]
    fn rejects_rates_out_of_range() {
        assert!(matches!(
            Resampler::new(0, 48_000),
            Err(Error::InvalidSampleRate(0))
        ));
        assert!(matches!(
            Resampler::new(48_000, 1_000_000),
            Err(Error::InvalidSampleRate(1_000_000))
        ));
    }

    #[test]
    fn same_rate_passes_samples_through() {
        let mut r = Resampler::new(48_000, 48_000).unwrap();
        let input = tone(48_000, 1000.0, 960);
        assert_eq!(resample_all(&mut r, &input, 100), input);
        assert_eq!(r.lookahead_samples(), 0);
    }

    #[test]
    fn keeps_tone_frequency_and_count_across_rates() {
        for (from, to, freq) in [
            (44_100, 48_000, 1000.0),
            (48_000, 44_100, 1000.0),
            (16_000, 48_000, 440.0),
            (48_000, 8_000, 700.0),
            (96_000, 48_000, 3000.0),
        ] {
            let mut r = Resampler::new(from, to).unwrap();
            let input = tone(from, freq, from as usize); // one second
            let out = resample_all(&mut r, &input, 441);
            let expected = to as usize;
            assert!(
                out.len() <= expected && out.len() + r.lookahead_samples() * 8 >= expected,
                "{from}->{to}: {} samples out",
                out.len()
            );
            // A tenth of a second, whole periods, past the start-up edge.
            let window = &out[to as usize / 10..to as usize / 5];
            let at = energy_fraction(window, to, freq);
            let off = energy_fraction(window, to, freq * 1.1);
            assert!(at > 0.98, "{from}->{to}: {at} of energy at {freq} Hz");
            assert!(off < 0.01, "{from}->{to}: {off} of energy off frequency");
        }
    }

    #[test]
    fn output_is_time_aligned_with_input() {
        // The centred filter adds no delay: resampled 44.1 kHz sine matches the 48 kHz sine
        // computed directly at the same instants.
        let mut r = Resampler::new(44_100, 48_000).unwrap();
        let out = resample_all(&mut r, &tone(44_100, 500.0, 44_100), 512);
        let direct = tone(48_000, 500.0, out.len());
        let worst = out[4800..]
            .iter()
            .zip(&direct[4800..])
            .map(|(a, b)| (i32::from(*a) - i32::from(*b)).abs())
            .max()
            .unwrap();
        assert!(worst < 50, "largest deviation {worst} of 10000");
    }

    #[test]
    fn small_output_buffers_resume_where_they_stopped() {
        let input = tone(44_100, 1000.0, 4410);
        let mut whole = Resampler::new(44_100, 48_000).unwrap();
        let expected = resample_all(&mut whole, &input, 4410);
        let mut r = Resampler::new(44_100, 48_000).unwrap();
        let mut out = Vec::new();
        let mut rest: &[i16] = &input;
        let mut buf = [0i16; 7];
        loop {
            let (consumed, produced) = r.process_rt(rest, &mut buf);
            out.extend_from_slice(&buf[..produced]);
            rest = &rest[consumed..];
            // Buffered input keeps producing with no new input until it runs dry.
            if rest.is_empty() && produced == 0 {
                break;
            }
        }
        assert_eq!(out.len(), expected.len());
        assert!(
            out == expected,
            "piecewise output differs from one-shot output"
        );
    }

    #[test]
    fn process_rt_does_not_allocate() {
        let mut r = Resampler::new(44_100, 48_000).unwrap();
        let input = tone(44_100, 1000.0, 882);
        let mut out = vec![0i16; r.max_output_len(input.len())];
        let produced = assert_no_alloc::assert_no_alloc(|| {
            (0..50)
                .map(|_| r.process_rt(&input, &mut out).1)
                .sum::<usize>()
        });
        assert!(produced > 47_000);
    }
}
