//! The key schedule: s0 and every key derived from it (RFC 6189 sections 4.4.1.4 and 4.5).

use super::retained::SecretMatch;
use super::{Algorithms, Role};
use crate::{crypto, SecretBytes, Zid};

/// Keys derived from s0 (RFC 6189 section 4.5.3).
pub(super) struct KeySchedule {
    pub(super) alg: Algorithms,
    pub(super) s0: SecretBytes,
    pub(super) kdf_context: Vec<u8>,
    pub(super) mackey_i: SecretBytes,
    pub(super) mackey_r: SecretBytes,
    pub(super) zrtpkey_i: SecretBytes,
    pub(super) zrtpkey_r: SecretBytes,
}

impl KeySchedule {
    pub(super) fn new(alg: Algorithms, s0: SecretBytes, kdf_context: Vec<u8>) -> Self {
        let derive = |label: &[u8], len: usize| {
            let mut out = SecretBytes::zeroed(len);
            crypto::kdf(
                alg.hash,
                s0.expose_secret(),
                label,
                &kdf_context,
                out.expose_secret_mut(),
            );
            out
        };
        let hash_len = alg.hash.output_len();
        let key_len = alg.cipher.key_len();
        KeySchedule {
            mackey_i: derive(b"Initiator HMAC key", hash_len),
            mackey_r: derive(b"Responder HMAC key", hash_len),
            zrtpkey_i: derive(b"Initiator ZRTP key", key_len),
            zrtpkey_r: derive(b"Responder ZRTP key", key_len),
            alg,
            s0,
            kdf_context,
        }
    }

    pub(super) fn derive(&self, label: &[u8], len: usize) -> SecretBytes {
        let mut out = SecretBytes::zeroed(len);
        crypto::kdf(
            self.alg.hash,
            self.s0.expose_secret(),
            label,
            &self.kdf_context,
            out.expose_secret_mut(),
        );
        out
    }

    /// MAC and cipher keys of the Confirm that `role` sends.
    pub(super) fn confirm_keys(&self, role: Role) -> (&SecretBytes, &SecretBytes) {
        match role {
            Role::Initiator => (&self.mackey_i, &self.zrtpkey_i),
            Role::Responder => (&self.mackey_r, &self.zrtpkey_r),
        }
    }
}

/// s0 and the key schedule for DH mode (RFC 6189 section 4.4.1.4).
pub(super) fn dh_key_schedule(
    alg: Algorithms,
    zid_i: &Zid,
    zid_r: &Zid,
    total_hash: &[u8],
    dh_result: &[u8],
    matched: &SecretMatch,
) -> KeySchedule {
    let kdf_context = [&zid_i.0[..], &zid_r.0[..], total_hash].concat();
    let s1 = matched
        .s1
        .as_ref()
        .map(|s| &s.expose_secret()[..])
        .unwrap_or(&[]);
    let s1_len = (s1.len() as u32).to_be_bytes();
    let zero = 0u32.to_be_bytes();
    // s2 (auxsecret) and s3 (pbxsecret) are always null here: length 0, no bytes.
    let s0 = alg.hash.hash(&[
        &1u32.to_be_bytes(),
        dh_result,
        b"ZRTP-HMAC-KDF",
        &kdf_context,
        &s1_len,
        s1,
        &zero,
        &zero,
    ]);
    let s0 = SecretBytes::from_slice(s0.as_ref()).unwrap_or_else(|| SecretBytes::zeroed(0));
    KeySchedule::new(alg, s0, kdf_context)
}

/// s0 for Multistream mode: KDF(ZRTPSess, "ZRTP MSK", KDF_Context, hash length) (section 4.4.3.2).
pub(super) fn multistream_key_schedule(
    alg: Algorithms,
    zrtp_sess: &SecretBytes,
    zid_i: &Zid,
    zid_r: &Zid,
    total_hash: &[u8],
) -> KeySchedule {
    let kdf_context = [&zid_i.0[..], &zid_r.0[..], total_hash].concat();
    let mut s0 = SecretBytes::zeroed(alg.hash.output_len());
    crypto::kdf(
        alg.hash,
        zrtp_sess.expose_secret(),
        b"ZRTP MSK",
        &kdf_context,
        s0.expose_secret_mut(),
    );
    KeySchedule::new(alg, s0, kdf_context)
}
