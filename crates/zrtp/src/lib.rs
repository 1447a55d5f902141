//! sotto-zrtp: a sans-IO implementation of ZRTP (RFC 6189), the media-path key agreement that
//! gives two endpoints SRTP keys no server knows and a Short Authentication String (SAS) that
//! exposes a man in the middle.
//!
//! A [`Session`] never touches a socket or a clock. Its driver loop: feed each received datagram
//! (or an expired deadline) through [`Session::handle_input`], then drain
//! [`Session::poll_output`] until it yields [`Output::Timeout`], sending every
//! [`Output::Transmit`] to the peer. Here two sessions talk directly, in memory:
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Instant;
//! use sotto_zrtp::cache::MemoryCache;
//! use sotto_zrtp::{Event, Input, Output, Session, SessionConfig};
//!
//! let now = Instant::now();
//! let mut rng = rand_core::OsRng;
//! let mut alice = Session::new(SessionConfig::default(), Arc::new(MemoryCache::new()), &mut rng, now)?;
//! let mut bob = Session::new(SessionConfig::default(), Arc::new(MemoryCache::new()), &mut rng, now)?;
//! /// Drains `from`, handing its datagrams to `to`; returns the SAS once `from` is secure.
//! fn pump(from: &mut Session, to: &mut Session, now: Instant) -> Option<String> {
//!     let mut sas = None;
//!     loop {
//!         match from.poll_output() {
//!             // A real driver sends this over UDP; a dropped packet is simply an Err here.
//!             Output::Transmit(datagram) => {
//!                 let _ = to.handle_input(Input::Receive { now, packet: &datagram });
//!             }
//!             Output::Event(Event::Secure(info)) => sas = info.sas.clone(),
//!             Output::Event(event) => panic!("{event:?}"),
//!             Output::Timeout(_deadline) => return sas,
//!         }
//!     }
//! }
//! let (mut sas_alice, mut sas_bob) = (None, None);
//! while sas_alice.is_none() || sas_bob.is_none() {
//!     sas_alice = pump(&mut alice, &mut bob, now).or(sas_alice);
//!     sas_bob = pump(&mut bob, &mut alice, now).or(sas_bob);
//! }
//! assert_eq!(sas_alice, sas_bob);
//! println!("read this aloud: {}", sas_alice.unwrap_or_default());
//! # Ok::<(), sotto_zrtp::Error>(())
//! ```
//!
//! When the call is set up through signaling (an SDP offer and answer), bind the media path to
//! it (RFC 6189 section 8.1): put `a=zrtp-hash:{session.hello_hash()}` in the SDP and hand the
//! peer's value to [`SessionConfig::peer_hello_hash`] or, if it arrives later, to
//! [`Session::set_peer_hello_hash`]. A Hello that does not match is refused and reported as
//! [`Event::HelloHashMismatch`].
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
    Algorithms, Event, HelloHash, Input, MultistreamKey, Output, Role, RolePolicy, SecureInfo,
    Session, SessionConfig, SrtpSecrets,
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
