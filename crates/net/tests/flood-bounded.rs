//! The agent's state stays bounded whatever arrives: a peer (holding valid credentials) that
//! sends checks from thousands of source addresses adds at most `max_remote_candidates`
//! peer-reflexive candidates and `max_pairs` pairs, and a flood of unauthenticated checks adds
//! nothing at all. The call keeps working throughout.

#[path = "support/forge.rs"]
mod forge;
#[path = "support/world.rs"]
mod world;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use world::{addr, connect, World};

#[test]
fn check_floods_do_not_grow_state() {
    let mut w = World::new(41);
    w.add_peer("alice", &["192.0.2.1:5004"]);
    w.add_peer("bob", &["192.0.2.2:5004"]);
    connect(&mut w, |cfg| {
        cfg.max_remote_candidates = 16;
        cfg.max_pairs = 10;
    });
    let alice = addr("192.0.2.1:5004");
    let user = format!("{}:{}", w.peers[0].creds.ufrag, w.peers[1].creds.ufrag);
    let alice_pwd = w.peers[0].creds.pwd.expose_secret().to_owned();

    for i in 0..3000u32 {
        let src = SocketAddr::from((Ipv4Addr::from(0x0a00_0000 + i), 1024 + (i % 5000) as u16));
        let authentic = i % 2 == 0;
        let check = forge::Check {
            tid: [(i % 251) as u8; 12],
            username: Some(&user),
            pwd: Some(if authentic {
                alice_pwd.as_str()
            } else {
                "wrongpasswordwrongpassword"
            }),
            priority: Some(1_853_824_767),
            role: Some((false, 1)),
            use_candidate: false,
            fingerprint: true,
        };
        w.send(src, alice, check.encode());
        if i % 100 == 0 {
            w.step();
        }
    }
    w.run_for(Duration::from_secs(10));

    let agent = w.peers[0].agent.as_ref().expect("agent");
    assert_eq!(agent.remote_candidates().len(), 16);
    assert_eq!(agent.pair_count(), 10);
    assert!(agent.is_controlling());
    assert_eq!(agent.selected(), Some((alice, addr("192.0.2.2:5004"))));
    assert_eq!(w.peers[0].events.len(), 1, "{:?}", w.peers[0].events);
    // Every authentic check was still answered; every forged one got a 401.
    let answers: Vec<_> = w.mailbox.iter().filter(|m| m.0 == alice).collect();
    let ok = answers.iter().filter(|m| forge::is_success(&m.2)).count();
    let unauth = answers
        .iter()
        .filter(|m| forge::error_code_of(&m.2) == Some(401))
        .count();
    assert_eq!((ok, unauth), (1500, 1500));
}
