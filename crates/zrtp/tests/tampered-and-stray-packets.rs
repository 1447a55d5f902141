//! Tampered, stray and replayed packets are dropped without changing state: a seeded exchange
//! that receives them ends with exactly the keys of the same exchange without them.

#[path = "support/pair.rs"]
mod pair;

use std::time::Duration;

use pair::{memory_cache, Injection, Pair, Tamper};
use sotto_netsim::LinkConfig;
use sotto_zrtp::wire::{self, Message};
use sotto_zrtp::{Error, SessionConfig};

const SEED: u64 = 4242;

fn run(tamper: Option<Tamper>) -> Pair {
    let link = LinkConfig::perfect().with_delay(Duration::from_millis(20));
    let mut pair = Pair::new(
        SessionConfig::default(),
        memory_cache(),
        SessionConfig::default(),
        memory_cache(),
        SEED,
        link,
    );
    pair.tamper = tamper;
    pair.run(Duration::from_secs(30));
    pair
}

/// The tampered run must end exactly like the clean one.
fn assert_same_outcome(clean: &Pair, tampered: &Pair) {
    let (a, b) = tampered.assert_agreed();
    let (ca, cb) = clean.assert_agreed();
    assert_eq!(a.srtp.local_key, ca.srtp.local_key);
    assert_eq!(a.srtp.remote_key, ca.srtp.remote_key);
    assert_eq!(b.srtp.local_salt, cb.srtp.local_salt);
    assert_eq!(a.sas, ca.sas);
    assert_eq!(a.role, ca.role);
}

fn rejected(pair: &Pair) -> Vec<&Error> {
    pair.a.rejected.iter().chain(&pair.b.rejected).collect()
}

/// Re-seals a modified message with a valid CRC, keeping the genuine header.
fn reseal(genuine: &[u8], message: &Message) -> Vec<u8> {
    let packet = wire::parse_packet(genuine).expect("genuine packet parses");
    let mut body = Vec::new();
    wire::encode_message(message, &mut body);
    let mut out = Vec::new();
    wire::seal_packet(packet.header, &body, &mut out);
    out
}

fn forge_before(f: impl Fn(Message) -> Option<Message> + 'static) -> Tamper {
    Box::new(move |_, genuine| {
        let message = wire::parse_packet(genuine)
            .expect("genuine packet parses")
            .message;
        Injection {
            before: f(message)
                .map(|m| reseal(genuine, &m))
                .into_iter()
                .collect(),
            after: vec![],
        }
    })
}

#[test]
fn bad_crc_is_dropped() {
    let clean = run(None);
    let tampered = run(Some(Box::new(|_, genuine| {
        let mut bad = genuine.to_vec();
        let i = bad.len() / 2;
        bad[i] ^= 0x04;
        Injection {
            before: vec![bad],
            after: vec![],
        }
    })));
    assert_same_outcome(&clean, &tampered);
    let errors = rejected(&tampered);
    let crc = errors.iter().filter(|e| matches!(e, Error::BadCrc)).count();
    // One forged copy per delivery; whatever else was dropped, the clean run dropped too.
    assert!(crc >= 6, "{errors:?}");
    assert_eq!(errors.len() - crc, rejected(&clean).len(), "{errors:?}");
}

#[test]
fn wrong_hash_chain_preimage_is_dropped() {
    let clean = run(None);
    let tampered = run(Some(forge_before(|m| match m {
        Message::Commit(mut c) => {
            c.h2[0] ^= 1;
            Some(Message::Commit(c))
        }
        Message::DhPart1(mut p) => {
            p.h1[5] ^= 1;
            Some(Message::DhPart1(p))
        }
        Message::DhPart2(mut p) => {
            p.h1[31] ^= 1;
            Some(Message::DhPart2(p))
        }
        _ => None,
    })));
    assert_same_outcome(&clean, &tampered);
    let chain = rejected(&tampered)
        .iter()
        .filter(|e| matches!(e, Error::HashChainMismatch))
        .count();
    assert_eq!(chain, 3, "{:?}", rejected(&tampered));
}

#[test]
fn dhpart2_not_matching_hvi_is_dropped() {
    let clean = run(None);
    let tampered = run(Some(forge_before(|m| match m {
        Message::DhPart2(mut p) => {
            // A genuine H1 spliced onto another public value: only the hvi catches it.
            p.public_value[3] ^= 0x10;
            Some(Message::DhPart2(p))
        }
        _ => None,
    })));
    assert_same_outcome(&clean, &tampered);
    assert!(
        rejected(&tampered)
            .iter()
            .any(|e| matches!(e, Error::BadHvi)),
        "{:?}",
        rejected(&tampered)
    );
}

#[test]
fn confirm_with_bad_mac_is_dropped() {
    let clean = run(None);
    let tampered = run(Some(forge_before(|m| match m {
        Message::Confirm1(mut c) => {
            c.encrypted[0] ^= 0x80;
            Some(Message::Confirm1(c))
        }
        Message::Confirm2(mut c) => {
            c.confirm_mac[7] ^= 1;
            Some(Message::Confirm2(c))
        }
        _ => None,
    })));
    assert_same_outcome(&clean, &tampered);
    let bad = rejected(&tampered)
        .iter()
        .filter(|e| matches!(e, Error::BadConfirmMac))
        .count();
    assert_eq!(bad, 2, "{:?}", rejected(&tampered));
}

#[test]
fn stray_and_replayed_packets_change_nothing() {
    let clean = run(None);
    // Every packet of an earlier, unrelated exchange between two other endpoints.
    let old = {
        let mut other = Pair::new(
            SessionConfig::default(),
            memory_cache(),
            SessionConfig::default(),
            memory_cache(),
            SEED + 99,
            LinkConfig::perfect(),
        );
        other.run(Duration::from_secs(30));
        other.assert_agreed();
        [other.a.sent.clone(), other.b.sent.clone()].concat()
    };
    let tampered = run(Some(Box::new(move |_, genuine| {
        // Behind each genuine packet: a replay of it and the whole stray exchange.
        let mut after = vec![genuine.to_vec()];
        after.extend(old.iter().cloned());
        Injection {
            before: vec![],
            after,
        }
    })));
    assert_same_outcome(&clean, &tampered);
    assert!(tampered.a.rejected.len() > 10 && tampered.b.rejected.len() > 10);
}
