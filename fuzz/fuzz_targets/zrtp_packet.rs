//! Feeds arbitrary bytes to the ZRTP wire parsers. Whatever parses must re-encode and parse
//! again to the same value. Bytes are tried both as a whole datagram and as a bare message,
//! since random input rarely carries a valid CRC-32C and would never reach the message parsers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sotto_zrtp::wire::{
    encode_message, parse_message, parse_packet, seal_packet, ConfirmBody, SasRelayBody,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(packet) = parse_packet(data) {
        let mut message = Vec::new();
        encode_message(&packet.message, &mut message);
        // Unused flag bits are ignored on receipt, so compare values, not bytes.
        assert_eq!(message.len(), packet.raw.len());
        let mut datagram = Vec::new();
        seal_packet(packet.header, &message, &mut datagram);
        let again = parse_packet(&datagram).expect("a re-sealed packet must parse");
        assert_eq!(again.header, packet.header);
        assert_eq!(again.message, packet.message);
    }

    if let Ok(message) = parse_message(data) {
        let mut bytes = Vec::new();
        encode_message(&message, &mut bytes);
        assert_eq!(bytes.len(), data.len());
        let again = parse_message(&bytes).expect("a re-encoded message must parse");
        assert_eq!(again, message);
    }

    // The decrypted bodies come from attacker-influenced bytes too.
    if let Ok(body) = ConfirmBody::parse(data) {
        let mut bytes = Vec::new();
        body.encode(&mut bytes);
        assert_eq!(ConfirmBody::parse(&bytes).ok(), Some(body));
    }
    if let Ok(body) = SasRelayBody::parse(data) {
        let mut bytes = Vec::new();
        body.encode(&mut bytes);
        assert_eq!(SasRelayBody::parse(&bytes).ok(), Some(body));
    }
});
