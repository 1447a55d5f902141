//! The in-memory cache.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{CacheEntry, ZidCache};
use crate::{Error, Zid};

/// A [`ZidCache`] held in memory: for tests and for callers that want nothing on disk. Its
/// own ZID and every retained secret are lost when it is dropped (the secrets zeroized).
#[derive(Default)]
pub struct MemoryCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    self_zid: Option<Zid>,
    peers: HashMap<Zid, CacheEntry>,
}

impl MemoryCache {
    /// An empty cache; the own ZID is created on the first [`ZidCache::self_zid`] call.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty cache whose own ZID is `zid`, for tests that need known identities.
    #[must_use]
    pub fn with_zid(zid: Zid) -> Self {
        Self {
            inner: Mutex::new(Inner {
                self_zid: Some(zid),
                peers: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update is a single assignment, so a panic elsewhere cannot leave it half done.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl core::fmt::Debug for MemoryCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let inner = self.lock();
        f.debug_struct("MemoryCache")
            .field("self_zid", &inner.self_zid)
            .field("peers", &inner.peers.len())
            .finish()
    }
}

impl ZidCache for MemoryCache {
    fn self_zid(&self, rng: &mut dyn rand_core::RngCore) -> Result<Zid, Error> {
        let mut inner = self.lock();
        Ok(*inner.self_zid.get_or_insert_with(|| {
            let mut zid = [0u8; 12];
            rng.fill_bytes(&mut zid);
            Zid(zid)
        }))
    }

    fn load(&self, peer: &Zid) -> Result<Option<CacheEntry>, Error> {
        Ok(self.lock().peers.get(peer).cloned())
    }

    fn store(&self, peer: &Zid, entry: &CacheEntry) -> Result<(), Error> {
        self.lock().peers.insert(*peer, entry.clone());
        Ok(())
    }

    fn set_sas_verified(&self, peer: &Zid, verified: bool) -> Result<(), Error> {
        if let Some(entry) = self.lock().peers.get_mut(peer) {
            entry.sas_verified = verified;
        }
        Ok(())
    }
}
