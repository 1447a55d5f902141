//! `sotto bench latency` runs a short call and prints its measurements; only their form and
//! sanity are checked here, never how fast this machine is.

use std::process::{Command, Stdio};

/// The number after `label` in `line`, e.g. `median 47.2 ms` gives 47.2.
fn number_after(line: &str, label: &str) -> f64 {
    let rest = &line[line.find(label).expect(label) + label.len()..];
    rest.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {label:?} in {line:?}"))
}

#[test]
fn bench_latency_prints_latency_floor_concealment_and_cpu() {
    let out = Command::new(env!("CARGO_BIN_EXE_sotto"))
        .args(["bench", "latency", "--seconds", "3"])
        .stdin(Stdio::null())
        .output()
        .expect("sotto runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let line = |prefix: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line in {stdout}"))
    };

    let latency = line("mouth-to-ear latency:");
    let median = number_after(latency, "median");
    let p95 = number_after(latency, "p95");
    assert!(median > 0.0 && median < 1000.0, "{latency}");
    assert!(p95 >= median && p95 < 1000.0, "{latency}");

    let floor = line("algorithmic floor:");
    assert_eq!(number_after(floor, "floor:"), 26.5, "{floor}");

    let concealed = number_after(line("concealed audio:"), "audio:");
    assert!((0.0..=100.0).contains(&concealed), "{stdout}");

    let cpu = line("cpu:");
    let process = number_after(cpu, "process");
    let endpoint = number_after(cpu, "per endpoint");
    assert!(
        process >= 0.0 && (endpoint - process / 2.0).abs() < 0.01,
        "{cpu}"
    );
}

#[test]
fn bench_latency_refuses_an_unsupported_ptime() {
    let out = Command::new(env!("CARGO_BIN_EXE_sotto"))
        .args(["bench", "latency", "--ptime", "30"])
        .stdin(Stdio::null())
        .output()
        .expect("sotto runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("use 10 or 20"),
        "{stderr}"
    );
}
