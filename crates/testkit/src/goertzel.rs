//! How much of a signal sits at one frequency (the Goertzel algorithm): the measure the audio
//! tests apply to tones that crossed a codec, a call or a peer.

/// The squared magnitude of the DFT of `samples` at `freq_hz` (any frequency, not only a bin),
/// the signal's energy, and its length.
fn goertzel<S: Copy + Into<f64>>(samples: &[S], rate_hz: u32, freq_hz: f64) -> (f64, f64, f64) {
    let coeff = 2.0 * (std::f64::consts::TAU * freq_hz / f64::from(rate_hz)).cos();
    let (mut s1, mut s2, mut energy) = (0.0f64, 0.0f64, 0.0f64);
    for &v in samples {
        let v: f64 = v.into();
        let s0 = v + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
        energy += v * v;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    (power.max(0.0), energy, samples.len() as f64)
}

/// Amplitude of the `freq_hz` component of `samples`, in sample units: a sine of amplitude A
/// over whole periods gives A. 0 for no samples.
pub fn amplitude<S: Copy + Into<f64>>(samples: &[S], rate_hz: u32, freq_hz: f64) -> f64 {
    let (power, _, n) = goertzel(samples, rate_hz, freq_hz);
    2.0 * power.sqrt() / n.max(1.0)
}

/// Fraction of the energy of `samples` at `freq_hz`: near 1 for a pure tone over whole
/// periods, near 0 for a tone elsewhere, 0 for silence.
pub fn energy_fraction<S: Copy + Into<f64>>(samples: &[S], rate_hz: u32, freq_hz: f64) -> f64 {
    let (power, energy, n) = goertzel(samples, rate_hz, freq_hz);
    2.0 * power / (n * energy).max(f64::MIN_POSITIVE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq_hz: f64, amplitude: f64, len: usize) -> Vec<f64> {
        (0..len)
            .map(|n| amplitude * (std::f64::consts::TAU * freq_hz * n as f64 / 48_000.0).sin())
            .collect()
    }

    #[test]
    fn a_sine_measures_its_amplitude_and_holds_its_energy() {
        // 4800 samples of 440 Hz: 44 whole periods.
        let x = sine(440.0, 1000.0, 4800);
        assert!((amplitude(&x, 48_000, 440.0) - 1000.0).abs() < 1.0);
        assert!(energy_fraction(&x, 48_000, 440.0) > 0.999);
        assert!(energy_fraction(&x, 48_000, 880.0) < 0.001);
        assert!(amplitude(&x, 48_000, 880.0) < 1.0);
    }

    #[test]
    fn integer_samples_measure_like_floats() {
        let x = sine(1000.0, 8000.0, 960);
        let ints: Vec<i16> = x.iter().map(|&v| v.round() as i16).collect();
        assert!((amplitude(&ints, 48_000, 1000.0) - amplitude(&x, 48_000, 1000.0)).abs() < 1.0);
    }

    #[test]
    fn silence_and_nothing_measure_zero() {
        assert_eq!(energy_fraction(&[0i16; 480], 48_000, 440.0), 0.0);
        assert_eq!(amplitude::<i16>(&[], 48_000, 440.0), 0.0);
    }
}
