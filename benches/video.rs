//! Video costs per frame, on the moving test pattern at 30 fps: H.264 P-frame encode and decode
//! (OpenH264, one thread) at 640x480 / 1 Mbit/s and 1280x720 / 2.5 Mbit/s, and RTP
//! packetization of the access units (RFC 6184, 1200-byte payloads). Mean bytes and packets per
//! frame and allocations per frame are printed first. DESIGN.md has 1280x720 at 4.6 ms encode and
//! 1.1 ms decode with nasm, about 3x slower without.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use sotto_media::video::h264::{H264Decoder, H264Encoder, H264EncoderConfig};
use sotto_media::video::{PatternSource, VideoFrame, VideoSource};
use sotto_rtp::h264::{H264Packetizer, DEFAULT_MAX_PAYLOAD_LEN};

#[path = "common/mod.rs"]
#[allow(dead_code)] // the audio helpers
mod common;

use common::allocations;

const FPS: u32 = 30;
/// Pictures generated per size: 4 s of the pattern, looped.
const PICTURES: usize = 120;

struct Case {
    name: &'static str,
    width: u32,
    height: u32,
    bitrate_bps: u32,
}

const CASES: [Case; 2] = [
    Case {
        name: "640x480_1mbps",
        width: 640,
        height: 480,
        bitrate_bps: 1_000_000,
    },
    Case {
        name: "1280x720_2500kbps",
        width: 1280,
        height: 720,
        bitrate_bps: 2_500_000,
    },
];

fn pictures(case: &Case) -> Vec<VideoFrame> {
    let mut source = PatternSource::new(case.width, case.height).expect("pattern size");
    (0..PICTURES)
        .map(|_| source.read().expect("pattern").expect("pattern never ends"))
        .collect()
}

fn encoder(case: &Case) -> H264Encoder {
    H264Encoder::new(&H264EncoderConfig {
        width: case.width,
        height: case.height,
        fps: FPS,
        bitrate_bps: case.bitrate_bps,
    })
    .expect("encoder")
}

/// The access units of the pictures, IDR first; skipped pictures give empty units.
fn access_units(case: &Case, pictures: &[VideoFrame]) -> Vec<Vec<u8>> {
    let mut encoder = encoder(case);
    pictures
        .iter()
        .map(|picture| {
            let mut au = Vec::new();
            encoder.encode(picture, &mut au).expect("encode");
            au
        })
        .collect()
}

/// Packets of one access unit through the packetizer; returns (packets, RTP bytes).
fn packetize(packetizer: &mut H264Packetizer, au: &[u8], timestamp: u32) -> (usize, usize) {
    let mut buf = [0u8; 1500];
    let mut packets = packetizer.start_access_unit(au, timestamp);
    let (mut count, mut bytes) = (0, 0);
    while let Some(len) = packets.next_packet(&mut buf) {
        bytes += len.expect("packetize");
        count += 1;
    }
    (count, bytes)
}

fn report(case: &Case, units: &[Vec<u8>]) {
    let p_frames: Vec<&Vec<u8>> = units.iter().skip(1).filter(|au| !au.is_empty()).collect();
    let mut packetizer =
        H264Packetizer::new(0x1234_5678, 96, 1, DEFAULT_MAX_PAYLOAD_LEN).expect("packetizer");
    let (mut packets, mut rtp_bytes) = (0, 0);
    for (i, au) in p_frames.iter().enumerate() {
        let (n, bytes) = packetize(&mut packetizer, au, i as u32 * 3000);
        packets += n;
        rtp_bytes += bytes;
    }
    let n = p_frames.len().max(1) as f64;
    let au_bytes: usize = p_frames.iter().map(|au| au.len()).sum();
    let (idr_packets, _) = packetize(&mut packetizer, &units[0], 0);
    println!(
        "h264 {}: IDR {} B in {idr_packets} packets; P-frames mean {:.0} B in {:.2} packets \
         ({:.0} B of RTP), {} of {} skipped; {:.0} kbit/s",
        case.name,
        units[0].len(),
        au_bytes as f64 / n,
        packets as f64 / n,
        rtp_bytes as f64 / n,
        units.len() - 1 - p_frames.len(),
        units.len() - 1,
        au_bytes as f64 * 8.0 * f64::from(FPS) / n / 1000.0,
    );
}

fn h264(c: &mut Criterion) {
    let mut group = c.benchmark_group("h264");
    group.throughput(Throughput::Elements(1));
    group.sample_size(30);
    for case in &CASES {
        let pictures = pictures(case);
        let units = access_units(case, &pictures);
        report(case, &units);

        // Encode P-frames: the IDR goes first, outside the measurement; the pattern loops.
        let mut encoder = encoder(case);
        let mut out = Vec::new();
        encoder.encode(&pictures[0], &mut out).expect("encode");
        let mut next = 1;
        allocations(&format!("h264 encode {}", case.name), || {
            encoder
                .encode(&pictures[next % PICTURES], &mut out)
                .expect("encode");
            next += 1;
        });
        group.bench_function(format!("encode_{}", case.name), |b| {
            b.iter(|| {
                let encoded = encoder
                    .encode(black_box(&pictures[next % PICTURES]), &mut out)
                    .expect("encode");
                next += 1;
                black_box(encoded)
            })
        });

        // Decode P-frames in stream order; at the end of the stream the decoder restarts at
        // the IDR, untimed.
        let mut decoder = H264Decoder::new().expect("decoder");
        let mut at = units.len();
        let mut decode_next = |decoder: &mut H264Decoder| -> Duration {
            if at == units.len() {
                decoder.decode(&units[0]).expect("decode IDR");
                at = 1;
            }
            let au = &units[at];
            at += 1;
            let start = Instant::now();
            black_box(decoder.decode(black_box(au)).expect("decode"));
            start.elapsed()
        };
        allocations(&format!("h264 decode {}", case.name), || {
            decode_next(&mut decoder);
        });
        group.bench_function(format!("decode_{}", case.name), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| decode_next(&mut decoder)).sum())
        });

        let mut packetizer =
            H264Packetizer::new(0x1234_5678, 96, 1, DEFAULT_MAX_PAYLOAD_LEN).expect("packetizer");
        let mut i = 1;
        group.bench_function(format!("packetize_{}", case.name), |b| {
            b.iter(|| {
                i = i % (units.len() - 1) + 1;
                black_box(packetize(&mut packetizer, black_box(&units[i]), 0))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, h264);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
