//! Test support shared by sotto's crates. The interop tests drive real peers (bzrtp, libsrtp2)
//! through small C programs linked against Debian's libraries; this builds them. Also the
//! audio measures the tests share ([`goertzel`], [`speech_similarity`]) and a lab of real NATs
//! ([`natlab`]).
#![deny(missing_docs)]

pub mod goertzel;
pub mod natlab;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// A C program compiled against system libraries found by pkg-config.
#[derive(Debug, Clone, Copy)]
pub struct CTool<'a> {
    /// Base name of the binary, e.g. `"bzrtp_peer"`.
    pub name: &'a str,
    /// The C source.
    pub source: &'a str,
    /// pkg-config package names to compile and link with.
    pub pkg_config: &'a [&'a str],
    /// What to tell the user when the libraries are missing.
    pub install_hint: &'a str,
}

impl CTool<'_> {
    /// Compiles the program into `dir` unless a binary of this exact source is already there
    /// (its name carries a hash of the source). Safe when several test binaries build at once:
    /// each compiles to a unique name, then renames into place atomically.
    pub fn build(&self, dir: &Path) -> Result<PathBuf, String> {
        let hint = self.install_hint;
        let name = format!("{}-{:016x}", self.name, fnv1a(self.source.as_bytes()));
        let binary = dir.join(&name);
        if binary.exists() {
            return Ok(binary);
        }
        let pkg = Command::new("pkg-config")
            .args(["--cflags", "--libs"])
            .args(self.pkg_config)
            .output()
            .map_err(|e| format!("cannot run pkg-config ({e}): {hint}"))?;
        if !pkg.status.success() {
            return Err(format!(
                "{} not found by pkg-config ({}): {hint}",
                self.pkg_config.join(", "),
                String::from_utf8_lossy(&pkg.stderr).trim()
            ));
        }
        let flags = String::from_utf8_lossy(&pkg.stdout).into_owned();
        let unique = format!("{name}.{}", std::process::id());
        let source = dir.join(format!("{unique}.c"));
        let partial = dir.join(format!("{unique}.partial"));
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        fs::write(&source, self.source)
            .map_err(|e| format!("cannot write {}: {e}", source.display()))?;
        let cc = Command::new("cc")
            .args(["-O2", "-Wall", "-o"])
            .arg(&partial)
            .arg(&source)
            .args(flags.split_whitespace())
            .output();
        let _ = fs::remove_file(&source);
        let cc = cc.map_err(|e| format!("cannot run cc ({e}): install a C compiler"))?;
        if !cc.status.success() {
            return Err(format!(
                "compiling {}.c failed:\n{}\n{hint}",
                self.name,
                String::from_utf8_lossy(&cc.stderr)
            ));
        }
        fs::rename(&partial, &binary)
            .map_err(|e| format!("cannot install {}: {e}", binary.display()))?;
        Ok(binary)
    }
}

/// A fresh file path `dir/<pid>-<n>.<ext>` for this process (logs, scratch input).
pub fn scratch_path(dir: &Path, ext: &str) -> std::io::Result<PathBuf> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    fs::create_dir_all(dir)?;
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    Ok(dir.join(format!("{}-{n}.{ext}", std::process::id())))
}

/// How well `output` reproduces the speech in `input` (both 48 kHz mono): the mean normalised
/// cross-correlation of the input's speech-bearing half-second segments against the output,
/// each aligned on its own (the output may start up to `max_delay_samples` late and a jitter
/// buffer may drop or stretch a frame), with each segment's (delay in ms, correlation).
/// Both are low-passed and decimated to 4 kHz first: the band where Opus at 32 kbit/s keeps
/// the waveform, not just the sound.
pub fn speech_similarity(
    input: &[i16],
    output: &[i16],
    max_delay_samples: usize,
) -> (f64, Vec<(usize, f64)>) {
    const DECIMATION: usize = 12;
    const SEGMENT: usize = 2_000; // half a second at 4 kHz
    let decimate = |x: &[i16]| -> Vec<f64> {
        x.chunks_exact(DECIMATION)
            .map(|c| c.iter().map(|&v| f64::from(v)).sum::<f64>() / DECIMATION as f64)
            .collect()
    };
    let (input, output) = (decimate(input), decimate(output));
    let loudness =
        |x: &[f64]| (x.iter().map(|v| v * v).sum::<f64>() / x.len().max(1) as f64).sqrt();
    let overall = loudness(&input);
    let max_lag = max_delay_samples / DECIMATION;
    let segments: Vec<(usize, f64)> = input
        .chunks_exact(SEGMENT)
        .enumerate()
        .filter(|(_, segment)| loudness(segment) >= overall / 4.0)
        // Segments the output is too short to hold (a call shorter than the file) don't count.
        .filter_map(|(i, segment)| {
            let (lag, correlation) = best_correlation(
                segment,
                output.get(i * SEGMENT..).unwrap_or_default(),
                max_lag,
            )?;
            Some((lag * DECIMATION / 48, correlation))
        })
        .collect();
    let mean = segments.iter().map(|c| c.1).sum::<f64>() / segments.len().max(1) as f64;
    (mean, segments)
}

/// The best normalised cross-correlation of `reference` against `signal` delayed by up to
/// `max_lag` samples: (lag, correlation), or `None` when `signal` is too short for any lag.
fn best_correlation(reference: &[f64], signal: &[f64], max_lag: usize) -> Option<(usize, f64)> {
    let energy = |x: &[f64]| x.iter().map(|v| v * v).sum::<f64>();
    let reference_energy = energy(reference);
    (0..max_lag)
        .filter(|lag| lag + reference.len() <= signal.len())
        .map(|lag| {
            let window = &signal[lag..lag + reference.len()];
            let dot: f64 = reference.iter().zip(window).map(|(a, b)| a * b).sum();
            let norm = (reference_energy * energy(window)).sqrt();
            (lag, if norm > 0.0 { dot / norm } else { 0.0 })
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_library_names_the_hint() {
        let tool = CTool {
            name: "nothing",
            source: "int main(void) { return 0; }",
            pkg_config: &["sotto-no-such-package"],
            install_hint: "run .ci/setup",
        };
        let err = tool
            .build(&std::env::temp_dir())
            .expect_err("no such package");
        assert!(
            err.contains("sotto-no-such-package") && err.contains("run .ci/setup"),
            "{err}"
        );
    }

    #[test]
    fn speech_similarity_finds_a_delayed_copy_and_rejects_noise() {
        // A deterministic "speech-like" signal: a chirp with a varying envelope.
        let input: Vec<i16> = (0..48_000 * 2)
            .map(|n| {
                let t = n as f64 / 48_000.0;
                let envelope = (t * 3.0 * std::f64::consts::PI).sin().abs();
                (envelope * 8_000.0 * (2.0 * std::f64::consts::PI * (200.0 + 300.0 * t) * t).sin())
                    as i16
            })
            .collect();
        let mut delayed = vec![0i16; 4_800];
        delayed.extend_from_slice(&input);
        let (mean, segments) = speech_similarity(&input, &delayed, 48_000);
        assert!(mean > 0.95, "{segments:?}");
        assert!(
            segments.iter().all(|(ms, _)| (99..=101).contains(ms)),
            "{segments:?}"
        );
        let noise: Vec<i16> = (0..delayed.len() as u32)
            .map(|n| (n.wrapping_mul(2_654_435_761) >> 20) as i16)
            .collect();
        let (mean, _) = speech_similarity(&input, &noise, 48_000);
        assert!(mean < 0.3, "{mean}");
    }

    #[test]
    fn the_source_hash_names_the_binary() {
        assert_ne!(
            fnv1a(b"int main(void){return 0;}"),
            fnv1a(b"int main(void){return 1;}")
        );
    }
}
