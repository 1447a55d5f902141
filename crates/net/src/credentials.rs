//! ICE short-term credentials (RFC 8445 section 5.3): the `a=ice-ufrag` / `a=ice-pwd` pair each
//! side puts in its offer or answer.

use rand_core::CryptoRngCore;
use zeroize::Zeroize;

use crate::candidate::is_ice_char;
use crate::Error;

const ICE_CHARS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/// Length of generated ufrags (48 bits of randomness; RFC 8445 asks at least 24).
pub const UFRAG_LEN: usize = 8;
/// Length of generated passwords (144 bits of randomness; RFC 8445 asks at least 128).
pub const PWD_LEN: usize = 24;

/// An ICE password: the key of every MESSAGE-INTEGRITY on the path. Zeroized on drop; `Debug`
/// prints `IcePwd(..)`.
#[derive(Clone, PartialEq, Eq)]
pub struct IcePwd(String);

impl IcePwd {
    /// Checks RFC 8445 section 5.3: 22..256 ice-chars.
    pub fn new(pwd: String) -> Result<IcePwd, Error> {
        if !(22..=256).contains(&pwd.len()) || !pwd.bytes().all(is_ice_char) {
            return Err(Error::BadCredentials("ice-pwd must be 22..256 ice-chars"));
        }
        Ok(IcePwd(pwd))
    }

    /// The password, for the `a=ice-pwd` line.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl Drop for IcePwd {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl core::fmt::Debug for IcePwd {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("IcePwd(..)")
    }
}

/// One side's username fragment and password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IceCredentials {
    /// Username fragment (4..256 ice-chars), public.
    pub ufrag: String,
    /// Password, secret.
    pub pwd: IcePwd,
}

impl IceCredentials {
    /// Fresh random credentials: [`UFRAG_LEN`] and [`PWD_LEN`] ice-chars.
    pub fn generate(rng: &mut impl CryptoRngCore) -> IceCredentials {
        let mut draw = |len: usize| {
            let mut bytes = vec![0u8; len];
            rng.fill_bytes(&mut bytes);
            // 64 symbols: six bits per byte keep the choice uniform.
            let s = bytes
                .iter()
                .map(|b| char::from(ICE_CHARS[usize::from(b & 63)]));
            let s = s.collect::<String>();
            bytes.zeroize();
            s
        };
        let ufrag = draw(UFRAG_LEN);
        IceCredentials {
            ufrag,
            pwd: IcePwd(draw(PWD_LEN)),
        }
    }

    /// Credentials received from the peer; checked against RFC 8445 section 5.3.
    pub fn new(ufrag: &str, pwd: &str) -> Result<IceCredentials, Error> {
        if !(4..=256).contains(&ufrag.len()) || !ufrag.bytes().all(is_ice_char) {
            return Err(Error::BadCredentials("ice-ufrag must be 4..256 ice-chars"));
        }
        Ok(IceCredentials {
            ufrag: ufrag.to_owned(),
            pwd: IcePwd::new(pwd.to_owned())?,
        })
    }
}
