//! Key agreements of RFC 6189 section 5.1.5: X255 (Curve25519, as bzrtp names it), EC25 (NIST
//! P-256), DH3k and DH2k (RFC 3526 MODP groups 15 and 14, g = 2).

use core::fmt;

use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
use crypto_bigint::{Odd, Uint, U2048, U3072, U512};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use rand_core::CryptoRngCore;
use subtle::{ConditionallySelectable, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::algo::{CipherAlgorithm, KeyAgreement};
use crate::Error;

// RFC 3526 section 4 (3072-bit MODP group) and section 3 (2048-bit MODP group 14), taken from
// OpenSSL's built-in `modp_3072` / `modp_2048` parameters.
const DH3K_P: U3072 = U3072::from_be_hex(concat!(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74",
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437",
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05",
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB",
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718",
    "3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33",
    "A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7",
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864",
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2",
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
));

const DH2K_P: U2048 = U2048::from_be_hex(concat!(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74",
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437",
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05",
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB",
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718",
    "3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF",
));

/// Longest DH result: p's length for DH3k.
const MAX_DH_RESULT_LEN: usize = 384;

/// The shared secret of a key agreement (DHResult, RFC 6189 section 4.4.1.4): for DH, g^xy mod
/// p big-endian and padded to p's length; for EC25 the x coordinate; for X255 the 32-byte
/// Curve25519 output. Zeroized on drop; `Debug` shows only the length.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DhResult {
    bytes: [u8; MAX_DH_RESULT_LEN],
    len: u16,
}

impl DhResult {
    fn from_slice(bytes: &[u8]) -> Self {
        let mut out = [0u8; MAX_DH_RESULT_LEN];
        let len = bytes.len().min(MAX_DH_RESULT_LEN);
        out[..len].copy_from_slice(&bytes[..len]);
        Self {
            bytes: out,
            len: len as u16,
        }
    }

    /// The raw bytes, to hash into s0; the name says to handle them with care.
    pub fn expose_secret(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl fmt::Debug for DhResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DhResult({} bytes)", self.len)
    }
}

impl PartialEq for DhResult {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && bool::from(self.expose_secret().ct_eq(other.expose_secret()))
    }
}

impl Eq for DhResult {}

/// A finite-field DH key pair in a MODP group of `LIMBS` limbs.
struct Ffdh<const LIMBS: usize> {
    /// Montgomery parameters of p, computed at run time: deriving them in a `const` takes the
    /// compiler minutes for a 3072-bit modulus.
    params: FixedMontyParams<LIMBS>,
    /// The secret exponent; only its low `exponent_bits` bits are ever set.
    exponent: U512,
    exponent_bits: u32,
    public: Uint<LIMBS>,
}

impl<const LIMBS: usize> Ffdh<LIMBS> {
    /// The exponent is twice as long in bits as the negotiated AES key (RFC 6189 section
    /// 4.4.1.1, and what bzrtp does): 256 bits with AES1, 512 with AES3.
    fn generate(p: &Uint<LIMBS>, rng: &mut impl CryptoRngCore, cipher: CipherAlgorithm) -> Self {
        let exponent_bytes = 2 * cipher.key_len();
        let mut buf = Zeroizing::new([0u8; 64]);
        let start = buf.len() - exponent_bytes;
        let mut exponent;
        loop {
            rng.fill_bytes(&mut buf[start..]);
            exponent = U512::from_be_slice(&buf[..]);
            // x = 0 or 1 would publish g^x in {1, g}; a 2^-255 event, but cheap to exclude.
            if exponent > U512::ONE {
                break;
            }
        }
        Self::with_exponent(p, exponent, exponent_bytes as u32 * 8)
    }

    fn with_exponent(p: &Uint<LIMBS>, exponent: U512, exponent_bits: u32) -> Self {
        // p is one of the two odd RFC 3526 primes, public: variable time costs nothing secret.
        let params = FixedMontyParams::new_vartime(Odd::new(*p).expect("RFC 3526 primes are odd"));
        let public = pow2(&params, &exponent, exponent_bits).retrieve();
        Self {
            params,
            exponent,
            exponent_bits,
            public,
        }
    }

    fn public_value(&self) -> Vec<u8> {
        self.public.to_be_bytes().as_ref().to_vec()
    }

    fn agree(&self, peer_public: &[u8]) -> Result<DhResult, Error> {
        if peer_public.len() != Uint::<LIMBS>::BYTES {
            return Err(Error::BadPublicValue);
        }
        let peer = Uint::<LIMBS>::from_be_slice(peer_public);
        let p_minus_1 = self.params.modulus().get().wrapping_sub(&Uint::ONE);
        // RFC 6189 section 4.4.1.2: reject 0, 1 and p-1 (and anything not reduced mod p), which
        // would force the result into {0, 1, p-1}.
        if peer <= Uint::ONE || peer >= p_minus_1 {
            return Err(Error::BadPublicValue);
        }
        let mut residue = FixedMontyForm::new(&peer, &self.params)
            .pow_bounded_exp(&self.exponent, self.exponent_bits);
        let mut shared = residue.retrieve();
        residue.zeroize();
        let mut bytes = shared.to_be_bytes();
        let result = DhResult::from_slice(bytes.as_ref());
        bytes.as_mut().zeroize();
        shared.zeroize();
        Ok(result)
    }
}

impl<const LIMBS: usize> Drop for Ffdh<LIMBS> {
    fn drop(&mut self) {
        self.exponent.zeroize();
    }
}

enum Inner {
    X255(x25519_dalek::StaticSecret),
    Ec25(p256::SecretKey),
    Dh3k(Box<Ffdh<{ U3072::LIMBS }>>),
    Dh2k(Box<Ffdh<{ U2048::LIMBS }>>),
}

/// Our half of a Diffie-Hellman exchange: the secret value and the public value (pvi or pvr)
/// sent in DHPart1/DHPart2. The secret is zeroized on drop; `Debug` shows only the algorithm.
pub struct KeyAgreementSecret {
    inner: Inner,
}

impl KeyAgreementSecret {
    /// A fresh key pair for `ka`. `cipher` is the negotiated cipher, which sets the DH exponent
    /// length. Multistream mode has no key agreement: `Mult` is [`Error::InvalidConfig`].
    pub fn generate(
        ka: KeyAgreement,
        rng: &mut impl CryptoRngCore,
        cipher: CipherAlgorithm,
    ) -> Result<Self, Error> {
        let inner = match ka {
            KeyAgreement::X255 => {
                let mut bytes = Zeroizing::new([0u8; 32]);
                rng.fill_bytes(&mut bytes[..]);
                Inner::X255(x25519_dalek::StaticSecret::from(*bytes))
            }
            KeyAgreement::Ec25 => Inner::Ec25(p256::SecretKey::random(rng)),
            KeyAgreement::Dh3k => Inner::Dh3k(Box::new(Ffdh::generate(&DH3K_P, rng, cipher))),
            KeyAgreement::Dh2k => Inner::Dh2k(Box::new(Ffdh::generate(&DH2K_P, rng, cipher))),
            KeyAgreement::Mult => {
                return Err(Error::InvalidConfig(
                    "multistream mode has no diffie-hellman key agreement",
                ))
            }
        };
        Ok(Self { inner })
    }

    /// The key agreement this secret belongs to.
    pub fn key_agreement(&self) -> KeyAgreement {
        match self.inner {
            Inner::X255(_) => KeyAgreement::X255,
            Inner::Ec25(_) => KeyAgreement::Ec25,
            Inner::Dh3k(_) => KeyAgreement::Dh3k,
            Inner::Dh2k(_) => KeyAgreement::Dh2k,
        }
    }

    /// The public value in its wire format: X255 32 bytes; EC25 x || y, 64 bytes; DH3k/DH2k
    /// big-endian padded to p's length (384 / 256 bytes).
    pub fn public_value(&self) -> Vec<u8> {
        match &self.inner {
            Inner::X255(s) => x25519_dalek::PublicKey::from(s).as_bytes().to_vec(),
            Inner::Ec25(s) => {
                let point = s.public_key().to_encoded_point(false);
                // Uncompressed SEC1 is 0x04 || x || y; ZRTP sends x || y.
                point.as_bytes()[1..].to_vec()
            }
            Inner::Dh3k(d) => d.public_value(),
            Inner::Dh2k(d) => d.public_value(),
        }
    }

    /// The DHResult with the peer's public value. A value of the wrong length, a DH value in
    /// {0, 1, p-1} or not below p, an EC25 point off the curve, or an X25519 value that yields
    /// the all-zero secret is [`Error::BadPublicValue`].
    pub fn agree(&self, peer_public: &[u8]) -> Result<DhResult, Error> {
        match &self.inner {
            Inner::X255(s) => {
                let peer: [u8; 32] = peer_public.try_into().map_err(|_| Error::BadPublicValue)?;
                let shared = s.diffie_hellman(&x25519_dalek::PublicKey::from(peer));
                // A low-order peer point makes the secret all zeros, known to anyone.
                if !shared.was_contributory() {
                    return Err(Error::BadPublicValue);
                }
                Ok(DhResult::from_slice(shared.as_bytes()))
            }
            Inner::Ec25(s) => {
                if peer_public.len() != 64 {
                    return Err(Error::BadPublicValue);
                }
                let mut sec1 = [0u8; 65];
                sec1[0] = 0x04;
                sec1[1..].copy_from_slice(peer_public);
                // Parsing checks the point is on the curve; the identity has no x || y form.
                let peer =
                    p256::PublicKey::from_sec1_bytes(&sec1).map_err(|_| Error::BadPublicValue)?;
                let scalar = Zeroizing::new(s.to_nonzero_scalar());
                let shared = p256::ecdh::diffie_hellman(&*scalar, peer.as_affine());
                Ok(DhResult::from_slice(shared.raw_secret_bytes()))
            }
            Inner::Dh3k(d) => d.agree(peer_public),
            Inner::Dh2k(d) => d.agree(peer_public),
        }
    }
}

impl fmt::Debug for KeyAgreementSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyAgreementSecret({})", self.key_agreement())
    }
}

/// 2^exponent mod p, left to right: a squaring per bit and a doubling (a modular addition)
/// kept or dropped by constant-time select, so the generator costs no multiplications. The
/// running time depends on `bits` only, never on the exponent's value.
fn pow2<const LIMBS: usize>(
    params: &FixedMontyParams<LIMBS>,
    exponent: &U512,
    bits: u32,
) -> FixedMontyForm<LIMBS> {
    let mut acc = FixedMontyForm::one(params);
    for i in (0..bits).rev() {
        acc = acc.square();
        let doubled = acc.double();
        acc = FixedMontyForm::conditional_select(&acc, &doubled, exponent.bit(i).into());
    }
    acc
}

#[cfg(test)]
mod tests {
    use crate::crypto::hex;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use sha2::{Digest as _, Sha512};

    use super::*;
    use crate::crypto::sha256;

    fn pair(ka: KeyAgreement, cipher: CipherAlgorithm, seed: u64) -> [KeyAgreementSecret; 2] {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        [(); 2].map(|()| KeyAgreementSecret::generate(ka, &mut rng, cipher).expect("generate"))
    }

    fn result_len(ka: KeyAgreement) -> usize {
        match ka {
            KeyAgreement::Dh3k => 384,
            KeyAgreement::Dh2k => 256,
            _ => 32,
        }
    }

    const ALL: [KeyAgreement; 4] = [
        KeyAgreement::X255,
        KeyAgreement::Ec25,
        KeyAgreement::Dh3k,
        KeyAgreement::Dh2k,
    ];

    #[test]
    fn both_sides_agree() {
        for ka in ALL {
            for cipher in [CipherAlgorithm::Aes1, CipherAlgorithm::Aes3] {
                let [a, b] = pair(ka, cipher, 7);
                assert_eq!(a.key_agreement(), ka);
                let (pa, pb) = (a.public_value(), b.public_value());
                assert_eq!(pa.len(), ka.public_value_len(), "{ka}");
                assert_ne!(pa, pb, "{ka}");
                let ab = a.agree(&pb).expect("valid peer value");
                let ba = b.agree(&pa).expect("valid peer value");
                assert_eq!(ab, ba, "{ka} {cipher}");
                assert_eq!(ab.expose_secret().len(), result_len(ka), "{ka}");
                // A third party gets a different result.
                let [c, _] = pair(ka, cipher, 8);
                assert_ne!(c.agree(&pb).expect("valid peer value"), ab, "{ka}");
            }
        }
    }

    #[test]
    fn multistream_has_no_key_agreement() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let r = KeyAgreementSecret::generate(KeyAgreement::Mult, &mut rng, CipherAlgorithm::Aes1);
        assert!(matches!(r, Err(Error::InvalidConfig(_))));
    }

    #[test]
    fn dh_exponent_length_follows_the_cipher() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        for (cipher, bits) in [(CipherAlgorithm::Aes1, 256), (CipherAlgorithm::Aes3, 512)] {
            let s = Ffdh::generate(&DH2K_P, &mut rng, cipher);
            assert_eq!(s.exponent_bits, bits);
            assert!(s.exponent.bit_width() <= bits);
        }
    }

    // Known answers computed with Python's pow() over the RFC 3526 primes; the exponents are
    // SHA-256 (DH3k, 256-bit as with AES1) and SHA-512 (DH2k, 512-bit as with AES3) of a label.
    // The 384/256-byte values are checked through their SHA-256.
    #[test]
    fn dh_known_answers() {
        fn exponent(digest: &[u8]) -> U512 {
            let mut buf = [0u8; 64];
            buf[64 - digest.len()..].copy_from_slice(digest);
            U512::from_be_slice(&buf)
        }
        fn check<const L: usize>(p: &Uint<L>, alice: &[u8], bob: &[u8], hashes: [&str; 3]) {
            let bits = u32::try_from(alice.len() * 8).expect("small");
            let a = Ffdh::with_exponent(p, exponent(alice), bits);
            let b = Ffdh::with_exponent(p, exponent(bob), bits);
            let s = a.agree(&b.public_value()).expect("valid");
            assert_eq!(sha256(&[&a.public_value()]).to_vec(), hex(hashes[0]));
            assert_eq!(sha256(&[&b.public_value()]).to_vec(), hex(hashes[1]));
            assert_eq!(sha256(&[s.expose_secret()]).to_vec(), hex(hashes[2]));
        }
        check(
            &DH3K_P,
            &sha256(&[b"sotto dh kat alice"]),
            &sha256(&[b"sotto dh kat bob"]),
            [
                "7a8dbb6d65ece7a262c03ff854600389b10306d25c7d227acae61ef1ae189dce",
                "4590485a5fcfa3bffb1c5d9d09d2a0e3bbb6aa2038bea482ca4d2e309667e2bb",
                "9a4aec0bf82be9b979a6efe56d0742f51829dda14e5677a666e37b7c14ca6bd7",
            ],
        );
        check(
            &DH2K_P,
            &Sha512::digest(b"sotto dh kat alice"),
            &Sha512::digest(b"sotto dh kat bob"),
            [
                "bb4a2c321db76e7b10bbd16448c6ccd8f0f207705dd2e7e98acea50548497d53",
                "a38bec1c72ade2f978c798895f97bb6ee975f5835e53062e7186625ec0036a8c",
                "f704bdc4dfd077dfaae3dd1ad257e2eb4985e48b8d9fec13c38e5705ee1e48a9",
            ],
        );
    }

    #[test]
    fn dh_rejects_degenerate_public_values() {
        fn check<const L: usize>(ka: KeyAgreement, p: &Uint<L>) {
            let [s, _] = pair(ka, CipherAlgorithm::Aes1, 3);
            let be = |v: Uint<L>| v.to_be_bytes().as_ref().to_vec();
            let bad = [
                Uint::ZERO,
                Uint::ONE,
                p.wrapping_sub(&Uint::ONE),
                *p,
                p.wrapping_add(&Uint::ONE),
                Uint::MAX,
            ];
            for v in bad {
                assert!(
                    matches!(s.agree(&be(v)), Err(Error::BadPublicValue)),
                    "{ka}"
                );
            }
            let n = Uint::<L>::BYTES;
            for len in [0, n - 1, n + 1] {
                assert!(
                    matches!(s.agree(&vec![2u8; len]), Err(Error::BadPublicValue)),
                    "{ka} len {len}"
                );
            }
            // The ends of the valid range, 2 and p-2, are accepted.
            assert!(s.agree(&be(Uint::from_u8(2))).is_ok(), "{ka}");
            assert!(
                s.agree(&be(p.wrapping_sub(&Uint::from_u8(2)))).is_ok(),
                "{ka}"
            );
        }
        check(KeyAgreement::Dh3k, &DH3K_P);
        check(KeyAgreement::Dh2k, &DH2K_P);
    }

    // RFC 7748 section 6.1.
    #[test]
    fn x25519_known_answer() {
        let alice: [u8; 32] =
            hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
                .try_into()
                .expect("32 bytes");
        let s = KeyAgreementSecret {
            inner: Inner::X255(x25519_dalek::StaticSecret::from(alice)),
        };
        assert_eq!(
            s.public_value(),
            hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        );
        let bob_public = hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
        assert_eq!(
            s.agree(&bob_public).expect("valid").expose_secret(),
            &hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")[..]
        );
    }

    #[test]
    fn x25519_rejects_low_order_points_and_bad_lengths() {
        let [s, _] = pair(KeyAgreement::X255, CipherAlgorithm::Aes1, 4);
        let mut one = [0u8; 32];
        one[0] = 1;
        // A point of order 8 (from the list of Curve25519 low-order points in libsodium and
        // Bernstein's "How do I validate Curve25519 public keys?").
        let order8 = hex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");
        for bad in [vec![0u8; 32], one.to_vec(), order8] {
            assert!(matches!(s.agree(&bad), Err(Error::BadPublicValue)));
        }
        for len in [0, 31, 33] {
            assert!(matches!(
                s.agree(&vec![9u8; len]),
                Err(Error::BadPublicValue)
            ));
        }
    }

    // RFC 5903 section 8.1 (256-bit random ECP group).
    #[test]
    fn p256_known_answer() {
        let i = hex("C88F01F5 10D9AC3F 70A292DA A2316DE5 44E9AAB8 AFE84049 C62A9C57 862D1433");
        let s = KeyAgreementSecret {
            inner: Inner::Ec25(p256::SecretKey::from_slice(&i).expect("valid scalar")),
        };
        assert_eq!(
            s.public_value(),
            hex(
                "DAD0B653 94221CF9 B051E1FE CA5787D0 98DFE637 FC90B9EF 945D0C37 72581180
                 5271A046 1CDB8252 D61F1C45 6FA3E59A B1F45B33 ACCF5F58 389E0577 B8990BB3"
            )
        );
        let gr = hex(
            "D12DFB52 89C8D4F8 1208B702 70398C34 2296970A 0BCCB74C 736FC755 4494BF63
             56FBF3CA 366CC23E 8157854C 13C58D6A AC23F046 ADA30F83 53E74F33 039872AB",
        );
        assert_eq!(
            s.agree(&gr).expect("valid").expose_secret(),
            &hex("D6840F6B 42F6EDAF D13116E0 E1256520 2FEF8E9E CE7DCE03 812464D0 4B9442DE")[..]
        );
    }

    #[test]
    fn p256_rejects_points_off_the_curve_and_bad_lengths() {
        let [s, peer] = pair(KeyAgreement::Ec25, CipherAlgorithm::Aes1, 5);
        let mut off_curve = peer.public_value();
        off_curve[63] ^= 1;
        // The identity has no affine x || y; all zeros is not on the curve.
        for bad in [off_curve, vec![0u8; 64]] {
            assert!(matches!(s.agree(&bad), Err(Error::BadPublicValue)));
        }
        let good = peer.public_value();
        for bad in [&good[..63], &[&[4u8][..], &good[..]].concat()[..], &[]] {
            assert!(matches!(s.agree(bad), Err(Error::BadPublicValue)));
        }
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        for ka in ALL {
            let [a, b] = pair(ka, CipherAlgorithm::Aes1, 6);
            assert_eq!(format!("{a:?}"), format!("KeyAgreementSecret({ka})"));
            let r = a.agree(&b.public_value()).expect("valid");
            assert_eq!(
                format!("{r:?}"),
                format!("DhResult({} bytes)", result_len(ka))
            );
        }
    }
}
