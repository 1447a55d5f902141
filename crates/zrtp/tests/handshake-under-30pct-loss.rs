//! Two endpoints complete the handshake over a lossy, reordering, jittery network.

#[path = "support/pair.rs"]
mod pair;

use std::time::Duration;

use pair::{memory_cache, Pair};
use sotto_netsim::LinkConfig;
use sotto_zrtp::SessionConfig;

fn bad_link() -> LinkConfig {
    LinkConfig::perfect()
        .with_delay(Duration::from_millis(40))
        .with_jitter(Duration::from_millis(30))
        .with_loss(0.30)
        .with_reorder(0.25)
        .with_duplicate(0.05)
}

#[test]
fn completes_under_30pct_loss_with_reordering() {
    let mut lost = 0;
    for seed in 0..24 {
        let mut pair = Pair::new(
            SessionConfig::default(),
            memory_cache(),
            SessionConfig::default(),
            memory_cache(),
            seed * 7,
            bad_link(),
        );
        pair.run(Duration::from_secs(120));
        pair.assert_agreed();
        lost += pair.net.stats().lost;
    }
    // The link really dropped packets along the way.
    assert!(lost > 20, "only {lost} packets lost");
}

#[test]
fn clean_link_needs_no_retransmission() {
    let mut pair = Pair::new(
        SessionConfig::default(),
        memory_cache(),
        SessionConfig::default(),
        memory_cache(),
        1,
        LinkConfig::perfect().with_delay(Duration::from_millis(10)),
    );
    pair.run(Duration::from_secs(10));
    pair.assert_agreed();
    // Hello, HelloACK, Commit, DHPart, Confirm, Conf2ACK: at most a handful each way.
    assert!(
        pair.a.sent.len() <= 6 && pair.b.sent.len() <= 6,
        "{} {}",
        pair.a.sent.len(),
        pair.b.sent.len()
    );
}
