//! Test support shared by sotto's crates. The interop tests drive real peers (bzrtp, libsrtp2)
//! through small C programs linked against Debian's libraries; this builds them.
#![deny(missing_docs)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// A C program compiled against system libraries found by pkg-config.
#[derive(Debug, Clone, Copy)]
pub struct CTool<'a> {
    /// Base name of the binary, e.g. `"bzrtp_peer"`.
    pub name: &'a str,
    /// The C source.
    pub source: &'a str,
    /// pkg-config package names to compile and link with.
    pub pkg_config: &'a [&'a str],
    /// What to tell the user when the libraries are missing.
    pub install_hint: &'a str,
}

impl CTool<'_> {
    /// Compiles the program into `dir` unless a binary of this exact source is already there
    /// (its name carries a hash of the source). Safe when several test binaries build at once:
    /// each compiles to a unique name, then renames into place atomically.
    pub fn build(&self, dir: &Path) -> Result<PathBuf, String> {
        let hint = self.install_hint;
        let name = format!("{}-{:016x}", self.name, fnv1a(self.source.as_bytes()));
        let binary = dir.join(&name);
        if binary.exists() {
            return Ok(binary);
        }
        let pkg = Command::new("pkg-config")
            .args(["--cflags", "--libs"])
            .args(self.pkg_config)
            .output()
            .map_err(|e| format!("cannot run pkg-config ({e}): {hint}"))?;
        if !pkg.status.success() {
            return Err(format!(
                "{} not found by pkg-config ({}): {hint}",
                self.pkg_config.join(", "),
                String::from_utf8_lossy(&pkg.stderr).trim()
            ));
        }
        let flags = String::from_utf8_lossy(&pkg.stdout).into_owned();
        let unique = format!("{name}.{}", std::process::id());
        let source = dir.join(format!("{unique}.c"));
        let partial = dir.join(format!("{unique}.partial"));
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        fs::write(&source, self.source)
            .map_err(|e| format!("cannot write {}: {e}", source.display()))?;
        let cc = Command::new("cc")
            .args(["-O2", "-Wall", "-o"])
            .arg(&partial)
            .arg(&source)
            .args(flags.split_whitespace())
            .output();
        let _ = fs::remove_file(&source);
        let cc = cc.map_err(|e| format!("cannot run cc ({e}): install a C compiler"))?;
        if !cc.status.success() {
            return Err(format!(
                "compiling {}.c failed:\n{}\n{hint}",
                self.name,
                String::from_utf8_lossy(&cc.stderr)
            ));
        }
        fs::rename(&partial, &binary)
            .map_err(|e| format!("cannot install {}: {e}", binary.display()))?;
        Ok(binary)
    }
}

/// A fresh file path `dir/<pid>-<n>.<ext>` for this process (logs, scratch input).
pub fn scratch_path(dir: &Path, ext: &str) -> std::io::Result<PathBuf> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    fs::create_dir_all(dir)?;
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    Ok(dir.join(format!("{}-{n}.{ext}", std::process::id())))
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_library_names_the_hint() {
        let tool = CTool {
            name: "nothing",
            source: "int main(void) { return 0; }",
            pkg_config: &["sotto-no-such-package"],
            install_hint: "run .ci/setup",
        };
        let err = tool
            .build(&std::env::temp_dir())
            .expect_err("no such package");
        assert!(
            err.contains("sotto-no-such-package") && err.contains("run .ci/setup"),
            "{err}"
        );
    }

    #[test]
    fn the_source_hash_names_the_binary() {
        assert_ne!(
            fnv1a(b"int main(void){return 0;}"),
            fnv1a(b"int main(void){return 1;}")
        );
    }
}
