//! The SAS-verified flag: set by the user, carried in Confirm, shown only when both ends set it
//! and the retained secret matched; a peer that lost its cache is flagged.

#[path = "support/pair.rs"]
mod pair;

use std::sync::Arc;
use std::time::Duration;

use pair::Pair;
use sotto_netsim::LinkConfig;
use sotto_zrtp::cache::{MemoryCache, ZidCache};
use sotto_zrtp::{Input, SessionConfig, Zid};

fn call(a: &Arc<dyn ZidCache>, b: &Arc<dyn ZidCache>, seed: u64) -> Pair {
    let link = LinkConfig::perfect().with_delay(Duration::from_millis(5));
    let mut pair = Pair::new(
        SessionConfig::default(),
        a.clone(),
        SessionConfig::default(),
        b.clone(),
        seed,
        link,
    );
    pair.run(Duration::from_secs(30));
    pair
}

fn verify_both(pair: &mut Pair) {
    pair.a
        .session
        .handle_input(Input::SetSasVerified(true))
        .expect("a verifies");
    pair.b
        .session
        .handle_input(Input::SetSasVerified(true))
        .expect("b verifies");
}

#[test]
fn verified_sas_carries_over_to_the_next_call() {
    let a: Arc<dyn ZidCache> = Arc::new(MemoryCache::new());
    let b: Arc<dyn ZidCache> = Arc::new(MemoryCache::new());
    let mut first = call(&a, &b, 1);
    let (x, y) = first.assert_agreed();
    assert!(
        !x.sas_verified && !y.sas_verified,
        "first contact is never verified"
    );
    verify_both(&mut first);

    let second = call(&a, &b, 2);
    let (x, y) = second.assert_agreed();
    assert!(x.sas_verified && y.sas_verified);
}

#[test]
fn one_side_verifying_is_not_enough() {
    let a: Arc<dyn ZidCache> = Arc::new(MemoryCache::new());
    let b: Arc<dyn ZidCache> = Arc::new(MemoryCache::new());
    let mut first = call(&a, &b, 3);
    first
        .a
        .session
        .handle_input(Input::SetSasVerified(true))
        .expect("a verifies");
    let second = call(&a, &b, 4);
    let (x, y) = second.assert_agreed();
    assert!(!x.sas_verified && !y.sas_verified);
}

#[test]
fn peer_that_lost_its_cache_is_flagged_until_verified() {
    let a: Arc<dyn ZidCache> = Arc::new(MemoryCache::new());
    let b: Arc<dyn ZidCache> = Arc::new(MemoryCache::with_zid(Zid([7; 12])));
    let mut first = call(&a, &b, 5);
    verify_both(&mut first);

    // B reinstalls: same ZID, no retained secrets.
    let b: Arc<dyn ZidCache> = Arc::new(MemoryCache::with_zid(Zid([7; 12])));
    let mut second = call(&a, &b, 6);
    let (x, y) = second.assert_agreed();
    assert!(x.cache_mismatch, "A held a secret that B no longer has");
    assert!(!y.cache_mismatch, "B has nothing to mismatch");
    assert!(!x.sas_verified && !y.sas_verified);
    // Reading the SAS aloud and confirming it commits the new secret on A.
    verify_both(&mut second);

    let third = call(&a, &b, 7);
    let (x, y) = third.assert_agreed();
    assert!(!x.cache_mismatch && !y.cache_mismatch);
    assert!(x.sas_verified && y.sas_verified);
}

#[test]
fn marking_before_secure_is_refused() {
    let a: Arc<dyn ZidCache> = Arc::new(MemoryCache::new());
    let b: Arc<dyn ZidCache> = Arc::new(MemoryCache::new());
    let mut pair = Pair::new(
        SessionConfig::default(),
        a,
        SessionConfig::default(),
        b,
        8,
        LinkConfig::perfect(),
    );
    assert!(pair
        .a
        .session
        .handle_input(Input::SetSasVerified(true))
        .is_err());
}
