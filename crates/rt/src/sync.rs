//! The atomics this crate's own counters use: std's, or loom's when built with `--cfg loom` so
//! the model tests in `tests/loom.rs` explore every interleaving of the counter protocol.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU64, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::Arc;

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU64, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;
