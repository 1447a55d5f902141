//! The retained-secret cache (RFC 6189 sections 4.6.1 and 4.9): this endpoint's own ZID and, per
//! peer ZID, the retained secrets rs1 (newest) and rs2 (previous) plus the SAS-verified flag.
//!
//! [`ZidCache`] is the interface the state machine uses (as `Arc<dyn ZidCache>`);
//! [`SqliteCache`] keeps it in a SQLite file that survives restarts and crashes, and
//! [`MemoryCache`] keeps it in memory for tests and for callers that want no persistence.

mod memory;
mod sqlite;

pub use memory::MemoryCache;
pub use sqlite::SqliteCache;

use crate::{Error, RetainedSecret, Zid};

/// What is retained about one peer between calls.
///
/// `Debug` shows only whether each secret is present, never its bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheEntry {
    /// The newest retained secret.
    pub rs1: Option<RetainedSecret>,
    /// The previous retained secret, kept so a call whose rs1 update was lost still matches.
    pub rs2: Option<RetainedSecret>,
    /// The users compared the SAS and confirmed it (RFC 6189 section 7.1).
    pub sas_verified: bool,
}

/// Storage for this endpoint's ZID and the per-peer retained secrets.
///
/// Implementations are shared between calls (`Send + Sync`) and every method is atomic: a
/// failure leaves the stored state as it was.
pub trait ZidCache: Send + Sync + core::fmt::Debug {
    /// This endpoint's own ZID; created from `rng` and persisted on first use, the same ever after.
    fn self_zid(&self, rng: &mut dyn rand_core::RngCore) -> Result<Zid, Error>;

    /// The retained secrets for a peer, if any.
    fn load(&self, peer: &Zid) -> Result<Option<CacheEntry>, Error>;

    /// Replace the peer's entry atomically (all or nothing).
    fn store(&self, peer: &Zid, entry: &CacheEntry) -> Result<(), Error>;

    /// Set or clear the SAS-verified flag for a peer.
    ///
    /// The flag qualifies the peer's retained secrets, so for a peer without an entry this
    /// stores nothing and returns `Ok(())`: call [`ZidCache::store`] first.
    fn set_sas_verified(&self, peer: &Zid, verified: bool) -> Result<(), Error>;
}
