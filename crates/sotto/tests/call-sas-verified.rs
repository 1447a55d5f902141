//! `set_sas_verified` reaches the ZID cache: after both ends mark the SAS verified in one call,
//! the next call between the same two caches reports it verified, with no cache mismatch.

#[path = "support/call.rs"]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};
use support::{loopback, scratch};

use sotto::{Call, CallConfig, CallEvent, EndReason};

/// One short call between the two caches; each side marks the SAS verified when `verify`.
/// Returns each side's (verified, cache_mismatch) from its Sas event.
fn call(listener_cache: &Path, caller_cache: &Path, verify: bool) -> [(bool, bool); 2] {
    let listener = Call::start(CallConfig::new(loopback(), None, listener_cache.into()))
        .expect("listener starts");
    let mut config = CallConfig::new(loopback(), Some(listener.local_addr()), caller_cache.into());
    config.duration = Some(Duration::from_millis(600));
    let caller = Call::start(config).expect("caller starts");
    let sides = [&listener, &caller].map(|side| {
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            match side.next_event(end.saturating_duration_since(Instant::now())) {
                Some(CallEvent::Sas {
                    verified,
                    cache_mismatch,
                    ..
                }) => {
                    if verify {
                        side.set_sas_verified(true);
                    }
                    return (verified, cache_mismatch);
                }
                Some(CallEvent::Ended(reason)) => panic!("ended before the SAS: {reason}"),
                Some(_) => {}
                None => panic!("no SAS within 20 s"),
            }
        }
    });
    assert_eq!(caller.wait(), EndReason::DurationReached);
    assert_eq!(listener.wait(), EndReason::PeerHungUp);
    sides
}

#[test]
fn a_verified_sas_is_remembered_for_the_next_call() {
    let (a, b) = (scratch("sqlite"), scratch("sqlite"));
    assert_eq!(call(&a, &b, true), [(false, false); 2]);
    assert_eq!(call(&a, &b, false), [(true, false); 2]);
}
