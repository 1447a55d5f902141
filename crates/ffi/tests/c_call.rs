//! The C example (`examples/c/call.c`) places a call through the C interface to a Rust
//! `sotto::Call` listening in this process; both report the same SAS and end well.
//!
//! How the program is built and linked: see `common/mod.rs`.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use sotto::media::AudioInput;
use sotto::{Call, CallConfig, CallEvent, EndReason};

const SOURCE: &str = include_str!("../../../examples/c/call.c");

fn ended_well(reason: &EndReason) -> bool {
    matches!(
        reason,
        EndReason::HungUp | EndReason::DurationReached | EndReason::PeerHungUp
    )
}

#[test]
fn the_c_example_calls_the_rust_engine_and_both_see_the_same_sas() {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sotto-ffi-c-call");
    // The only test in this binary, and nothing else runs yet: no thread reads the environment.
    let program = common::build_c_program(&work, "call", SOURCE);
    let caches = work.join(format!("caches-{}", std::process::id()));
    std::fs::create_dir_all(&caches).expect("cache dir");

    let bind: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let mut config = CallConfig::new(bind, None, caches.join("rust.sqlite"));
    config.audio_in = AudioInput::Tone;
    config.duration = Some(Duration::from_secs(2));
    let listener = Call::start(config).expect("the rust listener starts");
    let port = listener.local_addr().port();

    let child = common::command(&program)
        .arg(format!("127.0.0.1:{port}"))
        .args(["--audio-in", "tone", "--duration-ms", "2000", "--cache"])
        .arg(caches.join("c.sqlite"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the C program runs");

    let deadline = Instant::now() + Duration::from_secs(30);
    let mut rust_sas = None;
    let mut rust_end = None;
    while Instant::now() < deadline {
        match listener.next_event(Duration::from_millis(200)) {
            Some(CallEvent::Sas { sas, .. }) => rust_sas = Some(sas),
            Some(CallEvent::Ended(reason)) => {
                rust_end = Some(reason);
                break;
            }
            _ => {}
        }
    }
    let rust_reason = listener.wait();

    let common::Finished {
        status,
        stdout,
        stderr,
    } = common::wait_for(child, deadline);
    let _ = std::fs::remove_dir_all(&caches);

    let rust_sas = rust_sas.expect("the rust side reported a SAS");
    assert_eq!(rust_end.as_ref(), Some(&rust_reason));
    assert!(ended_well(&rust_reason), "rust side: {rust_reason}");
    let c_sas = stdout
        .lines()
        .find_map(|line| line.strip_prefix("sas "))
        .unwrap_or_else(|| panic!("no SAS from the C program:\n{stdout}\n{stderr}"));
    assert_eq!(c_sas, rust_sas, "{stdout}");
    assert!(
        stdout.lines().any(|l| l.starts_with("secure 127.0.0.1:")),
        "{stdout}"
    );
    let c_end = stdout
        .lines()
        .find_map(|line| line.strip_prefix("ended "))
        .unwrap_or_else(|| panic!("no end from the C program:\n{stdout}\n{stderr}"));
    assert!(
        ["hung up", "duration reached", "peer hung up"].contains(&c_end),
        "{c_end}"
    );
    assert!(status.success(), "{status}:\n{stdout}\n{stderr}");
}
