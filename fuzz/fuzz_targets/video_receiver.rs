//! Feeds arbitrary packet sequences and timer runs to the video receiver: it must never
//! panic, never hold more than its buffer, never name more than `MAX_NACK_SEQUENCES` in one
//! NACK, always run out of events when polled, and every frame it hands out must be Annex-B
//! NAL units of sendable types (1 to 23) within the size bound.
//!
//! The input is a list of commands. A first byte with the top bit set waits `low 7 bits x 4`
//! ms and runs the timers (0xff sets the RTT, 0xfe reports a decoder error). Otherwise it is a
//! packet: that byte's low bits are the marker and how the timestamp moves (same, next frame,
//! or a wild value from the next four bytes); then a sequence step byte (signed, so reordering,
//! duplicates and jumps all happen), a length byte and the payload.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use sotto_rtp::h264::AnnexBNalUnits;
use sotto_rtp::video::{VideoEvent, VideoReceiver, VideoReceiverConfig, MAX_NACK_SEQUENCES};

const MAX_PACKETS: usize = 64;
const MAX_FRAME_LEN: usize = 8192;

fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

fn drain(receiver: &mut VideoReceiver, now: Instant) {
    for _ in 0..100_000 {
        let Some(event) = receiver.poll_event(now) else {
            return;
        };
        match event {
            VideoEvent::Frame(frame) => {
                assert!(frame.annexb.len() <= MAX_FRAME_LEN);
                assert!(frame.annexb.starts_with(&[0, 0, 0, 1]));
                let mut units = 0;
                for nal in AnnexBNalUnits::new(frame.annexb) {
                    assert!((1..=23).contains(&(nal[0] & 0x1f)));
                    units += 1;
                }
                assert!(units > 0);
            }
            VideoEvent::Nack(lost) => assert!(!lost.is_empty() && lost.len() <= MAX_NACK_SEQUENCES),
            VideoEvent::KeyframeRequest => {}
        }
    }
    panic!("poll_event never ran dry");
}

fuzz_target!(|data: &[u8]| {
    let mut receiver = VideoReceiver::new(VideoReceiverConfig {
        max_packets: MAX_PACKETS,
        max_frame_len: MAX_FRAME_LEN,
        ..VideoReceiverConfig::default()
    });
    let mut now = origin();
    let mut sequence = 0u16;
    let mut timestamp = 0u32;
    let mut rest = data;
    while let Some((&command, tail)) = rest.split_first() {
        rest = tail;
        match command {
            0xff => {
                let Some((&ms, tail)) = rest.split_first() else {
                    break;
                };
                rest = tail;
                receiver.set_rtt(Duration::from_millis(u64::from(ms) * 8));
            }
            0xfe => receiver.request_keyframe(now),
            0x80..=0xfd => {
                now += Duration::from_millis(u64::from(command & 0x7f) * 4);
                // Run every deadline up to now, as a driver would.
                for _ in 0..10_000 {
                    match receiver.poll_timeout() {
                        Some(at) if at <= now => {
                            receiver.handle_timeout(at);
                            drain(&mut receiver, at);
                        }
                        _ => break,
                    }
                }
            }
            _ => {
                let marker = command & 1 != 0;
                timestamp = match command >> 1 & 3 {
                    0 => timestamp,
                    1 => timestamp.wrapping_add(3000),
                    _ => {
                        let Some((word, tail)) = rest.split_first_chunk::<4>() else {
                            break;
                        };
                        rest = tail;
                        u32::from_be_bytes(*word)
                    }
                };
                let Some((&[step, len], tail)) = rest.split_first_chunk::<2>() else {
                    break;
                };
                let len = usize::from(len).min(tail.len());
                let (payload, tail) = tail.split_at(len);
                rest = tail;
                sequence = sequence.wrapping_add(i16::from(step as i8) as u16);
                receiver.handle_packet(now, sequence, timestamp, marker, payload);
            }
        }
        drain(&mut receiver, now);
        let stats = receiver.stats();
        assert!(stats.buffered_packets <= MAX_PACKETS);
        assert!(stats.missing_packets <= MAX_PACKETS);
    }
});
