//! A network change: alice has two uplinks, each behind its own NAT. When the one carrying the
//! call goes down, consent checks stop being answered, both agents re-check the other pairs,
//! alice (controlling) nominates a working one, both report `PathChanged`, and data flows again.

#[path = "support/world.rs"]
mod world;

use std::time::Duration;

use sotto_net::Event;
use world::{addr, connect, Nat, World};

#[test]
fn losing_the_selected_uplink_moves_the_call_to_the_other() {
    let mut w = World::new(21);
    w.stun_server = Some(addr("198.51.100.1:3478"));
    w.nats.push(Nat::new("203.0.113.10", &["10.0.0.2"]));
    w.nats.push(Nat::new("203.0.113.11", &["10.0.1.2"]));
    w.nats.push(Nat::new("203.0.113.20", &["192.168.1.5"]));
    w.add_peer("alice", &["10.0.0.2:5004", "10.0.1.2:5004"]);
    w.add_peer("bob", &["192.168.1.5:6000"]);
    connect(&mut w, |_| {});

    let (first_local, _) = w.peers[0].connected().expect("connected");
    assert_eq!(
        first_local,
        addr("10.0.0.2:5004"),
        "the preferred interface wins first"
    );
    w.run_for(Duration::from_secs(7));
    let down_at = w.now;
    w.nats[0].down = true;

    let changed = |w: &World, p: usize| {
        w.peers[p].events.iter().find_map(|(t, e)| match e {
            Event::PathChanged { local, remote } => Some((*t, *local, *remote)),
            _ => None,
        })
    };
    assert!(
        w.run_until(Duration::from_secs(30), |w| changed(w, 0).is_some()
            && changed(w, 1).is_some())
    );
    let (t_alice, alice_local, alice_remote) = changed(&w, 0).expect("alice moved");
    let (t_bob, bob_local, bob_remote) = changed(&w, 1).expect("bob moved");
    let alice2_public = w.nats[1].mapping(addr("10.0.1.2:5004")).expect("mapped");
    let bob_public = w.nats[2].mapping(addr("192.168.1.5:6000")).expect("mapped");
    assert_eq!(
        (alice_local, alice_remote),
        (addr("10.0.1.2:5004"), bob_public)
    );
    assert_eq!(
        (bob_local, bob_remote),
        (addr("192.168.1.5:6000"), alice2_public)
    );
    // Detected by the first unanswered consent check: well inside one interval plus its 2.5 s.
    for t in [t_alice, t_bob] {
        assert!(t - down_at < Duration::from_secs(10), "{:?}", t - down_at);
    }

    // Data flows on the new path, and the call stays up with no further event.
    let received = w.peers[1].data.len();
    w.send_data(0, &[0x80, 1]);
    w.send_data(1, &[0x80, 2]);
    w.run_for(Duration::from_secs(60));
    assert_eq!(w.peers[1].data.len(), received + 1);
    assert_eq!(w.peers[1].data.last().expect("data").1, alice2_public);
    assert_eq!(w.peers[0].data.last().expect("data").2, vec![0x80, 2]);
    for p in &w.peers {
        let kinds: Vec<_> = p
            .events
            .iter()
            .map(|e| std::mem::discriminant(&e.1))
            .collect();
        assert_eq!(kinds.len(), 2, "{}: {:?}", p.name, p.events);
    }
}
