//! sotto-zrtp against bzrtp (Debian libbzrtp, Linphone's ZRTP library) over loopback UDP: both
//! roles, every algorithm the two implement, retained secrets across calls, a lost cache and a
//! damaged one. Both sides must report the same SAS, algorithms and SRTP keys.

#[path = "support/bzrtp.rs"]
mod bzrtp;

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bzrtp::{BzrtpPeer, PeerConfig, PeerReport};
use sotto::zrtp_udp::ZrtpOverUdp;
use sotto_zrtp::cache::{SqliteCache, ZidCache};
use sotto_zrtp::{
    AuthTag, CipherAlgorithm, HashAlgorithm, Input, KeyAgreement, Role, RolePolicy, SasType,
    SecureInfo, Session, SessionConfig,
};

struct Case {
    ka: KeyAgreement,
    hash: HashAlgorithm,
    cipher: CipherAlgorithm,
    tag: AuthTag,
    sas: SasType,
}

/// Every algorithm both implement appears with each key agreement and in each role.
const CASES: &[Case] = &[
    Case {
        ka: KeyAgreement::X255,
        hash: HashAlgorithm::S256,
        cipher: CipherAlgorithm::Aes1,
        tag: AuthTag::Hs32,
        sas: SasType::B32,
    },
    Case {
        ka: KeyAgreement::X255,
        hash: HashAlgorithm::S384,
        cipher: CipherAlgorithm::Aes3,
        tag: AuthTag::Hs80,
        sas: SasType::B256,
    },
    Case {
        ka: KeyAgreement::Dh3k,
        hash: HashAlgorithm::S256,
        cipher: CipherAlgorithm::Aes3,
        tag: AuthTag::Hs80,
        sas: SasType::B32,
    },
    Case {
        ka: KeyAgreement::Dh3k,
        hash: HashAlgorithm::S384,
        cipher: CipherAlgorithm::Aes1,
        tag: AuthTag::Hs32,
        sas: SasType::B256,
    },
    Case {
        ka: KeyAgreement::Dh2k,
        hash: HashAlgorithm::S384,
        cipher: CipherAlgorithm::Aes3,
        tag: AuthTag::Hs32,
        sas: SasType::B32,
    },
    Case {
        ka: KeyAgreement::Dh2k,
        hash: HashAlgorithm::S256,
        cipher: CipherAlgorithm::Aes1,
        tag: AuthTag::Hs80,
        sas: SasType::B256,
    },
];

fn wire_name<T: ToString>(a: T) -> &'static str {
    Box::leak(a.to_string().into_boxed_str())
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("bzrtp-interop")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

struct Call {
    ours: Box<SecureInfo>,
    theirs: PeerReport,
}

/// One call: bzrtp first (its socket bound), then sotto on its own UDP socket.
fn call(
    case: &Case,
    role: RolePolicy,
    our_cache: Arc<dyn ZidCache>,
    peer_cache: &Path,
    peer_verified: bool,
    verify: bool,
    listen: bool,
) -> Call {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let our_port = socket.local_addr().expect("addr").port();
    let peer = BzrtpPeer::spawn(&PeerConfig {
        remote_port: our_port,
        key_agreements: vec![wire_name(case.ka)],
        hashes: vec![wire_name(case.hash)],
        ciphers: vec![wire_name(case.cipher)],
        auth_tags: vec![wire_name(case.tag)],
        sas_types: vec![wire_name(case.sas)],
        cache_path: Some(peer_cache.to_path_buf()),
        sas_verified: peer_verified,
        linger_ms: 300,
        ..PeerConfig::default()
    })
    .expect("bzrtp peer starts (run .ci/setup to install libbzrtp-dev)");
    let peer_addr: SocketAddr = ([127, 0, 0, 1], peer.local_port()).into();
    let config = SessionConfig {
        hashes: vec![case.hash],
        ciphers: vec![case.cipher],
        auth_tags: vec![case.tag],
        key_agreements: vec![case.ka],
        sas_types: vec![case.sas],
        role,
        ssrc: 0x5077_0001,
        ..SessionConfig::default()
    };
    let session =
        Session::new(config, our_cache, &mut rand_core::OsRng, Instant::now()).expect("session");
    // Listening, sotto learns bzrtp's address from its first accepted packet.
    let mut link = ZrtpOverUdp::new(socket, (!listen).then_some(peer_addr), session);
    if listen {
        assert_eq!(link.peer(), None);
    }
    let ours = link.handshake(Duration::from_secs(10));
    if verify {
        link.session_mut()
            .handle_input(Input::SetSasVerified(true))
            .expect("mark verified");
    }
    link.serve_until(Instant::now() + Duration::from_millis(500))
        .expect("serve");
    let theirs = peer.wait().expect("bzrtp report");
    let ours = ours.unwrap_or_else(|e| panic!("sotto failed: {e}; bzrtp said {theirs:?}"));
    assert_eq!(
        theirs.error,
        None,
        "bzrtp failed; its log: {}",
        theirs.log_path.display()
    );
    Call { ours, theirs }
}

fn assert_interop(c: &Call, case: &Case) {
    let (ours, theirs) = (&c.ours, &c.theirs);
    let alg = ours.algorithms;
    assert_eq!(
        (
            alg.key_agreement,
            alg.hash,
            alg.cipher,
            alg.auth_tag,
            alg.sas_type
        ),
        (case.ka, case.hash, case.cipher, case.tag, case.sas)
    );
    assert_eq!(theirs.key_agreement, case.ka.to_string());
    assert_eq!(theirs.hash, case.hash.to_string());
    assert_eq!(theirs.cipher, case.cipher.to_string());
    assert_eq!(theirs.auth_tag, case.tag.to_string());
    assert_eq!(theirs.sas_type, case.sas.to_string());
    assert_eq!(ours.sas.as_deref(), Some(theirs.sas.as_str()), "same SAS");
    assert_eq!(
        ours.srtp.local_key.expose_secret(),
        &theirs.peer_srtp_key[..]
    );
    assert_eq!(
        ours.srtp.local_salt.expose_secret(),
        &theirs.peer_srtp_salt[..]
    );
    assert_eq!(
        ours.srtp.remote_key.expose_secret(),
        &theirs.self_srtp_key[..]
    );
    assert_eq!(
        ours.srtp.remote_salt.expose_secret(),
        &theirs.self_srtp_salt[..]
    );
    let mut exported = vec![0u8; theirs.exported_key.len()];
    ours.export_key(theirs.export_label.as_bytes(), &mut exported);
    assert_eq!(exported, theirs.exported_key, "same exported key");
    let their_role = if ours.role == Role::Initiator {
        "responder"
    } else {
        "initiator"
    };
    assert_eq!(theirs.role, their_role);
}

fn sqlite(path: &Path) -> Arc<dyn ZidCache> {
    Arc::new(SqliteCache::open(path).expect("open cache"))
}

fn every_case_in(role: RolePolicy, want: Role) {
    let dir = temp_dir(&format!("{want}"));
    for (i, case) in CASES.iter().enumerate() {
        let c = call(
            case,
            role,
            sqlite(&dir.join(format!("ours-{i}.sqlite"))),
            &dir.join(format!("bzrtp-{i}.sqlite")),
            false,
            false,
            false,
        );
        assert_eq!(c.ours.role, want);
        assert_interop(&c, case);
        assert!(!c.ours.cache_mismatch && !c.theirs.cache_mismatch);
    }
}

#[test]
fn sotto_initiator_every_algorithm() {
    every_case_in(RolePolicy::Initiator, Role::Initiator);
}

#[test]
fn sotto_responder_every_algorithm() {
    every_case_in(RolePolicy::Responder, Role::Responder);
}

#[test]
fn retained_secrets_carry_over_in_both_caches() {
    let dir = temp_dir("retained");
    let (ours, theirs) = (dir.join("ours.sqlite"), dir.join("bzrtp.sqlite"));
    let case = &CASES[0];
    // First call: both sides mark the SAS verified.
    let first = call(
        case,
        RolePolicy::Initiator,
        sqlite(&ours),
        &theirs,
        true,
        true,
        false,
    );
    assert_interop(&first, case);
    assert!(
        !first.ours.sas_verified && !first.theirs.sas_verified,
        "first contact is never verified"
    );
    // Second call, other roles, fresh processes and reopened files: rs1 matches on both sides.
    let second = call(
        case,
        RolePolicy::Responder,
        sqlite(&ours),
        &theirs,
        false,
        false,
        false,
    );
    assert_interop(&second, case);
    assert!(!second.ours.cache_mismatch && !second.theirs.cache_mismatch);
    assert!(
        second.ours.sas_verified,
        "sotto: retained secret matched and both verified before"
    );
    assert!(
        second.theirs.sas_verified,
        "bzrtp: retained secret matched and both verified before"
    );
    // A third call still matches: rs1 rolled over correctly on both sides.
    let third = call(
        &CASES[2],
        RolePolicy::Initiator,
        sqlite(&ours),
        &theirs,
        false,
        false,
        false,
    );
    assert_interop(&third, &CASES[2]);
    assert!(third.ours.sas_verified && third.theirs.sas_verified);
}

#[test]
fn peer_that_lost_its_cache_is_a_stranger_again() {
    let dir = temp_dir("lost");
    let ours = dir.join("ours.sqlite");
    let case = &CASES[1];
    let first = call(
        case,
        RolePolicy::Initiator,
        sqlite(&ours),
        &dir.join("bzrtp.sqlite"),
        true,
        true,
        false,
    );
    assert_interop(&first, case);
    // bzrtp lost its cache, and with it its ZID: a new identity, nothing verified any more.
    let second = call(
        case,
        RolePolicy::Initiator,
        sqlite(&ours),
        &dir.join("bzrtp-new.sqlite"),
        false,
        false,
        false,
    );
    assert_interop(&second, case);
    assert_ne!(first.theirs.self_zid, second.theirs.self_zid);
    assert!(!second.ours.sas_verified && !second.theirs.sas_verified);
    assert!(!second.ours.cache_mismatch && !second.theirs.cache_mismatch);
}

#[test]
fn damaged_retained_secret_is_a_mismatch_on_both_sides() {
    let dir = temp_dir("damaged");
    let (ours, theirs) = (dir.join("ours.sqlite"), dir.join("bzrtp.sqlite"));
    let case = &CASES[0];
    let first = call(
        case,
        RolePolicy::Responder,
        sqlite(&ours),
        &theirs,
        true,
        true,
        false,
    );
    assert_interop(&first, case);
    // Our rs1 for bzrtp is replaced, as if a man in the middle had keyed the last call.
    let cache = sqlite(&ours);
    let peer_zid = first.ours.peer_zid;
    let mut entry = cache.load(&peer_zid).expect("load").expect("entry");
    entry.rs1 = Some(sotto_zrtp::RetainedSecret::new([0x5a; 32]));
    entry.rs2 = None;
    cache.store(&peer_zid, &entry).expect("store");
    let second = call(
        case,
        RolePolicy::Responder,
        cache,
        &theirs,
        false,
        false,
        false,
    );
    assert_interop(&second, case);
    assert!(second.ours.cache_mismatch, "sotto flags the mismatch");
    assert!(second.theirs.cache_mismatch, "bzrtp flags the mismatch");
    assert!(!second.ours.sas_verified && !second.theirs.sas_verified);
}

#[test]
fn sotto_listens_and_bzrtp_calls() {
    let dir = temp_dir("listen");
    let case = &CASES[3];
    let c = call(
        case,
        RolePolicy::Auto,
        sqlite(&dir.join("ours.sqlite")),
        &dir.join("bzrtp.sqlite"),
        false,
        false,
        true,
    );
    assert_interop(&c, case);
}
