//! Every algorithm combination sotto implements completes between two sotto endpoints, in both
//! roles, and negotiation follows RFC 6189 section 4.1.2.

#[path = "support/pair.rs"]
mod pair;

use std::time::Duration;

use pair::{memory_cache, Pair};
use sotto_netsim::LinkConfig;
use sotto_zrtp::{
    AuthTag, CipherAlgorithm, HashAlgorithm, KeyAgreement, Role, RolePolicy, SasType, SessionConfig,
};

fn only(
    ka: KeyAgreement,
    hash: HashAlgorithm,
    cipher: CipherAlgorithm,
    tag: AuthTag,
    sas: SasType,
) -> SessionConfig {
    SessionConfig {
        hashes: vec![hash],
        ciphers: vec![cipher],
        auth_tags: vec![tag],
        key_agreements: vec![ka],
        sas_types: vec![sas],
        ..SessionConfig::default()
    }
}

fn handshake(a: SessionConfig, b: SessionConfig, seed: u64) -> Pair {
    let mut pair = Pair::new(
        a,
        memory_cache(),
        b,
        memory_cache(),
        seed,
        LinkConfig::perfect().with_delay(Duration::from_millis(3)),
    );
    pair.run(Duration::from_secs(30));
    pair
}

#[test]
fn every_combination_completes() {
    let mut seed = 0;
    for ka in [
        KeyAgreement::X255,
        KeyAgreement::Ec25,
        KeyAgreement::Dh3k,
        KeyAgreement::Dh2k,
    ] {
        for hash in [HashAlgorithm::S256, HashAlgorithm::S384] {
            for cipher in [CipherAlgorithm::Aes1, CipherAlgorithm::Aes3] {
                for (tag, sas) in [
                    (AuthTag::Hs32, SasType::B32),
                    (AuthTag::Hs80, SasType::B256),
                ] {
                    seed += 1;
                    let cfg = only(ka, hash, cipher, tag, sas);
                    let pair = handshake(cfg.clone(), cfg, seed);
                    let (a, _) = pair.assert_agreed();
                    let alg = a.algorithms;
                    assert_eq!(
                        (
                            alg.key_agreement,
                            alg.hash,
                            alg.cipher,
                            alg.auth_tag,
                            alg.sas_type
                        ),
                        (ka, hash, cipher, tag, sas)
                    );
                    assert_eq!(a.srtp.local_key.len(), cipher.key_len());
                    assert_eq!(a.srtp.local_salt.len(), 14);
                    let sas_text = a.sas.as_deref().expect("DH mode has a SAS");
                    match sas {
                        SasType::B32 => assert_eq!(sas_text.chars().count(), 4, "{sas_text}"),
                        _ => assert_eq!(sas_text.split(':').count(), 2, "{sas_text}"),
                    }
                }
            }
        }
    }
}

#[test]
fn forced_roles_are_honoured() {
    for (pa, pb, want_a) in [
        (
            RolePolicy::Initiator,
            RolePolicy::Responder,
            Role::Initiator,
        ),
        (
            RolePolicy::Responder,
            RolePolicy::Initiator,
            Role::Responder,
        ),
        (RolePolicy::Responder, RolePolicy::Auto, Role::Responder),
    ] {
        let a = SessionConfig {
            role: pa,
            ..SessionConfig::default()
        };
        let b = SessionConfig {
            role: pb,
            ..SessionConfig::default()
        };
        let pair = handshake(a, b, 77);
        let (a, _) = pair.assert_agreed();
        assert_eq!(a.role, want_a);
    }
}

#[test]
fn differing_first_choices_settle_on_the_faster_key_agreement() {
    let a = SessionConfig {
        key_agreements: vec![KeyAgreement::Dh3k, KeyAgreement::X255],
        ..SessionConfig::default()
    };
    let b = SessionConfig {
        key_agreements: vec![KeyAgreement::X255, KeyAgreement::Dh3k],
        ..SessionConfig::default()
    };
    let pair = handshake(a, b, 5);
    let (a, _) = pair.assert_agreed();
    assert_eq!(a.algorithms.key_agreement, KeyAgreement::X255);
}

#[test]
fn mandatory_algorithms_are_always_offered() {
    // A asks for S384/AES3/X255 only; B for the mandatory set only: they meet on the mandatory ones.
    let a = only(
        KeyAgreement::X255,
        HashAlgorithm::S384,
        CipherAlgorithm::Aes3,
        AuthTag::Hs80,
        SasType::B256,
    );
    let b = only(
        KeyAgreement::Dh3k,
        HashAlgorithm::S256,
        CipherAlgorithm::Aes1,
        AuthTag::Hs32,
        SasType::B32,
    );
    let pair = handshake(a, b, 6);
    let (a, _) = pair.assert_agreed();
    assert_eq!(a.algorithms.key_agreement, KeyAgreement::Dh3k);
    assert_eq!(a.algorithms.hash, HashAlgorithm::S256);
}

#[test]
fn listing_mult_as_a_key_agreement_is_a_clear_error() {
    use rand_core::SeedableRng;
    let cfg = SessionConfig {
        key_agreements: vec![KeyAgreement::Mult],
        ..SessionConfig::default()
    };
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    #[allow(clippy::disallowed_methods)]
    let now = std::time::Instant::now();
    let err = sotto_zrtp::Session::new(cfg, memory_cache(), &mut rng, now)
        .expect_err("Mult is not listable");
    assert!(matches!(err, sotto_zrtp::Error::InvalidConfig(_)), "{err}");
    assert!(err.to_string().contains("multistream"), "{err}");
}
