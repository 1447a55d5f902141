//! One 20 ms audio frame through the whole per-frame pipeline of a call (48 kHz mono speech
//! from fixtures/speech.wav, Opus at 32 kbit/s, AES128-CM/HMAC-SHA1-80):
//!
//! - send path: Opus encode -> `OpusPacketizer` -> `SrtpSender::protect_rtp`;
//! - receive path: `SrtpReceiver::unprotect_rtp` -> RTP parse -> jitter buffer push and pop ->
//!   Opus decode.
//!
//! Allocations per frame are counted first with an instrumented allocator. The latency these
//! paths add to a call is measured by `sotto bench latency` (BENCHMARKS.md).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use sotto_media::{OpusDecoder, OpusEncoder};
use sotto_rt::{jitter_buffer, JitterConfig, JitterInput, JitterOutput, Playout};
use sotto_rtp::srtp::{SrtpProfile, SrtpReceiver, SrtpSender};
use sotto_rtp::{OpusPacketizer, RtpPacket};

#[path = "common/mod.rs"]
mod common;

use common::{allocations, speech_frames, FRAME};

const PROFILE: SrtpProfile = SrtpProfile::Aes128CmHmacSha1_80;

/// The sending end: what the sender thread of a call holds.
struct SendPath {
    frames: Vec<Vec<i16>>,
    next: usize,
    encoder: OpusEncoder,
    packetizer: OpusPacketizer,
    srtp: SrtpSender,
    opus: [u8; 1500],
}

impl SendPath {
    fn new(frames: Vec<Vec<i16>>) -> Self {
        let key: Vec<u8> = (0..PROFILE.key_len() as u8).collect();
        SendPath {
            frames,
            next: 0,
            encoder: OpusEncoder::new(20, 32_000).expect("encoder"),
            packetizer: OpusPacketizer::new(0x5eed_0001, 111, 0, 0),
            srtp: SrtpSender::new(PROFILE, &key, &[0x5a; 14]).expect("sender"),
            opus: [0; 1500],
        }
    }

    /// Encodes, packetizes and protects the next frame into `packet`; returns its length.
    fn frame(&mut self, packet: &mut [u8]) -> usize {
        let pcm = &self.frames[self.next];
        self.next = (self.next + 1) % self.frames.len();
        let len = self.encoder.encode(pcm, &mut self.opus).expect("encode");
        let rtp_len = self
            .packetizer
            .packetize(&self.opus[..len], FRAME as u32, packet)
            .expect("packetize");
        self.srtp.protect_rtp(packet, rtp_len).expect("protect")
    }
}

/// The receiving end: the network thread's SRTP and jitter input, the playout's jitter output
/// and decoder, stepping through virtual time one frame per packet.
struct ReceivePath {
    srtp: SrtpReceiver,
    jitter_in: JitterInput,
    jitter_out: JitterOutput,
    decoder: OpusDecoder,
    pcm: [i16; 5760],
    t0: Instant,
    frame: u64,
}

impl ReceivePath {
    fn new() -> Self {
        let key: Vec<u8> = (0..PROFILE.key_len() as u8).collect();
        let (jitter_in, jitter_out) = jitter_buffer(JitterConfig::default());
        ReceivePath {
            srtp: SrtpReceiver::new(PROFILE, &key, &[0x5a; 14]).expect("receiver"),
            jitter_in,
            jitter_out,
            decoder: OpusDecoder::new().expect("decoder"),
            pcm: [0; 5760],
            #[allow(clippy::disallowed_methods)] // the origin of virtual time
            t0: Instant::now(),
            frame: 0,
        }
    }

    /// Unprotects `packet`, buffers it and plays the next frame; returns the samples decoded.
    fn frame(&mut self, packet: &mut [u8]) -> usize {
        let now = self.t0 + Duration::from_millis(self.frame * 20);
        self.frame += 1;
        let len = self.srtp.unprotect_rtp(packet).expect("unprotect");
        let rtp = RtpPacket::parse(&packet[..len]).expect("rtp");
        self.jitter_in
            .push(rtp.header.sequence, rtp.header.timestamp, now, rtp.payload)
            .expect("jitter push");
        match self.jitter_out.pop_rt(now) {
            Playout::Frame(payload) => self.decoder.decode(payload, &mut self.pcm),
            Playout::Lost { .. } | Playout::Empty => self.decoder.conceal(&mut self.pcm[..FRAME]),
        }
        .expect("decode")
    }
}

fn pipeline(c: &mut Criterion) {
    let frames = speech_frames();
    let mut send = SendPath::new(frames.clone());
    let mut packet = [0u8; 1500];
    allocations("send path 20 ms", || {
        black_box(send.frame(&mut packet));
    });
    let mut feed = SendPath::new(frames.clone());
    let mut receive = ReceivePath::new();
    allocations("receive path 20 ms", || {
        let len = feed.frame(&mut packet);
        black_box(receive.frame(&mut packet[..len]));
    });

    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(1));
    group.bench_function("send_20ms_frame", |b| {
        let mut send = SendPath::new(frames.clone());
        let mut packet = [0u8; 1500];
        b.iter(|| black_box(send.frame(&mut packet)))
    });
    group.bench_function("receive_20ms_frame", |b| {
        // Each packet may be unprotected once (replay protection): make a fresh one per
        // iteration, outside the timing.
        let mut feed = SendPath::new(frames.clone());
        let mut receive = ReceivePath::new();
        b.iter_batched_ref(
            || {
                let mut packet = [0u8; 1500];
                let len = feed.frame(&mut packet);
                (packet, len)
            },
            |(packet, len)| black_box(receive.frame(&mut packet[..*len])),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
