//! Newtypes for key material: zeroized on drop, never `Copy`, `Display` or `Serialize`, with a
//! `Debug` that prints only the type name, and constant-time equality.

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

macro_rules! secret_array {
    ($(#[$doc:meta])* $name:ident, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Zeroize, ZeroizeOnDrop)]
        pub struct $name([u8; $len]);

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $len;

            /// Wraps raw key material.
            pub fn new(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }

            /// Copies key material from a slice of exactly [`Self::LEN`] bytes.
            pub fn from_slice(bytes: &[u8]) -> Option<Self> {
                let mut out = [0u8; $len];
                if bytes.len() != $len {
                    return None;
                }
                out.copy_from_slice(bytes);
                Some(Self(out))
            }

            /// The raw bytes; the name says to handle them with care.
            pub fn expose_secret(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(concat!(stringify!($name), "(..)"))
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.0.ct_eq(&other.0).into()
            }
        }

        impl Eq for $name {}
    };
}

secret_array!(
    /// A retained shared secret (rs1/rs2), 256 bits, kept in the ZID cache between calls.
    RetainedSecret,
    32
);

/// Variable-length key material up to 64 bytes (SRTP keys and salts, MAC keys, s0, ZRTPSess).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes {
    bytes: [u8; 64],
    len: u8,
}

impl SecretBytes {
    /// Copies up to 64 bytes of key material; `None` if longer.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        if bytes.len() > 64 {
            return None;
        }
        let mut out = [0u8; 64];
        out[..bytes.len()].copy_from_slice(bytes);
        Some(Self {
            bytes: out,
            len: bytes.len() as u8,
        })
    }

    /// A zeroed value of `len` bytes (at most 64), to be filled through [`Self::expose_secret_mut`].
    pub fn zeroed(len: usize) -> Self {
        Self {
            bytes: [0u8; 64],
            len: len.min(64) as u8,
        }
    }

    /// The raw bytes; the name says to handle them with care.
    pub fn expose_secret(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The raw bytes, writable.
    pub fn expose_secret_mut(&mut self) -> &mut [u8] {
        &mut self.bytes[..usize::from(self.len)]
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl core::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SecretBytes({} bytes)", self.len)
    }
}

impl PartialEq for SecretBytes {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && bool::from(self.expose_secret().ct_eq(other.expose_secret()))
    }
}

impl Eq for SecretBytes {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_key_bytes() {
        let rs = RetainedSecret::new([0xab; 32]);
        let sb = SecretBytes::from_slice(&[0xcd; 16]).expect("16 bytes fit");
        let text = format!("{rs:?} {sb:?}");
        assert!(
            !text.contains("ab") && !text.contains("cd") && !text.contains("171"),
            "{text}"
        );
    }
}
