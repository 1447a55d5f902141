//! AES in CFB-128 mode, which encrypts the Confirm and SASrelay messages (RFC 6189 section
//! 5.7 and 5.13) with zrtpkeyi/zrtpkeyr.

use aes::{Aes128, Aes256};
use cfb_mode::cipher::KeyIvInit;
use cfb_mode::{BufDecryptor, BufEncryptor};

use crate::algo::CipherAlgorithm;

/// Encrypts `data` in place with AES-CFB-128. Any length works; the last block is partial.
///
/// # Panics
/// If `key` is not [`CipherAlgorithm::key_len`] bytes: keys come from the KDF with that length,
/// so a mismatch is a bug in the caller, never something a peer can cause.
pub fn cfb_encrypt(cipher: CipherAlgorithm, key: &[u8], iv: &[u8; 16], data: &mut [u8]) {
    match cipher {
        CipherAlgorithm::Aes1 => BufEncryptor::<Aes128>::new_from_slices(key, iv)
            .expect("AES1 key must be 16 bytes")
            .encrypt(data),
        CipherAlgorithm::Aes3 => BufEncryptor::<Aes256>::new_from_slices(key, iv)
            .expect("AES3 key must be 32 bytes")
            .encrypt(data),
    }
}

/// Decrypts `data` in place with AES-CFB-128.
///
/// # Panics
/// If `key` is not [`CipherAlgorithm::key_len`] bytes, as for [`cfb_encrypt`].
pub fn cfb_decrypt(cipher: CipherAlgorithm, key: &[u8], iv: &[u8; 16], data: &mut [u8]) {
    match cipher {
        CipherAlgorithm::Aes1 => BufDecryptor::<Aes128>::new_from_slices(key, iv)
            .expect("AES1 key must be 16 bytes")
            .decrypt(data),
        CipherAlgorithm::Aes3 => BufDecryptor::<Aes256>::new_from_slices(key, iv)
            .expect("AES3 key must be 32 bytes")
            .decrypt(data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::hex;

    const IV: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
    const PLAIN: &str = "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
                         30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710";

    fn check(cipher: CipherAlgorithm, key: &str, ct: &str) {
        let key = hex(key);
        let mut data = hex(PLAIN);
        cfb_encrypt(cipher, &key, &IV, &mut data);
        assert_eq!(data, hex(ct));
        cfb_decrypt(cipher, &key, &IV, &mut data);
        assert_eq!(data, hex(PLAIN));
    }

    // NIST SP 800-38A F.3.13 CFB128-AES128.Encrypt.
    #[test]
    fn nist_cfb128_aes128() {
        check(
            CipherAlgorithm::Aes1,
            "2b7e151628aed2a6abf7158809cf4f3c",
            "3b3fd92eb72dad20333449f8e83cfb4a c8a64537a0b3a93fcde3cdad9f1ce58b
             26751f67a3cbb140b1808cf187a4f4df c04b05357c5d1c0eeac4c66f9ff7f2e6",
        );
    }

    // NIST SP 800-38A F.3.17 CFB128-AES256.Encrypt.
    #[test]
    fn nist_cfb128_aes256() {
        check(
            CipherAlgorithm::Aes3,
            "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
            "dc7e84bfda79164b7ecd8486985d3860 39ffed143b28b1c832113c6331e5407b
             df10132415e54b92a13ed0a8267ae2f9 75a385741ab9cef82031623d55b1e471",
        );
    }

    // A Confirm body is not a multiple of 16 bytes; CFB must handle the partial tail.
    #[test]
    fn partial_block_is_a_prefix_of_the_full_stream() {
        let key = hex("2b7e151628aed2a6abf7158809cf4f3c");
        let mut full = hex(PLAIN);
        cfb_encrypt(CipherAlgorithm::Aes1, &key, &IV, &mut full);
        let mut part = hex(PLAIN);
        part.truncate(40);
        cfb_encrypt(CipherAlgorithm::Aes1, &key, &IV, &mut part);
        assert_eq!(part[..], full[..40]);
        cfb_decrypt(CipherAlgorithm::Aes1, &key, &IV, &mut part);
        assert_eq!(part[..], hex(PLAIN)[..40]);
    }

    #[test]
    #[should_panic(expected = "AES3 key must be 32 bytes")]
    fn wrong_key_length_is_a_caller_bug() {
        cfb_encrypt(CipherAlgorithm::Aes3, &[0u8; 16], &IV, &mut [0u8; 4]);
    }
}
