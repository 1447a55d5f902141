//! `sotto bench connect`: how long a call set up by offer and answer takes, from the moment
//! the caller starts writing its offer to media flowing both ways, between two endpoints in
//! this process that find each other only through the two lines (real UDP sockets on this
//! machine's addresses, STUN if asked, connectivity checks, ZRTP).
//!
//! The lines are handed over at once: the figures are the engine's share, not a chat's. With
//! `--nat` each call then also survives a network change: the caller's router gets a new
//! public address, and the time from the path restart to media flowing again is measured.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use clap::Args;
use sotto::media::AudioInput;
use sotto::{Call, CallConfig, CallEvent, PathConfig, PreparedCall};
use sotto_testkit::natlab::{Host, NatLab};

use crate::args::parse_peer;
use crate::bench_latency::summarise;
use crate::demo::with_scratch_dir;
use crate::interrupt;

/// Options of `sotto bench connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// How many calls to set up.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub runs: u32,
    /// A STUN server both ends ask (repeat for more), as behind a NAT.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_peer)]
    pub stun: Vec<SocketAddr>,
    /// Put each end behind a NAT of its own: Linux network namespaces with iptables
    /// MASQUERADE, and a coturn STUN server between them (needs root, iproute2, iptables and
    /// coturn; .ci/setup installs them).
    #[arg(long, conflicts_with = "stun")]
    pub nat: bool,
}

/// Statistics come this often so the first media is timed to within it.
const STATS_INTERVAL: Duration = Duration::from_millis(5);
/// How long after a renumbering the old path is taken as dead (packets in flight landed).
const DEAD_PATH_SETTLE: Duration = Duration::from_millis(300);
/// A call that has not got going by then counts as failed.
const RUN_LIMIT: Duration = Duration::from_secs(30);

/// When each step of one side happened, from the start of the offer.
#[derive(Clone, Copy, Debug, Default)]
struct Steps {
    connected: Option<Duration>,
    secure: Option<Duration>,
    media: Option<Duration>,
    /// Packets received when media was seen flowing.
    received: u64,
}

/// One call set up: when the lines were ready and each side's steps.
#[derive(Debug)]
struct Run {
    offer: Duration,
    answer: Duration,
    alice: Steps,
    bob: Steps,
    /// With `--nat`: from the start of a path restart (after the caller's router was given a
    /// new address) to media flowing both ways again.
    restart: Option<Duration>,
}

/// Runs the measurement and prints the figures.
pub fn run(args: &ConnectArgs) -> anyhow::Result<ExitCode> {
    let mut lab = if args.nat {
        Some(NatLab::start().map_err(|e| {
            anyhow!(
                "{e}; --nat needs root with iproute2, iptables and coturn installed (.ci/setup)"
            )
        })?)
    } else {
        None
    };
    let stun = match &lab {
        Some(lab) => vec![lab.stun_server()],
        None => args.stun.clone(),
    };
    with_scratch_dir("bench-connect", |dir| {
        println!(
            "setting up {} calls by offer and answer ({}); times from the start of the offer",
            args.runs,
            match (&lab, stun.is_empty()) {
                (Some(_), _) => format!(
                    "each end behind its own NAT in a network namespace, STUN {}",
                    join(&stun)
                ),
                (None, true) => "on this machine, host candidates only".to_owned(),
                (None, false) => format!("on this machine, STUN {}", join(&stun)),
            }
        );
        let mut runs = Vec::new();
        for i in 0..args.runs {
            if interrupt::requested() {
                break;
            }
            let run = one_call(dir, i, &stun, lab.as_mut())?;
            println!(
                "  run {:>3}: offer {:>5.1} ms, answer {:>5.1} ms, path {:>6.1} ms, secure {:>6.1} ms, media both ways {:>6.1} ms{}",
                i + 1,
                ms(run.offer),
                ms(run.answer),
                ms_or_nan(run.alice.connected),
                ms_or_nan(run.alice.secure),
                ms_or_nan(both(run.alice.media, run.bob.media)),
                run.restart.map_or_else(String::new, |d| format!(
                    "; after a renumbering, restart to media {:.1} ms",
                    ms(d)
                )),
            );
            runs.push(run);
        }
        let column = |f: &dyn Fn(&Run) -> Option<Duration>| -> Vec<f64> {
            runs.iter().filter_map(f).map(ms).collect()
        };
        println!("summary (ms)                 median     p95     min     max");
        for (name, mut values) in [
            ("offer written", column(&|r| Some(r.offer))),
            ("answer written", column(&|r| Some(r.answer))),
            ("path found (caller)", column(&|r| r.alice.connected)),
            ("secure (caller)", column(&|r| r.alice.secure)),
            (
                "media flowing both ways",
                column(&|r| both(r.alice.media, r.bob.media)),
            ),
            ("path restart to media", column(&|r| r.restart)),
        ] {
            if let Some([median, p95, min, max]) = summarise(&mut values) {
                println!("  {name:<26} {median:>7.1} {p95:>7.1} {min:>7.1} {max:>7.1}");
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Sets up one call (each end inside its host's namespace with `lab`), waits for media both
/// ways; with `lab`, then gives the caller's router a new address and restarts the path;
/// hangs up.
fn one_call(
    dir: &Path,
    index: u32,
    stun: &[SocketAddr],
    lab: Option<&mut NatLab>,
) -> anyhow::Result<Run> {
    let config = |name: &str| -> anyhow::Result<CallConfig> {
        let cache = dir.join(format!("{name}-{index}.sqlite"));
        let mut config = CallConfig::new("0.0.0.0:0".parse()?, None, cache);
        config.audio_in = AudioInput::Tone;
        config.stats_interval = STATS_INTERVAL;
        Ok(config)
    };
    let path = PathConfig {
        stun_servers: stun.to_vec(),
        ..PathConfig::default()
    };
    let prepare = |host: Host, config: CallConfig| -> anyhow::Result<PreparedCall> {
        let path = path.clone();
        match lab.as_deref() {
            Some(lab) => Ok(lab.run_in(host, || {
                Call::prepare(config, path).map_err(io::Error::other)
            })?),
            None => Call::prepare(config, path).map_err(|e| anyhow!("{e}")),
        }
    };
    let start = Instant::now();
    let alice = prepare(Host::A, config("alice")?)?;
    let offer_line = alice.offer().map_err(|e| anyhow!("{e}"))?;
    let offer = start.elapsed();
    let bob = prepare(Host::B, config("bob")?)?;
    let (bob_call, answer_line) = bob.answer(&offer_line).map_err(|e| anyhow!("{e}"))?;
    let answer = start.elapsed();
    let alice_call = alice.accept(&answer_line).map_err(|e| anyhow!("{e}"))?;
    let both_flowing = |start: Instant, after: (u64, u64)| {
        let (alice, bob) = thread::scope(|scope| {
            let bob = scope.spawn(|| watch(&bob_call, start, after.1));
            let alice = watch(&alice_call, start, after.0);
            (alice, bob.join())
        });
        let bob = bob.map_err(|_| anyhow!("the event reader panicked"))?;
        anyhow::Ok((alice?, bob?))
    };
    let first = both_flowing(start, (0, 0));
    let mut restart = None;
    if let (Ok((alice, bob)), Some(lab)) = (&first, lab) {
        lab.renumber(Host::A)?;
        thread::sleep(DEAD_PATH_SETTLE);
        let after = (
            latest_received(&alice_call, alice.received),
            latest_received(&bob_call, bob.received),
        );
        let started = Instant::now();
        let restart_offer = alice_call.restart_path().map_err(|e| anyhow!("{e}"))?;
        let restart_answer = bob_call
            .answer_path_restart(&restart_offer)
            .map_err(|e| anyhow!("{e}"))?;
        alice_call
            .accept_path_restart(&restart_answer)
            .map_err(|e| anyhow!("{e}"))?;
        let (alice, bob) = both_flowing(started, after)?;
        restart = both(alice.media, bob.media);
    }
    alice_call.hang_up();
    bob_call.hang_up();
    let (_, _) = (alice_call.wait(), bob_call.wait());
    let (alice, bob) = first?;
    Ok(Run {
        offer,
        answer,
        alice,
        bob,
        restart,
    })
}

/// The packets `call` has received by its latest statistics (`count` if none came since).
fn latest_received(call: &Call, mut count: u64) -> u64 {
    while let Some(event) = call.next_event(Duration::ZERO) {
        if let CallEvent::Stats(stats) = event {
            count = stats.packets_received;
        }
    }
    count
}

/// Times one side's steps until its media flows: more than `after` packets received.
fn watch(call: &Call, start: Instant, after: u64) -> anyhow::Result<Steps> {
    let mut steps = Steps::default();
    while steps.media.is_none() {
        let left = RUN_LIMIT.saturating_sub(start.elapsed());
        let Some(event) = call.next_event(left) else {
            bail!("no media within {RUN_LIMIT:?}");
        };
        let at = Some(start.elapsed());
        match event {
            CallEvent::Connected { .. } => steps.connected = steps.connected.or(at),
            CallEvent::Secure { .. } => steps.secure = at,
            CallEvent::Stats(stats) if stats.packets_received > after => {
                steps.media = at;
                steps.received = stats.packets_received;
            }
            CallEvent::Ended(reason) => bail!("the call ended before media flowed: {reason}"),
            _ => {}
        }
    }
    Ok(steps)
}

fn both(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    Some(a?.max(b?))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn ms_or_nan(d: Option<Duration>) -> f64 {
    d.map_or(f64::NAN, ms)
}

fn join(addrs: &[SocketAddr]) -> String {
    addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
