//! The C example (`examples/c/call.c`) places a call through the C interface to a Rust
//! `sotto::Call` listening in this process; both report the same SAS and end well.
//!
//! Which library the C program links: `cargo test` builds this crate's library once, with all
//! its crate types, before it builds the test that depends on it, and puts the cdylib beside
//! the test binary (`<target dir>/<profile>/deps/libsotto_ffi.so`, without a hash in its name).
//! So the library found next to `current_exe()` is always the one built from the same source
//! and profile as this test, whatever `CARGO_TARGET_DIR`, profile or `--target` is in use, and
//! no cargo needs to run inside the test. The program links it dynamically with an rpath (the
//! static archive would need the platform's list of system libraries spelled out), and is
//! described to `CTool` by a pkg-config file written here, as an application would use it.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sotto::media::AudioInput;
use sotto::{Call, CallConfig, CallEvent, EndReason};
use sotto_testkit::CTool;

const SOURCE: &str = include_str!("../../../examples/c/call.c");
const HEADER: &str = include_str!("../include/sotto.h");

/// The directory holding the `libsotto_ffi` built for this test run.
fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let deps = exe.parent().expect("the test binary is in a directory");
    // `deps` for tests; the profile directory above it when `cargo build` put it there.
    let found = [deps, deps.parent().unwrap_or(deps)]
        .into_iter()
        .find(|dir| dir.join(shared_library_name()).exists())
        .map(Path::to_path_buf);
    found.unwrap_or_else(|| {
        panic!(
            "no {} beside {}; cargo builds it with this test",
            shared_library_name(),
            exe.display()
        )
    })
}

fn shared_library_name() -> String {
    format!(
        "{}sotto_ffi{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// Builds the C program; the binary's name covers the library it is bound to and the header.
fn build_c_program(work: &Path) -> PathBuf {
    let lib = library_dir();
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("include");
    let pc_dir = work.join("pkgconfig");
    std::fs::create_dir_all(&pc_dir).expect("pkg-config dir");
    std::fs::write(
        pc_dir.join("sotto-ffi.pc"),
        format!(
            "Name: sotto-ffi\nDescription: sotto's C interface\nVersion: 0.1.0\n\
             Cflags: -I{}\nLibs: -L{lib} -Wl,-rpath,{lib} -lsotto_ffi\n",
            include.display(),
            lib = lib.display()
        ),
    )
    .expect("sotto-ffi.pc");
    let search = match std::env::var("PKG_CONFIG_PATH") {
        Ok(old) if !old.is_empty() => format!("{}:{old}", pc_dir.display()),
        _ => pc_dir.display().to_string(),
    };
    // The only test in this binary, and nothing else runs yet: no thread reads the environment.
    std::env::set_var("PKG_CONFIG_PATH", search);
    let name = format!(
        "call-{:016x}",
        fnv1a(format!("{HEADER}{}", lib.display()).as_bytes())
    );
    CTool {
        name: &name,
        source: SOURCE,
        pkg_config: &["sotto-ffi"],
        install_hint: "install a C compiler and pkg-config",
    }
    .build(&work.join("bin"))
    .unwrap_or_else(|e| panic!("{e}"))
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn ended_well(reason: &EndReason) -> bool {
    matches!(
        reason,
        EndReason::HungUp | EndReason::DurationReached | EndReason::PeerHungUp
    )
}

#[test]
fn the_c_example_calls_the_rust_engine_and_both_see_the_same_sas() {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sotto-ffi-c-call");
    let program = build_c_program(&work);
    let caches = work.join(format!("caches-{}", std::process::id()));
    std::fs::create_dir_all(&caches).expect("cache dir");

    let bind: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let mut config = CallConfig::new(bind, None, caches.join("rust.sqlite"));
    config.audio_in = AudioInput::Tone;
    config.duration = Some(Duration::from_secs(2));
    let listener = Call::start(config).expect("the rust listener starts");
    let port = listener.local_addr().port();

    let mut child = Command::new(&program)
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

    let status = loop {
        if let Some(status) = child.try_wait().expect("the C program's status") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the C program did not end within 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut stdout)
        .expect("its output");
    child
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut stderr)
        .expect("its errors");
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
