//! A Hello that cannot be accepted is answered with the RFC 6189 section 5.9 error and dropped:
//! it latches nothing, so the genuine peer can still get through, and when none does the
//! session ends with the refusal as its reason.

#[path = "support/pair.rs"]
mod pair;

use std::sync::Arc;
use std::time::Duration;

use pair::{memory_cache, Injection, Pair};
use sotto_netsim::LinkConfig;
use sotto_zrtp::cache::{MemoryCache, ZidCache};
use sotto_zrtp::wire::{self, Message};
use sotto_zrtp::{Error, ErrorCode, SessionConfig, Zid};

fn link() -> LinkConfig {
    LinkConfig::perfect().with_delay(Duration::from_millis(10))
}

#[test]
fn forged_hello_of_another_version_is_refused_and_the_real_peer_gets_through() {
    let mut pair = Pair::new(
        SessionConfig::default(),
        memory_cache(),
        SessionConfig::default(),
        memory_cache(),
        5,
        link(),
    );
    let mut sent_forgery = false;
    pair.tamper = Some(Box::new(move |to_b, genuine| {
        let packet = wire::parse_packet(genuine).expect("genuine");
        match packet.message {
            Message::Hello(mut hello) if !to_b && !sent_forgery => {
                sent_forgery = true;
                hello.version = *b"1.00";
                let mut body = Vec::new();
                wire::encode_message(&Message::Hello(hello), &mut body);
                let mut forged = Vec::new();
                wire::seal_packet(packet.header, &body, &mut forged);
                Injection {
                    before: vec![forged],
                    after: vec![],
                }
            }
            _ => Injection::default(),
        }
    }));
    pair.run(Duration::from_secs(30));
    pair.assert_agreed();
    assert!(
        pair.a
            .rejected
            .iter()
            .any(|e| matches!(e, Error::HelloRefused(_))),
        "{:?}",
        pair.a.rejected
    );
    // A told the sender why, with the RFC's code.
    let codes: Vec<_> = pair
        .a
        .sent
        .iter()
        .filter_map(|p| match wire::parse_packet(p).ok()?.message {
            Message::Error(code) => Some(code),
            _ => None,
        })
        .collect();
    assert_eq!(codes, vec![ErrorCode::UNSUPPORTED_VERSION]);
}

#[test]
fn a_peer_with_our_own_zid_is_refused_with_the_reason() {
    let cache = || -> Arc<dyn ZidCache> { Arc::new(MemoryCache::with_zid(Zid([3; 12]))) };
    let mut pair = Pair::new(
        SessionConfig::default(),
        cache(),
        SessionConfig::default(),
        cache(),
        6,
        link(),
    );
    pair.run(Duration::from_secs(60));
    for failed in [&pair.a.failed, &pair.b.failed] {
        match failed {
            Some(Error::PeerIncompatible(inner)) => {
                assert!(matches!(**inner, Error::EqualZids), "{inner}")
            }
            other => panic!("expected the equal-ZID refusal as the reason, got {other:?}"),
        }
    }
    assert!(pair.elapsed() < Duration::from_secs(10));
}
