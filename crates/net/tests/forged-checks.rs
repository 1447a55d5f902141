//! Checks and responses that are not authenticated with the call's ICE credentials change
//! nothing: requests are answered 400/401 (or dropped when the fingerprint is wrong), forged
//! responses are dropped, and no candidate, role, pair or event appears.

#[path = "support/forge.rs"]
mod forge;
#[path = "support/world.rs"]
mod world;

use std::time::Duration;

use sotto_net::Error;
use world::{addr, connect, World};

fn public_pair(seed: u64) -> World {
    let mut w = World::new(seed);
    w.add_peer("alice", &["192.0.2.1:5004"]);
    w.add_peer("bob", &["192.0.2.2:5004"]);
    connect(&mut w, |_| {});
    w
}

#[test]
fn unauthenticated_requests_are_answered_400_or_401_and_change_nothing() {
    let mut w = public_pair(5);
    let alice = addr("192.0.2.1:5004");
    let attacker = addr("198.51.100.66:666");
    let real_user = format!("{}:{}", w.peers[0].creds.ufrag, w.peers[1].creds.ufrag);
    let before = (
        w.peers[0].agent.as_ref().expect("agent").selected(),
        w.peers[0].agent.as_ref().expect("agent").is_controlling(),
    );
    let base = forge::Check {
        tid: [7; 12],
        username: Some(&real_user),
        pwd: Some("wrongpasswordwrongpassword"),
        priority: Some(1_853_824_767),
        role: Some((true, u64::MAX)),
        use_candidate: true,
        fingerprint: true,
    };
    let check = |tid: u8, f: &dyn Fn(&mut forge::Check<'_>)| {
        let mut c = forge::Check {
            tid: [tid; 12],
            ..base.clone()
        };
        f(&mut c);
        c.encode()
    };
    let mut damaged = base.encode();
    let last = damaged.len() - 1;
    damaged[last] ^= 0xff;
    let cases = [
        // Right username, wrong password: 401.
        (base.encode(), Some(401)),
        // Unknown ufrag: 401.
        (check(8, &|c| c.username = Some("zzzz:yyyy")), Some(401)),
        // No MESSAGE-INTEGRITY: 400.
        (check(9, &|c| c.pwd = None), Some(400)),
        // No USERNAME (and a wrong key): 401, the integrity check fails first.
        (check(10, &|c| c.username = None), Some(401)),
        // A damaged fingerprint: not trusted to be STUN, dropped without an answer.
        (damaged, None),
        // No fingerprint at all: ICE checks carry one, so this is dropped too.
        (check(11, &|c| c.fingerprint = false), None),
    ];

    for (i, (packet, code)) in cases.into_iter().enumerate() {
        w.mailbox.clear();
        let refused = w.peers[0].refused.len();
        w.send(attacker, alice, packet);
        w.run_for(Duration::from_millis(100));
        assert_eq!(
            w.peers[0].refused.len(),
            refused + 1,
            "case {i} not refused"
        );
        let replies: Vec<_> = w.mailbox.iter().filter(|m| m.1 == attacker).collect();
        match code {
            Some(code) => {
                assert_eq!(replies.len(), 1, "case {i}");
                assert_eq!(forge::error_code_of(&replies[0].2), Some(code), "case {i}");
            }
            None => assert!(replies.is_empty(), "case {i}: {replies:?}"),
        }
    }

    let agent = w.peers[0].agent.as_ref().expect("agent");
    assert_eq!((agent.selected(), agent.is_controlling()), before);
    assert_eq!(
        agent.remote_candidates().len(),
        1,
        "no peer-reflexive candidate learned"
    );
    assert_eq!(w.peers[0].events.len(), 1, "{:?}", w.peers[0].events);
    assert!(w.peers[0]
        .refused
        .iter()
        .all(|e| matches!(e, Error::Unauthenticated | Error::BadFingerprint)));
}

#[test]
fn forged_responses_to_a_real_check_are_dropped() {
    let mut w = public_pair(6);
    let (alice, bob) = (addr("192.0.2.1:5004"), addr("192.0.2.2:5004"));
    // Wait for alice's next consent check and answer it first, spoofing bob's address.
    let sent_before = w.peers[0].sent.len();
    assert!(
        w.run_until(Duration::from_secs(10), |w| w.peers[0].sent.len()
            > sent_before
            && forge::decode(&w.peers[0].sent.last().expect("sent").3).class()
                == stun_rs::MessageClass::Request)
    );
    let tid = forge::tid_of(&w.peers[0].sent.last().expect("sent").3);
    let lie = addr("6.6.6.6:666");
    let alice_pwd = w.peers[0].creds.pwd.expose_secret().to_owned();
    for forged in [
        forge::success(tid, lie, None),
        forge::success(tid, lie, Some("wrongpasswordwrongpassword")),
        // Alice's own password is the wrong key for responses from bob.
        forge::success(tid, lie, Some(&alice_pwd)),
        forge::error(tid, 487, None),
        forge::error(tid, 487, Some("wrongpasswordwrongpassword")),
    ] {
        w.send(bob, alice, forged);
    }
    let refused = w.peers[0].refused.len();
    w.run_for(Duration::from_secs(1));
    let new: Vec<_> = w.peers[0].refused[refused..].to_vec();
    assert_eq!(new, vec![Error::Unauthenticated; 5]);
    // The genuine answer arrived after the forgeries and still counted; nothing else changed.
    let agent = w.peers[0].agent.as_ref().expect("agent");
    assert!(agent.is_controlling());
    assert_eq!(agent.selected(), Some((alice, bob)));
    assert_eq!(w.peers[0].events.len(), 1);
}
