//! `sotto bench latency`: mouth-to-ear latency, concealed audio and CPU of a whole call.
//!
//! Two calls run in this process over real loopback UDP ("bob" calls "alice"), optionally
//! through the impairment relay of `sotto relay` running on a thread. Bob's sender reads an
//! impulse train (a 10 ms chirp burst every 500 ms, which Opus carries far better than a
//! one-sample click); alice's playout writes into a recording sink. Both ends time-stamp every
//! frame they hand over with the same monotonic clock, which gives every sample a time:
//!
//! - input: a frame read at `R` holds the samples that a capture device would have delivered
//!   during the ptime before `R`, so its sample `k` of `n` is at `R - (n - k) / 48 kHz`;
//! - output: a frame written at `W` would start to play at `W`, so its sample `k` is at
//!   `W + k / 48 kHz`.
//!
//! Mouth-to-ear latency of one impulse is the output time of the sample where the burst is
//! found (by cross-correlation with the burst) minus the input time of its first sample. It
//! covers frame accumulation, Opus encoding and its 6.5 ms lookahead, RTP, SRTP, the UDP
//! loopback (and the relay), the jitter buffer, decoding, and the phase between the sender's
//! and the playout's ptime clocks. It does not cover device buffers (capture period, playback
//! buffer, DAC/ADC): this machine has no sound card, and with one they add their own periods.
//! The floor with zero network and buffering is one frame plus the lookahead.
//!
//! CPU is user+sys time of the whole process (from `/proc/self/stat`) over the wall time from
//! both ends secure to the end of the call; one endpoint is taken as half of it.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use clap::{Args, Subcommand};
use sotto::media::{lookahead_samples, AudioSink, AudioSource, SilenceSource, SAMPLE_RATE_HZ};
use sotto::{Call, CallConfig, CallEvent, CallStats};

use crate::args::{parse_duration, parse_latency_ms, parse_percent, parse_ptime, RelayArgs};
use crate::demo::{drive_pair, with_scratch_dir, EventLog};
use crate::relay;
use crate::render::ended_well;

/// Measurements of the pipeline.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Mouth-to-ear latency (impulse train and cross-correlation), concealed audio and CPU of
    /// a call between two endpoints in this process over loopback UDP.
    Latency(LatencyArgs),
    /// CPU of one endpoint of an audio call, per thread, with both ends sending speech.
    Cpu(crate::bench_cpu::CpuArgs),
    /// Time from writing an offer to media flowing both ways, for calls set up by offer and
    /// answer on this machine or through two real NATs (network namespaces, root only).
    Connect(crate::bench_connect::ConnectArgs),
    /// Glass-to-glass latency of the video path (picture in to picture out), pictures shown
    /// and CPU of one endpoint, in a two-way video call over loopback UDP.
    Video(crate::bench_video::VideoArgs),
}

/// Options of `sotto bench latency`.
#[derive(Debug, Args)]
pub struct LatencyArgs {
    /// Audio packet length in milliseconds.
    #[arg(long, value_name = "10|20", default_value = "20", value_parser = parse_ptime)]
    pub ptime: u32,
    /// Seconds of audio once the call is secure.
    #[arg(long, value_name = "N", default_value = "10", value_parser = parse_duration)]
    pub seconds: Duration,
    /// Route the call through an in-process relay adding 0..=MS of delay per datagram.
    #[arg(long, value_name = "MS", default_value_t = 0, value_parser = parse_latency_ms)]
    pub jitter_ms: u64,
    /// Route the call through an in-process relay dropping P% of datagrams.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = parse_percent)]
    pub loss_pct: f64,
    /// Seed of the relay's impairment draws.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
}

/// Runs a `sotto bench` command.
pub fn run(command: &BenchCommand) -> anyhow::Result<ExitCode> {
    match command {
        BenchCommand::Latency(args) => run_latency(args),
        BenchCommand::Cpu(args) => crate::bench_cpu::run(args),
        BenchCommand::Video(args) => crate::bench_video::run(args),
        BenchCommand::Connect(args) => crate::bench_connect::run(args),
    }
}

const RATE: f64 = SAMPLE_RATE_HZ as f64;
/// Samples between the starts of two bursts: 500 ms.
const IMPULSE_PERIOD: u64 = SAMPLE_RATE_HZ as u64 / 2;
/// Where the first burst starts, so it does not fall on the very first frame.
const IMPULSE_OFFSET: u64 = IMPULSE_PERIOD / 2;
/// Burst length: 10 ms.
const BURST_SAMPLES: usize = SAMPLE_RATE_HZ as usize / 100;
/// Longest latency searched for: less than the period, so bursts cannot be confused.
const MAX_LATENCY_S: f64 = 0.45;
/// Normalised correlation below which a burst counts as not found (lost or mangled).
const MIN_CORRELATION: f64 = 0.5;
/// Linux reports process times in USER_HZ ticks, 100 per second on every architecture.
const USER_HZ: f64 = 100.0;

/// The burst: a Hann-windowed linear chirp from 400 Hz to 3.4 kHz, as sent (`phase` 0) and a
/// quarter period shifted (`phase` pi/2), each at half full scale.
fn chirp(phase: f64) -> Vec<f32> {
    let (f0, f1) = (400.0_f64, 3400.0_f64);
    let dur = BURST_SAMPLES as f64 / RATE;
    let tau = 2.0 * std::f64::consts::PI;
    (0..BURST_SAMPLES)
        .map(|k| {
            let t = k as f64 / RATE;
            let arg = tau * (f0 * t + (f1 - f0) * t * t / (2.0 * dur)) + phase;
            let window = 0.5 - 0.5 * (tau * k as f64 / BURST_SAMPLES as f64).cos();
            (0.5 * window * arg.sin()) as f32
        })
        .collect()
}

/// The burst as sent and its quadrature twin. Speech codecs keep a burst's envelope but not
/// its phase, so bursts are found by the envelope of the correlation with both (the magnitude
/// of the complex matched filter) rather than by the sent waveform alone.
fn burst() -> [Vec<f32>; 2] {
    [chirp(0.0), chirp(std::f64::consts::FRAC_PI_2)]
}

/// One frame handed over: when, and the index of its first sample in the stream.
#[derive(Clone, Copy, Debug, PartialEq)]
struct FrameMark {
    at: Instant,
    start: u64,
    len: usize,
}

/// What the impulse source handed to the sender.
#[derive(Debug, Default)]
struct InputLog {
    frames: Vec<FrameMark>,
}

/// What the playout handed to the recording sink.
#[derive(Debug, Default)]
struct OutputLog {
    frames: Vec<FrameMark>,
    samples: Vec<i16>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A log is plain data: whatever a panicking holder left is still worth reading.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The impulse train, logging when each frame is read. The log is sized up front so the
/// sender thread does not reallocate mid-call.
struct ImpulseSource {
    burst: Vec<i16>,
    next: u64,
    log: Arc<Mutex<InputLog>>,
}

impl AudioSource for ImpulseSource {
    fn read(&mut self, out: &mut [i16]) -> Result<usize, sotto::media::Error> {
        let at = Instant::now();
        for (i, sample) in (self.next..).zip(out.iter_mut()) {
            *sample = i
                .checked_sub(IMPULSE_OFFSET)
                .map(|i| (i % IMPULSE_PERIOD) as usize)
                .and_then(|k| self.burst.get(k).copied())
                .unwrap_or(0)
                .saturating_add(hiss(i));
        }
        lock(&self.log).frames.push(FrameMark {
            at,
            start: self.next,
            len: out.len(),
        });
        self.next += out.len() as u64;
        Ok(out.len())
    }
}

/// A quiet deterministic hiss (about -50 dBFS) under the bursts: in pure silence DTX would
/// stop the encoder between bursts and clip each burst's onset as it restarts.
pub(crate) fn hiss(i: u64) -> i16 {
    let x = i
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    ((x >> 56) as i16 - 128) / 2
}

/// Records what playout writes, with when it wrote each frame.
struct RecordingSink {
    next: u64,
    log: Arc<Mutex<OutputLog>>,
}

impl AudioSink for RecordingSink {
    fn write(&mut self, samples: &[i16]) -> Result<(), sotto::media::Error> {
        let at = Instant::now();
        let mut log = lock(&self.log);
        log.frames.push(FrameMark {
            at,
            start: self.next,
            len: samples.len(),
        });
        log.samples.extend_from_slice(samples);
        self.next += samples.len() as u64;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), sotto::media::Error> {
        Ok(())
    }
}

/// Time of every output sample in seconds after `base`: sample `k` of a frame written at `W`
/// plays at `W + k / rate`.
fn output_times(frames: &[FrameMark], base: Instant) -> Vec<f64> {
    let mut times = Vec::with_capacity(frames.iter().map(|f| f.len).sum());
    for f in frames {
        let at = signed_secs(f.at, base);
        times.extend((0..f.len).map(|k| at + k as f64 / RATE));
    }
    times
}

/// Time of input sample `index` in seconds after `base`: sample `k` of `n` in a frame read at
/// `R` was captured at `R - (n - k) / rate`.
fn input_time(frames: &[FrameMark], index: u64, base: Instant) -> Option<f64> {
    let f = frames
        .iter()
        .find(|f| index >= f.start && index < f.start + f.len as u64)?;
    let remaining = (f.start + f.len as u64 - index) as f64;
    Some(signed_secs(f.at, base) - remaining / RATE)
}

fn signed_secs(at: Instant, base: Instant) -> f64 {
    match at.checked_duration_since(base) {
        Some(d) => d.as_secs_f64(),
        None => -base.duration_since(at).as_secs_f64(),
    }
}

/// Finds the burst (`pair`: in phase and quadrature, scaled to samples) in `output` at or
/// after time `from` and before `from + MAX_LATENCY_S`, by the peak of the correlation
/// envelope; returns the output time of the matching sample, or `None` if the best match
/// correlates less than [`MIN_CORRELATION`] (the burst was lost or mangled) or the window runs
/// past the end of the recording.
fn find_burst(pair: &[Vec<f32>; 2], output: &[i16], times: &[f64], from: f64) -> Option<f64> {
    let [in_phase, quadrature] = pair;
    let len = in_phase.len();
    let lo = times.partition_point(|&t| t < from);
    let hi = times.partition_point(|&t| t < from + MAX_LATENCY_S);
    if hi >= times.len() || hi < lo + len {
        return None;
    }
    let dot = |template: &[f32], window: &[i16]| -> f64 {
        template
            .iter()
            .zip(window)
            .map(|(&b, &x)| f64::from(b) * f64::from(x))
            .sum()
    };
    let mut best: Option<(f64, usize)> = None;
    for j in lo..=(hi - len) {
        let window = output.get(j..j + len)?;
        let envelope = dot(in_phase, window).hypot(dot(quadrature, window));
        if best.is_none_or(|(b, _)| envelope > b) {
            best = Some((envelope, j));
        }
    }
    let (envelope, j) = best?;
    let window = output.get(j..j + len)?;
    let energy: f64 = window.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
    let template: f64 = in_phase.iter().map(|&b| f64::from(b) * f64::from(b)).sum();
    let normalised = envelope / (template * energy).sqrt().max(f64::MIN_POSITIVE);
    (normalised >= MIN_CORRELATION).then(|| times[j])
}

/// Latency of every burst sent early enough for its whole search window to be recorded, in
/// seconds; `None` for a burst not found.
fn measure(pair: &[Vec<f32>; 2], input: &InputLog, output: &OutputLog) -> Vec<Option<f64>> {
    let Some(base) = input.frames.first().map(|f| f.at) else {
        return Vec::new();
    };
    let scaled = pair
        .clone()
        .map(|t| t.iter().map(|&b| b * f32::from(i16::MAX)).collect());
    let times = output_times(&output.frames, base);
    let recorded_until = times.last().copied().unwrap_or(f64::NEG_INFINITY);
    (0..)
        .map(|k| IMPULSE_OFFSET + k * IMPULSE_PERIOD)
        // Only bursts sent whole.
        .map_while(|start| {
            input_time(&input.frames, start + BURST_SAMPLES as u64 - 1, base)?;
            input_time(&input.frames, start, base)
        })
        .take_while(|&t_in| t_in + MAX_LATENCY_S < recorded_until)
        .map(|t_in| Some(find_burst(&scaled, &output.samples, &times, t_in)? - t_in))
        .collect()
}

/// Median, 95th percentile (nearest rank), min and max of `values`, which must not be empty.
pub(crate) fn summarise(values: &mut [f64]) -> Option<[f64; 4]> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let rank = |q: f64| values[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
    let (&min, &max) = (values.first()?, values.last()?);
    Some([rank(0.5), rank(0.95), min, max])
}

/// User+sys CPU time of this process in ticks, from `/proc/self/stat`.
fn cpu_ticks() -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    parse_cpu_ticks(&stat).ok_or_else(|| anyhow!("unexpected /proc/self/stat format"))
}

/// utime and stime are fields 14 and 15; the command name (field 2) may hold spaces and
/// parentheses, so fields are counted from its closing parenthesis.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// What one endpoint reported.
#[derive(Debug, Default)]
struct Side {
    secure: bool,
    stats: Option<CallStats>,
    ended: bool,
}

impl EventLog for Side {
    fn take(&mut self, event: CallEvent) {
        match event {
            CallEvent::Secure { .. } => self.secure = true,
            CallEvent::Stats(stats) => self.stats = Some(stats),
            CallEvent::Ended(_) => self.ended = true,
            _ => {}
        }
    }

    fn ended(&self) -> bool {
        self.ended
    }
}

fn run_latency(args: &LatencyArgs) -> anyhow::Result<ExitCode> {
    with_scratch_dir("bench", |dir| run_in(args, dir))
}

fn run_in(args: &LatencyArgs, dir: &Path) -> anyhow::Result<ExitCode> {
    let impaired = args.jitter_ms > 0 || args.loss_pct > 0.0;
    let frames = (args.seconds.as_secs_f64() * 1000.0 / f64::from(args.ptime)) as usize + 64;
    let samples = frames * (SAMPLE_RATE_HZ / 1000 * args.ptime) as usize;
    let input = Arc::new(Mutex::new(InputLog {
        frames: Vec::with_capacity(frames),
    }));
    let output = Arc::new(Mutex::new(OutputLog {
        frames: Vec::with_capacity(frames),
        samples: Vec::with_capacity(samples),
    }));
    let burst = burst();

    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut alice_config = CallConfig::new(loopback, None, dir.join("alice.sqlite"));
    alice_config.ptime_ms = args.ptime;
    alice_config.duration = Some(args.seconds);
    let alice = Call::start_with_audio(
        alice_config,
        Box::new(SilenceSource),
        Box::new(RecordingSink {
            next: 0,
            log: Arc::clone(&output),
        }),
    )
    .map_err(|e| anyhow!("{e}"))?;

    let stop_relay = Arc::new(AtomicBool::new(false));
    let (peer, relay) = if impaired {
        let relay_args = RelayArgs {
            listen: loopback,
            to: alice.local_addr(),
            delay_ms: 0,
            jitter_ms: args.jitter_ms,
            loss_pct: args.loss_pct,
            seed: args.seed,
        };
        let (addr, handle) = relay::spawn(&relay_args, Arc::clone(&stop_relay))?;
        (addr, Some(handle))
    } else {
        (alice.local_addr(), None)
    };
    let mut bob_config = CallConfig::new(loopback, Some(peer), dir.join("bob.sqlite"));
    bob_config.ptime_ms = args.ptime;
    bob_config.duration = Some(args.seconds);
    let bob = Call::start_with_audio(
        bob_config,
        Box::new(ImpulseSource {
            burst: burst[0]
                .iter()
                .map(|&b| (b * f32::from(i16::MAX)) as i16)
                .collect(),
            next: 0,
            log: Arc::clone(&input),
        }),
        Box::new(sotto::media::NullSink),
    )
    .map_err(|e| anyhow!("{e}"))?;

    let path = if impaired {
        format!(
            "through the relay (jitter {} ms, loss {}%, seed {})",
            args.jitter_ms, args.loss_pct, args.seed
        )
    } else {
        "clean loopback".to_owned()
    };
    println!(
        "bench latency: ptime {} ms, {:.1} s of audio, {path}",
        args.ptime,
        args.seconds.as_secs_f64()
    );

    let (mut a, mut b) = (Side::default(), Side::default());
    let mut cpu_start: Option<(u64, Instant)> = None;
    let mut cpu_end: Option<(u64, Instant)> = None;
    let hung_up = drive_pair((&alice, &mut a), (&bob, &mut b), |a, b| {
        if cpu_start.is_none() && a.secure && b.secure {
            cpu_start = Some((cpu_ticks()?, Instant::now()));
        }
        if cpu_end.is_none() && (a.ended || b.ended) {
            cpu_end = Some((cpu_ticks()?, Instant::now()));
        }
        Ok(())
    })?;
    let (alice_end, bob_end) = (alice.wait(), bob.wait());
    stop_relay.store(true, Ordering::Release);
    if let Some(handle) = relay {
        let stats = handle
            .join()
            .map_err(|_| anyhow!("the relay thread stopped unexpectedly"))??;
        println!(
            "relay: sent {}, lost {}, delivered {}",
            stats.sent, stats.lost, stats.delivered
        );
    }
    for (name, end) in [("alice", &alice_end), ("bob", &bob_end)] {
        if !ended_well(end) {
            bail!("{name}'s call failed: {end}");
        }
    }
    if hung_up {
        bail!("interrupted");
    }

    let latencies = measure(&burst, &lock(&input), &lock(&output));
    let sent = latencies.len();
    let mut found: Vec<f64> = latencies.into_iter().flatten().map(|s| s * 1e3).collect();
    let Some([median, p95, min, max]) = summarise(&mut found) else {
        bail!(
            "no burst found in the received audio ({sent} sent); the call carried no audio \
             (try more --seconds)"
        );
    };
    println!(
        "mouth-to-ear latency: median {median:.1} ms, p95 {p95:.1} ms, min {min:.1} ms, \
         max {max:.1} ms ({} of {sent} bursts found)",
        found.len()
    );
    let lookahead_ms = lookahead_samples() as f64 * 1e3 / RATE;
    let floor = f64::from(args.ptime) + lookahead_ms;
    let target = if args.ptime == 10 { 8.0 } else { 10.0 };
    let excess = median - floor;
    // The target is for a clean loopback; through the relay the jitter buffer rightly waits.
    let verdict = if impaired {
        String::new()
    } else {
        format!(
            " (target: within {target:.0} ms, {})",
            if excess <= target { "met" } else { "not met" }
        )
    };
    println!(
        "algorithmic floor: {floor:.1} ms ({} ms frame + {lookahead_ms:.1} ms Opus lookahead); \
         excess: median {excess:.1} ms, p95 {:.1} ms{verdict}",
        args.ptime,
        p95 - floor,
    );
    let stats = a.stats.unwrap_or_default();
    println!(
        "concealed audio: {:.1} % of played frames; jitter buffer {:.0} ms, loss {:.1} %",
        stats.concealed_percent, stats.jitter_buffer_ms, stats.loss_percent
    );
    if let (Some((t0, w0)), Some((t1, w1))) = (cpu_start, cpu_end) {
        let cpu_s = t1.saturating_sub(t0) as f64 / USER_HZ;
        let wall_s = w1.duration_since(w0).as_secs_f64().max(f64::MIN_POSITIVE);
        let pct = cpu_s / wall_s * 100.0;
        println!(
            "cpu: process {pct:.2} % of one core (user+sys {cpu_s:.2} s over {wall_s:.1} s \
             wall, {} ms resolution); per endpoint {:.2} % (process / 2 ends{}; target < 2 %)",
            1000.0 / USER_HZ,
            pct / 2.0,
            if impaired { ", relay included" } else { "" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marks(base: Instant, frame: usize, count: usize, step: Duration) -> Vec<FrameMark> {
        (0..count)
            .map(|i| FrameMark {
                at: base + step * i as u32,
                start: (i * frame) as u64,
                len: frame,
            })
            .collect()
    }

    /// A pipeline that delays the stream by `delay` samples and hands frames over `phase`
    /// after they were read: the measured latency is the frame, the delay and the phase.
    #[test]
    fn measure_recovers_a_known_delay() {
        let base = Instant::now();
        let frame = 960;
        let frames = 120;
        let delay = 312 + 960;
        let phase = Duration::from_millis(7);
        let mut source = ImpulseSource {
            burst: burst()[0].iter().map(|&b| (b * 32767.0) as i16).collect(),
            next: 0,
            log: Arc::new(Mutex::new(InputLog::default())),
        };
        let mut sent = vec![0i16; frame * frames];
        for chunk in sent.chunks_mut(frame) {
            source.read(chunk).expect("read");
        }
        let input = InputLog {
            frames: marks(base, frame, frames, Duration::from_millis(20)),
        };
        let mut received = vec![0i16; delay];
        received.extend_from_slice(&sent[..sent.len() - delay]);
        let output = OutputLog {
            frames: marks(base + phase, frame, frames, Duration::from_millis(20)),
            samples: received,
        };
        let latencies = measure(&burst(), &input, &output);
        // Bursts at 0.25 s + k * 0.5 s in 2.4 s of audio; the last is too near the end.
        assert_eq!(latencies.len(), 4);
        let expected = 0.020 + delay as f64 / RATE + 0.007;
        for l in &latencies {
            let l = l.expect("burst found");
            assert!((l - expected).abs() < 1e-6, "{l} vs {expected}");
        }
    }

    #[test]
    fn a_missing_burst_is_not_found() {
        let base = Instant::now();
        let input = InputLog {
            frames: marks(base, 960, 50, Duration::from_millis(20)),
        };
        let output = OutputLog {
            frames: marks(base, 960, 50, Duration::from_millis(20)),
            samples: vec![0; 960 * 50],
        };
        assert!(measure(&burst(), &input, &output)
            .iter()
            .all(Option::is_none));
    }

    #[test]
    fn summary_uses_nearest_rank() {
        let mut v: Vec<f64> = (1..=20).rev().map(f64::from).collect();
        assert_eq!(summarise(&mut v), Some([10.0, 19.0, 1.0, 20.0]));
        assert_eq!(summarise(&mut []), None);
    }

    #[test]
    fn cpu_ticks_parse_past_a_command_with_spaces() {
        let stat = "1234 (a b) c) S 1 2 3 4 5 6 7 8 9 10 250 37 0 0 20 0 8 0";
        assert_eq!(parse_cpu_ticks(stat), Some(287));
        assert_eq!(parse_cpu_ticks("garbage"), None);
        assert!(cpu_ticks().is_ok());
    }
}
