//! Ctrl-C as a flag: the handler only sets it, and each command's loop polls it and hangs up
//! cleanly (the handler runs on its own thread, where a `Call` is out of reach).

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Installs the Ctrl-C (SIGINT/SIGTERM) handler. If that fails, Ctrl-C still stops the process,
/// only less gracefully, so this warns and carries on.
pub fn install() {
    if let Err(e) = ctrlc::set_handler(|| REQUESTED.store(true, Ordering::SeqCst)) {
        eprintln!("warning: Ctrl-C will not hang up cleanly: {e}");
    }
}

/// Whether Ctrl-C was pressed.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
