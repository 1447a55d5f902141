//! `include/sotto.h` is what cbindgen makes of the crate today.
//!
//! The header is generated here rather than in a build script: a build script would run
//! cbindgen (and its parser) in every build of every program that links sotto-ffi, and would
//! write into the source tree while building, which packaged builds forbid. Instead the header
//! is committed, so a C program needs nothing but a C compiler, and this test fails when it no
//! longer matches the Rust source. `SOTTO_BLESS=1` rewrites it.

use std::path::Path;

#[test]
fn the_committed_header_is_current() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("crates/ffi/cbindgen.toml is readable");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen understands the crate")
        .write(&mut generated);
    let generated = String::from_utf8(generated).expect("the header is UTF-8");
    let path = crate_dir.join("include/sotto.h");
    if std::env::var_os("SOTTO_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("include/sotto.h is writable");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/sotto.h is out of date with the Rust source; regenerate it with \
         `SOTTO_BLESS=1 cargo test -p sotto-ffi --test header` and commit it"
    );
}
