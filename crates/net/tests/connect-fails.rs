//! With no usable path (both behind NATs, no STUN server, so host candidates only) each agent
//! reports `Failed` with a reason when its connect timeout expires, and then falls silent.

#[path = "support/world.rs"]
mod world;

use std::time::Duration;

use sotto_net::{Error, Event};
use world::two_peers_behind_nats;

#[test]
fn no_path_fails_at_the_connect_timeout_with_a_reason() {
    let mut w = two_peers_behind_nats(31);
    w.stun_server = None;
    w.start_gathering(0);
    w.start_gathering(1);
    w.run_for(Duration::from_millis(1));
    let started = w.now;
    w.start_agents(0, 1, |cfg| cfg.connect_timeout = Duration::from_secs(8));
    assert!(w.run_until(Duration::from_secs(60), |w| w
        .peers
        .iter()
        .all(|p| !p.events.is_empty())));
    for p in &w.peers {
        let [(at, Event::Failed { reason })] = &p.events[..] else {
            panic!("{}: {:?}", p.name, p.events);
        };
        assert_eq!(*at - started, Duration::from_secs(8));
        assert_eq!(
            *reason,
            Error::ConnectTimeout {
                waited_ms: 8000,
                pairs: 1,
                working: 0
            }
        );
        assert!(reason.to_string().contains("a relay may be needed"));
    }
    let sent = w.peers[0].sent.len();
    w.run_for(Duration::from_secs(30));
    assert_eq!(w.peers[0].sent.len(), sent);
}
