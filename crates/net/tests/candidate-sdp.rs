//! Candidates survive the trip through SDP unchanged, the parser takes what browsers write and
//! refuses what sotto cannot use, and ICE credentials follow RFC 8445 and keep the password
//! out of `Debug`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sotto_net::{Candidate, CandidateKind, Error, IceCredentials, PWD_LEN, UFRAG_LEN};

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|v| IpAddr::V4(Ipv4Addr::from(v))),
        any::<u128>().prop_map(|v| IpAddr::V6(Ipv6Addr::from(v))),
    ]
}

fn candidate() -> impl Strategy<Value = Candidate> {
    let kind = prop_oneof![
        Just(CandidateKind::Host),
        Just(CandidateKind::ServerReflexive),
        Just(CandidateKind::PeerReflexive),
    ];
    (
        kind,
        ip(),
        1u16..,
        ip(),
        any::<u16>(),
        1u32..0x8000_0000,
        "[A-Za-z0-9+/]{1,32}",
        1u16..=256,
    )
        .prop_map(
            |(kind, ip, port, bip, bport, priority, foundation, component)| {
                let addr = SocketAddr::new(ip, port);
                Candidate {
                    kind,
                    addr,
                    base: if kind == CandidateKind::Host {
                        addr
                    } else {
                        SocketAddr::new(bip, bport)
                    },
                    priority,
                    foundation,
                    component,
                }
            },
        )
}

proptest! {
    #[test]
    fn sdp_round_trip(c in candidate()) {
        let line = c.to_sdp();
        prop_assert_eq!(Candidate::parse_sdp(&line), Ok(c.clone()));
        prop_assert_eq!(Candidate::parse_sdp(&format!("a={line}\r\n")), Ok(c));
    }

    #[test]
    fn parse_never_panics(s in "\\PC{0,200}") {
        let _ = Candidate::parse_sdp(&s);
    }

    #[test]
    fn parse_never_panics_near_valid(
        c in candidate(),
        cut in 0usize..120,
        junk in "[ a-z0-9.:]{0,12}",
    ) {
        let line = c.to_sdp();
        let cut = cut.min(line.len());
        let mangled = format!("{}{}{}", &line[..cut], junk, &line[cut..]);
        if let Ok(parsed) = Candidate::parse_sdp(&mangled) {
            // Whatever parses writes out and parses again to the same candidate.
            prop_assert_eq!(Candidate::parse_sdp(&parsed.to_sdp()), Ok(parsed));
        }
    }
}

#[test]
fn constructors_follow_rfc_8445_priorities_and_foundations() {
    let host = Candidate::host("10.0.0.2:5004".parse().expect("addr"), 65535);
    assert_eq!(host.priority, (126 << 24) | (65535 << 8) | 255);
    assert_eq!(
        host.to_sdp(),
        format!(
            "candidate:{} 1 udp 2130706431 10.0.0.2 5004 typ host",
            host.foundation
        )
    );
    let server = "198.51.100.1:3478".parse().expect("addr");
    let srflx = Candidate::server_reflexive(
        "203.0.113.10:40000".parse().expect("addr"),
        host.addr,
        server,
        65535,
    );
    assert_eq!(srflx.priority, (100 << 24) | (65535 << 8) | 255);
    assert!(srflx
        .to_sdp()
        .ends_with("typ srflx raddr 10.0.0.2 rport 5004"));
    // Same kind, base IP and server: same foundation; another kind: another one.
    let again = Candidate::server_reflexive(
        "203.0.113.10:40001".parse().expect("addr"),
        "10.0.0.2:6000".parse().expect("addr"),
        server,
        1,
    );
    assert_eq!(srflx.foundation, again.foundation);
    assert_ne!(srflx.foundation, host.foundation);
}

#[test]
fn browser_lines_parse() {
    let chrome = "candidate:842163049 1 udp 1677729535 203.0.113.7 61330 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag aBcD network-cost 999";
    let c = Candidate::parse_sdp(chrome).expect("chrome srflx");
    assert_eq!(c.kind, CandidateKind::ServerReflexive);
    assert_eq!(c.addr, "203.0.113.7:61330".parse().expect("addr"));
    assert_eq!(c.priority, 1_677_729_535);
    let firefox = "a=candidate:0 1 UDP 2122252543 [2001:db8::1] 49203 typ host";
    assert!(
        Candidate::parse_sdp(firefox).is_err(),
        "brackets are not in the grammar"
    );
    let firefox = "a=candidate:0 1 UDP 2122252543 2001:db8::1 49203 typ host\r\n";
    assert_eq!(
        Candidate::parse_sdp(firefox).expect("v6 host").addr.port(),
        49203
    );
}

#[test]
fn unusable_or_malformed_lines_are_refused() {
    let bad = [
        ("", "missing"),
        (
            "candidate:1 1 tcp 2130706431 10.0.0.2 9 typ host tcptype active",
            "tcp",
        ),
        (
            "candidate:1 1 udp 2130706431 10.0.0.2 5004 typ relay raddr 1.2.3.4 rport 5",
            "relay",
        ),
        (
            "candidate:1 1 udp 2130706431 3f2a-1.local 5004 typ host",
            "mdns",
        ),
        (
            "candidate:1 1 udp 2130706431 10.0.0.2 5004 typ srflx",
            "no raddr",
        ),
        (
            "candidate:1 1 udp 2130706431 10.0.0.2 5004 typ host raddr 1.2.3.4 rport 5",
            "raddr on host",
        ),
        ("candidate:1 1 udp 0 10.0.0.2 5004 typ host", "priority 0"),
        (
            "candidate:1 1 udp 4294967295 10.0.0.2 5004 typ host",
            "priority > 2^31-1",
        ),
        ("candidate:1 1 udp +5 10.0.0.2 5004 typ host", "sign"),
        ("candidate:1 0 udp 5 10.0.0.2 5004 typ host", "component 0"),
        ("candidate:1 1 udp 5 10.0.0.2 0 typ host", "port 0"),
        ("candidate:1 1 udp 5 10.0.0.2 70000 typ host", "port range"),
        ("candidate:1 1 udp 5 10.0.0.2 5004 type host", "typ"),
        (
            "candidate:1 1 udp 5 10.0.0.2 5004 typ host generation",
            "dangling extension",
        ),
        (
            "candidate:a_b 1 udp 5 10.0.0.2 5004 typ host",
            "foundation chars",
        ),
        (
            "candidate:1  1 udp 5 10.0.0.2 5004 typ host",
            "double space",
        ),
    ];
    for (line, why) in bad {
        assert!(
            matches!(Candidate::parse_sdp(line), Err(Error::BadCandidate(_))),
            "{why}: {line}"
        );
    }
    let long = format!(
        "candidate:1 1 udp 5 10.0.0.2 5004 typ host{}",
        " x y".repeat(200)
    );
    assert!(Candidate::parse_sdp(&long).is_err());
}

#[test]
fn credentials_are_rfc_8445_and_the_password_stays_out_of_debug() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let a = IceCredentials::generate(&mut rng);
    let b = IceCredentials::generate(&mut rng);
    assert_ne!(a, b);
    let ice_char = |c: char| c.is_ascii_alphanumeric() || c == '+' || c == '/';
    assert_eq!(a.ufrag.len(), UFRAG_LEN);
    assert_eq!(a.pwd.expose_secret().len(), PWD_LEN);
    assert!(a
        .ufrag
        .chars()
        .chain(a.pwd.expose_secret().chars())
        .all(ice_char));
    let debug = format!("{a:?}");
    assert!(debug.contains(&a.ufrag));
    assert!(!debug.contains(a.pwd.expose_secret()), "{debug}");
    assert!(debug.contains("IcePwd(..)"));

    let pwd = a.pwd.expose_secret();
    assert_eq!(IceCredentials::new(&a.ufrag, pwd), Ok(a.clone()));
    assert!(IceCredentials::new("abc", pwd).is_err(), "ufrag too short");
    assert!(
        IceCredentials::new("ab:c", pwd).is_err(),
        "ufrag with a colon"
    );
    assert!(
        IceCredentials::new(&a.ufrag, &pwd[..21]).is_err(),
        "pwd too short"
    );
    assert!(
        IceCredentials::new(&a.ufrag, &format!("{}-", &pwd[..22])).is_err(),
        "pwd char"
    );
}
