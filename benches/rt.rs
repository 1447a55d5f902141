//! Cost of the real-time plumbing: one 20 ms chunk (960 samples) through an audio ring, and one
//! Opus-sized packet through the jitter buffer (push on the network side, pop on playout).
//! DESIGN.md has rtrb at 0.1 us for the 960-sample push+pop.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sotto_rt::{audio_ring, jitter_buffer, JitterConfig, Playout};

fn ring(c: &mut Criterion) {
    let mut group = c.benchmark_group("ring");
    group.throughput(Throughput::Elements(960));
    let (mut tx, mut rx) = audio_ring(4 * 960);
    let chunk = [123i16; 960];
    let mut out = [0i16; 960];
    group.bench_function("push+pop 960 samples", |b| {
        b.iter(|| {
            tx.push_rt(black_box(&chunk));
            black_box(rx.pop_or_silence_rt(&mut out));
        })
    });
    group.finish();
}

fn jitter(c: &mut Criterion) {
    let mut group = c.benchmark_group("jitter");
    group.throughput(Throughput::Elements(1));
    let (mut input, mut output) = jitter_buffer(JitterConfig::default());
    let payload = [0x5au8; 80];
    // Virtual time: a steady 20 ms stream, popped as each packet arrives.
    #[allow(clippy::disallowed_methods)] // the origin of virtual time
    let t0 = Instant::now();
    let mut seq: u64 = 0;
    group.bench_function("push+pop 80-byte packet", |b| {
        b.iter(|| {
            let now = t0 + Duration::from_millis(seq * 20);
            let pushed = input.push(seq as u16, (seq * 960) as u32, now, black_box(&payload));
            let played = matches!(output.pop_rt(now), Playout::Frame(_));
            seq += 1;
            black_box((pushed, played))
        })
    });
    group.finish();
}

criterion_group!(benches, ring, jitter);
criterion_main!(benches);
