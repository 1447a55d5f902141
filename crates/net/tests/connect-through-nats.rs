//! Two peers behind two port-restricted NATs learn their public mappings from a STUN server,
//! swap candidates as SDP, punch through both NATs and carry data both ways.

#[path = "support/world.rs"]
mod world;

use std::time::Duration;

use sotto_net::{CandidateKind, Event, GatherEvent};
use world::{addr, connect, two_peers_behind_nats};

#[test]
fn peers_behind_two_nats_connect_via_srflx_and_exchange_data() {
    let mut w = two_peers_behind_nats(1);
    connect(&mut w, |_| {});

    // Gathering found each NAT's real mapping, and ended with no failures.
    for (p, nat) in [(0, 0), (1, 1)] {
        let host = w.peers[p].hosts[0];
        let mapped = w.nats[nat].mapping(host).expect("nat mapped the host");
        let srflx: Vec<_> = w.peers[p]
            .gathered()
            .into_iter()
            .filter(|c| c.kind == CandidateKind::ServerReflexive)
            .collect();
        assert_eq!(srflx.len(), 1, "{:?}", w.peers[p].gathered());
        assert_eq!((srflx[0].addr, srflx[0].base), (mapped, host));
        assert!(w.peers[p].gather_events.iter().any(
            |(_, e)| matches!(e, GatherEvent::GatheringDone { failures } if failures.is_empty())
        ));
    }

    // Each side sends from its host address to the other's NAT mapping.
    let alice_public = w.nats[0].mapping(addr("10.0.0.2:5004")).expect("mapped");
    let bob_public = w.nats[1].mapping(addr("192.168.1.5:6000")).expect("mapped");
    assert_eq!(
        w.peers[0].connected(),
        Some((addr("10.0.0.2:5004"), bob_public))
    );
    assert_eq!(
        w.peers[1].connected(),
        Some((addr("192.168.1.5:6000"), alice_public))
    );
    let connect_time = w.peers[0].connected_at().expect("connected") - w.start;
    // Gathering (40 ms), hole punching, then the 100 ms nomination delay.
    assert!(
        connect_time < Duration::from_secs(2),
        "took {connect_time:?}"
    );

    // Media flows through both NATs on the selected pair.
    for i in 0..10u8 {
        w.send_data(0, &[0x80, i]);
        w.send_data(1, &[0x80, 100 + i]);
        w.run_for(Duration::from_millis(20));
    }
    w.run_for(Duration::from_millis(100));
    let got = |p: usize| w.peers[p].data.iter().map(|d| d.2[1]).collect::<Vec<_>>();
    assert_eq!(got(1), (0..10).collect::<Vec<_>>());
    assert_eq!(got(0), (100..110).collect::<Vec<_>>());
    assert!(w.peers[1].data.iter().all(|d| d.1 == alice_public));

    // Consent keeps the call up for a minute with no event beyond Connected.
    w.run_for(Duration::from_secs(60));
    for p in &w.peers {
        assert_eq!(p.events.len(), 1, "{}: {:?}", p.name, p.events);
        assert!(matches!(p.events[0].1, Event::Connected { .. }));
        assert!(p.refused.is_empty(), "{}: {:?}", p.name, p.refused);
    }
}
