//! `sotto demo`: two endpoints in this process, "alice" listening and "bob" calling her over
//! loopback UDP, each with a fresh ZID cache; alice also sends the moving test pattern as video
//! to bob. Prints both SAS values, the negotiated algorithms and the final statistics of both
//! ends, video included.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use sotto::{Call, CallConfig, CallEvent, CallStats, PathConfig, PreparedCall, VideoStats};
use sotto_media::video::{NullVideoSink, VideoInput, VideoOutput};
use sotto_media::{AudioInput, AudioOutput};
use sotto_zrtp::{Algorithms, Role};

use crate::args::DemoArgs;
use crate::interrupt;
use crate::render::{ended_well, secure_line, video_secure_line};

/// Wait per endpoint per round; two endpoints share the loop.
const POLL: Duration = Duration::from_millis(20);
/// The video alice sends: the test pattern at the call defaults.
const VIDEO_WIDTH: u32 = 640;
const VIDEO_HEIGHT: u32 = 480;
const VIDEO_FPS: u32 = 30;
const VIDEO_BITRATE_BPS: u32 = 1_000_000;

/// What one endpoint reported.
#[derive(Debug, Default)]
struct Side {
    sas: Option<String>,
    secure: Option<(Role, Algorithms, SocketAddr)>,
    video_secure: Option<(Role, Algorithms)>,
    video_unavailable: Option<String>,
    stats: Option<CallStats>,
    ended: bool,
}

impl EventLog for Side {
    fn take(&mut self, event: CallEvent) {
        match event {
            CallEvent::Sas { sas, .. } => self.sas = Some(sas),
            CallEvent::Secure {
                role,
                algorithms,
                peer,
            } => self.secure = Some((role, algorithms, peer)),
            CallEvent::VideoSecure { role, algorithms } => {
                self.video_secure = Some((role, algorithms));
            }
            CallEvent::VideoUnavailable { reason } => self.video_unavailable = Some(reason),
            CallEvent::Stats(stats) => self.stats = Some(stats),
            CallEvent::Ended(_) => self.ended = true,
            _ => {}
        }
    }

    fn ended(&self) -> bool {
        self.ended
    }
}

/// Runs the demo call.
pub fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let input = match &args.audio_in {
        Some(input) => input.clone(),
        None => speech_fixture().map_or(AudioInput::Tone, AudioInput::File),
    };
    with_scratch_dir("demo", |dir| run_in(args, input, dir))
}

/// Runs `body` with a fresh directory `sotto-{name}-{pid}` under the system's temporary
/// directory for the ZID caches of calls run in this process, and removes it afterwards: the
/// caches only hold throwaway identities.
pub(crate) fn with_scratch_dir<T>(
    name: &str,
    body: impl FnOnce(&Path) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let dir = std::env::temp_dir().join(format!("sotto-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| {
        format!(
            "cannot create {}; set TMPDIR to a writable directory",
            dir.display()
        )
    })?;
    let outcome = body(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

/// What [`drive_pair`] keeps of one endpoint's events.
pub(crate) trait EventLog {
    /// Records one event of the endpoint.
    fn take(&mut self, event: CallEvent);
    /// Whether the endpoint's call has ended.
    fn ended(&self) -> bool;
}

/// Drives two calls running in this process until both have ended: each round waits up to
/// [`POLL`] for an event of each call still running, hands it to that call's log, then calls
/// `after_round` with both logs. On an interrupt both calls are hung up (once). Returns whether
/// they were interrupted; an error from `after_round` stops the loop and is returned.
pub(crate) fn drive_pair<L: EventLog>(
    alice: (&Call, &mut L),
    bob: (&Call, &mut L),
    mut after_round: impl FnMut(&L, &L) -> anyhow::Result<()>,
) -> anyhow::Result<bool> {
    let ((alice, a), (bob, b)) = (alice, bob);
    let mut hung_up = false;
    while !(a.ended() && b.ended()) {
        if interrupt::requested() && !hung_up {
            alice.hang_up();
            bob.hang_up();
            hung_up = true;
        }
        for (call, log) in [(alice, &mut *a), (bob, &mut *b)] {
            if !log.ended() {
                if let Some(event) = call.next_event(POLL) {
                    log.take(event);
                }
            }
        }
        after_round(a, b)?;
    }
    Ok(hung_up)
}

/// Bob's side. With video on he decodes alice's pictures (for his receive figures) and keeps
/// them only if asked to.
fn prepare_bob(mut config: CallConfig, args: &DemoArgs) -> anyhow::Result<PreparedCall> {
    if !args.no_video {
        config.video_out = args.video_out.clone();
        config.video_fps = VIDEO_FPS;
    }
    let bob = Call::prepare(config, PathConfig::default()).map_err(|e| anyhow!("{e}"))?;
    Ok(match (&args.video_out, args.no_video) {
        (VideoOutput::None, false) => bob.with_video(None, Some(Box::new(NullVideoSink))),
        _ => bob,
    })
}

fn run_in(args: &DemoArgs, input: AudioInput, dir: &Path) -> anyhow::Result<ExitCode> {
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut alice_config = CallConfig::new(loopback, None, dir.join("alice.sqlite"));
    alice_config.audio_in = input.clone();
    alice_config.audio_out = AudioOutput::None;
    alice_config.ptime_ms = args.ptime;
    alice_config.duration = Some(args.duration);
    if !args.no_video {
        alice_config.video_in = VideoInput::Pattern;
        alice_config.video_width = VIDEO_WIDTH;
        alice_config.video_height = VIDEO_HEIGHT;
        alice_config.video_fps = VIDEO_FPS;
        alice_config.video_bitrate_bps = VIDEO_BITRATE_BPS;
    }
    // The two find each other as two people would: an offer and an answer carried between
    // them (here handed over directly), then connectivity checks and ZRTP on the path found.
    let alice = Call::prepare(alice_config, PathConfig::default()).map_err(|e| anyhow!("{e}"))?;
    let offer = alice.offer().map_err(|e| anyhow!("{e}"))?;

    let mut bob_config = CallConfig::new(loopback, None, dir.join("bob.sqlite"));
    bob_config.audio_in = AudioInput::Tone;
    bob_config.audio_out = args.audio_out.clone();
    bob_config.ptime_ms = args.ptime;
    bob_config.duration = Some(args.duration);
    let bob = prepare_bob(bob_config, args)?;
    let (alice_port, bob_port) = (alice.local_addr().port(), bob.local_addr().port());
    let (bob, answer) = bob.answer(&offer).map_err(|e| anyhow!("{e}"))?;
    let alice = alice.accept(&answer).map_err(|e| anyhow!("{e}"))?;

    println!(
        "sotto demo: alice (port {alice_port}) writes an offer of {} bytes, bob (port \
         {bob_port}) answers with {} bytes; they find each other from those alone",
        offer.len(),
        answer.len()
    );
    println!(
        "alice sends {}, bob sends a tone; {:.1} s of audio once the call is secure",
        describe(&input),
        args.duration.as_secs_f64()
    );
    if let AudioOutput::File(path) = &args.audio_out {
        println!("bob writes what he hears to {}", path.display());
    }
    if !args.no_video {
        println!(
            "alice sends the test pattern as video, {VIDEO_WIDTH}x{VIDEO_HEIGHT} at {VIDEO_FPS} \
             fps and {} kbit/s",
            VIDEO_BITRATE_BPS / 1000
        );
        if let VideoOutput::File(path) = &args.video_out {
            println!("bob writes the video he receives to {}", path.display());
        }
    }

    let (mut a, mut b) = (Side::default(), Side::default());
    let (mut sas_shown, mut secure_shown, mut video_shown) = (false, false, false);
    drive_pair((&alice, &mut a), (&bob, &mut b), |a, b| {
        if let (false, Some(sa), Some(sb)) = (sas_shown, &a.sas, &b.sas) {
            println!("{}", sas_line(sa, sb));
            sas_shown = true;
        }
        if let (false, Some(sa), Some(sb)) = (secure_shown, &a.secure, &b.secure) {
            println!("alice: {}", secure_line(sa.0, &sa.1, sa.2));
            println!("bob:   {}", secure_line(sb.0, &sb.1, sb.2));
            println!("streaming...");
            secure_shown = true;
        }
        if let (false, Some(va), Some(vb)) = (video_shown, &a.video_secure, &b.video_secure) {
            println!("alice: {}", video_secure_line(va.0, &va.1));
            println!("bob:   {}", video_secure_line(vb.0, &vb.1));
            video_shown = true;
        }
        Ok(())
    })?;
    let (alice_end, bob_end) = (alice.wait(), bob.wait());

    println!();
    print!("{}", stats_table(a.stats.as_ref(), b.stats.as_ref()));
    if !args.no_video {
        for (name, side) in [("alice", &a), ("bob", &b)] {
            if let Some(reason) = &side.video_unavailable {
                println!("{name}: video unavailable: {reason}");
            }
        }
        let video = |side: &Side| side.stats.as_ref().and_then(|s| s.video);
        println!();
        print!("{}", video_table(video(&a).as_ref(), video(&b).as_ref()));
    }
    println!("alice: call ended: {alice_end}");
    println!("bob:   call ended: {bob_end}");
    let sas_match = matches!((&a.sas, &b.sas), (Some(x), Some(y)) if x == y);
    if !sas_match {
        eprintln!("error: the two ends do not show the same SAS");
    }
    Ok(
        if sas_match && ended_well(&alice_end) && ended_well(&bob_end) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}

/// fixtures/speech.wav from the working directory or from the source tree this was built in.
pub(crate) fn speech_fixture() -> Option<PathBuf> {
    let source_tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/speech.wav");
    [PathBuf::from("fixtures/speech.wav"), source_tree]
        .into_iter()
        .find(|p| p.is_file())
}

fn describe(input: &AudioInput) -> String {
    match input {
        AudioInput::File(path) => path.display().to_string(),
        AudioInput::Tone => "a tone".to_owned(),
        AudioInput::None => "silence".to_owned(),
        _ => "the default microphone".to_owned(),
    }
}

/// Both SAS values side by side, and whether they match.
fn sas_line(alice: &str, bob: &str) -> String {
    let verdict = if alice == bob {
        "they match"
    } else {
        "THEY DIFFER"
    };
    format!("SAS   alice: \"{alice}\"   bob: \"{bob}\"   ({verdict})")
}

/// The final statistics of both ends as a table.
fn stats_table(alice: Option<&CallStats>, bob: Option<&CallStats>) -> String {
    type Field = fn(&CallStats) -> String;
    let rows: [(&str, Field); 11] = [
        ("seconds", |s| format!("{:.1}", s.elapsed.as_secs_f64())),
        ("packets sent", |s| s.packets_sent.to_string()),
        ("packets received", |s| s.packets_received.to_string()),
        ("tx kbit/s", |s| format!("{:.1}", s.tx_bitrate_bps / 1000.0)),
        ("rx kbit/s", |s| format!("{:.1}", s.rx_bitrate_bps / 1000.0)),
        ("loss %", |s| format!("{:.1}", s.loss_percent)),
        ("jitter ms", |s| format!("{:.2}", s.jitter_ms)),
        ("jitter buffer ms", |s| format!("{:.0}", s.jitter_buffer_ms)),
        ("rtt ms", |s| {
            s.rtt_ms
                .map_or_else(|| "-".to_owned(), |r| format!("{r:.2}"))
        }),
        ("concealed %", |s| format!("{:.1}", s.concealed_percent)),
        ("srtp rejected", |s| s.srtp_rejected.to_string()),
    ];
    side_by_side("final stats", &rows, alice, bob)
}

/// The final video figures of both ends as a table.
fn video_table(alice: Option<&VideoStats>, bob: Option<&VideoStats>) -> String {
    type Field = fn(&VideoStats) -> String;
    let rows: [(&str, Field); 16] = [
        ("frames sent", |v| v.frames_sent.to_string()),
        ("frames received", |v| v.frames_received.to_string()),
        ("fps sent", |v| format!("{:.1}", v.sent_fps)),
        ("fps received", |v| format!("{:.1}", v.received_fps)),
        ("resolution", |v| {
            v.received_resolution
                .map_or_else(|| "-".to_owned(), |(w, h)| format!("{w}x{h}"))
        }),
        ("tx kbit/s", |v| format!("{:.1}", v.tx_bitrate_bps / 1000.0)),
        ("rx kbit/s", |v| format!("{:.1}", v.rx_bitrate_bps / 1000.0)),
        ("keyframes sent", |v| v.keyframes_sent.to_string()),
        ("keyframes recv", |v| v.keyframes_received.to_string()),
        ("nacks sent/recv", |v| {
            format!("{}/{}", v.nacks_sent, v.nacks_received)
        }),
        ("retransmitted", |v| v.retransmissions.to_string()),
        ("repaired/lost", |v| {
            format!("{}/{}", v.packets_repaired, v.packets_unrepaired)
        }),
        ("plis sent/recv", |v| {
            format!("{}/{}", v.plis_sent, v.plis_received)
        }),
        ("freezes", |v| {
            format!("{} ({:.0} ms)", v.freezes, v.frozen.as_secs_f64() * 1000.0)
        }),
        ("decoder errors", |v| v.decoder_errors.to_string()),
        ("a/v skew ms", |v| {
            v.av_skew_ms
                .map_or_else(|| "-".to_owned(), |ms| format!("{ms:.1}"))
        }),
    ];
    side_by_side("final video", &rows, alice, bob)
}

/// One row of a side-by-side table: its name and how to show an end's figure.
type Row<'a, T> = (&'a str, fn(&T) -> String);

/// A table with one row per field and a column per end; `-` where an end has no figures.
fn side_by_side<T>(title: &str, rows: &[Row<'_, T>], alice: Option<&T>, bob: Option<&T>) -> String {
    let cell = |end: Option<&T>, f: fn(&T) -> String| end.map_or_else(|| "-".to_owned(), f);
    let mut out = format!("{title:<18}{:>12}{:>12}\n", "alice", "bob");
    for &(name, f) in rows {
        out.push_str(&format!(
            "{name:<18}{:>12}{:>12}\n",
            cell(alice, f),
            cell(bob, f)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sotto::EndReason;

    #[test]
    fn sas_line_shows_both_and_the_verdict() {
        assert_eq!(
            sas_line("4x8k", "4x8k"),
            "SAS   alice: \"4x8k\"   bob: \"4x8k\"   (they match)"
        );
        assert!(sas_line("4x8k", "4x8a").contains("THEY DIFFER"));
    }

    #[test]
    fn stats_table_has_a_dash_for_a_missing_side() {
        let table = stats_table(None, None);
        assert!(table.starts_with("final stats"));
        assert!(table
            .lines()
            .any(|l| l.starts_with("rtt ms") && l.ends_with('-')));
        assert_eq!(table.lines().count(), 12);
    }

    #[test]
    fn video_table_shows_what_each_end_sent_and_received() {
        let sent = VideoStats {
            frames_sent: 120,
            keyframes_sent: 1,
            nacks_received: 2,
            retransmissions: 2,
            ..VideoStats::default()
        };
        let received = VideoStats {
            frames_received: 118,
            received_resolution: Some((640, 480)),
            keyframes_received: 1,
            nacks_sent: 2,
            packets_repaired: 2,
            frozen: Duration::from_millis(300),
            freezes: 1,
            av_skew_ms: Some(14.04),
            ..VideoStats::default()
        };
        let table = video_table(Some(&sent), Some(&received));
        let row = |name: &str| {
            table
                .lines()
                .find(|l| l.starts_with(name))
                .unwrap_or_else(|| panic!("no {name} row in\n{table}"))
                .split_whitespace()
                .rev()
                .take(2)
                .collect::<Vec<_>>()
        };
        assert_eq!(row("frames sent"), ["0", "120"]);
        assert_eq!(row("frames received"), ["118", "0"]);
        assert_eq!(row("resolution"), ["640x480", "-"]);
        assert_eq!(row("nacks sent/recv"), ["2/0", "0/2"]);
        assert_eq!(row("repaired/lost"), ["2/0", "0/0"]);
        assert_eq!(row("a/v skew ms"), ["14.0", "-"]);
        assert!(table.contains("1 (300 ms)"), "{table}");
        assert_eq!(table.lines().count(), 17);
        assert!(video_table(None, None)
            .lines()
            .skip(1)
            .all(|l| l.ends_with('-')));
    }

    #[test]
    fn only_failures_are_not_success() {
        assert!(ended_well(&EndReason::DurationReached));
        assert!(ended_well(&EndReason::HungUp));
        assert!(ended_well(&EndReason::PeerGone));
        assert!(!ended_well(&EndReason::HandshakeFailed("no answer".into())));
        assert!(!ended_well(&EndReason::Failed("socket".into())));
    }
}
