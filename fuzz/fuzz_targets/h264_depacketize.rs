//! Feeds arbitrary bytes, cut into RTP payloads, to the H.264 depacketizer: it must never
//! panic and never hand out a frame above its size bound. Each chunk is a length byte, a
//! sequence step, a timestamp step and a marker bit, then the payload; some payloads are also
//! parsed as whole RTP packets.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sotto_rtp::h264::H264Depacketizer;

const MAX_FRAME_LEN: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let mut d = H264Depacketizer::with_max_frame_len(MAX_FRAME_LEN);
    let mut rest = data;
    let mut sequence = 0u16;
    let mut timestamp = 0u32;
    while let Some((&[len, step, flags], tail)) = rest.split_first_chunk::<3>() {
        let len = usize::from(len).min(tail.len());
        let (payload, tail) = tail.split_at(len);
        rest = tail;
        sequence = sequence.wrapping_add(u16::from(step & 0x03));
        timestamp = timestamp.wrapping_add(u32::from(flags >> 1 & 0x03) * 3000);
        let _ = d.handle_payload(payload, sequence, timestamp, flags & 1 != 0);
        if step & 0x80 != 0 {
            let _ = d.handle_packet(payload);
        }
        while let Some(frame) = d.poll_frame() {
            assert!(frame.annexb.len() <= MAX_FRAME_LEN);
            assert!(frame.annexb.starts_with(&[0, 0, 0, 1]));
        }
    }
    let _ = d.needs_keyframe();
    let _ = d.stats();
});
