//! Commands typed during a call: `mute` silences what the peer hears until `unmute`, `video
//! off` is acknowledged, and an unknown line gets a hint.

#[path = "support/output.rs"]
mod output;
#[path = "support/peer.rs"]
mod peer;

use std::io::Read as _;
use std::thread;
use std::time::{Duration, Instant};

use output::{event, read_wav, sotto, start_listener, temp_dir, wait_bounded};
use peer::Peer;
use sotto_testkit::goertzel::amplitude;

#[test]
fn typing_mute_silences_the_call_until_unmute() {
    let dir = temp_dir("mute");
    let path = |name: &str| dir.join(name).to_str().expect("utf-8").to_owned();
    let (listener, mut listener_stderr, port) = start_listener(sotto().args([
        "listen",
        "--json",
        "--audio-in",
        "none",
        "--audio-out",
        &path("heard.wav"),
        "--cache",
        &path("listen.sqlite"),
    ]));
    let mut caller = sotto();
    caller.args([
        "call",
        &format!("127.0.0.1:{port}"),
        "--json",
        "--duration",
        "5",
    ]);
    caller.args(["--audio-in", "tone", "--audio-out", "none", "--cache"]);
    caller.arg(path("call.sqlite"));
    let mut caller = Peer::spawn(caller, "call", &dir);
    let within = || Instant::now() + Duration::from_secs(15);
    caller.wait_for_event("secure", within());

    thread::sleep(Duration::from_millis(1_000));
    caller.say("hello");
    caller.say("mute");
    assert_eq!(caller.wait_for_event("muted", within())["muted"], true);
    thread::sleep(Duration::from_millis(1_500));
    caller.say("unmute");
    assert_eq!(caller.wait_for_event("muted", within())["muted"], false);
    // A call without video takes the camera commands too (they change nothing it sends).
    caller.say("video off");
    assert_eq!(
        caller.wait_for_event("video_muted", within())["muted"],
        true
    );

    let (status, events, stderr) = caller.finish(Instant::now() + Duration::from_secs(20));
    assert!(status.success(), "call: {status}\n{stderr}");
    assert_eq!(event(&events, "ended")["reason"], "duration reached");
    assert!(stderr.contains("unknown command \"hello\""), "{stderr}");
    assert!(stderr.contains("`unmute`"), "{stderr}");
    let listened = wait_bounded(listener, Duration::from_secs(20), "listener", "");
    let mut rest = String::new();
    let _ = listener_stderr.read_to_string(&mut rest);
    assert!(listened.status.success(), "listener: {rest}");

    // 100 ms windows of what the listener heard: the tone, a muted stretch, the tone again.
    let full = f64::from(sotto::TONE_AMPLITUDE) * 32767.0;
    let heard: Vec<char> = read_wav(&dir.join("heard.wav"))
        .chunks_exact(4_800)
        .map(
            |w| match amplitude(w, 48_000, f64::from(sotto::TONE_FREQ_HZ)) {
                a if a > full * 0.5 => 'T',
                a if a < full * 0.01 => '_',
                _ => '~',
            },
        )
        .collect();
    let heard: String = heard.into_iter().collect();
    // At least 0.8 s of the muted 1.5 s is silent, with the tone before and after it (a
    // window may straddle either change).
    let muted = (heard.find("________"))
        .unwrap_or_else(|| panic!("no muted stretch in (T tone, _ silence, per 100 ms) {heard}"));
    let (before, after) = heard.split_at(muted);
    let after = after.trim_start_matches('_').trim_start_matches('~');
    assert!(
        before.contains("TTT") && after.starts_with("TTT"),
        "T tone, _ silence, ~ between, per 100 ms: {heard}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
