//! ZRTP cryptography: hashes and HMACs, the RFC 6189 KDF, AES-CFB for Confirm and SASrelay,
//! the key agreements (X255, EC25, DH3k, DH2k) and SAS rendering.

mod cfb;
mod dh;
mod hash;
mod kdf;
mod pgp_words;
mod sas;

pub use cfb::{cfb_decrypt, cfb_encrypt};
pub use dh::{DhResult, KeyAgreementSecret};
pub use hash::{hmac_sha256_64, sha256, Digest};
pub use kdf::kdf;
pub use sas::render_sas;

/// Test vectors are written as hex, with any white space for readability.
#[cfg(test)]
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("test hex"))
        .collect()
}
