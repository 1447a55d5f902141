//! Command-line syntax: clap definitions and the parsers behind each value, so that a bad value
//! is refused by clap with a message that says what to write instead.

use std::net::{SocketAddr, ToSocketAddrs as _};
use std::path::PathBuf;
use std::str::FromStr as _;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use sotto_media::video::{VideoInput, VideoOutput, MAX_DIMENSION};
use sotto_media::{AudioInput, AudioOutput};
use sotto_zrtp::{KeyAgreement, SasType};

use crate::bench_latency::BenchCommand;

/// Port `sotto listen` waits on unless told otherwise.
pub const DEFAULT_LISTEN_PORT: u16 = 5004;

/// sotto: secure voice calls over one UDP port, keyed by ZRTP.
#[derive(Debug, Parser)]
#[command(name = "sotto", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Wait for one call on a UDP port and answer the first peer that speaks ZRTP.
    Listen {
        /// Local UDP port (0 picks a free one).
        #[arg(long, default_value_t = DEFAULT_LISTEN_PORT)]
        port: u16,
        #[command(flatten)]
        call: CallArgs,
    },
    /// Call a peer that runs `sotto listen`.
    Call {
        /// The peer's address, e.g. 192.0.2.7:5004 or example.org:5004.
        #[arg(value_name = "HOST:PORT", value_parser = parse_peer)]
        peer: SocketAddr,
        /// Local UDP port (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        #[command(flatten)]
        call: CallArgs,
    },
    /// Start a call with someone you can only reach through a chat: prints an offer line to
    /// send them, then waits for their answer line (from `sotto join`) on stdin.
    Invite {
        /// Call over IPv6: offer this machine's IPv6 addresses (the STUN servers must be IPv6
        /// too). `sotto join` follows the offer's address family by itself.
        #[arg(long)]
        ipv6: bool,
        #[command(flatten)]
        path: PathArgs,
        #[command(flatten)]
        call: CallArgs,
    },
    /// Answer an offer line from `sotto invite`: prints the answer line to send back, then
    /// holds the call.
    Join {
        /// The offer line, as received (starts with `sotto1:offer:`).
        #[arg(value_name = "OFFER")]
        offer: String,
        #[command(flatten)]
        path: PathArgs,
        #[command(flatten)]
        call: CallArgs,
    },
    /// List the audio devices and the cameras.
    Devices,
    /// A whole call between two endpoints in this process over loopback UDP.
    Demo(DemoArgs),
    /// A UDP relay that delays, jitters and drops datagrams in both directions.
    Relay(RelayArgs),
    /// Measure the pipeline.
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// How `invite` and `join` find their way to the peer.
#[derive(Debug, Args)]
pub struct PathArgs {
    /// Local UDP port (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// A STUN server that tells this machine its address as seen through its NAT (repeat for
    /// more); without one, only this network's addresses are offered.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_peer)]
    pub stun: Vec<SocketAddr>,
}

/// Options shared by `listen`, `call`, `invite` and `join`.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// Microphone: default (the default device), none (silence), tone, or a WAV file.
    #[arg(long, value_name = "default|none|tone|FILE.wav", default_value = "default", value_parser = parse_audio_in)]
    pub audio_in: AudioInput,
    /// Speaker: default (the default device), none, or a WAV file to write.
    #[arg(long, value_name = "default|none|FILE.wav", default_value = "default", value_parser = parse_audio_out)]
    pub audio_out: AudioOutput,
    /// Hang up this many seconds after the call is secure.
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// ZRTP cache: this endpoint's identity (ZID) and its retained secrets [default:
    /// sotto/zid.sqlite in your data directory]. Two sotto calling each other on one machine
    /// need a cache each.
    #[arg(long, value_name = "PATH")]
    pub cache: Option<PathBuf>,
    /// Key agreements to offer, most preferred first (DH3k is always offered too).
    #[arg(long, value_name = "LIST", value_parser = parse_key_agreements)]
    pub key_agreement: Option<KeyAgreements>,
    /// How the Short Authentication String is shown.
    #[arg(long, value_name = "B32|B256", value_parser = parse_sas_type)]
    pub sas_type: Option<SasType>,
    /// Audio packet length in milliseconds.
    #[arg(long, value_name = "10|20", default_value = "20", value_parser = parse_ptime)]
    pub ptime: u32,
    /// Mark the SAS verified without asking (only after reading it to each other).
    #[arg(long)]
    pub verify: bool,
    /// One JSON object per event on stdout, nothing else.
    #[arg(long)]
    pub json: bool,
    /// Video to send: a camera (the first, or number N of `sotto devices`), the moving test
    /// pattern, none, or a Y4M file (sent once, at its own size).
    #[arg(long, value_name = "camera[:N]|pattern|none|FILE.y4m", default_value = "none", value_parser = parse_video_in)]
    pub video_in: VideoInput,
    /// Where the received video goes: none, or a Y4M file to write. Video is on when either
    /// --video-in or --video-out is set and the peer has video on too.
    #[arg(long, value_name = "none|FILE.y4m", default_value = "none", value_parser = parse_video_out)]
    pub video_out: VideoOutput,
    #[command(flatten)]
    pub video: VideoSendArgs,
}

/// How video is sent: shared by `listen`, `call` and `sotto bench video`.
#[derive(Debug, Args)]
pub struct VideoSendArgs {
    /// Size of the video sent (a camera gives its closest mode).
    #[arg(long, value_name = "WxH", default_value = "640x480", value_parser = parse_video_size)]
    pub video_size: VideoSize,
    /// Video frames per second sent.
    #[arg(long, value_name = "N", default_value = "30", value_parser = parse_fps)]
    pub fps: u32,
    /// H.264 target bitrate in kbit/s.
    #[arg(long, value_name = "KBPS", default_value = "1000", value_parser = parse_video_bitrate)]
    pub video_bitrate: u32,
}

impl VideoSendArgs {
    /// Sets the video size, frame rate and bitrate of `config`.
    pub fn apply(&self, config: &mut sotto::CallConfig) {
        config.video_width = self.video_size.width;
        config.video_height = self.video_size.height;
        config.video_fps = self.fps;
        config.video_bitrate_bps = self.video_bitrate * 1000;
    }
}

/// Options of `sotto demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seconds of audio once the call is secure.
    #[arg(long, value_name = "SECONDS", default_value = "4", value_parser = parse_duration)]
    pub duration: Duration,
    /// What the first endpoint sends [default: fixtures/speech.wav if present, else tone].
    #[arg(long, value_name = "tone|FILE.wav", value_parser = parse_audio_in)]
    pub audio_in: Option<AudioInput>,
    /// Where the second endpoint writes what it hears.
    #[arg(long, value_name = "none|FILE.wav", default_value = "none", value_parser = parse_audio_out)]
    pub audio_out: AudioOutput,
    /// Audio packet length in milliseconds.
    #[arg(long, value_name = "10|20", default_value = "20", value_parser = parse_ptime)]
    pub ptime: u32,
    /// Where the second endpoint writes the video it receives (the test pattern, 640x480 at
    /// 30 frames per second).
    #[arg(long, value_name = "none|FILE.y4m", default_value = "none", value_parser = parse_video_out)]
    pub video_out: VideoOutput,
    /// An audio-only demo: no video stream.
    #[arg(long, conflicts_with = "video_out")]
    pub no_video: bool,
}

/// Options of `sotto relay`.
#[derive(Debug, Args)]
pub struct RelayArgs {
    /// Where clients send: a port (on all IPv4 interfaces) or ADDR:PORT. 0 picks a free port.
    #[arg(long, value_name = "PORT|ADDR:PORT", value_parser = parse_listen)]
    pub listen: SocketAddr,
    /// Where to forward to.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_peer)]
    pub to: SocketAddr,
    /// Fixed one-way delay added to every datagram.
    #[arg(long, value_name = "MS", default_value_t = 0, value_parser = parse_latency_ms)]
    pub delay_ms: u64,
    /// Extra delay drawn uniformly from 0..=MS per datagram (reorders datagrams).
    #[arg(long, value_name = "MS", default_value_t = 0, value_parser = parse_latency_ms)]
    pub jitter_ms: u64,
    /// Percentage of datagrams dropped, 0 to 100.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = parse_percent)]
    pub loss_pct: f64,
    /// Seed of the impairment draws: the same seed and traffic give the same drops.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
}

/// A picture size, `WxH` on the command line: both even, from 2 to [`MAX_DIMENSION`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VideoSize {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Frame rates the engine paces (the same bounds as its own check).
const FPS_RANGE: std::ops::RangeInclusive<u32> = 1..=60;
/// H.264 bitrates the engine accepts, in kbit/s.
const VIDEO_KBPS_RANGE: std::ops::RangeInclusive<u32> = 50..=20_000;

/// A list of key agreements in order of preference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyAgreements(pub Vec<KeyAgreement>);

const KEY_AGREEMENT_HINT: &str = "use a comma list of X255, DH3k, DH2k, EC25";

fn parse_key_agreements(s: &str) -> Result<KeyAgreements, String> {
    let mut list = Vec::new();
    for name in s.split(',') {
        let name = name.trim();
        let ka = KeyAgreement::from_str(name)
            .ok()
            // Multistream keys a second stream from a session; it is no choice for a call.
            .filter(|ka| *ka != KeyAgreement::Mult)
            .ok_or_else(|| format!("unknown key agreement '{name}'; {KEY_AGREEMENT_HINT}"))?;
        if !list.contains(&ka) {
            list.push(ka);
        }
    }
    Ok(KeyAgreements(list))
}

fn parse_sas_type(s: &str) -> Result<SasType, String> {
    SasType::from_str(s).map_err(|_| format!("unknown SAS type '{s}'; use B32 or B256"))
}

pub(crate) fn parse_ptime(s: &str) -> Result<u32, String> {
    match s.trim() {
        "10" => Ok(10),
        "20" => Ok(20),
        _ => Err(format!("ptime {s} ms is not supported; use 10 or 20")),
    }
}

pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds; write e.g. 30 or 2.5"))?;
    // One day bounds it well inside Duration and catches typos.
    if !(secs > 0.0 && secs <= 86_400.0) {
        return Err(format!(
            "duration {s} s is out of range; use more than 0 and at most 86400"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

pub(crate) fn parse_percent(s: &str) -> Result<f64, String> {
    let pct: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a percentage; write e.g. 5 or 0.5"))?;
    if !(0.0..=100.0).contains(&pct) {
        return Err(format!("loss {s}% is out of range; use 0 to 100"));
    }
    Ok(pct)
}

pub(crate) fn parse_latency_ms(s: &str) -> Result<u64, String> {
    let ms: u64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a whole number of milliseconds"))?;
    // An hour keeps delay + jitter within what the simulator schedules.
    if ms > 1_800_000 {
        return Err(format!("{s} ms is too long; use at most 1800000"));
    }
    Ok(ms)
}

/// Resolves `HOST:PORT` to one socket address, preferring IPv4 as `sotto listen` binds IPv4.
pub(crate) fn parse_peer(s: &str) -> Result<SocketAddr, String> {
    let hint = "write HOST:PORT, e.g. 192.0.2.7:5004, [2001:db8::7]:5004 or example.org:5004";
    // The resolver's own word for a missing port is "invalid socket address".
    if let Ok(ip) = s.parse::<std::net::IpAddr>() {
        let example = SocketAddr::new(ip, 5004);
        return Err(format!(
            "'{s}' has no port: write HOST:PORT, e.g. {example}"
        ));
    }
    if !s.contains(':') {
        return Err(format!("'{s}' has no port: write HOST:PORT, e.g. {s}:5004"));
    }
    let addrs: Vec<SocketAddr> = s
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve '{s}' ({e}); {hint}"))?
        .collect();
    let addr = addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| format!("'{s}' resolves to no address; {hint}"))?;
    if addr.port() == 0 {
        return Err(format!("port 0 in '{s}' cannot be called; {hint}"));
    }
    // Replies would come from the real address and not match this one.
    if addr.ip().is_unspecified() {
        return Err(format!(
            "'{s}' is no address to send to; use 127.0.0.1 (or ::1) for this machine, or {hint}"
        ));
    }
    Ok(addr)
}

fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = s.trim().parse::<u16>() {
        return Ok(SocketAddr::from(([0, 0, 0, 0], port)));
    }
    s.trim().parse().map_err(|_| {
        format!("'{s}' is neither a port nor ADDR:PORT; write e.g. 7000 or 127.0.0.1:7000")
    })
}

pub(crate) fn parse_audio_in(s: &str) -> Result<AudioInput, String> {
    let input = AudioInput::from_str(s).map_err(|e| e.to_string())?;
    if let AudioInput::File(path) = &input {
        // Checked here so the message names the flag; the engine reports bad contents.
        std::fs::File::open(path).map_err(|e| {
            format!(
                "cannot read {} ({e}); give a readable WAV file, tone, none or default",
                path.display()
            )
        })?;
    }
    Ok(input)
}

fn parse_audio_out(s: &str) -> Result<AudioOutput, String> {
    AudioOutput::from_str(s).map_err(|e| e.to_string())
}

fn parse_video_in(s: &str) -> Result<VideoInput, String> {
    let input = VideoInput::from_str(s).map_err(|e| e.to_string())?;
    if let VideoInput::File(path) = &input {
        // Checked here so the message names the flag; the engine reports bad contents.
        std::fs::File::open(path).map_err(|e| {
            format!(
                "cannot read {} ({e}); give a readable Y4M file, pattern, camera[:N] or none",
                path.display()
            )
        })?;
    }
    Ok(input)
}

fn parse_video_out(s: &str) -> Result<VideoOutput, String> {
    VideoOutput::from_str(s).map_err(|e| e.to_string())
}

fn parse_video_size(s: &str) -> Result<VideoSize, String> {
    let hint = format!(
        "write WIDTHxHEIGHT with even numbers from 2 to {MAX_DIMENSION}, e.g. 640x480 or 1280x720"
    );
    let (w, h) = s
        .trim()
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("'{s}' is not a video size; {hint}"))?;
    let number = |n: &str| {
        // Digits only: `u32::from_str` would also take a leading `+`.
        (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .then(|| n.parse::<u32>().ok())
            .flatten()
            .ok_or_else(|| format!("'{s}' is not a video size; {hint}"))
    };
    let (width, height) = (number(w)?, number(h)?);
    if sotto_media::video::check_size(width, height).is_err() {
        return Err(format!("video size {width}x{height} is not usable; {hint}"));
    }
    Ok(VideoSize { width, height })
}

fn parse_fps(s: &str) -> Result<u32, String> {
    let hint = format!(
        "use a whole number of frames per second from {} to {}, e.g. 30",
        FPS_RANGE.start(),
        FPS_RANGE.end()
    );
    let fps: u32 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a frame rate; {hint}"))?;
    if !FPS_RANGE.contains(&fps) {
        return Err(format!("{fps} frames per second is out of range; {hint}"));
    }
    Ok(fps)
}

fn parse_video_bitrate(s: &str) -> Result<u32, String> {
    let hint = format!(
        "use a whole number of kbit/s from {} to {}, e.g. 1000",
        VIDEO_KBPS_RANGE.start(),
        VIDEO_KBPS_RANGE.end()
    );
    let kbps: u32 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a bitrate; {hint}"))?;
    if !VIDEO_KBPS_RANGE.contains(&kbps) {
        return Err(format!(
            "video bitrate {kbps} kbit/s is out of range; {hint}"
        ));
    }
    Ok(kbps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn key_agreement_lists_parse_case_insensitively_without_duplicates() {
        assert_eq!(
            parse_key_agreements("x255,DH3k, ec25,X255"),
            Ok(KeyAgreements(vec![
                KeyAgreement::X255,
                KeyAgreement::Dh3k,
                KeyAgreement::Ec25
            ]))
        );
        let err = parse_key_agreements("X255,X448").expect_err("X448 is unknown");
        assert!(
            err.contains("'X448'") && err.contains(KEY_AGREEMENT_HINT),
            "{err}"
        );
        assert!(parse_key_agreements("Mult").is_err());
        assert!(parse_key_agreements("").is_err());
    }

    #[test]
    fn sas_type_ptime_duration_and_percent_are_checked() {
        assert_eq!(parse_sas_type("b256"), Ok(SasType::B256));
        assert!(parse_sas_type("B64").is_err());
        assert_eq!(parse_ptime("10"), Ok(10));
        assert!(parse_ptime("30").is_err());
        assert_eq!(parse_duration("2.5"), Ok(Duration::from_millis(2500)));
        for bad in ["0", "-1", "NaN", "inf", "x"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_percent("100"), Ok(100.0));
        assert!(parse_percent("100.5").is_err());
    }

    #[test]
    fn video_sizes_must_be_even_nonzero_and_bounded() {
        assert_eq!(
            parse_video_size("640x480"),
            Ok(VideoSize {
                width: 640,
                height: 480
            })
        );
        assert_eq!(
            parse_video_size("1280X720"),
            Ok(VideoSize {
                width: 1280,
                height: 720
            })
        );
        for bad in [
            "641x480", "640x0", "0x0", "8192x480", "640", "x480", "+640x480", "axb",
        ] {
            let err = parse_video_size(bad).expect_err(bad);
            assert!(
                err.contains("WIDTHxHEIGHT") && err.contains("640x480"),
                "{bad}: {err}"
            );
        }
        assert!(parse_video_size("641x480")
            .expect_err("odd")
            .starts_with("video size 641x480 is not usable"));
    }

    #[test]
    fn frame_rates_and_video_bitrates_are_bounded() {
        assert_eq!(parse_fps("30"), Ok(30));
        assert_eq!(parse_fps("60"), Ok(60));
        for bad in ["0", "61", "-1", "29.97", "x"] {
            assert!(parse_fps(bad).expect_err(bad).contains("1 to 60"), "{bad}");
        }
        assert_eq!(parse_video_bitrate("1000"), Ok(1000));
        for bad in ["49", "20001", "0", "1.5"] {
            assert!(
                parse_video_bitrate(bad)
                    .expect_err(bad)
                    .contains("50 to 20000"),
                "{bad}"
            );
        }
    }

    #[test]
    fn video_inputs_and_outputs_parse_or_explain() {
        assert_eq!(parse_video_in("pattern"), Ok(VideoInput::Pattern));
        assert_eq!(parse_video_in("camera:2"), Ok(VideoInput::Camera(2)));
        let err = parse_video_in("foo.txt").expect_err("not Y4M");
        assert!(err.contains("only Y4M files are read"), "{err}");
        let err = parse_video_in("/nonexistent/in.y4m").expect_err("missing file");
        assert!(
            err.contains("/nonexistent/in.y4m") && err.contains("readable Y4M"),
            "{err}"
        );
        assert_eq!(
            parse_video_out("out.y4m"),
            Ok(VideoOutput::File("out.y4m".into()))
        );
        assert!(parse_video_out("out.mp4").is_err());
    }

    #[test]
    fn addresses_parse_or_explain() {
        assert_eq!(
            parse_peer("127.0.0.1:5004"),
            Ok(SocketAddr::from(([127, 0, 0, 1], 5004)))
        );
        for (no_port, example) in [
            ("127.0.0.1", "127.0.0.1:5004"),
            ("::1", "[::1]:5004"),
            ("example.org", "example.org:5004"),
        ] {
            let said = parse_peer(no_port).expect_err("no port");
            assert!(
                said.contains(&format!("has no port: write HOST:PORT, e.g. {example}")),
                "{said}"
            );
        }
        assert!(parse_peer("127.0.0.1:0").is_err());
        assert!(parse_peer("0.0.0.0:5004").is_err());
        assert_eq!(
            parse_listen("7000"),
            Ok(SocketAddr::from(([0, 0, 0, 0], 7000)))
        );
        assert_eq!(
            parse_listen("127.0.0.1:0"),
            Ok(SocketAddr::from(([127, 0, 0, 1], 0)))
        );
        assert!(parse_listen("seven").is_err());
    }
}
