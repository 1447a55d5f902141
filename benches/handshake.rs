//! CPU time of one full ZRTP handshake, both endpoints in one process, packets handed over
//! directly (no network, no retransmission): compare with bzrtp's figures in DESIGN.md
//! (X255 0.28 ms, DH3k 7.6 ms).

use std::sync::Arc;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sotto_zrtp::cache::MemoryCache;
use sotto_zrtp::{Event, Input, KeyAgreement, Output, Session, SessionConfig};

/// Runs one handshake to completion; returns the number of packets exchanged.
fn handshake(ka: KeyAgreement, rng: &mut ChaCha20Rng, now: Instant) -> usize {
    let cfg = SessionConfig {
        key_agreements: vec![ka],
        ..SessionConfig::default()
    };
    let mut a = Session::new(cfg.clone(), Arc::new(MemoryCache::new()), rng, now).expect("a");
    let mut b = Session::new(cfg, Arc::new(MemoryCache::new()), rng, now).expect("b");
    let (mut secure, mut packets) = (0, 0);
    let mut to_b: Vec<Vec<u8>> = Vec::new();
    let mut to_a: Vec<Vec<u8>> = Vec::new();
    for _ in 0..32 {
        for (session, outbox) in [(&mut a, &mut to_b), (&mut b, &mut to_a)] {
            loop {
                match session.poll_output() {
                    Output::Transmit(p) => outbox.push(p),
                    Output::Event(Event::Secure(_)) => secure += 1,
                    Output::Event(e) => panic!("{e:?}"),
                    Output::Timeout(_) => break,
                }
            }
        }
        if secure == 2 {
            return packets;
        }
        for p in to_b.drain(..) {
            packets += 1;
            let _ = b.handle_input(Input::Receive { now, packet: &p });
        }
        for p in to_a.drain(..) {
            packets += 1;
            let _ = a.handle_input(Input::Receive { now, packet: &p });
        }
    }
    panic!("handshake did not complete");
}

fn bench_handshake(c: &mut Criterion) {
    let mut group = c.benchmark_group("zrtp_full_handshake_both_sides");
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    for ka in [
        KeyAgreement::X255,
        KeyAgreement::Ec25,
        KeyAgreement::Dh2k,
        KeyAgreement::Dh3k,
    ] {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        group.bench_function(ka.to_string(), |bench| {
            bench.iter(|| handshake(ka, &mut rng, now))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_handshake);
criterion_main!(benches);
