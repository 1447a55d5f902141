//! RFC 3711 key derivation (section 4.3, key derivation rate 0) and the per-packet primitives:
//! AES counter-mode keystream (section 4.1.1) and HMAC-SHA1 tags (section 4.2).

use aes::cipher::StreamCipherCoreWrapper as Ctr;
use aes::cipher::{InnerIvInit, KeyInit, StreamCipher};
use aes::{Aes128Enc, Aes256Enc};
use ctr::flavors::Ctr128BE;
use ctr::CtrCore;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::SrtpProfile;
use crate::Error;

/// Session salts are 112 bits for every AES-CM profile.
pub(crate) const SALT_LEN: usize = 14;
/// HMAC-SHA1 session authentication keys are 160 bits (RFC 3711 section 8.2).
const AUTH_KEY_LEN: usize = 20;

/// RFC 3711 section 4.3.1 labels.
const LABEL_SRTP_ENCRYPTION: u8 = 0x00;
const LABEL_SRTP_AUTH: u8 = 0x01;
const LABEL_SRTP_SALT: u8 = 0x02;
const LABEL_SRTCP_ENCRYPTION: u8 = 0x03;
const LABEL_SRTCP_AUTH: u8 = 0x04;
const LABEL_SRTCP_SALT: u8 = 0x05;

/// An expanded AES key; the `aes` crate zeroizes its round keys on drop.
// Two of these live per context for its whole life; boxing would only add a pointer chase per
// packet.
#[allow(clippy::large_enum_variant)]
pub(crate) enum BlockCipher {
    Aes128(Aes128Enc),
    Aes256(Aes256Enc),
}

impl BlockCipher {
    pub(crate) fn new(key: &[u8]) -> Result<Self, Error> {
        match key.len() {
            16 => Aes128Enc::new_from_slice(key)
                .map(Self::Aes128)
                .map_err(|_| Error::InvalidKey("aes-128 key must be 16 bytes")),
            32 => Aes256Enc::new_from_slice(key)
                .map(Self::Aes256)
                .map_err(|_| Error::InvalidKey("aes-256 key must be 32 bytes")),
            _ => Err(Error::InvalidKey("aes key must be 16 or 32 bytes")),
        }
    }

    /// XORs AES-CM keystream starting at counter block `iv` into `data`. The cipher is borrowed,
    /// not cloned, so no copy of the round keys is left behind per packet.
    pub(crate) fn apply_keystream(&self, iv: &[u8; 16], data: &mut [u8]) {
        match self {
            Self::Aes128(c) => {
                Ctr::from_core(CtrCore::<&Aes128Enc, Ctr128BE>::inner_iv_init(c, iv.into()))
                    .apply_keystream(data)
            }
            Self::Aes256(c) => {
                Ctr::from_core(CtrCore::<&Aes256Enc, Ctr128BE>::inner_iv_init(c, iv.into()))
                    .apply_keystream(data)
            }
        }
    }
}

/// RFC 3711 section 4.3.1 PRF with kdr 0: AES-CM keystream under the master key, starting at
/// (master_salt XOR label << 48) * 2^16. RFC 6188 uses the same construction with AES-256.
pub(crate) fn derive(
    master: &BlockCipher,
    master_salt: &[u8; SALT_LEN],
    label: u8,
    out: &mut [u8],
) {
    let mut iv = [0u8; 16];
    iv[..SALT_LEN].copy_from_slice(master_salt);
    iv[7] ^= label;
    out.fill(0);
    master.apply_keystream(&iv, out);
}

/// The counter block of RFC 3711 section 4.1.1: (salt * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16).
pub(crate) fn packet_iv(salt: &[u8; SALT_LEN], ssrc: u32, index: u64) -> [u8; 16] {
    let mut iv = [0u8; 16];
    iv[..SALT_LEN].copy_from_slice(salt);
    for (b, s) in iv[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
        *b ^= s;
    }
    // Low 48 bits of the index land in bytes 8..14.
    for (b, s) in iv[8..14].iter_mut().zip(&index.to_be_bytes()[2..]) {
        *b ^= s;
    }
    iv
}

/// A keyed HMAC-SHA1. hmac 0.12 cannot zeroize its precomputed pads, so drop overwrites them
/// with the pads of an all-zero key and keeps that store observable.
struct AuthKey(Hmac<Sha1>);

impl Drop for AuthKey {
    fn drop(&mut self) {
        self.0 = <Hmac<Sha1> as KeyInit>::new(&Default::default());
        core::hint::black_box(&self.0);
    }
}

/// Session keys for one of SRTP or SRTCP in one direction.
pub(crate) struct SessionKeys {
    cipher: BlockCipher,
    salt: Zeroizing<[u8; SALT_LEN]>,
    auth: AuthKey,
}

impl SessionKeys {
    /// Derives the SRTP (`rtcp == false`) or SRTCP session keys from a master key and salt.
    pub(crate) fn derive(
        profile: SrtpProfile,
        master_key: &[u8],
        master_salt: &[u8],
        rtcp: bool,
    ) -> Result<Self, Error> {
        if master_key.len() != profile.key_len() {
            return Err(Error::InvalidKey(
                "master key length does not match the profile",
            ));
        }
        let master_salt: &[u8; SALT_LEN] = master_salt
            .try_into()
            .map_err(|_| Error::InvalidKey("master salt must be 14 bytes"))?;
        let master = BlockCipher::new(master_key)?;
        let (enc, auth, salt) = if rtcp {
            (LABEL_SRTCP_ENCRYPTION, LABEL_SRTCP_AUTH, LABEL_SRTCP_SALT)
        } else {
            (LABEL_SRTP_ENCRYPTION, LABEL_SRTP_AUTH, LABEL_SRTP_SALT)
        };
        let mut key = Zeroizing::new([0u8; 32]);
        let key = &mut key[..profile.key_len()];
        derive(&master, master_salt, enc, key);
        let mut auth_key = Zeroizing::new([0u8; AUTH_KEY_LEN]);
        derive(&master, master_salt, auth, &mut auth_key[..]);
        let mut session_salt = Zeroizing::new([0u8; SALT_LEN]);
        derive(&master, master_salt, salt, &mut session_salt[..]);
        Ok(Self {
            cipher: BlockCipher::new(key)?,
            salt: session_salt,
            auth: AuthKey(
                <Hmac<Sha1> as Mac>::new_from_slice(&auth_key[..])
                    .map_err(|_| Error::InvalidKey("hmac key"))?,
            ),
        })
    }

    /// En- or decrypts `data` in place for the packet (`ssrc`, `index`).
    pub(crate) fn apply_keystream(&self, ssrc: u32, index: u64, data: &mut [u8]) {
        self.cipher
            .apply_keystream(&packet_iv(&self.salt, ssrc, index), data);
    }

    /// Full 20-byte HMAC-SHA1 over `authenticated` followed by `trailer` (the ROC for SRTP,
    /// empty for SRTCP, whose index is inside the authenticated portion).
    pub(crate) fn tag(&self, authenticated: &[u8], trailer: &[u8]) -> [u8; 20] {
        let mut mac = self.auth.0.clone();
        mac.update(authenticated);
        mac.update(trailer);
        mac.finalize().into_bytes().into()
    }

    /// Constant-time check of a received (truncated) tag.
    pub(crate) fn verify(&self, authenticated: &[u8], trailer: &[u8], received: &[u8]) -> bool {
        let expected = self.tag(authenticated, trailer);
        !received.is_empty()
            && received.len() <= expected.len()
            && bool::from(expected[..received.len()].ct_eq(received))
    }
}
