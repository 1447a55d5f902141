//! RFC 7675 consent freshness: when the peer vanishes, consent is lost 30 s after its last
//! answer (not before, not much later), the agent says so once and then falls silent.

#[path = "support/world.rs"]
mod world;

use std::time::Duration;

use sotto_net::{Error, Event, Input};
use world::{connect, two_peers_behind_nats};

#[test]
fn consent_is_lost_30_s_after_the_peer_vanishes() {
    let mut w = two_peers_behind_nats(11);
    connect(&mut w, |_| {});
    w.run_for(Duration::from_secs(20));
    let vanished_at = w.now;
    w.peers[1].vanished = true;

    assert!(w.run_until(Duration::from_secs(60), |w| w.peers[0]
        .events
        .iter()
        .any(|(_, e)| *e == Event::ConsentLost)));
    let lost_after = w.now - vanished_at;
    // The last answer came at most one consent interval (+20%) before the peer vanished.
    assert!(
        lost_after > Duration::from_secs(30) - Duration::from_secs(6)
            && lost_after <= Duration::from_secs(30),
        "consent lost {lost_after:?} after the peer vanished"
    );
    let events: Vec<_> = w.peers[0].events.iter().map(|e| e.1.clone()).collect();
    assert!(
        matches!(events[..], [Event::Connected { .. }, Event::ConsentLost]),
        "{events:?}"
    );

    // While consent lasted, alice kept checking (4..6 s apart) and retransmitting.
    let checks = w.peers[0].sent.iter().filter(|s| s.0 > vanished_at).count();
    assert!((6..=40).contains(&checks), "{checks} checks");

    // Then silence, and input is refused.
    let sent = w.peers[0].sent.len();
    w.run_for(Duration::from_secs(60));
    assert_eq!(w.peers[0].sent.len(), sent);
    let (now, from) = (w.now, w.peers[1].hosts[0]);
    let agent = w.peers[0].agent.as_mut().expect("agent");
    assert!(agent.is_closed());
    let packet = [0u8; 20];
    let input = Input::Receive {
        now,
        from,
        to: None,
        packet: &packet,
    };
    assert_eq!(agent.handle_input(input), Err(Error::Closed));
}
