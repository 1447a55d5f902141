//! Synthetic sources and a discarding sink: the twins of devices on machines without any.

use crate::{AudioSink, AudioSource, Error, SAMPLE_RATE_HZ};

/// A sine tone at 48 kHz that never ends.
#[derive(Debug, Clone)]
pub struct ToneSource {
    /// Phase advance per sample, in cycles.
    step: f64,
    /// Current phase in cycles, kept in [0, 1) so precision does not decay over long calls.
    phase: f64,
    peak: f64,
}

impl ToneSource {
    /// A tone of `freq_hz` whose peak is `amplitude` times full scale (clamped to 0..=1).
    pub fn new(freq_hz: f32, amplitude: f32) -> Self {
        Self {
            step: f64::from(freq_hz) / f64::from(SAMPLE_RATE_HZ),
            phase: 0.0,
            peak: f64::from(amplitude.clamp(0.0, 1.0)) * f64::from(i16::MAX),
        }
    }
}

impl AudioSource for ToneSource {
    fn read(&mut self, out: &mut [i16]) -> Result<usize, Error> {
        for sample in out.iter_mut() {
            *sample = (self.peak * (std::f64::consts::TAU * self.phase).sin()).round() as i16;
            self.phase = (self.phase + self.step).fract();
        }
        Ok(out.len())
    }
}

/// Digital silence that never ends.
#[derive(Debug, Clone, Copy, Default)]
pub struct SilenceSource;

impl AudioSource for SilenceSource {
    fn read(&mut self, out: &mut [i16]) -> Result<usize, Error> {
        out.fill(0);
        Ok(out.len())
    }
}

/// A sink that discards everything written to it.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullSink;

impl AudioSink for NullSink {
    fn write(&mut self, _samples: &[i16]) -> Result<(), Error> {
        Ok(())
    }

    fn finish(&mut self) -> Result<(), Error> {
        Ok(())
    }
}
