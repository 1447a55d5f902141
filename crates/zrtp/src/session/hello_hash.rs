//! The Hello hash that binds the media path to the signaling (RFC 6189 section 8.1).
//!
//! Each end puts the SHA-256 hash of its Hello message in its SDP as
//! `a=zrtp-hash:1.10 <64 hex digits>`. An end that got the peer's hash through the signaling
//! refuses any Hello that does not hash to it: a man in the middle on the media path alone can
//! then not substitute its own Hello, and one on the signaling path alone gains nothing.

use core::fmt;
use core::str::FromStr;

use subtle::ConstantTimeEq;

use crate::{crypto, wire, Error};

/// SHA-256 of a ZRTP Hello message, from its `0x505a` preamble to its MAC: the message as
/// carried in the packet, without the 12-byte packet header and the CRC (RFC 6189 section 8.1,
/// as bzrtp's `bzrtp_getSelfHelloHash` computes it).
///
/// [`Display`](fmt::Display) renders the value of the SDP attribute, `1.10 <64 lower-case hex
/// digits>`, exactly as bzrtp does; [`HelloHash::parse`] reads it back, and like
/// `bzrtp_setPeerHelloHash` also takes the bare hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HelloHash(pub [u8; 32]);

impl HelloHash {
    /// The hash of a Hello message (preamble to MAC, no packet header or CRC).
    pub fn of_message(hello: &[u8]) -> Self {
        HelloHash(crypto::sha256(&[hello]))
    }

    /// The 32 bytes of the hash.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Reads `"<version> <hex>"` (the `a=zrtp-hash` value) or the bare 64 hex digits, in
    /// either case. The version, when present, must be a 1.1x one (sotto speaks `1.10`): a
    /// hash of a Hello of another version names a Hello sotto would refuse anyway.
    pub fn parse(s: &str) -> Result<Self, Error> {
        const BAD: Error = Error::InvalidConfig(
            "a zrtp-hash is 64 hex digits, optionally after the version: \"1.10 <hex>\"",
        );
        let s = s.trim();
        let hex = match s.split_once(' ') {
            Some((version, hex)) => {
                if !is_version_1_1x(version) {
                    return Err(Error::InvalidConfig(
                        "the zrtp-hash is for a zrtp version other than 1.1x, which sotto does not speak",
                    ));
                }
                hex.trim_start()
            }
            None => s,
        };
        let bytes = hex.as_bytes();
        if bytes.len() != 64 {
            return Err(BAD);
        }
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let (Some(hi), Some(lo)) = (nibble(pair[0]), nibble(pair[1])) else {
                return Err(BAD);
            };
            *o = hi << 4 | lo;
        }
        Ok(HelloHash(out))
    }

    /// Whether `hello` (a message as received, see [`HelloHash::of_message`]) hashes to this,
    /// compared in constant time like every other hash commitment.
    pub fn matches(&self, hello: &[u8]) -> bool {
        HelloHash::of_message(hello).0.ct_eq(&self.0).into()
    }
}

/// `1.1` followed by one or more digits, as the Hello's version field reads.
fn is_version_1_1x(version: &str) -> bool {
    version
        .strip_prefix("1.1")
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for HelloHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The version is the one our Hello carries; the attribute names the Hello it hashes.
        let version = core::str::from_utf8(&wire::VERSION).map_err(|_| fmt::Error)?;
        write!(f, "{version} ")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for HelloHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HelloHash(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

impl FromStr for HelloHash {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        HelloHash::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example attribute of RFC 6189 section 8.1.
    const RFC_EXAMPLE: &str =
        "1.10 fe30efd02423cb054e50efd0248742ac7a52c8f91bc2df881ae642c371ba46df";

    #[test]
    fn the_rfc_example_round_trips_through_display() {
        let hash = HelloHash::parse(RFC_EXAMPLE).expect("rfc example");
        assert_eq!(hash.0[0], 0xfe);
        assert_eq!(hash.0[31], 0xdf);
        assert_eq!(hash.to_string(), RFC_EXAMPLE);
    }

    #[test]
    fn bare_hex_and_upper_case_are_accepted_as_bzrtp_does() {
        let bare = &RFC_EXAMPLE[5..];
        assert_eq!(
            HelloHash::parse(bare).expect("bare"),
            HelloHash::parse(RFC_EXAMPLE).expect("with version")
        );
        assert_eq!(
            HelloHash::parse(&bare.to_ascii_uppercase()).expect("upper case"),
            HelloHash::parse(bare).expect("bare")
        );
        // Blanks around the value and after the version, as a hand-copied value may carry.
        assert!(HelloHash::parse(&format!(" 1.10  {bare} ")).is_ok());
    }

    #[test]
    fn malformed_values_are_refused() {
        let bare = &RFC_EXAMPLE[5..];
        for bad in [
            "",
            "1.10",
            &bare[..62],
            &format!("{bare}00"),
            &format!("1.10 {}g", &bare[..63]),
            &format!("2.00 {bare}"),
            &format!("1.1 {bare}"),
            &format!("1.1x {bare}"),
            &format!("1.10 {bare} extra"),
            "1.10 \u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}",
        ] {
            assert!(HelloHash::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn matches_only_the_hashed_message() {
        let message = b"\x50\x5a\x00\x03Hello   ";
        let hash = HelloHash::of_message(message);
        assert!(hash.matches(message));
        assert!(!hash.matches(b"\x50\x5a\x00\x03Hello  !"));
        assert_eq!(hash.0, crypto::sha256(&[message]));
    }
}
