//! Algorithm identifiers of RFC 6189 section 5.1.2 and the ones sotto implements.

use core::fmt;

/// A four-character algorithm name as it appears on the wire (`"S256"`, `"X255"`, ...).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AlgoId(pub [u8; 4]);

impl AlgoId {
    /// The name as text, with non-printable bytes shown as `?`.
    pub fn as_str(&self) -> String {
        self.0
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '?'
                }
            })
            .collect()
    }
}

impl fmt::Debug for AlgoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AlgoId({:?})", self.as_str())
    }
}

impl fmt::Display for AlgoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str().trim_end())
    }
}

macro_rules! algorithms {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every variant, in sotto's default order of preference.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire identifier.
            pub const fn id(self) -> AlgoId {
                match self {
                    $($name::$variant => AlgoId(*$wire)),+
                }
            }

            /// The variant for a wire identifier, if sotto implements it.
            pub fn from_id(id: AlgoId) -> Option<Self> {
                match &id.0 {
                    $($wire => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.id(), f)
            }
        }

        impl core::str::FromStr for $name {
            type Err = crate::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let mut id = [b' '; 4];
                let bytes = s.trim().as_bytes();
                if bytes.is_empty() || bytes.len() > 4 {
                    return Err(crate::Error::UnknownAlgorithm(s.to_owned()));
                }
                id[..bytes.len()].copy_from_slice(bytes);
                id.make_ascii_uppercase();
                // Names are case-insensitive for users but mixed-case on the wire ("X255", "DH3k").
                Self::ALL
                    .iter()
                    .copied()
                    .find(|a| a.id().0.eq_ignore_ascii_case(&id))
                    .ok_or_else(|| crate::Error::UnknownAlgorithm(s.to_owned()))
            }
        }
    };
}

algorithms!(
    /// Hash algorithms (negotiated hash: KDF, total_hash, Confirm MAC).
    HashAlgorithm {
        /// SHA-256 (mandatory).
        S256 = b"S256",
        /// SHA-384.
        S384 = b"S384",
    }
);

algorithms!(
    /// Block ciphers for Confirm encryption and for SRTP.
    CipherAlgorithm {
        /// AES-128 (mandatory).
        Aes1 = b"AES1",
        /// AES-256.
        Aes3 = b"AES3",
    }
);

algorithms!(
    /// SRTP authentication tag types.
    AuthTag {
        /// HMAC-SHA1 with a 32-bit tag (mandatory).
        Hs32 = b"HS32",
        /// HMAC-SHA1 with an 80-bit tag (mandatory).
        Hs80 = b"HS80",
    }
);

algorithms!(
    /// Key agreement types. `Mult` is Multistream mode, which has no Diffie-Hellman.
    KeyAgreement {
        /// Curve25519 ECDH (bzrtp spells it `X255`).
        X255 = b"X255",
        /// ECDH on NIST P-256.
        Ec25 = b"EC25",
        /// Finite-field DH, 3072-bit MODP group (mandatory).
        Dh3k = b"DH3k",
        /// Finite-field DH, 2048-bit MODP group.
        Dh2k = b"DH2k",
        /// Multistream mode: keys from an existing session's ZRTPSess.
        Mult = b"Mult",
    }
);

algorithms!(
    /// Short Authentication String renderings.
    SasType {
        /// Four characters of z-base-32 (mandatory).
        B32 = b"B32 ",
        /// Two words of the PGP word list.
        B256 = b"B256",
    }
);

impl HashAlgorithm {
    /// Output length in bytes.
    pub const fn output_len(self) -> usize {
        match self {
            HashAlgorithm::S256 => 32,
            HashAlgorithm::S384 => 48,
        }
    }
}

impl CipherAlgorithm {
    /// Key length in bytes.
    pub const fn key_len(self) -> usize {
        match self {
            CipherAlgorithm::Aes1 => 16,
            CipherAlgorithm::Aes3 => 32,
        }
    }
}

impl AuthTag {
    /// SRTP authentication tag length in bytes.
    pub const fn tag_len(self) -> usize {
        match self {
            AuthTag::Hs32 => 4,
            AuthTag::Hs80 => 10,
        }
    }
}

impl KeyAgreement {
    /// Length in bytes of the public value (pvi/pvr) in DHPart1/DHPart2; 0 for Multistream.
    pub const fn public_value_len(self) -> usize {
        match self {
            KeyAgreement::X255 => 32,
            KeyAgreement::Ec25 => 64,
            KeyAgreement::Dh3k => 384,
            KeyAgreement::Dh2k => 256,
            KeyAgreement::Mult => 0,
        }
    }

    /// Speed rank used when the two endpoints' first choices differ (RFC 6189 section 4.1.2: the
    /// faster one wins). Lower is faster; the order is bzrtp's (DH2k, X255, EC25, DH3k), so both
    /// ends of a mixed call settle on the same type.
    pub const fn speed_rank(self) -> u8 {
        match self {
            KeyAgreement::Mult => 0,
            KeyAgreement::Dh2k => 1,
            KeyAgreement::X255 => 2,
            KeyAgreement::Ec25 => 3,
            KeyAgreement::Dh3k => 4,
        }
    }
}
