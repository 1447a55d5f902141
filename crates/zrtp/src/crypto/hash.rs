//! Hashes and HMACs: SHA-256 for the hash chain and message MACs, and the negotiated hash
//! (SHA-256 or SHA-384) for total_hash, hvi, s0, the KDF and the Confirm MAC.

use core::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest as _, Sha256, Sha384};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::algo::HashAlgorithm;

/// Largest output of a negotiable hash (SHA-384).
const MAX_LEN: usize = 48;

/// The output of the negotiated hash or HMAC: 32 bytes for S256, 48 for S384.
///
/// Some digests are key material (s0, KDF output), so the bytes are zeroized on drop, `Debug`
/// shows only the length, and equality is constant time (hash commitments, MACs).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Digest {
    bytes: [u8; MAX_LEN],
    len: u8,
}

impl Digest {
    fn from_slice(bytes: &[u8]) -> Self {
        let mut out = [0u8; MAX_LEN];
        let len = bytes.len().min(MAX_LEN);
        out[..len].copy_from_slice(&bytes[..len]);
        Self {
            bytes: out,
            len: len as u8,
        }
    }
}

impl AsRef<[u8]> for Digest {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({} bytes)", self.len)
    }
}

impl PartialEq for Digest {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && bool::from(self.as_ref().ct_eq(other.as_ref()))
    }
}

impl Eq for Digest {}

/// SHA-256 over the concatenation of `parts`: the hash chain H0..H3, which is SHA-256 whatever
/// hash is negotiated.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// HMAC-SHA-256 truncated to 64 bits: the MAC of Hello, Commit and DHPart, keyed by the next
/// hash chain element (H2, H1, H0).
pub fn hmac_sha256_64(key: &[u8], data: &[u8]) -> [u8; 8] {
    let mut full = [0u8; 32];
    hmac_into(HashAlgorithm::S256, key, &[data], &mut full);
    let mut out = [0u8; 8];
    out.copy_from_slice(&full[..8]);
    full.zeroize();
    out
}

/// Writes the HMAC of the concatenated `parts` into `out`, truncated to `out.len()` bytes (at
/// most the hash length), and wipes the untruncated tag.
pub(crate) fn hmac_into(hash: HashAlgorithm, key: &[u8], parts: &[&[u8]], out: &mut [u8]) {
    fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]], out: &mut [u8]) {
        // HMAC takes keys of any length (long ones are hashed first), so this cannot fail.
        let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key)
            .expect("hmac accepts keys of any length");
        for p in parts {
            mac.update(p);
        }
        let mut tag = mac.finalize().into_bytes();
        let n = out.len().min(tag.len());
        out[..n].copy_from_slice(&tag[..n]);
        tag.zeroize();
    }
    match hash {
        HashAlgorithm::S256 => run::<Hmac<Sha256>>(key, parts, out),
        HashAlgorithm::S384 => run::<Hmac<Sha384>>(key, parts, out),
    }
}

impl HashAlgorithm {
    /// The negotiated hash over the concatenation of `parts` (total_hash, hvi, s0).
    pub fn hash(self, parts: &[&[u8]]) -> Digest {
        fn run<D: sha2::Digest>(parts: &[&[u8]]) -> Digest {
            let mut h = D::new();
            for p in parts {
                h.update(p);
            }
            let mut out = h.finalize();
            let d = Digest::from_slice(&out);
            out.zeroize();
            d
        }
        match self {
            HashAlgorithm::S256 => run::<Sha256>(parts),
            HashAlgorithm::S384 => run::<Sha384>(parts),
        }
    }

    /// The negotiated HMAC over the concatenation of `parts` (KDF, Confirm MAC, rs IDs).
    pub fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Digest {
        let mut out = [0u8; MAX_LEN];
        let len = self.output_len();
        hmac_into(self, key, parts, &mut out[..len]);
        let d = Digest::from_slice(&out[..len]);
        out.zeroize();
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::hex;

    // FIPS 180-2 appendix B.1 / D.1: "abc".
    #[test]
    fn sha_vectors() {
        let abc = sha256(&[b"a", b"", b"bc"]);
        assert_eq!(
            abc.to_vec(),
            hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(HashAlgorithm::S256.hash(&[b"ab", b"c"]).as_ref(), &abc[..]);
        assert_eq!(
            HashAlgorithm::S384.hash(&[b"abc"]).as_ref(),
            &hex(
                "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed\
                 8086072ba1e7cc2358baeca134c825a7"
            )[..]
        );
    }

    // RFC 4231 test case 2 (key "Jefe").
    #[test]
    fn hmac_vectors() {
        let data: &[u8] = b"what do ya want for nothing?";
        let t256 = hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        let t384 = hex(
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e\
             8e2240ca5e69e2c78b3239ecfab21649",
        );
        assert_eq!(
            HashAlgorithm::S256
                .hmac(b"Jefe", &[&data[..4], &data[4..]])
                .as_ref(),
            &t256[..]
        );
        assert_eq!(
            HashAlgorithm::S384.hmac(b"Jefe", &[data]).as_ref(),
            &t384[..]
        );
        assert_eq!(hmac_sha256_64(b"Jefe", data)[..], t256[..8]);
    }

    #[test]
    fn digest_eq_and_debug() {
        let a = HashAlgorithm::S256.hash(&[b"x"]);
        let b = HashAlgorithm::S256.hash(&[b"y"]);
        assert_eq!(a, a.clone());
        assert_ne!(a, b);
        // Same prefix but different length must not compare equal.
        assert_ne!(Digest::from_slice(&a.as_ref()[..16]), a);
        let text = format!("{a:?}");
        assert_eq!(text, "Digest(32 bytes)");
    }
}
