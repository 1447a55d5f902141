//! sotto-zrtp: a sans-IO implementation of ZRTP (RFC 6189), the media-path key agreement that
//! gives two endpoints SRTP keys no server knows and a Short Authentication String (SAS) that
//! exposes a man in the middle.
#![deny(missing_docs)]

pub mod algo;
pub mod cache;
pub mod crypto;
mod error;
mod secret;
pub mod session;
pub mod wire;

pub use algo::{AlgoId, AuthTag, CipherAlgorithm, HashAlgorithm, KeyAgreement, SasType};
pub use error::{Error, ErrorCode};
pub use secret::{RetainedSecret, SecretBytes};
pub use session::{
    Algorithms, Event, Input, MultistreamKey, Output, Role, RolePolicy, SecureInfo, Session,
    SessionConfig, SrtpSecrets,
};

/// A ZRTP endpoint identifier: 96 random bits, fixed for an installation and kept in its cache.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Zid(pub [u8; 12]);

impl core::fmt::Debug for Zid {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Zid(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}
