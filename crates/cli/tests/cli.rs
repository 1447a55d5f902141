//! The `sotto` binary as a user runs it: help, bad input, the relay, the demo and a call between
//! two processes over loopback UDP.

#[path = "support/output.rs"]
mod output;
#[path = "support/relay.rs"]
mod relay;

use output::{event, json_events, read_wav, sotto, start_listener, temp_dir};
use relay::Relay;
use sotto_testkit::goertzel::energy_fraction;
use std::io::Read as _;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

fn run(args: &[&str]) -> Output {
    sotto()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("sotto runs")
}

/// Bad input ends with exit code 2 and exactly one `error: ...` line, never a panic.
fn assert_usage_error(args: &[&str], mentions: &str) {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
    assert!(stderr.contains(mentions), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?}");
}

#[test]
fn help_lists_every_command() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for command in [
        "listen", "call", "invite", "join", "devices", "demo", "relay",
    ] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
    let out = run(&["call", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--audio-in",
        "--audio-out",
        "--duration",
        "--cache",
        "--key-agreement",
        "--sas-type",
        "--ptime",
        "--verify",
        "--json",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

#[test]
fn unknown_flags_and_bad_values_are_one_line_errors() {
    assert_usage_error(&["listen", "--bogus"], "--bogus");
    assert_usage_error(&["frobnicate"], "frobnicate");
    assert_usage_error(
        &["call", "127.0.0.1:5004", "--key-agreement", "X255,X448"],
        "X448",
    );
    assert_usage_error(&["call", "127.0.0.1:5004", "--sas-type", "B64"], "B256");
    assert_usage_error(&["call", "127.0.0.1:5004", "--ptime", "30"], "10 or 20");
    assert_usage_error(&["listen", "--duration", "-3"], "duration");
    assert_usage_error(
        &[
            "relay",
            "--listen",
            "0",
            "--to",
            "127.0.0.1:9",
            "--loss-pct",
            "150",
        ],
        "0 to 100",
    );
}

#[test]
fn bad_addresses_are_one_line_errors() {
    assert_usage_error(&["call", "not-an-address"], "HOST:PORT");
    assert_usage_error(&["call", "127.0.0.1:99999"], "HOST:PORT");
    assert_usage_error(&["call", "127.0.0.1:0"], "HOST:PORT");
    assert_usage_error(&["relay", "--listen", "x", "--to", "127.0.0.1:9"], "PORT");
}

#[test]
fn unreadable_audio_file_is_a_one_line_error() {
    assert_usage_error(
        &[
            "call",
            "127.0.0.1:5004",
            "--audio-in",
            "/nonexistent/in.wav",
        ],
        "/nonexistent/in.wav",
    );
}

#[test]
fn port_in_use_is_a_one_line_error() {
    let taken = UdpSocket::bind("0.0.0.0:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    assert_usage_error(
        &["relay", "--listen", &port, "--to", "127.0.0.1:9"],
        "in use",
    );
    let dir = temp_dir("port-in-use");
    let cache = dir.join("zid.sqlite");
    assert_usage_error(
        &[
            "listen",
            "--port",
            &port,
            "--audio-in",
            "none",
            "--audio-out",
            "none",
            "--cache",
            cache.to_str().expect("utf-8 path"),
        ],
        &port,
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn loopback_socket() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_secs(1)))
        .expect("timeout");
    socket
}

fn recv(socket: &UdpSocket) -> Option<(Vec<u8>, SocketAddr)> {
    let mut buf = [0u8; 2048];
    let (n, from) = socket.recv_from(&mut buf).ok()?;
    Some((buf[..n].to_vec(), from))
}

#[test]
fn relay_without_loss_forwards_everything_both_ways() {
    let target = loopback_socket();
    let client = loopback_socket();
    let relay = Relay::start(target.local_addr().expect("addr"), &["--loss-pct", "0"]);

    for i in 0u32..50 {
        client
            .send_to(&i.to_be_bytes(), relay.listen)
            .expect("send to relay");
        let (payload, from) = recv(&target).expect("forwarded to the target");
        assert_eq!(payload, i.to_be_bytes());
        assert_eq!(from.port(), relay.upstream_port);
        let reply = (1000 + i).to_be_bytes();
        target.send_to(&reply, from).expect("reply");
        let (payload, from) = recv(&client).expect("reply forwarded to the client");
        assert_eq!(payload, reply);
        assert_eq!(from, relay.listen);
    }
    assert_eq!(
        relay.interrupt(),
        "relay: sent 100, lost 0, delivered 100, in flight 0, ignored 0"
    );
}

#[test]
fn relay_with_full_loss_drops_everything_both_ways() {
    let target = loopback_socket();
    let client = loopback_socket();
    let relay = Relay::start(
        target.local_addr().expect("addr"),
        &["--loss-pct", "100", "--seed", "9"],
    );
    let upstream = SocketAddr::from(([127, 0, 0, 1], relay.upstream_port));
    for i in 0u32..20 {
        client
            .send_to(&i.to_be_bytes(), relay.listen)
            .expect("send to relay");
    }
    assert!(recv(&target).is_none(), "a datagram got through");
    // The relay knows the client now; replies to it are dropped too.
    for i in 0u32..20 {
        target.send_to(&i.to_be_bytes(), upstream).expect("reply");
    }
    assert!(recv(&client).is_none(), "a reply got through");
    assert_eq!(
        relay.interrupt(),
        "relay: sent 40, lost 40, delivered 0, in flight 0, ignored 0"
    );
}

/// Which of 40 datagrams a relay with 50% loss and this seed lets through.
fn survivors(seed: &str) -> (Vec<u32>, String) {
    let target = loopback_socket();
    let client = loopback_socket();
    let relay = Relay::start(
        target.local_addr().expect("addr"),
        &["--loss-pct", "50", "--seed", seed],
    );
    for i in 0u32..40 {
        client
            .send_to(&i.to_be_bytes(), relay.listen)
            .expect("send to relay");
    }
    let mut through = Vec::new();
    while let Some((payload, _)) = recv(&target) {
        let bytes: [u8; 4] = payload.as_slice().try_into().expect("4-byte payload");
        through.push(u32::from_be_bytes(bytes));
    }
    (through, relay.interrupt())
}

#[test]
fn relay_drops_are_reproducible_by_seed() {
    let (first, summary) = survivors("7");
    assert!(
        first.len() > 5 && first.len() < 35,
        "{} of 40 got through",
        first.len()
    );
    assert_eq!(
        summary,
        format!(
            "relay: sent 40, lost {}, delivered {}, in flight 0, ignored 0",
            40 - first.len(),
            first.len()
        )
    );
    let (again, _) = survivors("7");
    assert_eq!(first, again);
    let (other, _) = survivors("8");
    assert_ne!(first, other);
}

#[test]
fn demo_shows_two_equal_sas_values() {
    let out = run(&["demo", "--duration", "2"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sas_line = stdout
        .lines()
        .find(|l| l.starts_with("SAS"))
        .unwrap_or_else(|| panic!("no SAS line in:\n{stdout}"));
    let quoted: Vec<&str> = sas_line.split('"').skip(1).step_by(2).collect();
    assert_eq!(quoted.len(), 2, "{sas_line}");
    assert_eq!(quoted[0], quoted[1], "{sas_line}");
    assert!(!quoted[0].is_empty());
    assert!(stdout.contains("final stats"), "{stdout}");
}

/// Fraction of a window's energy in its strongest frequency between 100 Hz and 4 kHz, and that
/// frequency (Goertzel in 5 Hz steps over 100 ms windows: a pure tone scores near 1).
fn tone_purity(window: &[f64]) -> (f64, f64) {
    (20..800)
        .map(|step| {
            let freq = f64::from(step) * 5.0;
            (energy_fraction(window, 48_000, freq), freq)
        })
        .fold(
            (0.0, 0.0),
            |best, this| if this.0 > best.0 { this } else { best },
        )
}

/// The WAV holds the engine's test tone for at least a second.
fn assert_wav_has_tone(path: &Path) {
    let samples: Vec<f64> = read_wav(path).iter().map(|&s| f64::from(s)).collect();
    let n = samples.len();
    let windows: Vec<(f64, f64)> = samples
        .chunks_exact(4800)
        .filter(|w| w.iter().map(|x| x * x).sum::<f64>() / 4800.0 > 100.0 * 100.0)
        .map(tone_purity)
        .collect();
    assert!(
        windows.len() >= 10,
        "{}: only {} windows of audio in {n} samples",
        path.display(),
        windows.len()
    );
    let freq = f64::from(sotto::TONE_FREQ_HZ);
    let pure = windows
        .iter()
        .filter(|(share, f)| *share > 0.7 && (f - freq).abs() <= 10.0)
        .count();
    assert!(
        pure * 10 >= windows.len() * 8,
        "{}: {pure} of {} windows hold the {freq} Hz tone: {windows:?}",
        path.display(),
        windows.len()
    );
}

#[test]
fn two_processes_agree_on_the_sas_and_hear_each_other() {
    let dir = temp_dir("two-processes");
    let path = |name: &str| dir.join(name).to_str().expect("utf-8 path").to_owned();
    let speech = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/speech.wav");
    let speech = speech.to_str().expect("utf-8 path").to_owned();
    let common = |input: &str, cache: String, wav: String| {
        vec![
            "--json".to_owned(),
            "--audio-in".to_owned(),
            input.to_owned(),
            "--audio-out".to_owned(),
            wav,
            "--duration".to_owned(),
            "3".to_owned(),
            "--cache".to_owned(),
            cache,
        ]
    };
    let (listener, mut listener_stderr, port) =
        start_listener(sotto().args(["listen", "--port", "0"]).args(common(
            "tone",
            path("listen.sqlite"),
            path("listen.wav"),
        )));

    let caller = sotto()
        .args(["call", &format!("127.0.0.1:{port}")])
        .args(common(&speech, path("call.sqlite"), path("call.wav")))
        .stdin(Stdio::null())
        .output()
        .expect("caller runs");
    let listened = listener.wait_with_output().expect("listener exits");
    let mut rest = String::new();
    listener_stderr
        .read_to_string(&mut rest)
        .expect("listener stderr");
    assert!(
        caller.status.success(),
        "caller: {}",
        String::from_utf8_lossy(&caller.stderr)
    );
    assert!(listened.status.success(), "listener: {rest}");
    // The listener told its user what the peer should type.
    let told = rest
        .lines()
        .find(|l| l.starts_with("your peer runs: sotto call "));
    assert!(
        told.is_some_and(|l| l.contains(&format!(":{port}"))),
        "listener: {rest}"
    );

    let (calls, listens) = (json_events(&caller.stdout), json_events(&listened.stdout));
    let (sas_c, sas_l) = (event(&calls, "sas"), event(&listens, "sas"));
    assert!(sas_c["sas"].is_string(), "{sas_c}");
    assert_eq!(sas_c["sas"], sas_l["sas"]);
    assert_eq!(sas_c["sas_type"], sas_l["sas_type"]);
    assert_eq!(sas_c["cache_mismatch"], false);
    let (sec_c, sec_l) = (event(&calls, "secure"), event(&listens, "secure"));
    assert_ne!(sec_c["role"], sec_l["role"]);
    for field in ["key_agreement", "hash", "cipher", "auth_tag"] {
        assert_eq!(sec_c[field], sec_l[field], "{field}");
    }
    assert!(event(&calls, "stats")["packets_received"].as_u64() > Some(0));
    // Whichever end reaches its duration first hangs up; the other may see it go.
    for events in [&calls, &listens] {
        let reason = &event(events, "ended")["reason"];
        assert!(
            reason == "duration reached" || reason == "peer hung up",
            "{reason}"
        );
    }

    // The caller hears the listener's tone; the listener hears the caller's speech.
    assert_wav_has_tone(&dir.join("call.wav"));
    let heard = read_wav(&dir.join("listen.wav"));
    let said = read_wav(Path::new(&speech));
    let (mean, segments) = sotto_testkit::speech_similarity(&said, &heard, 48_000);
    assert!(segments.len() >= 3, "{segments:?}");
    assert!(
        mean > 0.6,
        "speech cross-correlation {mean:.2}; per segment (delay ms, r): {segments:.2?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_processes_on_one_cache_are_told_to_give_one_its_own() {
    let dir = temp_dir("one-cache");
    let cache = dir
        .join("zid.sqlite")
        .to_str()
        .expect("utf-8 path")
        .to_owned();
    let quiet = ["--json", "--audio-in", "none", "--audio-out", "none"];
    let (mut listener, _stderr, port) = start_listener(
        sotto()
            .args(["listen", "--port", "0", "--cache", &cache])
            .args(quiet),
    );
    let caller = sotto()
        .args(["call", &format!("127.0.0.1:{port}"), "--cache", &cache])
        .args(quiet)
        .stdin(Stdio::null())
        .output()
        .expect("caller runs");
    let _ = listener.kill();
    let _ = listener.wait();
    let stderr = String::from_utf8_lossy(&caller.stderr);
    assert!(!caller.status.success(), "{stderr}");
    let events = json_events(&caller.stdout);
    let reason = &event(&events, "ended")["reason"];
    assert!(
        reason.as_str().is_some_and(|r| r.contains("0x90")),
        "{reason}"
    );
    assert!(stderr.contains("--cache OTHER.sqlite"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
