//! ICE candidates (RFC 8445 section 5.1) and their SDP form (RFC 8839 section 5.1).

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use crate::Error;

/// The only component sotto uses: RTP and RTCP are multiplexed on one port.
pub const COMPONENT_RTP: u16 = 1;

/// How a candidate address was learned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CandidateKind {
    /// An address of a local interface.
    Host,
    /// The address a NAT maps a host candidate to, as a STUN server saw it.
    ServerReflexive,
    /// An address learned from a connectivity check (RFC 8445 section 7.2.5.3.1 / 7.3.1.3).
    PeerReflexive,
}

impl CandidateKind {
    /// RFC 8445 section 5.1.2.2 recommended type preference.
    pub fn type_preference(self) -> u32 {
        match self {
            CandidateKind::Host => 126,
            CandidateKind::PeerReflexive => 110,
            CandidateKind::ServerReflexive => 100,
        }
    }

    /// The SDP `typ` token.
    pub fn sdp_name(self) -> &'static str {
        match self {
            CandidateKind::Host => "host",
            CandidateKind::ServerReflexive => "srflx",
            CandidateKind::PeerReflexive => "prflx",
        }
    }
}

/// RFC 8445 section 5.1.2.1: `2^24 * type_pref + 2^8 * local_pref + (256 - component)`.
pub fn candidate_priority(kind: CandidateKind, local_preference: u16, component: u16) -> u32 {
    let component = u32::from(component.clamp(1, 256));
    (kind.type_preference() << 24) + (u32::from(local_preference) << 8) + (256 - component)
}

/// One transport address a peer may be reached at.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Candidate {
    /// How the address was learned.
    pub kind: CandidateKind,
    /// The address to send to.
    pub addr: SocketAddr,
    /// The local address a check for this candidate leaves from (equal to `addr` for host
    /// candidates; `raddr`/`rport` in SDP).
    pub base: SocketAddr,
    /// RFC 8445 section 5.1.2 priority.
    pub priority: u32,
    /// Candidates of the same kind, base IP and STUN server share a foundation (1..32 ice-chars).
    pub foundation: String,
    /// Component id; always [`COMPONENT_RTP`] for candidates sotto makes.
    pub component: u16,
}

impl Candidate {
    /// A host candidate. `local_preference` orders several interfaces (65535 = most preferred).
    pub fn host(addr: SocketAddr, local_preference: u16) -> Candidate {
        Candidate::derived(CandidateKind::Host, addr, addr, None, local_preference)
    }

    /// A server-reflexive candidate: `addr` as STUN `server` saw traffic from `base`.
    pub fn server_reflexive(
        addr: SocketAddr,
        base: SocketAddr,
        server: SocketAddr,
        local_preference: u16,
    ) -> Candidate {
        let kind = CandidateKind::ServerReflexive;
        Candidate::derived(kind, addr, base, Some(server.ip()), local_preference)
    }

    /// A peer-reflexive candidate with the priority a check carried.
    pub fn peer_reflexive(addr: SocketAddr, base: SocketAddr, priority: u32) -> Candidate {
        let mut c = Candidate::derived(CandidateKind::PeerReflexive, addr, base, None, 0);
        c.priority = priority;
        c
    }

    fn derived(
        kind: CandidateKind,
        addr: SocketAddr,
        base: SocketAddr,
        server: Option<IpAddr>,
        local_preference: u16,
    ) -> Candidate {
        Candidate {
            kind,
            addr,
            base,
            priority: candidate_priority(kind, local_preference, COMPONENT_RTP),
            foundation: foundation(kind, base.ip(), server),
            component: COMPONENT_RTP,
        }
    }

    /// The local preference encoded in the priority.
    pub fn local_preference(&self) -> u16 {
        // Bits 8..24 of the priority, so the cast cannot truncate meaningful bits.
        ((self.priority >> 8) & 0xffff) as u16
    }

    /// The RFC 8839 `candidate-attribute`, as it follows `a=` in SDP:
    /// `candidate:<foundation> 1 udp <priority> <ip> <port> typ <type> [raddr <ip> rport <port>]`.
    pub fn to_sdp(&self) -> String {
        let mut s = String::with_capacity(96);
        // Writing to a String cannot fail.
        let _ = write!(
            s,
            "candidate:{} {} udp {} {} {} typ {}",
            self.foundation,
            self.component,
            self.priority,
            self.addr.ip(),
            self.addr.port(),
            self.kind.sdp_name()
        );
        if self.kind != CandidateKind::Host {
            let _ = write!(s, " raddr {} rport {}", self.base.ip(), self.base.port());
        }
        s
    }

    /// Parses what [`Candidate::to_sdp`] writes, with or without the leading `a=` and
    /// `candidate:`. Extension pairs (`generation 0`, `network-id 1`) are skipped. Refused:
    /// transports other than UDP, relay and mDNS (`.local`) candidates, values out of range.
    pub fn parse_sdp(line: &str) -> Result<Candidate, Error> {
        const MAX_LEN: usize = 512;
        const MAX_EXTENSIONS: usize = 16;
        if line.len() > MAX_LEN {
            return Err(Error::BadCandidate("line too long"));
        }
        let line = line.trim_end_matches(['\r', '\n']);
        let line = line.strip_prefix("a=").unwrap_or(line);
        let line = line.strip_prefix("candidate:").unwrap_or(line);
        let mut it = line.split(' ');
        let mut next = |what: &'static str| it.next().ok_or(Error::BadCandidate(what));

        let foundation = next("missing foundation")?;
        if foundation.is_empty() || foundation.len() > 32 || !foundation.bytes().all(is_ice_char) {
            return Err(Error::BadCandidate("foundation must be 1..32 ice-chars"));
        }
        let component: u16 = parse_num(next("missing component")?, "bad component id")?;
        if !(1..=256).contains(&component) {
            return Err(Error::BadCandidate("component id out of range"));
        }
        if !next("missing transport")?.eq_ignore_ascii_case("udp") {
            return Err(Error::BadCandidate("only udp candidates are supported"));
        }
        let priority: u32 = parse_num(next("missing priority")?, "bad priority")?;
        if priority == 0 || priority > 0x7fff_ffff {
            return Err(Error::BadCandidate("priority out of range"));
        }
        let addr = parse_addr(next("missing address")?, next("missing port")?)?;
        if addr.port() == 0 {
            return Err(Error::BadCandidate("port 0"));
        }
        if next("missing typ")? != "typ" {
            return Err(Error::BadCandidate("expected typ"));
        }
        let kind = match next("missing candidate type")? {
            "host" => CandidateKind::Host,
            "srflx" => CandidateKind::ServerReflexive,
            "prflx" => CandidateKind::PeerReflexive,
            "relay" => return Err(Error::BadCandidate("relay candidates are not supported")),
            _ => return Err(Error::BadCandidate("unknown candidate type")),
        };

        let (mut raddr, mut rport) = (None, None);
        let mut extensions = 0;
        while let Some(name) = it.next() {
            let value = it
                .next()
                .ok_or(Error::BadCandidate("extension without value"))?;
            match name {
                "raddr" if raddr.is_none() && extensions == 0 => raddr = Some(value),
                "rport" if rport.is_none() && raddr.is_some() && extensions == 0 => {
                    rport = Some(value)
                }
                "raddr" | "rport" => return Err(Error::BadCandidate("misplaced raddr/rport")),
                _ => {
                    extensions += 1;
                    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
                    if extensions > MAX_EXTENSIONS || !token(name) || !token(value) {
                        return Err(Error::BadCandidate("bad extension attribute"));
                    }
                }
            }
        }
        let base = match (kind, raddr, rport) {
            (CandidateKind::Host, None, None) => addr,
            (CandidateKind::Host, _, _) => {
                return Err(Error::BadCandidate("raddr/rport on a host candidate"))
            }
            // Privacy-minded peers send `raddr 0.0.0.0 rport 0`; the base is never used.
            (_, Some(ip), Some(port)) => parse_addr(ip, port)?,
            _ => {
                return Err(Error::BadCandidate(
                    "reflexive candidate without raddr and rport",
                ))
            }
        };
        Ok(Candidate {
            kind,
            addr,
            base,
            priority,
            foundation: foundation.to_owned(),
            component,
        })
    }
}

fn parse_num<T: std::str::FromStr>(s: &str, what: &'static str) -> Result<T, Error> {
    // `FromStr` for integers accepts a leading '+'; the SDP grammar does not.
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::BadCandidate(what));
    }
    s.parse().map_err(|_| Error::BadCandidate(what))
}

fn parse_addr(ip: &str, port: &str) -> Result<SocketAddr, Error> {
    if ip.ends_with(".local") {
        return Err(Error::BadCandidate(
            "mdns hostname candidates are not supported",
        ));
    }
    let ip: IpAddr = ip
        .parse()
        .map_err(|_| Error::BadCandidate("address is not an ip literal"))?;
    Ok(SocketAddr::new(ip, parse_num(port, "bad port")?))
}

/// RFC 8445 section 5.3: `ice-char = ALPHA / DIGIT / "+" / "/"`.
pub(crate) fn is_ice_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// Same kind, base IP and server give the same foundation (RFC 8445 section 5.1.1.3); an FNV-1a
/// hash keeps it short and stable without a registry of foundations.
fn foundation(kind: CandidateKind, base: IpAddr, server: Option<IpAddr>) -> String {
    let mut h: u32 = 0x811c_9dc5;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
    };
    eat(kind.sdp_name().as_bytes());
    let mut ip_bytes = |ip: IpAddr| match ip {
        IpAddr::V4(v4) => eat(&v4.octets()),
        IpAddr::V6(v6) => eat(&v6.octets()),
    };
    ip_bytes(base);
    if let Some(server) = server {
        ip_bytes(server);
    }
    h.to_string()
}
