//! Per-packet cost of SRTP protect and unprotect, ours against webrtc-srtp's `Context`, at an
//! Opus-sized (172 B) and a video-sized (1212 B) RTP packet, with allocations per packet counted
//! by an instrumented global allocator. DESIGN.md has webrtc-srtp at 0.46 us encrypt and 0.5 us
//! decrypt for AES128/HS80 at 172 B, with 1 and 5 allocations. Debian's libsrtp2 is measured in
//! the same run by the C tool of the interop tests (its own timing loop, printed before the
//! criterion groups).

use std::alloc::System;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use sotto_rtp::srtp::{SrtpProfile, SrtpReceiver, SrtpSender};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use webrtc_srtp::context::Context;
use webrtc_srtp::option::srtp_replay_protection;
use webrtc_srtp::protection_profile::ProtectionProfile;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[path = "../crates/rtp/tests/support/libsrtp.rs"]
mod libsrtp;

const SIZES: [usize; 2] = [172, 1212];
const PROFILES: [(SrtpProfile, ProtectionProfile, &str); 2] = [
    (
        SrtpProfile::Aes128CmHmacSha1_80,
        ProtectionProfile::Aes128CmHmacSha1_80,
        "aes128-hs80",
    ),
    (
        SrtpProfile::Aes256CmHmacSha1_80,
        ProtectionProfile::Aes256CmHmacSha1_80,
        "aes256-hs80",
    ),
];
/// Unprotect needs fresh packets (the replay window rejects repeats): protect this many
/// untimed, then time their unprotect.
const CHUNK: usize = 4096;
const SSRC: u32 = 0x5eed_0001;

fn keys(profile: SrtpProfile) -> (Vec<u8>, [u8; 14]) {
    ((0..profile.key_len() as u8).collect(), [0x5a; 14])
}

/// A plain RTP packet of `size` bytes with sequence number `seq`.
fn rtp(size: usize, seq: u16) -> Vec<u8> {
    let mut p = vec![0xa5; size];
    p[..12].copy_from_slice(&[0x80, 0x6f, 0, 0, 0, 0, 3, 0xc0, 0, 0, 0, 0]);
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[8..12].copy_from_slice(&SSRC.to_be_bytes());
    p
}

struct Ours {
    tx: SrtpSender,
    rx: SrtpReceiver,
    seq: u16,
    buf: Vec<u8>,
}

impl Ours {
    fn new(profile: SrtpProfile) -> Self {
        let (key, salt) = keys(profile);
        Self {
            tx: SrtpSender::new(profile, &key, &salt).expect("sender"),
            rx: SrtpReceiver::new(profile, &key, &salt).expect("receiver"),
            seq: 0,
            buf: vec![0; 1500],
        }
    }

    fn protect(&mut self, plain: &[u8]) -> usize {
        self.buf[..plain.len()].copy_from_slice(plain);
        self.buf[2..4].copy_from_slice(&self.seq.to_be_bytes());
        self.seq = self.seq.wrapping_add(1);
        self.tx
            .protect_rtp(&mut self.buf, plain.len())
            .expect("protect")
    }
}

struct Theirs {
    tx: Context,
    rx: Context,
    seq: u16,
    buf: Vec<u8>,
}

impl Theirs {
    fn new(profile: SrtpProfile, theirs: ProtectionProfile) -> Self {
        let (key, salt) = keys(profile);
        Self {
            tx: Context::new(&key, &salt, theirs, None, None).expect("webrtc tx"),
            rx: Context::new(&key, &salt, theirs, Some(srtp_replay_protection(64)), None)
                .expect("webrtc rx"),
            seq: 0,
            buf: vec![0; 1500],
        }
    }

    /// Encrypts the next packet; webrtc-srtp returns a newly allocated buffer.
    fn protect(&mut self, plain: &[u8]) -> Vec<u8> {
        self.buf[..plain.len()].copy_from_slice(plain);
        self.buf[2..4].copy_from_slice(&self.seq.to_be_bytes());
        self.seq = self.seq.wrapping_add(1);
        self.tx
            .encrypt_rtp(&self.buf[..plain.len()])
            .expect("encrypt")
            .to_vec()
    }
}

/// Runs `f` once to warm up, then 1000 times; returns allocations per call counted by `f`.
fn per_packet(mut f: impl FnMut() -> usize) -> f64 {
    f();
    let total: usize = (0..1000).map(|_| f()).sum();
    total as f64 / 1000.0
}

/// Allocations made while running `f`.
fn allocations<T>(f: impl FnOnce() -> T) -> usize {
    let region = Region::new(GLOBAL);
    black_box(f());
    region.change().allocations
}

fn report_allocations() {
    for (profile, theirs, name) in PROFILES {
        for size in SIZES {
            let plain = rtp(size, 0);
            let mut ours = Ours::new(profile);
            let mut wire = vec![0u8; 1500];
            let protect = per_packet(|| allocations(|| ours.protect(&plain)));
            let unprotect = per_packet(|| {
                let len = ours.protect(&plain);
                wire[..len].copy_from_slice(&ours.buf[..len]);
                allocations(|| ours.rx.unprotect_rtp(&mut wire[..len]).expect("unprotect"))
            });
            let mut webrtc = Theirs::new(profile, theirs);
            let encrypt =
                per_packet(|| allocations(|| webrtc.tx.encrypt_rtp(&plain).expect("encrypt")));
            let decrypt = per_packet(|| {
                let wire = webrtc.protect(&plain);
                allocations(|| webrtc.rx.decrypt_rtp(&wire).expect("decrypt"))
            });
            println!(
                "allocations per packet, {name} {size} B: sotto protect {protect:.2}, unprotect \
                 {unprotect:.2}; webrtc-srtp encrypt {encrypt:.2}, decrypt {decrypt:.2}"
            );
        }
    }
}

fn bench_protect(c: &mut Criterion) {
    let mut group = c.benchmark_group("srtp-protect");
    for (profile, theirs, name) in PROFILES {
        for size in SIZES {
            group.throughput(Throughput::Elements(1));
            let plain = rtp(size, 0);
            let mut ours = Ours::new(profile);
            group.bench_function(BenchmarkId::new(format!("sotto/{name}"), size), |b| {
                b.iter(|| black_box(ours.protect(black_box(&plain))))
            });
            let mut webrtc = Theirs::new(profile, theirs);
            group.bench_function(BenchmarkId::new(format!("webrtc-srtp/{name}"), size), |b| {
                b.iter(|| black_box(webrtc.tx.encrypt_rtp(black_box(&plain)).expect("encrypt")))
            });
        }
    }
    group.finish();
}

/// Times `unprotect` over fresh packets made untimed by `protect`, CHUNK at a time.
fn time_fresh<S>(
    iters: u64,
    state: &mut S,
    protect: impl Fn(&mut S) -> Vec<u8>,
    unprotect: impl Fn(&mut S, &mut [u8]),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK as u64);
        let mut packets: Vec<Vec<u8>> = (0..n).map(|_| protect(state)).collect();
        let start = Instant::now();
        for p in &mut packets {
            unprotect(state, p);
        }
        total += start.elapsed();
        left -= n;
    }
    total
}

fn bench_unprotect(c: &mut Criterion) {
    let mut group = c.benchmark_group("srtp-unprotect");
    for (profile, theirs, name) in PROFILES {
        for size in SIZES {
            group.throughput(Throughput::Elements(1));
            let plain = rtp(size, 0);
            // Sender and receiver start together each time, as a new stream would.
            group.bench_function(BenchmarkId::new(format!("sotto/{name}"), size), |b| {
                b.iter_custom(|iters| {
                    time_fresh(
                        iters,
                        &mut Ours::new(profile),
                        |ours| {
                            let len = ours.protect(&plain);
                            ours.buf[..len].to_vec()
                        },
                        |ours, p| {
                            black_box(ours.rx.unprotect_rtp(p).expect("unprotect"));
                        },
                    )
                })
            });
            group.bench_function(BenchmarkId::new(format!("webrtc-srtp/{name}"), size), |b| {
                b.iter_custom(|iters| {
                    time_fresh(
                        iters,
                        &mut Theirs::new(profile, theirs),
                        |webrtc| webrtc.protect(&plain),
                        |webrtc, p| {
                            black_box(webrtc.rx.decrypt_rtp(p).expect("decrypt"));
                        },
                    )
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_protect, bench_unprotect);

/// libsrtp2 protect/unprotect per packet, timed inside the C tool.
fn report_libsrtp() {
    for (name, tool) in [
        ("aes128-hs80", "aes128_hmac80"),
        ("aes256-hs80", "aes256_hmac80"),
    ] {
        for size in SIZES {
            match libsrtp::bench(tool, size, 200_000) {
                Ok((protect_ns, unprotect_ns)) => println!(
                    "libsrtp2 {name} {size} B: protect {:.2} us, unprotect {:.2} us",
                    protect_ns / 1e3,
                    unprotect_ns / 1e3
                ),
                Err(e) => println!("libsrtp2 not measured ({e}); run .ci/setup"),
            }
        }
    }
}

fn main() {
    report_allocations();
    report_libsrtp();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
