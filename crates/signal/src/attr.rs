//! Attribute values that carry meaning for a sotto call, each validated when made or parsed so
//! that whatever is held can be written back as a well-formed line.

use core::fmt;

use crate::Error;

/// `a=zrtp-hash` (RFC 6189 section 8.1): the ZRTP version and the SHA-256 hash of the Hello
/// message that the stream's ZRTP endpoint sends. The engine puts its own
/// (`sotto_zrtp::Session::hello_hash`) in its SDP and hands the peer's to its session, which
/// then refuses any Hello the signaling does not vouch for.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ZrtpHash {
    version: String,
    hash: [u8; 32],
}

impl ZrtpHash {
    /// The ZRTP version sotto speaks, the only one [`ZrtpHash::new`] writes.
    pub const VERSION: &'static str = "1.10";

    /// A version 1.10 hash.
    pub fn new(hash: [u8; 32]) -> Self {
        ZrtpHash {
            version: Self::VERSION.to_owned(),
            hash,
        }
    }

    /// Reads the attribute value `<version> <64 hex digits>`, e.g.
    /// `1.10 fe30efd02423cb054e50efd0248742ac7a52c8f91bc2df881ae642c371ba46df`.
    pub fn parse(value: &str) -> Result<Self, Error> {
        parse_zrtp_hash(value).map_err(|reason| Error::InvalidValue {
            what: "zrtp-hash",
            reason,
        })
    }

    /// The ZRTP version of the Hello it hashes (`1.10`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The SHA-256 hash.
    pub fn hash(&self) -> &[u8; 32] {
        &self.hash
    }
}

pub(crate) fn parse_zrtp_hash(value: &str) -> Result<ZrtpHash, &'static str> {
    let (version, hex) = value
        .trim()
        .split_once(' ')
        .ok_or("zrtp-hash needs a version and a hash: \"1.10 <64 hex digits>\"")?;
    if version.is_empty()
        || version.len() > 16
        || !version.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    {
        return Err("zrtp-hash version must be digits and dots, like 1.10");
    }
    let hex = hex.trim_start().as_bytes();
    if hex.len() != 64 {
        return Err("zrtp-hash must be a sha-256 hash, 64 hex digits");
    }
    let mut hash = [0u8; 32];
    for (out, pair) in hash.iter_mut().zip(hex.chunks_exact(2)) {
        let (Some(hi), Some(lo)) = (nibble(pair[0]), nibble(pair[1])) else {
            return Err("zrtp-hash must be hex digits");
        };
        *out = hi << 4 | lo;
    }
    Ok(ZrtpHash {
        version: version.to_owned(),
        hash,
    })
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for ZrtpHash {
    /// The attribute value, lower-case hex as RFC 6189 and bzrtp write it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.version)?;
        for b in self.hash {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ZrtpHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ZrtpHash({self})")
    }
}

/// ICE credentials, `a=ice-ufrag` and `a=ice-pwd` (RFC 8839 section 5.4): 4 to 256 and 22 to
/// 256 characters of letters, digits, `+` and `/`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IceCredentials {
    ufrag: String,
    pwd: String,
}

impl IceCredentials {
    /// Checks both against RFC 8839's grammar.
    pub fn new(ufrag: &str, pwd: &str) -> Result<Self, Error> {
        let invalid = |reason| Error::InvalidValue {
            what: "ice credentials",
            reason,
        };
        check_ice_chars(ufrag, 4, "ice-ufrag must be 4 to 256 of a-z A-Z 0-9 + /")
            .map_err(invalid)?;
        check_ice_chars(pwd, 22, "ice-pwd must be 22 to 256 of a-z A-Z 0-9 + /")
            .map_err(invalid)?;
        Ok(IceCredentials {
            ufrag: ufrag.to_owned(),
            pwd: pwd.to_owned(),
        })
    }

    /// The username fragment.
    pub fn ufrag(&self) -> &str {
        &self.ufrag
    }

    /// The password.
    pub fn pwd(&self) -> &str {
        &self.pwd
    }
}

impl fmt::Debug for IceCredentials {
    /// The password authenticates connectivity checks: keep it out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IceCredentials")
            .field("ufrag", &self.ufrag)
            .field("pwd", &"..")
            .finish()
    }
}

pub(crate) fn check_ice_chars(
    s: &str,
    min: usize,
    reason: &'static str,
) -> Result<(), &'static str> {
    let ok = (min..=256).contains(&s.len()) && s.bytes().all(is_ice_char);
    if ok {
        Ok(())
    } else {
        Err(reason)
    }
}

fn is_ice_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// One `a=candidate` (RFC 8839 section 5.1), held as the attribute value without the
/// `candidate:` prefix. sotto-signal checks the grammar and moves it; the ICE agent formats and
/// reads it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Candidate(String);

/// The longest candidate value accepted, in bytes.
pub const MAX_CANDIDATE_LEN: usize = 512;

impl Candidate {
    /// Checks `value` (with or without the `candidate:` prefix, as ICE agents write it either
    /// way): foundation, component 1 to 256, transport, priority, address, port, `typ` and a
    /// type, then any `raddr`/`rport` and extensions, all printable ASCII.
    pub fn new(value: &str) -> Result<Self, Error> {
        parse_candidate(value).map_err(|reason| Error::InvalidValue {
            what: "ice candidate",
            reason,
        })
    }

    /// The value, e.g. `1 1 UDP 2130706431 192.0.2.1 5004 typ host`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub(crate) fn parse_candidate(value: &str) -> Result<Candidate, &'static str> {
    let value = value.trim();
    let value = value.strip_prefix("candidate:").unwrap_or(value);
    if value.len() > MAX_CANDIDATE_LEN {
        return Err("ice candidate is too long");
    }
    if !value.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return Err("ice candidate must be printable ascii");
    }
    let mut fields = value.split(' ').filter(|f| !f.is_empty());
    let mut next = || fields.next().ok_or("ice candidate is missing fields");
    let foundation = next()?;
    if foundation.len() > 32 || !foundation.bytes().all(is_ice_char) {
        return Err("ice candidate foundation must be 1 to 32 of a-z A-Z 0-9 + /");
    }
    let component = next()?;
    if component.len() > 3 || !matches!(component.parse::<u16>(), Ok(1..=256)) {
        return Err("ice candidate component must be 1 to 256");
    }
    let _transport = next()?;
    let priority = next()?;
    if priority.len() > 10 || priority.parse::<u32>().is_err() {
        return Err("ice candidate priority must be a 32-bit number");
    }
    let _address = next()?;
    if next()?.parse::<u16>().is_err() {
        return Err("ice candidate port must be 0 to 65535");
    }
    if next()? != "typ" {
        return Err("ice candidate needs \"typ <type>\" after the port");
    }
    let _kind = next()?;
    // Extensions are name/value pairs; a dangling name is a cut-off line.
    let rest: Vec<&str> = fields.collect();
    if rest.len() % 2 != 0 {
        return Err("ice candidate extension without a value");
    }
    Ok(Candidate(
        value.split_whitespace().collect::<Vec<_>>().join(" "),
    ))
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Candidate({:?})", self.0)
    }
}

/// Which way media flows on a stream (RFC 8866 section 6.7), from the point of view of the
/// side whose SDP it is in. Without an attribute a stream is `sendrecv`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `a=sendrecv`.
    #[default]
    SendRecv,
    /// `a=sendonly`.
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    pub(crate) fn from_attribute(name: &str) -> Option<Self> {
        Some(match name {
            "sendrecv" => Direction::SendRecv,
            "sendonly" => Direction::SendOnly,
            "recvonly" => Direction::RecvOnly,
            "inactive" => Direction::Inactive,
            _ => return None,
        })
    }

    fn from_flags(sends: bool, receives: bool) -> Self {
        match (sends, receives) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    /// This side sends media.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// This side receives media.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// What flows for us when we say `self` and the peer says `peer`: we send only what it
    /// receives, and receive only what it sends. This is also the direction to answer an
    /// offer of `peer` with (RFC 3264 section 6.1).
    pub fn with_peer(self, peer: Direction) -> Direction {
        Direction::from_flags(
            self.sends() && peer.receives(),
            self.receives() && peer.sends(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_8839_candidates_are_taken_and_normalised() {
        for (value, kept) in [
            (
                "1 1 UDP 2130706431 10.0.1.1 8998 typ host",
                "1 1 UDP 2130706431 10.0.1.1 8998 typ host",
            ),
            (
                "candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 10.0.1.1 rport 8998",
                "2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 10.0.1.1 rport 8998",
            ),
            (
                "  3 1 udp 41885439 2001:db8::1 3478 typ relay  raddr 192.0.2.3 rport 45664 generation 0 ",
                "3 1 udp 41885439 2001:db8::1 3478 typ relay raddr 192.0.2.3 rport 45664 generation 0",
            ),
            (
                "a+/b 256 TCP 1 abc.local 9 typ host tcptype active",
                "a+/b 256 TCP 1 abc.local 9 typ host tcptype active",
            ),
        ] {
            assert_eq!(Candidate::new(value).expect(value).as_str(), kept);
        }
    }

    #[test]
    fn broken_candidates_are_refused() {
        for value in [
            "",
            "1 1 UDP 2130706431 10.0.1.1 8998 typ",
            "1 1 UDP 2130706431 10.0.1.1 8998 type host",
            "1 0 UDP 2130706431 10.0.1.1 8998 typ host",
            "1 257 UDP 2130706431 10.0.1.1 8998 typ host",
            "1 1 UDP 4294967296 10.0.1.1 8998 typ host",
            "1 1 UDP 1 10.0.1.1 65536 typ host",
            "f\u{f6}o 1 UDP 1 10.0.1.1 1 typ host",
            "1 1 UDP 1 10.0.1.1 1 typ host raddr",
            "1 1 UDP 1 10.0.1.1 1 typ host\r\na=evil",
            "123456789012345678901234567890123 1 UDP 1 10.0.1.1 1 typ host",
        ] {
            assert!(Candidate::new(value).is_err(), "{value:?} accepted");
        }
    }

    #[test]
    fn ice_credentials_follow_rfc_8839_lengths() {
        let pwd = "asd88fgpdd777uzjYhagZg";
        assert!(IceCredentials::new("8hhY", pwd).is_ok());
        assert!(IceCredentials::new("8hh", pwd).is_err());
        assert!(IceCredentials::new("8hhY", &pwd[1..]).is_err());
        assert!(IceCredentials::new("8h-Y", pwd).is_err());
        assert!(IceCredentials::new(&"a".repeat(257), pwd).is_err());
        let creds = IceCredentials::new("8hhY", pwd).expect("valid");
        assert!(
            !format!("{creds:?}").contains(pwd),
            "the password stays out of logs"
        );
    }

    #[test]
    fn zrtp_hash_reads_the_rfc_example_and_writes_it_back() {
        let value = "1.10 fe30efd02423cb054e50efd0248742ac7a52c8f91bc2df881ae642c371ba46df";
        let hash = ZrtpHash::parse(value).expect("rfc 6189 example");
        assert_eq!(hash.version(), "1.10");
        assert_eq!(hash.hash()[0], 0xfe);
        assert_eq!(hash.to_string(), value);
        assert_eq!(
            ZrtpHash::parse(&value.to_ascii_uppercase()).expect("upper case"),
            hash
        );
        for bad in [
            "fe30efd02423cb054e50efd0248742ac7a52c8f91bc2df881ae642c371ba46df",
            "1.10 fe30",
            "1.10 ge30efd02423cb054e50efd0248742ac7a52c8f91bc2df881ae642c371ba46df",
            "v1 fe30efd02423cb054e50efd0248742ac7a52c8f91bc2df881ae642c371ba46df",
        ] {
            assert!(ZrtpHash::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn directions_answer_as_rfc_3264_says() {
        use Direction::*;
        assert_eq!(SendRecv.with_peer(SendRecv), SendRecv);
        assert_eq!(SendRecv.with_peer(SendOnly), RecvOnly);
        assert_eq!(SendRecv.with_peer(RecvOnly), SendOnly);
        assert_eq!(SendRecv.with_peer(Inactive), Inactive);
        assert_eq!(RecvOnly.with_peer(RecvOnly), Inactive);
        assert_eq!(SendOnly.with_peer(SendRecv), SendOnly);
    }
}
