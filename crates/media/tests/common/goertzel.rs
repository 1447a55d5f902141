//! The Goertzel tone measure, with no dependencies: the integration tests reach it through
//! `common`, the crate's unit tests include this file by path.

/// Fraction of the energy of `x` at `freq_hz` by the Goertzel algorithm: 1.0 for a pure tone
/// over whole periods, near 0 for a tone elsewhere.
pub fn tone_fraction(x: &[i16], rate_hz: u32, freq_hz: f64) -> f64 {
    let w = std::f64::consts::TAU * freq_hz / f64::from(rate_hz);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2, mut energy) = (0.0f64, 0.0f64, 0.0f64);
    for &v in x {
        let v = f64::from(v);
        let s0 = v + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
        energy += v * v;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power / (x.len() as f64 * energy)
}
