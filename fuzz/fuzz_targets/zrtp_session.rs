//! Drives two ZRTP sessions through a handshake while the fuzzer forges one extra packet in
//! front of each genuine one: a mutation of the genuine message with a valid CRC, so it reaches
//! the state machine rather than dying at the CRC check. No input may panic, and if both ends
//! still go secure they must hold the same keys.
#![no_main]

use std::sync::Arc;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sotto_zrtp::cache::MemoryCache;
use sotto_zrtp::{wire, Event, Input, Output, SecureInfo, Session, SessionConfig};

fn forge(genuine: &[u8], fuzz: &mut impl Iterator<Item = u8>) -> Option<Vec<u8>> {
    let packet = wire::parse_packet(genuine).ok()?;
    let mut message = packet.raw.to_vec();
    let edits = fuzz.next()? % 4;
    for _ in 0..edits {
        let (pos, value) = (fuzz.next()?, fuzz.next()?);
        let i = usize::from(pos) % message.len();
        message[i] ^= value;
    }
    if fuzz.next()? & 1 == 1 {
        let cut = usize::from(fuzz.next()?) % message.len();
        message.truncate(cut);
    }
    let mut out = Vec::new();
    wire::seal_packet(packet.header, &message, &mut out);
    Some(out)
}

fuzz_target!(|data: &[u8]| {
    let mut fuzz = data.iter().copied();
    let start = Instant::now();
    let mut now = start;
    let cfg = SessionConfig::default();
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut ends = [
        Session::new(cfg.clone(), Arc::new(MemoryCache::new()), &mut rng, now).expect("a"),
        Session::new(cfg, Arc::new(MemoryCache::new()), &mut rng, now).expect("b"),
    ];
    let mut secure: [Option<Box<SecureInfo>>; 2] = [None, None];
    let mut inbox: [Vec<Vec<u8>>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..64 {
        for (i, session) in ends.iter_mut().enumerate() {
            loop {
                match session.poll_output() {
                    Output::Transmit(p) => inbox[1 - i].push(p),
                    Output::Event(Event::Secure(info)) => secure[i] = Some(info),
                    Output::Event(_) => {}
                    Output::Timeout(_) => break,
                }
            }
        }
        now += Duration::from_millis(100);
        for (i, session) in ends.iter_mut().enumerate() {
            for genuine in std::mem::take(&mut inbox[i]) {
                if let Some(forged) = forge(&genuine, &mut fuzz) {
                    let _ = session.handle_input(Input::Receive {
                        now,
                        packet: &forged,
                    });
                }
                let _ = session.handle_input(Input::Receive {
                    now,
                    packet: &genuine,
                });
            }
            let _ = session.handle_input(Input::Timeout(now));
        }
    }
    if let [Some(a), Some(b)] = &secure {
        assert_eq!(a.sas, b.sas);
        assert_eq!(a.srtp.local_key, b.srtp.remote_key);
        assert_eq!(a.srtp.remote_key, b.srtp.local_key);
    }
});
