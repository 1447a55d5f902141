//! Retained secrets for one peer and the matching of their IDs (RFC 6189 section 4.3).

use rand_core::RngCore;
use subtle::ConstantTimeEq;

use super::Role;
use crate::algo::HashAlgorithm;
use crate::cache::CacheEntry;
use crate::wire::DhPart;
use crate::RetainedSecret;

/// Retained-secret matching outcome for one exchange (RFC 6189 section 4.3).
pub(super) struct SecretMatch {
    pub(super) s1: Option<RetainedSecret>,
    pub(super) cache_mismatch: bool,
}

/// Our retained secrets for this peer, and their IDs as both roles compute them.
pub(super) struct RetainedIds {
    pub(super) entry: CacheEntry,
    rs1_i: [u8; 8],
    rs1_r: [u8; 8],
    rs2_i: [u8; 8],
    rs2_r: [u8; 8],
    aux_i: [u8; 8],
    aux_r: [u8; 8],
    pbx_i: [u8; 8],
    pbx_r: [u8; 8],
}

impl RetainedIds {
    pub(super) fn new(entry: CacheEntry, hash: HashAlgorithm, rng: &mut impl RngCore) -> Self {
        let mut id = |secret: Option<&RetainedSecret>, label: &[u8]| {
            let mut out = [0u8; 8];
            match secret {
                Some(s) => {
                    out.copy_from_slice(&hash.hmac(s.expose_secret(), &[label]).as_ref()[..8])
                }
                None => rng.fill_bytes(&mut out),
            }
            out
        };
        let (rs1_i, rs1_r) = (
            id(entry.rs1.as_ref(), b"Initiator"),
            id(entry.rs1.as_ref(), b"Responder"),
        );
        let (rs2_i, rs2_r) = (
            id(entry.rs2.as_ref(), b"Initiator"),
            id(entry.rs2.as_ref(), b"Responder"),
        );
        // sotto keeps no auxiliary or PBX secrets: their IDs are random (RFC 6189 section 4.3).
        let (aux_i, aux_r, pbx_i, pbx_r) =
            (id(None, b""), id(None, b""), id(None, b""), id(None, b""));
        RetainedIds {
            entry,
            rs1_i,
            rs1_r,
            rs2_i,
            rs2_r,
            aux_i,
            aux_r,
            pbx_i,
            pbx_r,
        }
    }

    /// The IDs we put in our DHPart as `role`.
    pub(super) fn ours(&self, role: Role) -> ([u8; 8], [u8; 8], [u8; 8], [u8; 8]) {
        match role {
            Role::Initiator => (self.rs1_i, self.rs2_i, self.aux_i, self.pbx_i),
            Role::Responder => (self.rs1_r, self.rs2_r, self.aux_r, self.pbx_r),
        }
    }

    /// Matches the peer's DHPart IDs against our secrets. The initiator's rs1 takes priority,
    /// so both ends pick the same s1 whichever of the four pairs matches.
    pub(super) fn match_peer(&self, role: Role, peer: &DhPart) -> SecretMatch {
        let eq = |a: &[u8; 8], b: &[u8; 8]| bool::from(a.ct_eq(b));
        let (rs1, rs2) = (self.entry.rs1.as_ref(), self.entry.rs2.as_ref());
        let s1 = match role {
            Role::Initiator => {
                // Peer IDs were computed as responder: compare our responder-labelled IDs.
                let hit = |mine: &[u8; 8]| eq(mine, &peer.rs1_id) || eq(mine, &peer.rs2_id);
                if rs1.is_some() && hit(&self.rs1_r) {
                    rs1
                } else if rs2.is_some() && hit(&self.rs2_r) {
                    rs2
                } else {
                    None
                }
            }
            Role::Responder => {
                if rs1.is_some() && eq(&self.rs1_i, &peer.rs1_id) {
                    rs1
                } else if rs2.is_some() && eq(&self.rs2_i, &peer.rs1_id) {
                    rs2
                } else if rs1.is_some() && eq(&self.rs1_i, &peer.rs2_id) {
                    rs1
                } else if rs2.is_some() && eq(&self.rs2_i, &peer.rs2_id) {
                    rs2
                } else {
                    None
                }
            }
        };
        SecretMatch {
            s1: s1.cloned(),
            cache_mismatch: s1.is_none() && rs1.is_some(),
        }
    }
}
