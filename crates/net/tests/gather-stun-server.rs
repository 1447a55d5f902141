//! Gathering against a STUN server that is silent, that answers with an error, and that an
//! attacker impersonates: host candidates always come at once, a dead server ends gathering by
//! the deadline with a reason the user can read, and only the real server's answer to an
//! outstanding transaction becomes a candidate.

#[path = "support/forge.rs"]
mod forge;
#[path = "support/world.rs"]
mod world;

use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sotto_net::{CandidateKind, Error, GatherEvent, Gatherer, GathererConfig, Input, Output};
use world::{addr, two_peers_behind_nats};

#[test]
fn unreachable_server_leaves_host_candidates_and_ends_at_the_deadline() {
    let mut w = two_peers_behind_nats(3);
    w.stun_server_silent = true;
    w.start_gathering(0);
    // The host candidate is out before any time passes.
    assert_eq!(w.peers[0].gathered().len(), 1);
    assert!(w.run_until(Duration::from_secs(10), |w| w.peers[0].gathering_done()));
    assert_eq!(
        w.elapsed(),
        Duration::from_secs(3),
        "ends exactly at the deadline"
    );

    let gathered = w.peers[0].gathered();
    assert_eq!(gathered.len(), 1);
    assert_eq!(gathered[0].kind, CandidateKind::Host);
    let server = addr("198.51.100.1:3478");
    let Some((_, GatherEvent::GatheringDone { failures })) = w.peers[0].gather_events.last() else {
        panic!("{:?}", w.peers[0].gather_events);
    };
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].server, server);
    assert_eq!(failures[0].base, addr("10.0.0.2:5004"));
    assert_eq!(
        failures[0].reason,
        Error::StunServerSilent {
            server,
            waited_ms: 3000
        }
    );
    let text = failures[0].reason.to_string();
    assert!(text.contains("198.51.100.1:3478 did not answer"), "{text}");

    // RFC 8489 timing, cut by the deadline: sends at 0, 0.5 and 1.5 s.
    let sends: Vec<Duration> = w.peers[0]
        .sent
        .iter()
        .filter(|s| s.2 == server)
        .map(|s| s.0 - w.start)
        .collect();
    let ms = Duration::from_millis;
    assert_eq!(sends, vec![ms(0), ms(500), ms(1500)]);
    // Nothing more after the end.
    w.run_for(Duration::from_secs(30));
    assert_eq!(w.peers[0].sent.len(), 3);
}

struct Lone {
    g: Gatherer,
    now: Instant,
    sent: Vec<Vec<u8>>,
    events: Vec<GatherEvent>,
}

impl Lone {
    fn new() -> Lone {
        let cfg = GathererConfig::new(vec![addr("10.0.0.2:5004")], vec![addr("198.51.100.1:3478")]);
        #[allow(clippy::disallowed_methods)]
        let now = Instant::now();
        let g = Gatherer::new(cfg, &mut ChaCha20Rng::seed_from_u64(9), now).expect("gatherer");
        let mut l = Lone {
            g,
            now,
            sent: Vec::new(),
            events: Vec::new(),
        };
        l.drain();
        l
    }

    fn drain(&mut self) {
        loop {
            match self.g.poll_output() {
                Output::Transmit { bytes, .. } => self.sent.push(bytes),
                Output::Event(e) => self.events.push(e),
                Output::Timeout(_) => return,
            }
        }
    }

    fn receive(&mut self, from: &str, packet: &[u8]) -> Result<(), Error> {
        let r = self.g.handle_input(Input::Receive {
            now: self.now,
            from: addr(from),
            to: Some(addr("10.0.0.2:5004")),
            packet,
        });
        self.drain();
        r
    }
}

#[test]
fn only_the_servers_answer_to_an_outstanding_request_counts() {
    let mut l = Lone::new();
    let tid = forge::tid_of(&l.sent[0]);
    let lie = addr("6.6.6.6:666");
    let truth = addr("203.0.113.10:40000");

    // Right id, wrong source: an off-path attacker guessing nothing but spoofing badly.
    assert_eq!(
        l.receive("198.51.100.2:3478", &forge::success(tid, lie, None)),
        Err(Error::UnknownTransaction(addr("198.51.100.2:3478")))
    );
    // Right source, wrong id.
    let mut other = tid;
    other[0] ^= 1;
    assert!(l
        .receive("198.51.100.1:3478", &forge::success(other, lie, None))
        .is_err());
    // A request, not a response, with the right id.
    let request = forge::Check {
        tid,
        username: None,
        pwd: None,
        priority: None,
        role: None,
        use_candidate: false,
        fingerprint: true,
    };
    assert!(l.receive("198.51.100.1:3478", &request.encode()).is_err());
    assert_eq!(
        l.events.len(),
        1,
        "only the host candidate so far: {:?}",
        l.events
    );

    l.receive("198.51.100.1:3478", &forge::success(tid, truth, None))
        .expect("genuine answer");
    let GatherEvent::Candidate(c) = &l.events[1] else {
        panic!("{:?}", l.events);
    };
    assert_eq!((c.kind, c.addr), (CandidateKind::ServerReflexive, truth));
    assert_eq!(l.events[2], GatherEvent::GatheringDone { failures: vec![] });
    // The transaction is over: a replay is refused.
    assert!(l
        .receive("198.51.100.1:3478", &forge::success(tid, lie, None))
        .is_err());
    assert_eq!(l.events.len(), 3);
}

#[test]
fn an_error_response_is_reported_with_its_code() {
    let mut l = Lone::new();
    let tid = forge::tid_of(&l.sent[0]);
    l.receive("198.51.100.1:3478", &forge::error(tid, 420, None))
        .expect("error response accepted");
    let GatherEvent::GatheringDone { failures } = &l.events[1] else {
        panic!("{:?}", l.events);
    };
    assert!(matches!(
        &failures[0].reason,
        Error::StunServerError { code: 420, .. }
    ));
}
