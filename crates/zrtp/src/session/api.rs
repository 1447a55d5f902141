//! The public face of a session: configuration, events, inputs and outputs.

use std::time::Instant;

use super::HelloHash;
use crate::algo::{AuthTag, CipherAlgorithm, HashAlgorithm, KeyAgreement, SasType};
use crate::{crypto, Error, SecretBytes, Zid};

/// Which end of the exchange this endpoint ended up as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Sent the Commit.
    Initiator,
    /// Answered the Commit.
    Responder,
}

impl core::fmt::Display for Role {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Role::Initiator => "initiator",
            Role::Responder => "responder",
        })
    }
}

/// How this endpoint takes part in choosing roles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RolePolicy {
    /// Commit once both Hellos are acknowledged; Commit contention settles a tie (RFC 6189 4.2).
    #[default]
    Auto,
    /// Commit as soon as the peer's Hello arrives, in place of HelloACK (RFC 6189 4.1).
    Initiator,
    /// Never Commit: wait for the peer's (a passive endpoint, RFC 6189 section 5.2).
    Responder,
}

/// What Multistream mode needs from an established session (RFC 6189 section 4.4.3).
#[derive(Clone, Debug)]
pub struct MultistreamKey {
    /// ZRTPSess of the session that keys this one.
    pub zrtp_sess: SecretBytes,
    /// The peer of that session; a Multistream Hello from another ZID is refused.
    pub peer_zid: Zid,
}

/// Algorithms and behaviour of one ZRTP session. Lists are in order of preference; the
/// algorithms RFC 6189 makes mandatory (S256, AES1, HS32, HS80, DH3k, B32) are appended when
/// missing, as every conforming endpoint must offer them.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// Hash algorithms.
    pub hashes: Vec<HashAlgorithm>,
    /// Ciphers.
    pub ciphers: Vec<CipherAlgorithm>,
    /// SRTP auth tags.
    pub auth_tags: Vec<AuthTag>,
    /// Key agreements (do not list `Mult`: set [`SessionConfig::multistream`] instead).
    pub key_agreements: Vec<KeyAgreement>,
    /// SAS renderings.
    pub sas_types: Vec<SasType>,
    /// Role policy.
    pub role: RolePolicy,
    /// SSRC in our ZRTP packet headers (the media stream's SSRC).
    pub ssrc: u32,
    /// Key this stream in Multistream mode from an established session.
    pub multistream: Option<MultistreamKey>,
    /// The peer's `a=zrtp-hash` from the signaling (RFC 6189 section 8.1). When set, a Hello
    /// that does not hash to it is refused and reported as [`Event::HelloHashMismatch`]; the
    /// session waits for one that does. It can also be set later, once the answer arrives,
    /// with [`Session::set_peer_hello_hash`](super::Session::set_peer_hello_hash).
    pub peer_hello_hash: Option<HelloHash>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            hashes: vec![HashAlgorithm::S256, HashAlgorithm::S384],
            ciphers: vec![CipherAlgorithm::Aes1, CipherAlgorithm::Aes3],
            auth_tags: vec![AuthTag::Hs80, AuthTag::Hs32],
            key_agreements: vec![KeyAgreement::X255, KeyAgreement::Dh3k],
            sas_types: vec![SasType::B32, SasType::B256],
            role: RolePolicy::Auto,
            ssrc: 0,
            multistream: None,
            peer_hello_hash: None,
        }
    }
}

impl SessionConfig {
    /// The lists as offered in our Hello: mandatory algorithms appended, duplicates removed.
    pub(super) fn effective(mut self) -> Result<Self, Error> {
        fn add<T: PartialEq + Copy>(list: &mut Vec<T>, mandatory: &[T]) {
            let mut seen = Vec::new();
            list.retain(|a| {
                let fresh = !seen.contains(a);
                seen.push(*a);
                fresh
            });
            for m in mandatory {
                if !list.contains(m) {
                    list.push(*m);
                }
            }
        }
        if self.key_agreements.contains(&KeyAgreement::Mult) {
            return Err(Error::InvalidConfig(
                "Mult is not a key agreement to list; set SessionConfig::multistream instead",
            ));
        }
        add(&mut self.hashes, &[HashAlgorithm::S256]);
        add(&mut self.ciphers, &[CipherAlgorithm::Aes1]);
        add(&mut self.auth_tags, &[AuthTag::Hs32, AuthTag::Hs80]);
        add(&mut self.key_agreements, &[KeyAgreement::Dh3k]);
        add(&mut self.sas_types, &[SasType::B32]);
        if self.multistream.is_some() {
            self.key_agreements.insert(0, KeyAgreement::Mult);
        }
        // Seven of each fit the Hello's 4-bit counts.
        if self.hashes.len() > 7
            || self.ciphers.len() > 7
            || self.auth_tags.len() > 7
            || self.key_agreements.len() > 7
            || self.sas_types.len() > 7
        {
            return Err(Error::InvalidConfig("at most 7 algorithms of each kind"));
        }
        Ok(self)
    }
}

/// The algorithms both ends settled on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Algorithms {
    /// Negotiated hash.
    pub hash: HashAlgorithm,
    /// Negotiated cipher (Confirm encryption and SRTP).
    pub cipher: CipherAlgorithm,
    /// SRTP auth tag.
    pub auth_tag: AuthTag,
    /// Key agreement (`Mult` in Multistream mode).
    pub key_agreement: KeyAgreement,
    /// SAS rendering.
    pub sas_type: SasType,
}

/// SRTP master keys and salts for both directions, from RFC 6189 section 4.5.3.
#[derive(Clone, Debug)]
pub struct SrtpSecrets {
    /// Key we protect our outgoing media with (srtpkeyi as initiator, srtpkeyr as responder).
    pub local_key: SecretBytes,
    /// Salt for our outgoing media (112 bits).
    pub local_salt: SecretBytes,
    /// Key the peer protects its media with.
    pub remote_key: SecretBytes,
    /// Salt for the peer's media.
    pub remote_salt: SecretBytes,
}

/// Everything the application needs once the session is secure.
#[derive(Clone, Debug)]
pub struct SecureInfo {
    /// Our role.
    pub role: Role,
    /// Negotiated algorithms.
    pub algorithms: Algorithms,
    /// The SAS to read aloud (`None` in Multistream mode: the first stream's SAS covers it).
    pub sas: Option<String>,
    /// True when both ends have verified this peer's SAS before and the retained secret
    /// matched, so the SAS need not be compared again (RFC 6189 section 7.1).
    pub sas_verified: bool,
    /// We held a retained secret for this peer and it did not match: the SAS MUST be compared,
    /// this may be a man in the middle (RFC 6189 section 4.3.2).
    pub cache_mismatch: bool,
    /// A retained secret from an earlier call matched: key continuity with this peer.
    pub secret_matched: bool,
    /// The peer's ZID.
    pub peer_zid: Zid,
    /// SRTP keys for both directions.
    pub srtp: SrtpSecrets,
    /// RFC 6189 section 4.5.2 ExportedKey.
    pub exported_key: SecretBytes,
    /// What a Multistream session keyed from this one needs.
    pub multistream: MultistreamKey,
    pub(super) kdf_context: Vec<u8>,
}

impl SecureInfo {
    /// Derives application key material from ExportedKey: KDF(ExportedKey, label,
    /// KDF_Context, L) with L = `out.len()` bytes, as bzrtp's `bzrtp_exportKey` does.
    pub fn export_key(&self, label: &[u8], out: &mut [u8]) {
        crypto::kdf(
            self.algorithms.hash,
            self.exported_key.expose_secret(),
            label,
            &self.kdf_context,
            out,
        );
    }
}

/// Something for the application.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// The handshake completed: SRTP may start (no media before this).
    Secure(Box<SecureInfo>),
    /// The session failed; it sends nothing more (except answering an Error with ErrorACK).
    Failed(Error),
    /// The SAS-verified flag or new retained secret could not be written to the cache.
    CacheFailed(Error),
    /// A Hello arrived that does not hash to the peer's `a=zrtp-hash` from the signaling
    /// ([`SessionConfig::peer_hello_hash`]): the signaling and the media path disagree, which
    /// is what a man in the middle on the media path looks like (RFC 6189 section 8.1). The
    /// Hello was not processed. Reported once per offending Hello, not per retransmission.
    /// If no matching Hello follows, the session ends with [`Event::Failed`]; if the hash came
    /// only after the session had gone past the Hello exchange with that peer, it ends now.
    HelloHashMismatch {
        /// The hash the signaling carried.
        expected: HelloHash,
        /// The hash of the Hello that came over the media path.
        received: HelloHash,
    },
}

/// An input to [`Session::handle_input`](super::Session::handle_input).
#[derive(Debug)]
pub enum Input<'a> {
    /// A datagram that [`wire::is_zrtp`](crate::wire::is_zrtp) classified as ZRTP, received at `now`.
    Receive {
        /// Arrival time.
        now: Instant,
        /// The whole datagram.
        packet: &'a [u8],
    },
    /// The deadline from [`Output::Timeout`] has passed.
    Timeout(Instant),
    /// The user compared the SAS: `true` marks it verified (and commits a retained secret held
    /// back by a cache mismatch), `false` clears the flag.
    SetSasVerified(bool),
}

/// An output of [`Session::poll_output`](super::Session::poll_output).
#[derive(Debug)]
pub enum Output {
    /// A datagram to send to the peer.
    Transmit(Vec<u8>),
    /// Something for the application.
    Event(Event),
    /// Nothing more now; call back with [`Input::Timeout`] at this deadline (`None`: no timer).
    Timeout(Option<Instant>),
}
