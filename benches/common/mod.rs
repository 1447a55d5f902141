//! Setup shared by the audio benches: speech frames from fixtures/speech.wav and allocation
//! counting through an instrumented global allocator.

use std::alloc::System;
use std::path::Path;

use sotto_media::{AudioSource, WavSource};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Samples in one 20 ms frame at 48 kHz.
pub const FRAME: usize = 960;

/// fixtures/speech.wav as whole 20 ms frames of 48 kHz mono (a partial last frame is dropped).
pub fn speech_frames() -> Vec<Vec<i16>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/speech.wav");
    let mut source = WavSource::open(&path).expect("fixtures/speech.wav opens");
    let mut frames = Vec::new();
    loop {
        let mut frame = vec![0i16; FRAME];
        if source.read(&mut frame).expect("fixture reads") < FRAME {
            break;
        }
        frames.push(frame);
    }
    frames
}

/// Runs `work` 100 times (one frame each) and prints the allocations per frame under `label`.
pub fn allocations(label: &str, mut work: impl FnMut()) {
    let region = Region::new(GLOBAL);
    for _ in 0..100 {
        work();
    }
    println!(
        "{label}: {:.2} allocations per frame",
        region.change().allocations as f64 / 100.0
    );
}
