//! `sotto bench video`: glass-to-glass latency of the video path and CPU of one endpoint in a
//! two-way video call.
//!
//! Two calls run in this process over real loopback UDP, each sending the moving test
//! pattern to the other. Every pattern picture carries its index in a barcode: the source logs
//! when it handed over each index, the sink reads the barcode of each decoded picture and logs
//! when it got it. Their difference is the latency from a picture entering the pipeline to it
//! leaving (H.264 encode, RTP, SRTP, UDP, frame assembly, decode); a camera's exposure and
//! readout and a display's refresh are not included. Pictures sent but never shown count as
//! lost. CPU is read per thread as in `sotto bench cpu`: both ends run the same threads, so one
//! endpoint is half of each name's total.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use clap::Args;
use sotto::media::video::{read_frame_index, PatternSource, VideoFrame, VideoSink, VideoSource};
use sotto::media::AudioInput;
use sotto::{Call, CallConfig, CallEvent, CallStats};

use crate::args::{parse_duration, VideoSendArgs};
use crate::bench_cpu::cpu_by_thread;
use crate::bench_latency::summarise;
use crate::demo::{drive_pair, with_scratch_dir, EventLog};
use crate::render::ended_well;

/// Options of `sotto bench video`.
#[derive(Debug, Args)]
pub struct VideoArgs {
    /// The video both ends send.
    #[command(flatten)]
    pub video: VideoSendArgs,
    /// Seconds measured once both video streams are secure (after one second of warm-up).
    #[arg(long, value_name = "N", default_value = "10", value_parser = parse_duration)]
    pub seconds: Duration,
}

/// CPU time per thread name, as read by `cpu_by_thread`.
type ThreadCpu = BTreeMap<String, u64>;

/// Time both video streams run before the window opens.
const WARM_UP: Duration = Duration::from_secs(1);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A log is plain data: whatever a panicking holder left is still worth reading.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// When each picture index went in and came out.
#[derive(Debug, Default)]
struct Timeline {
    sent: BTreeMap<u32, Instant>,
    shown: BTreeMap<u32, Instant>,
}

/// The pattern, logging when each index is handed to the encoder.
struct TimedPattern {
    pattern: PatternSource,
    log: Arc<Mutex<Timeline>>,
}

impl VideoSource for TimedPattern {
    fn size(&self) -> (u32, u32) {
        self.pattern.size()
    }

    fn read(&mut self) -> Result<Option<VideoFrame>, sotto::media::Error> {
        let index = self.pattern.next_index();
        let frame = self.pattern.read()?;
        lock(&self.log).sent.insert(index, Instant::now());
        Ok(frame)
    }
}

/// A sink that reads each decoded picture's barcode and logs when it arrived.
struct TimedSink {
    log: Arc<Mutex<Timeline>>,
}

impl VideoSink for TimedSink {
    fn write(&mut self, frame: &VideoFrame) -> Result<(), sotto::media::Error> {
        let at = Instant::now();
        if let Some(index) = read_frame_index(frame) {
            lock(&self.log).shown.entry(index).or_insert(at);
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), sotto::media::Error> {
        Ok(())
    }
}

/// What one endpoint reported.
#[derive(Debug, Default)]
struct Side {
    video_secure_at: Option<Instant>,
    stats: Option<CallStats>,
    unavailable: Option<String>,
    ended: bool,
}

impl EventLog for Side {
    fn take(&mut self, event: CallEvent) {
        match event {
            CallEvent::VideoSecure { .. } => self.video_secure_at = Some(Instant::now()),
            CallEvent::VideoUnavailable { reason } => self.unavailable = Some(reason),
            CallEvent::Stats(stats) => self.stats = Some(stats),
            CallEvent::Ended(_) => self.ended = true,
            _ => {}
        }
    }

    fn ended(&self) -> bool {
        self.ended
    }
}

/// Runs `sotto bench video`.
pub fn run(args: &VideoArgs) -> anyhow::Result<ExitCode> {
    with_scratch_dir("bench-video", |dir| run_in(args, dir))
}

fn start(
    args: &VideoArgs,
    config: CallConfig,
    sent: &Arc<Mutex<Timeline>>,
    shown: &Arc<Mutex<Timeline>>,
) -> anyhow::Result<Call> {
    let mut config = config;
    config.audio_in = AudioInput::Tone;
    args.video.apply(&mut config);
    config.duration = Some(WARM_UP + args.seconds + Duration::from_secs(2));
    let size = &args.video.video_size;
    let pattern = PatternSource::new(size.width, size.height)?;
    Call::start_with_video(
        config,
        Some(Box::new(TimedPattern {
            pattern,
            log: Arc::clone(sent),
        })),
        Some(Box::new(TimedSink {
            log: Arc::clone(shown),
        })),
    )
    .map_err(|e| anyhow!("{e}"))
}

fn run_in(args: &VideoArgs, dir: &Path) -> anyhow::Result<ExitCode> {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    // alice_to_bob: alice's pattern logs "sent", bob's sink logs "shown"; and the other way.
    let alice_to_bob = Arc::new(Mutex::new(Timeline::default()));
    let bob_to_alice = Arc::new(Mutex::new(Timeline::default()));
    let alice = start(
        args,
        CallConfig::new(loopback, None, dir.join("alice.sqlite")),
        &alice_to_bob,
        &bob_to_alice,
    )?;
    let bob = start(
        args,
        CallConfig::new(loopback, Some(alice.local_addr()), dir.join("bob.sqlite")),
        &bob_to_alice,
        &alice_to_bob,
    )?;
    println!(
        "bench video: {}x{} at {} fps, {} kbit/s, both ways, {:.1} s measured, clean loopback",
        args.video.video_size.width,
        args.video.video_size.height,
        args.video.fps,
        args.video.video_bitrate,
        args.seconds.as_secs_f64()
    );

    let (mut a, mut b) = (Side::default(), Side::default());
    let mut window: Option<(Instant, ThreadCpu)> = None;
    let mut cpu: Option<(Duration, ThreadCpu, ThreadCpu)> = None;
    let hung_up = drive_pair((&alice, &mut a), (&bob, &mut b), |a, b| {
        let (Some(ta), Some(tb)) = (a.video_secure_at, b.video_secure_at) else {
            return Ok(());
        };
        let opens = ta.max(tb) + WARM_UP;
        let now = Instant::now();
        match &window {
            None if now >= opens => window = Some((now, cpu_by_thread()?)),
            Some((t0, before)) if cpu.is_none() && now >= *t0 + args.seconds => {
                cpu = Some((now - *t0, before.clone(), cpu_by_thread()?));
            }
            _ => {}
        }
        Ok(())
    })?;
    let (alice_end, bob_end) = (alice.wait(), bob.wait());
    for (name, end, side) in [("alice", &alice_end, &a), ("bob", &bob_end, &b)] {
        if let Some(reason) = &side.unavailable {
            bail!("{name} had no video: {reason}");
        }
        if !ended_well(end) {
            bail!("{name}'s call failed: {end}");
        }
    }
    if hung_up {
        bail!("interrupted");
    }
    let (Some((t0, _)), Some((wall, before, after))) = (window, cpu) else {
        bail!("the calls ended before the measurement window closed");
    };
    let t1 = t0 + wall;

    for (direction, log) in [
        ("alice -> bob", &alice_to_bob),
        ("bob -> alice", &bob_to_alice),
    ] {
        let log = lock(log);
        let in_window: Vec<(&u32, &Instant)> = log
            .sent
            .iter()
            .filter(|(_, at)| **at >= t0 && **at < t1)
            .collect();
        let mut latencies: Vec<f64> = in_window
            .iter()
            .filter_map(|(index, sent)| {
                let shown = log.shown.get(index)?;
                Some(shown.saturating_duration_since(**sent).as_secs_f64() * 1e3)
            })
            .collect();
        let shown = latencies.len();
        let Some([median, p95, min, max]) = summarise(&mut latencies) else {
            bail!("{direction}: no picture of the window was shown");
        };
        println!(
            "{direction}: frame in -> frame out median {median:.1} ms, p95 {p95:.1} ms, \
             min {min:.1} ms, max {max:.1} ms; {shown} of {} pictures shown",
            in_window.len()
        );
    }
    for (name, side) in [("alice", &a), ("bob", &b)] {
        if let Some(video) = side.stats.and_then(|s| s.video) {
            println!(
                "{name}: sent {} frames ({} keyframes) at {:.0} kbit/s, received {} \
                 ({}x{}), {} dropped, {} decoder errors, a/v skew {}",
                video.frames_sent,
                video.keyframes_sent,
                video.tx_bitrate_bps / 1000.0,
                video.frames_received,
                video.received_resolution.map_or(0, |r| r.0),
                video.received_resolution.map_or(0, |r| r.1),
                video.frames_dropped,
                video.decoder_errors,
                video
                    .av_skew_ms
                    .map_or_else(|| "unknown".to_owned(), |s| format!("{s:.0} ms")),
            );
        }
    }
    let wall_ns = wall.as_nanos() as f64;
    println!("one endpoint, % of one core (each engine thread's total over both ends / 2):");
    let mut endpoint = 0.0;
    for (name, ns) in after.iter().filter(|(n, _)| n.starts_with("sotto-")) {
        let used = ns.saturating_sub(before.get(name).copied().unwrap_or(0));
        let share = used as f64 / wall_ns * 100.0 / 2.0;
        endpoint += share;
        println!("  {name:<18} {share:6.2} %");
    }
    println!("  {:<18} {endpoint:6.2} %", "total");
    Ok(ExitCode::SUCCESS)
}
