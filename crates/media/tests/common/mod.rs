//! Signal measurements shared by the integration tests.
#![allow(dead_code, reason = "each test file uses a different subset")]

use std::path::PathBuf;

use sotto_media::{AudioSource, WavSource};

pub use sotto_testkit::goertzel::energy_fraction;

/// Normalised cross-correlation of `a` and `b` over their common length.
pub fn correlation(a: &[i16], b: &[i16]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    ab / (aa * bb).sqrt()
}

/// The lag in `lags` at which `output` best matches `input`, and that correlation.
pub fn best_lag(
    input: &[i16],
    output: &[i16],
    lags: std::ops::RangeInclusive<usize>,
) -> (usize, f64) {
    lags.map(|lag| (lag, correlation(input, &output[lag..])))
        .fold((0, f64::MIN), |best, c| if c.1 > best.1 { c } else { best })
}

/// Energy of `x`.
pub fn energy(x: &[i16]) -> f64 {
    x.iter().map(|&v| f64::from(v) * f64::from(v)).sum()
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

/// Reads a whole source until it ends.
pub fn read_to_end(source: &mut WavSource) -> Vec<i16> {
    let mut all = Vec::new();
    let mut buf = [0i16; 1000];
    loop {
        let n = source.read(&mut buf).expect("source reads");
        all.extend_from_slice(&buf[..n]);
        if n < buf.len() {
            return all;
        }
    }
}
