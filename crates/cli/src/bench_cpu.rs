//! `sotto bench cpu`: CPU time of one endpoint of an audio call, thread by thread.
//!
//! Two calls run in this process over real loopback UDP, both sending the same input looped
//! (by default the speech fixture: two people talking at once, the busiest an audio call
//! gets) into a null sink. After a second of warm-up, the CPU time of every thread is read
//! from `/proc/self/task/*/schedstat` (nanoseconds on the CPU) at the start and the end of the
//! measured window. The engine names its threads (`sotto-send`, `sotto-playout`, `sotto-net`),
//! both ends run the same ones, so one endpoint is half of each name's total; the thread
//! driving this measurement is reported apart.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use clap::Args;
use sotto::media::{AudioInput, AudioSource, NullSink, ToneSource, WavSource, SAMPLE_RATE_HZ};
use sotto::{Call, CallConfig, CallEvent, TONE_AMPLITUDE, TONE_FREQ_HZ};

use crate::args::{parse_audio_in, parse_duration, parse_ptime};
use crate::bench_latency::hiss;
use crate::demo::{drive_pair, speech_fixture, with_scratch_dir, EventLog};
use crate::render::ended_well;

/// Options of `sotto bench cpu`.
#[derive(Debug, Args)]
pub struct CpuArgs {
    /// Audio packet length in milliseconds.
    #[arg(long, value_name = "10|20", default_value = "20", value_parser = parse_ptime)]
    pub ptime: u32,
    /// Seconds measured (after one second of warm-up).
    #[arg(long, value_name = "N", default_value = "20", value_parser = parse_duration)]
    pub seconds: Duration,
    /// What both ends send, looped [default: fixtures/speech.wav if present, else tone].
    #[arg(long, value_name = "tone|FILE.wav", value_parser = parse_audio_in)]
    pub audio_in: Option<AudioInput>,
    /// Take turns as people do: one end speaks (the input file) while the other's microphone
    /// hears a quiet room (a -50 dBFS hiss, sent as DTX comfort noise), swapping every 3 s.
    #[arg(long)]
    pub conversation: bool,
}

/// Time both ends run before the window opens: handshake done, encoders and buffers settled.
const WARM_UP: Duration = Duration::from_secs(1);
/// The longest input kept in memory for looping: one minute.
const MAX_LOOP_SAMPLES: usize = SAMPLE_RATE_HZ as usize * 60;
/// The per-endpoint target of the audio-call issue.
const TARGET_PERCENT: f64 = 2.0;

/// A WAV file's samples, played over and over.
#[derive(Debug)]
struct LoopSource {
    samples: Vec<i16>,
    next: usize,
}

impl LoopSource {
    fn open(path: &Path) -> anyhow::Result<Self> {
        let mut source = WavSource::open(path)?;
        let mut samples = vec![0i16; MAX_LOOP_SAMPLES];
        let mut len = 0;
        while len < samples.len() {
            let n = source.read(&mut samples[len..])?;
            if n == 0 {
                break;
            }
            len += n;
        }
        samples.truncate(len);
        if samples.is_empty() {
            bail!("{} holds no audio", path.display());
        }
        Ok(LoopSource { samples, next: 0 })
    }
}

impl LoopSource {
    fn next_sample(&mut self) -> i16 {
        let sample = self.samples[self.next];
        self.next = (self.next + 1) % self.samples.len();
        sample
    }
}

impl AudioSource for LoopSource {
    fn read(&mut self, out: &mut [i16]) -> Result<usize, sotto::media::Error> {
        for sample in out.iter_mut() {
            *sample = self.next_sample();
        }
        Ok(out.len())
    }
}

/// Samples per turn of `--conversation`: 3 s.
const TURN_SAMPLES: u64 = SAMPLE_RATE_HZ as u64 * 3;

/// One end of `--conversation`: speech in its turns, a quiet room in the other's.
#[derive(Debug)]
struct TurnSource {
    speech: LoopSource,
    speaks_first: bool,
    position: u64,
}

impl AudioSource for TurnSource {
    fn read(&mut self, out: &mut [i16]) -> Result<usize, sotto::media::Error> {
        for sample in out.iter_mut() {
            let first_turn = (self.position / TURN_SAMPLES) % 2 == 0;
            *sample = if first_turn == self.speaks_first {
                self.speech.next_sample()
            } else {
                hiss(self.position)
            };
            self.position += 1;
        }
        Ok(out.len())
    }
}

/// What one endpoint reported.
#[derive(Debug, Default)]
struct Side {
    secure_at: Option<Instant>,
    ended: bool,
}

impl EventLog for Side {
    fn take(&mut self, event: CallEvent) {
        match event {
            CallEvent::Secure { .. } => self.secure_at = Some(Instant::now()),
            CallEvent::Ended(_) => self.ended = true,
            _ => {}
        }
    }

    fn ended(&self) -> bool {
        self.ended
    }
}

/// Nanoseconds on the CPU of every thread of this process, summed by thread name.
pub(crate) fn cpu_by_thread() -> anyhow::Result<BTreeMap<String, u64>> {
    let mut by_name = BTreeMap::new();
    let tasks = std::fs::read_dir("/proc/self/task").context("reading /proc/self/task")?;
    for task in tasks {
        let dir = task.context("reading /proc/self/task")?.path();
        // A thread may end between listing and reading; it then no longer counts.
        let (Ok(comm), Ok(schedstat)) = (
            std::fs::read_to_string(dir.join("comm")),
            std::fs::read_to_string(dir.join("schedstat")),
        ) else {
            continue;
        };
        let ns = parse_schedstat(&schedstat)
            .ok_or_else(|| anyhow!("unexpected format of {}", dir.join("schedstat").display()))?;
        *by_name.entry(comm.trim().to_owned()).or_insert(0) += ns;
    }
    Ok(by_name)
}

/// The first field of `schedstat`: time spent on the CPU, in nanoseconds.
fn parse_schedstat(schedstat: &str) -> Option<u64> {
    schedstat.split_whitespace().next()?.parse().ok()
}

/// One end's input; with `turn`, whether this end speaks first in a conversation.
fn source(input: &AudioInput, turn: Option<bool>) -> anyhow::Result<Box<dyn AudioSource>> {
    Ok(match (input, turn) {
        (AudioInput::File(path), Some(speaks_first)) => Box::new(TurnSource {
            speech: LoopSource::open(path)?,
            speaks_first,
            position: 0,
        }),
        (_, Some(_)) => bail!("--conversation needs speech: pass --audio-in FILE.wav"),
        (AudioInput::File(path), None) => Box::new(LoopSource::open(path)?),
        (AudioInput::Tone, None) => Box::new(ToneSource::new(TONE_FREQ_HZ, TONE_AMPLITUDE)),
        (other, None) => bail!("bench cpu sends a file or a tone, not {other:?}"),
    })
}

/// Runs `sotto bench cpu`.
pub fn run(args: &CpuArgs) -> anyhow::Result<ExitCode> {
    let input = match &args.audio_in {
        Some(input) => input.clone(),
        None => speech_fixture().map_or(AudioInput::Tone, AudioInput::File),
    };
    with_scratch_dir("bench-cpu", |dir| run_in(args, &input, dir))
}

fn run_in(args: &CpuArgs, input: &AudioInput, dir: &Path) -> anyhow::Result<ExitCode> {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    // The calls outlast the window so that no thread ends inside it.
    let duration = WARM_UP + args.seconds + Duration::from_secs(1);
    let mut alice_config = CallConfig::new(loopback, None, dir.join("alice.sqlite"));
    alice_config.ptime_ms = args.ptime;
    alice_config.duration = Some(duration);
    let turn = |speaks_first: bool| args.conversation.then_some(speaks_first);
    let alice =
        Call::start_with_audio(alice_config, source(input, turn(true))?, Box::new(NullSink))
            .map_err(|e| anyhow!("{e}"))?;
    let mut bob_config =
        CallConfig::new(loopback, Some(alice.local_addr()), dir.join("bob.sqlite"));
    bob_config.ptime_ms = args.ptime;
    bob_config.duration = Some(duration);
    let bob = Call::start_with_audio(bob_config, source(input, turn(false))?, Box::new(NullSink))
        .map_err(|e| anyhow!("{e}"))?;
    let what = match input {
        AudioInput::File(path) if args.conversation => format!(
            "{} in turns of {} s (the other end hears a quiet room)",
            path.display(),
            TURN_SAMPLES / u64::from(SAMPLE_RATE_HZ)
        ),
        AudioInput::File(path) => format!("{} looped", path.display()),
        _ => "a tone".to_owned(),
    };
    println!(
        "bench cpu: ptime {} ms, {:.1} s measured, both ends sending {what}, clean loopback",
        args.ptime,
        args.seconds.as_secs_f64()
    );

    let (mut a, mut b) = (Side::default(), Side::default());
    let mut start: Option<(BTreeMap<String, u64>, Instant)> = None;
    let mut end: Option<(BTreeMap<String, u64>, Instant)> = None;
    let hung_up = drive_pair((&alice, &mut a), (&bob, &mut b), |a, b| {
        let (Some(ta), Some(tb)) = (a.secure_at, b.secure_at) else {
            return Ok(());
        };
        let opens = ta.max(tb) + WARM_UP;
        let now = Instant::now();
        if start.is_none() && now >= opens {
            start = Some((cpu_by_thread()?, now));
        } else if end.is_none() && now >= opens + args.seconds {
            end = Some((cpu_by_thread()?, now));
        }
        Ok(())
    })?;
    let (alice_end, bob_end) = (alice.wait(), bob.wait());
    for (name, end) in [("alice", &alice_end), ("bob", &bob_end)] {
        if !ended_well(end) {
            bail!("{name}'s call failed: {end}");
        }
    }
    if hung_up {
        bail!("interrupted");
    }
    let (Some((before, t0)), Some((after, t1))) = (start, end) else {
        bail!("the calls ended before the measurement window closed");
    };
    let wall_ns = t1.duration_since(t0).as_nanos() as f64;
    let percent = |ns: u64| ns as f64 / wall_ns * 100.0;
    println!("one endpoint, % of one core (each engine thread's total over both ends / 2):");
    let mut endpoint = 0.0;
    let mut driver = 0;
    for (name, ns) in &after {
        let used = ns.saturating_sub(before.get(name).copied().unwrap_or(0));
        if name.starts_with("sotto-") && name != "sotto" {
            let share = percent(used) / 2.0;
            endpoint += share;
            println!("  {name:<14} {share:6.2} %");
        } else {
            driver += used;
        }
    }
    println!(
        "  {:<14} {endpoint:6.2} %  (target < {TARGET_PERCENT:.0} %: {})",
        "total",
        if endpoint < TARGET_PERCENT {
            "met"
        } else {
            "not met"
        }
    );
    println!(
        "not counted: this command's own threads, {:.2} % of one core",
        percent(driver)
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedstat_gives_nanoseconds_on_cpu() {
        assert_eq!(parse_schedstat("123456789 2000 17\n"), Some(123_456_789));
        assert_eq!(parse_schedstat(""), None);
        assert_eq!(parse_schedstat("x 1 2"), None);
    }

    #[test]
    fn this_thread_is_measured() {
        let before = cpu_by_thread().expect("procfs");
        // Burn a little CPU on this thread so its figure must grow.
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        let after = cpu_by_thread().expect("procfs");
        let total = |m: &BTreeMap<String, u64>| m.values().sum::<u64>();
        assert!(total(&after) > total(&before), "{x}");
    }

    #[test]
    fn conversation_ends_take_turns() {
        let speaker = |speaks_first| TurnSource {
            speech: LoopSource {
                samples: vec![i16::MAX],
                next: 0,
            },
            speaks_first,
            position: 0,
        };
        let (mut alice, mut bob) = (speaker(true), speaker(false));
        let mut turn = vec![0i16; TURN_SAMPLES as usize];
        for round in 0..4 {
            let alice_speaks = round % 2 == 0;
            for (source, speaks) in [(&mut alice, alice_speaks), (&mut bob, !alice_speaks)] {
                source.read(&mut turn).expect("read");
                let loud = turn.iter().filter(|&&s| s == i16::MAX).count();
                let quiet = turn.iter().filter(|&&s| s.abs() < 128).count();
                let expected = if speaks {
                    (turn.len(), 0)
                } else {
                    (0, turn.len())
                };
                assert_eq!((loud, quiet), expected, "round {round}");
            }
        }
    }

    #[test]
    fn loop_source_wraps_around() {
        let mut source = LoopSource {
            samples: vec![1, 2, 3],
            next: 0,
        };
        let mut out = [0i16; 7];
        assert_eq!(source.read(&mut out).expect("read"), 7);
        assert_eq!(out, [1, 2, 3, 1, 2, 3, 1]);
    }
}
