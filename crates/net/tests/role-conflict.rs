//! Both ends believing they control (or both that they are controlled) is settled by the
//! tie-breakers with 487 Role Conflict (RFC 8445 section 7.3.1.1): exactly one ends up
//! controlling and both connect on the same pair.

#[path = "support/world.rs"]
mod world;

use world::{connect, two_peers_behind_nats};

fn settles(seed: u64, controlling: bool) {
    let mut w = two_peers_behind_nats(seed);
    connect(&mut w, |cfg| cfg.controlling = controlling);
    let roles: Vec<bool> = w
        .peers
        .iter()
        .map(|p| p.agent.as_ref().expect("agent").is_controlling())
        .collect();
    assert_eq!(roles.iter().filter(|&&c| c).count(), 1, "roles {roles:?}");
    let (a_local, a_remote) = w.peers[0].connected().expect("alice connected");
    let (b_local, b_remote) = w.peers[1].connected().expect("bob connected");
    assert_eq!(w.nats[0].mapping(a_local), Some(b_remote));
    assert_eq!(w.nats[1].mapping(b_local), Some(a_remote));
}

#[test]
fn two_controlling_agents_settle_on_one() {
    for seed in 0..8 {
        settles(seed, true);
    }
}

#[test]
fn two_controlled_agents_settle_on_one() {
    for seed in 0..8 {
        settles(100 + seed, false);
    }
}
