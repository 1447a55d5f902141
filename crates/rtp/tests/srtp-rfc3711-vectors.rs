//! RFC 3711 appendix B.2 (AES-CM keystream) and B.3 (key derivation) test vectors, and the
//! AES-256 key derivation vectors of RFC 6188 section 7.2.

use sotto_rtp::srtp::spec::{aes_cm_keystream, derive_session_key};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn salt(s: &str) -> [u8; 14] {
    hex(s).try_into().expect("14-byte salt")
}

#[test]
fn b2_aes_cm_keystream() {
    let key = hex("2B7E151628AED2A6ABF7158809CF4F3C");
    let session_salt = salt("F0F1F2F3F4F5F6F7F8F9FAFBFCFD");
    // Keystream blocks 0, 1, 2 and 0xfeff, 0xff00, 0xff01: enough for 0xff02 blocks.
    let mut stream = vec![0u8; 0xff02 * 16];
    aes_cm_keystream(&key, &session_salt, 0, 0, &mut stream).expect("keystream");
    let block = |i: usize| &stream[i * 16..(i + 1) * 16];
    assert_eq!(block(0), hex("E03EAD0935C95E80E166B16DD92B4EB4"));
    assert_eq!(block(1), hex("D23513162B02D0F72A43A2FE4A5F97AB"));
    assert_eq!(block(2), hex("41E95B3BB0A2E8DD477901E4FCA894C0"));
    assert_eq!(block(0xfeff), hex("EC8CDF7398607CB0F2D21675EA9EA1E4"));
    assert_eq!(block(0xff00), hex("362B7C3C6773516318A077D7FC5073AE"));
    assert_eq!(block(0xff01), hex("6A2CC3787889374FBEB4C81B17BA6C44"));
}

#[test]
fn b2_keystream_moves_with_ssrc_and_index() {
    // The counter block is salt XOR SSRC << 64 XOR index << 16: with this salt, SSRC
    // 0x04050607 and index 0x08090a0b0c0d cancel bytes 4..14, so block 0 is AES(F0F1F2F3 00..00).
    let key = hex("2B7E151628AED2A6ABF7158809CF4F3C");
    let session_salt = salt("F0F1F2F3F4F5F6F7F8F9FAFBFCFD");
    let mut a = [0u8; 16];
    aes_cm_keystream(&key, &session_salt, 0xF4F5_F6F7, 0xF8F9_FAFB_FCFD, &mut a)
        .expect("keystream");
    let mut b = [0u8; 16];
    aes_cm_keystream(&key, &salt("F0F1F2F300000000000000000000"), 0, 0, &mut b).expect("keystream");
    assert_eq!(a, b);
}

#[test]
fn b3_key_derivation() {
    let master_key = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
    let master_salt = salt("0EC675AD498AFEEBB6960B3AABE6");
    let mut cipher_key = [0u8; 16];
    derive_session_key(&master_key, &master_salt, 0x00, &mut cipher_key).expect("kdf");
    assert_eq!(cipher_key.to_vec(), hex("C61E7A93744F39EE10734AFE3FF7A087"));
    let mut cipher_salt = [0u8; 14];
    derive_session_key(&master_key, &master_salt, 0x02, &mut cipher_salt).expect("kdf");
    assert_eq!(cipher_salt.to_vec(), hex("30CBBC08863D8C85D49DB34A9AE1"));
    let mut auth_key = [0u8; 20];
    derive_session_key(&master_key, &master_salt, 0x01, &mut auth_key).expect("kdf");
    assert_eq!(
        auth_key.to_vec(),
        hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4")
    );
}

#[test]
fn rfc6188_aes256_key_derivation() {
    let master_key = hex("f0f04914b513f2763a1b1fa130f10e2998f6f6e43e4309d1e622a0e332b9f1b6");
    let master_salt = salt("3b04803de51ee7c96423ab5b78d2");
    let mut cipher_key = [0u8; 32];
    derive_session_key(&master_key, &master_salt, 0x00, &mut cipher_key).expect("kdf");
    assert_eq!(
        cipher_key.to_vec(),
        hex("5ba1064e30ec51613cad926c5a28ef731ec7fb397f70a960653caf06554cd8c4")
    );
    let mut cipher_salt = [0u8; 14];
    derive_session_key(&master_key, &master_salt, 0x02, &mut cipher_salt).expect("kdf");
    assert_eq!(cipher_salt.to_vec(), hex("fa31791685ca444a9e07c6c64e93"));
    let mut auth_key = [0u8; 20];
    derive_session_key(&master_key, &master_salt, 0x01, &mut auth_key).expect("kdf");
    assert_eq!(
        auth_key.to_vec(),
        hex("fd9c32d39ed5fbb5a9dc96b30818454d1313dc05")
    );
}
