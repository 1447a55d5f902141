//! Builds the C examples against the `libsotto_ffi` of this test run, for the tests that run
//! them.
//!
//! Which library a C program links: `cargo test` builds this crate's library once, with all
//! its crate types, before it builds the tests that depend on it, and puts the cdylib beside
//! the test binaries (`<target dir>/<profile>/deps/libsotto_ffi.so`, without a hash in its
//! name). So the library found next to `current_exe()` is always the one built from the same
//! source and profile as the test, whatever `CARGO_TARGET_DIR`, profile or `--target` is in
//! use, and no cargo needs to run inside a test. A program links it dynamically with an rpath
//! (the static archive would need the platform's list of system libraries spelled out), and
//! is described to `CTool` by a pkg-config file written here, as an application would use it.

use std::path::{Path, PathBuf};

use sotto_testkit::CTool;

const HEADER: &str = include_str!("../../include/sotto.h");

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

/// Builds the C program `source` into `work/bin`; the binary's name covers the library it is
/// bound to and the header, so a change to either builds it again.
///
/// Sets `PKG_CONFIG_PATH` for the compiler run: call it before the test starts any thread
/// that reads the environment, and from the only test of its binary.
pub fn build_c_program(work: &Path, name: &str, source: &str) -> PathBuf {
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
    std::env::set_var("PKG_CONFIG_PATH", search);
    let name = format!(
        "{name}-{:016x}",
        fnv1a(format!("{HEADER}{}", lib.display()).as_bytes())
    );
    CTool {
        name: &name,
        source,
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

/// A command running `program` with this run's library: first in the loader's search path, as
/// the test runner's own search path (which the loader honours before a RUNPATH) may name a
/// directory holding an older build of it.
pub fn command(program: &Path) -> std::process::Command {
    let var = if cfg!(target_os = "macos") {
        "DYLD_LIBRARY_PATH"
    } else {
        "LD_LIBRARY_PATH"
    };
    let lib = library_dir();
    let search = match std::env::var_os(var) {
        Some(old) if !old.is_empty() => {
            let mut paths = vec![lib];
            paths.extend(std::env::split_paths(&old));
            std::env::join_paths(paths).expect("library paths without separators")
        }
        _ => lib.into_os_string(),
    };
    let mut command = std::process::Command::new(program);
    command.env(var, search);
    command
}

/// Output of a finished C program.
pub struct Finished {
    /// How it exited.
    pub status: std::process::ExitStatus,
    /// What it printed.
    pub stdout: String,
    /// What it printed to stderr.
    pub stderr: String,
}

/// Waits for `child` (its output piped) until `deadline`; kills it after that and fails,
/// showing what it printed.
pub fn wait_for(mut child: std::process::Child, deadline: std::time::Instant) -> Finished {
    use std::io::Read;
    let status = loop {
        if let Some(status) = child.try_wait().expect("the C program's status") {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
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
    let Some(status) = status else {
        panic!("the C program did not end in time:\n{stdout}\n{stderr}");
    };
    Finished {
        status,
        stdout,
        stderr,
    }
}
