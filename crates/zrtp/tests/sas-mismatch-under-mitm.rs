//! An active man in the middle runs its own ZRTP with each side: the two SAS values differ,
//! and after one clean call the same attack is flagged as a retained-secret cache mismatch.

#[path = "support/pair.rs"]
mod pair;

use std::sync::Arc;
use std::time::Duration;

use pair::Pair;
use sotto_netsim::LinkConfig;
use sotto_zrtp::cache::{MemoryCache, ZidCache};
use sotto_zrtp::{SessionConfig, Zid};

const ALICE: Zid = Zid([0xa1; 12]);
const BOB: Zid = Zid([0xb0; 12]);

fn cache(zid: Zid) -> Arc<dyn ZidCache> {
    Arc::new(MemoryCache::with_zid(zid))
}

fn call(a: Arc<dyn ZidCache>, b: Arc<dyn ZidCache>, seed: u64) -> Pair {
    let link = LinkConfig::perfect().with_delay(Duration::from_millis(15));
    let mut pair = Pair::new(
        SessionConfig::default(),
        a,
        SessionConfig::default(),
        b,
        seed,
        link,
    );
    pair.run(Duration::from_secs(30));
    pair
}

/// The relay's two halves: toward Alice it claims Bob's ZID, toward Bob Alice's.
fn mitm_call(alice: &Arc<dyn ZidCache>, bob: &Arc<dyn ZidCache>, seed: u64) -> (Pair, Pair) {
    let alice_side = call(alice.clone(), cache(BOB), seed);
    let bob_side = call(cache(ALICE), bob.clone(), seed + 100);
    (alice_side, bob_side)
}

#[test]
fn mitm_yields_different_sas_values() {
    let (alice, bob) = (cache(ALICE), cache(BOB));
    let (left, right) = mitm_call(&alice, &bob, 10);
    let (alice_view, _) = left.assert_agreed();
    let (_, bob_view) = right.assert_agreed();
    // Each half is a valid ZRTP exchange, but Alice and Bob read different SAS values aloud.
    assert_ne!(alice_view.sas, bob_view.sas);
    // First contact: nothing to compare against yet.
    assert!(!alice_view.cache_mismatch && !bob_view.cache_mismatch);
}

#[test]
fn mitm_after_clean_call_is_a_cache_mismatch() {
    let (alice, bob) = (cache(ALICE), cache(BOB));
    let clean = call(alice.clone(), bob.clone(), 20);
    let (a, b) = clean.assert_agreed();
    assert!(!a.cache_mismatch && !b.cache_mismatch);

    let (left, right) = mitm_call(&alice, &bob, 30);
    let (alice_view, _) = left.assert_agreed();
    let (_, bob_view) = right.assert_agreed();
    assert!(alice_view.cache_mismatch, "alice must be warned");
    assert!(bob_view.cache_mismatch, "bob must be warned");
    assert!(!alice_view.sas_verified && !bob_view.sas_verified);
    assert!(!alice_view.secret_matched && !bob_view.secret_matched);

    // The attacker's secret was not stored: the real peers still match afterwards.
    let after = call(alice, bob, 40);
    let (a, b) = after.assert_agreed();
    assert!(!a.cache_mismatch && !b.cache_mismatch);
}

#[test]
fn clean_second_call_matches_retained_secret() {
    let (alice, bob) = (cache(ALICE), cache(BOB));
    let first = call(alice.clone(), bob.clone(), 50);
    first.assert_agreed();
    let rs_after_first = alice.load(&BOB).expect("load").expect("entry").rs1;
    let second = call(alice.clone(), bob.clone(), 60);
    let (a, b) = second.assert_agreed();
    assert!(!a.cache_mismatch && !b.cache_mismatch);
    assert!(a.secret_matched && b.secret_matched, "key continuity");
    // rs1 rolled over: the first call's secret is now rs2.
    let entry = alice.load(&BOB).expect("load").expect("entry");
    assert_eq!(entry.rs2, rs_after_first);
    assert_ne!(entry.rs1, rs_after_first);
}
