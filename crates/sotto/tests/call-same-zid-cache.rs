//! Two endpoints sharing one ZID cache (two calls on one machine, one cache file) have one
//! identity, which ZRTP refuses (RFC 6189 section 4.1, Error 0x90). The caller learns why from
//! the listener's Error answer instead of a bare timeout; the listener latched onto nobody
//! (nor onto the ErrorACK that answer drew) and still takes the next caller, video included.

#[path = "support/call.rs"]
mod support;

use std::time::{Duration, Instant};
use support::{caller_config, listener_config, scratch, send_pattern};

use sotto::media::video::VideoOutput;
use sotto::{Call, CallEvent, EndReason};

#[test]
fn a_caller_with_the_listeners_own_zid_is_told_why_and_the_listener_stays_open() {
    let shared_cache = scratch("sqlite");
    let mut config = listener_config();
    config.cache_path = shared_cache.clone();
    config.video_out = VideoOutput::File(scratch("y4m"));
    let listener = Call::start(config).expect("listener starts");

    let mut config = caller_config(listener.local_addr(), Duration::from_secs(2));
    config.cache_path = shared_cache;
    let twin = Call::start(config).expect("caller starts");
    let event = twin.next_event(Duration::from_secs(30));
    let Some(CallEvent::Ended(EndReason::HandshakeFailed(why))) = event else {
        panic!("expected the handshake to fail, got {event:?}");
    };
    // The Error the listener answered with, not the silence of a timeout.
    assert!(why.contains("0x90"), "{why}");
    assert!(why.contains("same zid cache"), "{why}");

    let mut config = caller_config(listener.local_addr(), Duration::from_secs(3));
    send_pattern(&mut config, 160, 120, 100_000);
    let caller = Call::start(config).expect("second caller starts");
    let until = Instant::now() + Duration::from_secs(15);
    loop {
        match listener.next_event(until.saturating_duration_since(Instant::now())) {
            Some(CallEvent::VideoSecure { .. }) => break,
            Some(CallEvent::Ended(reason)) => panic!("the listener ended: {reason:?}"),
            Some(_) => {}
            None => panic!("the listener's video was not secure within 15 s"),
        }
    }
    assert_eq!(caller.wait(), EndReason::DurationReached);
    assert_eq!(listener.wait(), EndReason::PeerHungUp);
}
