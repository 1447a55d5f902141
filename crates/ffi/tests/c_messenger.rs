//! The C messenger example (`examples/c/messenger.c`) sets a call up between two clients in
//! one C program through the offer and answer entry points: each finds its path to the other
//! (the CONNECTED event names both ends), both read the same SAS and the calls end well.
//!
//! How the program is built and linked: see `common/mod.rs`.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

const SOURCE: &str = include_str!("../../../examples/c/messenger.c");

/// The rest of the first line of `stdout` that starts with `prefix`.
fn line_after<'a>(stdout: &'a str, prefix: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no line starting '{prefix}':\n{stdout}"))
}

#[test]
fn the_c_messenger_sets_up_a_secure_call_by_offer_and_answer() {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sotto-ffi-c-messenger");
    // The only test in this binary, and nothing else runs yet: no thread reads the environment.
    let program = common::build_c_program(&work, "messenger", SOURCE);
    let caches = work.join(format!("caches-{}", std::process::id()));
    std::fs::create_dir_all(&caches).expect("cache dir");

    let started = Instant::now();
    let child = common::command(&program)
        .args([
            "--bind",
            "127.0.0.1:0",
            "--duration-ms",
            "2000",
            "--cache-dir",
        ])
        .arg(&caches)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the C program runs");
    let common::Finished {
        status,
        stdout,
        stderr,
    } = common::wait_for(child, started + Duration::from_secs(60));
    let _ = std::fs::remove_dir_all(&caches);
    assert!(status.success(), "{status}:\n{stdout}\n{stderr}");

    // The lines crossed the "chat" whole: a line is never longer than a peer reads.
    for prefix in ["alice: offer of ", "bob: answer of "] {
        let bytes: usize = line_after(&stdout, prefix)
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no length after '{prefix}':\n{stdout}"));
        assert!(
            (100..=sotto_ffi::SOTTO_MAX_LINE_LEN).contains(&bytes),
            "{stdout}"
        );
    }

    // Each end reports the path from its own socket to the other's.
    let alice = format!(
        "127.0.0.1:{}",
        line_after(&stdout, "alice: prepared on port ")
    );
    let bob = format!(
        "127.0.0.1:{}",
        line_after(&stdout, "bob: prepared on port ")
    );
    assert_ne!(alice, bob);
    let port = |addr: &str| addr.rsplit(':').next().unwrap_or_default().to_owned();
    assert_eq!(
        line_after(&stdout, "alice: path "),
        format!("from port {} to {bob}", port(&alice))
    );
    assert_eq!(
        line_after(&stdout, "bob: path "),
        format!("from port {} to {alice}", port(&bob))
    );
    assert!(
        line_after(&stdout, "alice: secure with ").starts_with(&format!("{bob}, ")),
        "{stdout}"
    );

    let alice_sas = line_after(&stdout, "alice: sas ");
    let bob_sas = line_after(&stdout, "bob: sas ");
    assert_eq!(alice_sas.len(), 4, "a B32 SAS: {stdout}");
    assert_eq!(alice_sas, bob_sas, "{stdout}");
    assert_eq!(line_after(&stdout, "alice: ended "), "duration reached");
    assert_eq!(line_after(&stdout, "bob: ended "), "peer hung up");
    assert!(!stdout.contains("WARNING"), "{stdout}");
    assert!(
        stdout.contains(&format!("alice read {alice_sas}, bob read {alice_sas}")),
        "{stdout}"
    );
}
