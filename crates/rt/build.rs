//! Declares the `loom` cfg so `--cfg loom` builds (the model tests) are not flagged as unknown.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(loom)");
}
