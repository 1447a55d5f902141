//! sotto-rt: the real-time plumbing of a call's audio path.
//!
//! - [`audio_ring`]: lock-free SPSC rings of i16 samples between the audio device callbacks and
//!   the codec threads, with overruns and underruns counted in shared [`RingCounters`].
//! - [`jitter_buffer`]: a lock-free, non-allocating adaptive jitter buffer between the network
//!   thread ([`JitterInput`]) and playout ([`JitterOutput`]) that reorders, drops duplicates and
//!   late packets, and adapts its target delay to measured jitter (NetEQ-style).
//!
//! Methods named `*_rt` may run on an audio callback: they never allocate, lock, make syscalls,
//! loop without bound or panic (tests run them under `assert_no_alloc`). All memory is taken
//! when a ring or buffer is created. Nothing here reads a clock: time comes in as `arrival` and
//! `now`, so the same code runs on a virtual clock in tests.
//!
//! The driver loop on the playout side, once per frame period:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use sotto_rt::{audio_ring, jitter_buffer, JitterConfig, Playout};
//!
//! let (mut net, mut playout) = jitter_buffer(JitterConfig::default());
//! let (mut to_speaker, mut speaker) = audio_ring(4 * 960);
//! let t0 = Instant::now();
//! // Network thread: after SRTP unprotect, hand over the Opus payload.
//! net.push(7, 7 * 960, t0, &[0xfc, 0xff, 0xfe]).expect("ring has room");
//! // Playout thread, every 20 ms:
//! let mut pcm = [0i16; 960];
//! match playout.pop_rt(t0 + Duration::from_millis(20)) {
//!     Playout::Frame(_opus) => { /* decode into pcm */ }
//!     Playout::Lost { next: Some(_fec) } => { /* decode FEC of the next packet into pcm */ }
//!     Playout::Lost { next: None } => { /* decoder PLC into pcm */ }
//!     Playout::Empty => { /* silence or comfort noise */ }
//! }
//! to_speaker.push_rt(&pcm);
//! // Device callback:
//! let mut out = [0i16; 480];
//! speaker.pop_or_silence_rt(&mut out);
//! assert_eq!(playout.stats().played, 1);
//! ```
//!
//! Concurrency: the lock-free handoffs are [`rtrb`]'s SPSC rings (a jitter packet is one
//! multi-slot chunk committed at once); this crate adds no atomic protocol of its own beyond
//! relaxed, monotonic counters. Those counters are model-checked with loom (`tests/loom.rs`,
//! run with `RUSTFLAGS="--cfg loom"`); rtrb's internals are rtrb's to verify and are not
//! loom-tested here.
#![deny(missing_docs)]

mod delay;
mod error;
pub mod jitter;
pub mod ring;
mod sync;

pub use error::JitterFull;
pub use jitter::{jitter_buffer, JitterConfig, JitterInput, JitterOutput, JitterStats, Playout};
pub use ring::{audio_ring, AudioConsumer, AudioProducer, RingCounters, RingCountersSnapshot};
