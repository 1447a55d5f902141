//! Feeds arbitrary bytes to the RTP, RTCP, extension and Opus parsers. Whatever parses must
//! re-encode and parse again to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sotto_rtp::rtcp::{parse_compound, write_compound, RtcpPacket};
use sotto_rtp::rtp::RtpWriter;
use sotto_rtp::{classify, opus_payload, RtpPacket};

fuzz_target!(|data: &[u8]| {
    let _ = classify(data);
    let _ = opus_payload(data);

    if let Ok(packet) = RtpPacket::parse(data) {
        let h = packet.header;
        if let Some(ext) = h.extension {
            for element in ext.elements(data) {
                let _ = element;
            }
        }
        let padding = data.len() - h.header_len - packet.payload.len();
        let writer = RtpWriter {
            marker: h.marker,
            payload_type: h.payload_type,
            sequence: h.sequence,
            timestamp: h.timestamp,
            ssrc: h.ssrc,
            csrcs: h.csrcs(),
            extension: h.extension.map(|e| (e.profile, e.data(data))),
            padding: u8::try_from(padding).expect("padding comes from one byte"),
        };
        let mut out = vec![0u8; data.len()];
        let len = writer
            .write(packet.payload, &mut out)
            .expect("same size as parsed");
        let again = RtpPacket::parse(&out[..len]).expect("a rewritten packet must parse");
        assert_eq!(again.header, h);
        assert_eq!(again.payload, packet.payload);
    }

    let packets: Vec<RtcpPacket<'_>> = parse_compound(data).filter_map(Result::ok).collect();
    if !packets.is_empty() {
        let mut out = vec![0u8; data.len() + 4];
        let len = write_compound(&packets, 0, &mut out).expect("a parsed packet re-encodes");
        let again: Vec<_> = parse_compound(&out[..len])
            .collect::<Result<_, _>>()
            .expect("a rewritten compound packet must parse");
        assert_eq!(again, packets);
    }
});
