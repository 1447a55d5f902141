//! What the unit tests of several modules share.

use std::time::Instant;

/// An origin for virtual time; only differences between instants matter.
pub(crate) fn base() -> Instant {
    #[allow(
        clippy::disallowed_methods,
        reason = "an origin for virtual time, never read again"
    )]
    Instant::now()
}
