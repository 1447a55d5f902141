//! The crate's error type and the RFC 6189 section 5.9 error codes it maps to.

use std::path::PathBuf;

use crate::algo::AlgoId;

/// Everything that can go wrong in sotto-zrtp, grouped as: the peer misbehaved, the peer is
/// incompatible, the API was misused, the cache failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // -- the peer misbehaved (or an attacker sent this) --
    /// The packet is not well-formed ZRTP.
    #[error("malformed zrtp packet: {0}")]
    Malformed(&'static str),
    /// The CRC-32C does not match: damaged in transit, dropped silently.
    #[error("zrtp packet crc mismatch")]
    BadCrc,
    /// A hash image does not hash to the one committed earlier.
    #[error("zrtp hash chain preimage does not match")]
    HashChainMismatch,
    /// A message MAC (keyed by the hash chain) does not verify.
    #[error("zrtp message mac does not verify")]
    BadMessageMac,
    /// The Confirm MAC does not verify.
    #[error("zrtp confirm mac does not verify")]
    BadConfirmMac,
    /// The DHPart2 does not match the hvi committed in Commit.
    #[error("zrtp dhpart2 does not match the commitment hvi")]
    BadHvi,
    /// A Diffie-Hellman public value is invalid (0, 1, p-1, off the curve, low order).
    #[error("zrtp key agreement public value is invalid")]
    BadPublicValue,
    /// A Multistream nonce was used twice.
    #[error("zrtp nonce reuse")]
    NonceReuse,
    /// The peer's Hello carries our own ZID: most likely two endpoints sharing one cache.
    #[error("the peer's zid is our own: {}", same_cache!())]
    EqualZids,
    /// A message arrived that has no place in the current state.
    #[error("unexpected zrtp message {0} in this state")]
    Unexpected(&'static str),
    // -- the peer is incompatible --
    /// The peer speaks a ZRTP version other than 1.1x.
    #[error("unsupported zrtp version")]
    UnsupportedVersion,
    /// The Hello changed between retransmissions.
    #[error("peer hello changed")]
    HelloMismatch,
    /// No shared or committed hash algorithm.
    #[error("hash algorithm {0} not supported")]
    UnsupportedHash(AlgoId),
    /// No shared or committed cipher.
    #[error("cipher {0} not supported")]
    UnsupportedCipher(AlgoId),
    /// No shared or committed key agreement.
    #[error("key agreement {0} not supported")]
    UnsupportedKeyAgreement(AlgoId),
    /// No shared or committed SRTP auth tag type.
    #[error("srtp auth tag {0} not supported")]
    UnsupportedAuthTag(AlgoId),
    /// No shared or committed SAS rendering.
    #[error("sas type {0} not supported")]
    UnsupportedSasType(AlgoId),
    /// Multistream or preshared mode without the secret it needs.
    #[error("no shared secret available, diffie-hellman mode required")]
    NoSharedSecret,
    /// A peer's Hello was refused (incompatible version or algorithms, our own ZID); the
    /// packet is dropped and the session keeps waiting for an acceptable one.
    #[error("refused a hello: {0}")]
    HelloRefused(String),
    /// The only peer that answered cannot talk to us; `0` says why.
    #[error("the peer is incompatible: {0}")]
    PeerIncompatible(Box<Error>),
    /// The peer asked to go clear; sotto never does.
    #[error("peer asked to go clear; refused")]
    GoClearRefused,
    /// The peer sent an Error message.
    #[error("peer reported zrtp error {0}")]
    PeerError(ErrorCode),
    /// Retransmissions ran out.
    #[error("zrtp protocol timeout: the peer stopped answering")]
    Timeout,
    // -- the API was misused --
    /// An algorithm name that sotto does not implement.
    #[error("unknown algorithm {0:?}; use one of the RFC 6189 names such as S256, AES1, HS80, X255, DH3k, B32")]
    UnknownAlgorithm(String),
    /// A configuration that cannot work.
    #[error("invalid zrtp configuration: {0}")]
    InvalidConfig(&'static str),
    /// A command that does not fit the current state.
    #[error("not possible in this state: {0}")]
    WrongState(&'static str),
    // -- the cache failed --
    /// The ZID cache could not be read or written.
    #[error("zid cache {path}: {reason}")]
    Cache {
        /// The cache file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The ZID cache file exists but is not a sotto cache or is damaged.
    #[error(
        "zid cache {path} is corrupt ({reason}); move it aside to start over with a new identity"
    )]
    CacheCorrupt {
        /// The cache file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// Why two endpoints have one ZID, said by both sides of it (ours and the peer's Error 0x90).
macro_rules! same_cache {
    () => {
        "both ends use the same zid cache; two endpoints on one machine need a cache each"
    };
}
use same_cache;

/// An RFC 6189 section 5.9 error code, as carried by the Error message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub u32);

impl ErrorCode {
    /// Malformed packet (CRC OK, but wrong structure).
    pub const MALFORMED: ErrorCode = ErrorCode(0x10);
    /// Critical software error.
    pub const SOFTWARE: ErrorCode = ErrorCode(0x20);
    /// Unsupported ZRTP version.
    pub const UNSUPPORTED_VERSION: ErrorCode = ErrorCode(0x30);
    /// Hello components mismatch.
    pub const HELLO_MISMATCH: ErrorCode = ErrorCode(0x40);
    /// Hash type not supported.
    pub const HASH_UNSUPPORTED: ErrorCode = ErrorCode(0x51);
    /// Cipher type not supported.
    pub const CIPHER_UNSUPPORTED: ErrorCode = ErrorCode(0x52);
    /// Public key exchange not supported.
    pub const KEY_AGREEMENT_UNSUPPORTED: ErrorCode = ErrorCode(0x53);
    /// SRTP auth tag not supported.
    pub const AUTH_TAG_UNSUPPORTED: ErrorCode = ErrorCode(0x54);
    /// SAS rendering scheme not supported.
    pub const SAS_UNSUPPORTED: ErrorCode = ErrorCode(0x55);
    /// No shared secret available, DH mode required.
    pub const NO_SHARED_SECRET: ErrorCode = ErrorCode(0x56);
    /// DH error: bad pvi or pvr (== 1, 0, or p-1).
    pub const BAD_PUBLIC_VALUE: ErrorCode = ErrorCode(0x61);
    /// DH error: hvi != hashed data.
    pub const BAD_HVI: ErrorCode = ErrorCode(0x62);
    /// Received relayed SAS from untrusted MiTM.
    pub const UNTRUSTED_MITM: ErrorCode = ErrorCode(0x63);
    /// Auth error: bad Confirm packet MAC.
    pub const BAD_CONFIRM_MAC: ErrorCode = ErrorCode(0x70);
    /// Nonce reuse.
    pub const NONCE_REUSE: ErrorCode = ErrorCode(0x80);
    /// Equal ZIDs in Hello.
    pub const EQUAL_ZIDS: ErrorCode = ErrorCode(0x90);
    /// SSRC collision.
    pub const SSRC_COLLISION: ErrorCode = ErrorCode(0x91);
    /// Service unavailable.
    pub const SERVICE_UNAVAILABLE: ErrorCode = ErrorCode(0xA0);
    /// Protocol timeout error.
    pub const TIMEOUT: ErrorCode = ErrorCode(0xB0);
    /// GoClear message received, but not allowed.
    pub const GOCLEAR_NOT_ALLOWED: ErrorCode = ErrorCode(0x100);

    /// What the code means (RFC 6189 section 5.9), `None` for a code the RFC does not define.
    pub fn meaning(self) -> Option<&'static str> {
        Some(match self {
            Self::MALFORMED => "malformed packet",
            Self::SOFTWARE => "critical software error",
            Self::UNSUPPORTED_VERSION => "unsupported zrtp version",
            Self::HELLO_MISMATCH => "hello components mismatch",
            Self::HASH_UNSUPPORTED => "hash type not supported",
            Self::CIPHER_UNSUPPORTED => "cipher type not supported",
            Self::KEY_AGREEMENT_UNSUPPORTED => "public key exchange not supported",
            Self::AUTH_TAG_UNSUPPORTED => "srtp auth tag not supported",
            Self::SAS_UNSUPPORTED => "sas rendering scheme not supported",
            Self::NO_SHARED_SECRET => "no shared secret available, dh mode required",
            Self::BAD_PUBLIC_VALUE => "bad dh public value",
            Self::BAD_HVI => "dh hvi does not match the hashed data",
            Self::UNTRUSTED_MITM => "relayed sas from an untrusted mitm",
            Self::BAD_CONFIRM_MAC => "bad confirm mac",
            Self::NONCE_REUSE => "nonce reuse",
            Self::EQUAL_ZIDS => concat!("equal zids in hello: ", same_cache!()),
            Self::SSRC_COLLISION => "ssrc collision",
            Self::SERVICE_UNAVAILABLE => "service unavailable",
            Self::TIMEOUT => "protocol timeout",
            Self::GOCLEAR_NOT_ALLOWED => "goclear not allowed",
            _ => return None,
        })
    }
}

impl core::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "0x{:x}", self.0)?;
        match self.meaning() {
            Some(meaning) => write!(f, " ({meaning})"),
            None => Ok(()),
        }
    }
}

impl From<&Error> for Option<ErrorCode> {
    /// The Error message to send for a local failure, or `None` when the RFC says to drop
    /// the packet silently (damaged or unauthenticated input must not change state).
    fn from(e: &Error) -> Self {
        Some(match e {
            Error::Malformed(_) => ErrorCode::MALFORMED,
            Error::BadConfirmMac => ErrorCode::BAD_CONFIRM_MAC,
            Error::BadHvi => ErrorCode::BAD_HVI,
            Error::BadPublicValue => ErrorCode::BAD_PUBLIC_VALUE,
            Error::NonceReuse => ErrorCode::NONCE_REUSE,
            Error::EqualZids => ErrorCode::EQUAL_ZIDS,
            Error::UnsupportedVersion => ErrorCode::UNSUPPORTED_VERSION,
            Error::HelloMismatch => ErrorCode::HELLO_MISMATCH,
            Error::UnsupportedHash(_) => ErrorCode::HASH_UNSUPPORTED,
            Error::UnsupportedCipher(_) => ErrorCode::CIPHER_UNSUPPORTED,
            Error::UnsupportedKeyAgreement(_) => ErrorCode::KEY_AGREEMENT_UNSUPPORTED,
            Error::UnsupportedAuthTag(_) => ErrorCode::AUTH_TAG_UNSUPPORTED,
            Error::UnsupportedSasType(_) => ErrorCode::SAS_UNSUPPORTED,
            Error::NoSharedSecret => ErrorCode::NO_SHARED_SECRET,
            Error::GoClearRefused => ErrorCode::GOCLEAR_NOT_ALLOWED,
            Error::Timeout => ErrorCode::TIMEOUT,
            Error::Cache { .. } | Error::CacheCorrupt { .. } => ErrorCode::SOFTWARE,
            Error::PeerIncompatible(inner) => return Option::<ErrorCode>::from(inner.as_ref()),
            Error::BadCrc
            | Error::HashChainMismatch
            | Error::BadMessageMac
            | Error::Unexpected(_)
            | Error::PeerError(_)
            | Error::HelloRefused(_)
            | Error::UnknownAlgorithm(_)
            | Error::InvalidConfig(_)
            | Error::WrongState(_) => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_read_as_the_rfc_names_them() {
        assert_eq!(
            ErrorCode::CIPHER_UNSUPPORTED.to_string(),
            "0x52 (cipher type not supported)"
        );
        // Both sides of one shared cache say what to do about it.
        let theirs = Error::PeerError(ErrorCode::EQUAL_ZIDS).to_string();
        let ours = Error::EqualZids.to_string();
        for said in [&theirs, &ours] {
            assert!(
                said.contains("two endpoints on one machine need a cache each"),
                "{said}"
            );
        }
        assert!(theirs.contains("0x90 (equal zids in hello"), "{theirs}");
        // A code the RFC does not define is shown as it came.
        assert_eq!(ErrorCode(0x77).to_string(), "0x77");
    }
}
