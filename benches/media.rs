//! Audio costs per 20 ms frame: Opus encode and decode (48 kHz mono, 32 kbit/s, speech from
//! fixtures/speech.wav) and resampling a 44.1 kHz device frame to 48 kHz. Allocations per frame
//! are counted first with an instrumented allocator: all three must report zero, since the
//! decoder and resampler run next to device callbacks. DESIGN.md has encode at 0.23 ms and
//! decode at 0.03-0.05 ms.

use std::hint::black_box;

use criterion::{criterion_group, Criterion, Throughput};
use sotto_media::{AudioSource, OpusDecoder, OpusEncoder, Resampler, ToneSource};

#[path = "common/mod.rs"]
mod common;

use common::{allocations, speech_frames};

const FRAME_44K1: usize = 882;

fn opus(c: &mut Criterion) {
    let frames = speech_frames();
    let mut encoder = OpusEncoder::new(20, 32_000).expect("encoder");
    let packets: Vec<Vec<u8>> = frames
        .iter()
        .map(|f| {
            let mut buf = [0u8; 1500];
            let n = encoder.encode(f, &mut buf).expect("encode");
            buf[..n].to_vec()
        })
        .collect();
    let mut decoder = OpusDecoder::new().expect("decoder");
    let mut out = [0u8; 1500];
    let mut pcm = [0i16; 5760];

    let mut i = 0;
    allocations("opus encode 20 ms", || {
        i = (i + 1) % frames.len();
        black_box(encoder.encode(&frames[i], &mut out).expect("encode"));
    });
    allocations("opus decode 20 ms", || {
        i = (i + 1) % packets.len();
        black_box(decoder.decode(&packets[i], &mut pcm).expect("decode"));
    });

    let mut group = c.benchmark_group("opus");
    group.throughput(Throughput::Elements(1));
    group.bench_function("encode_20ms_32kbps", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % frames.len();
            black_box(
                encoder
                    .encode(black_box(&frames[i]), &mut out)
                    .expect("encode"),
            )
        })
    });
    group.bench_function("decode_20ms_32kbps", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % packets.len();
            black_box(
                decoder
                    .decode(black_box(&packets[i]), &mut pcm)
                    .expect("decode"),
            )
        })
    });
    group.finish();
}

fn resample(c: &mut Criterion) {
    let mut input = vec![0i16; FRAME_44K1];
    ToneSource::new(440.0, 0.5)
        .read(&mut input)
        .expect("tone never fails");
    let mut resampler = Resampler::new(44_100, 48_000).expect("rates are valid");
    let mut out = vec![0i16; resampler.max_output_len(FRAME_44K1)];
    allocations("resample 20 ms 44.1k->48k", || {
        black_box(resampler.process_rt(&input, &mut out));
    });
    let mut group = c.benchmark_group("resample");
    group.throughput(Throughput::Elements(1));
    group.bench_function("20ms_44k1_to_48k", |b| {
        b.iter(|| black_box(resampler.process_rt(black_box(&input), &mut out)))
    });
    group.finish();
}

criterion_group!(benches, opus, resample);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
