//! Feeds arbitrary datagrams to the ZRTP packet parser. Whatever parses must re-encode to the
//! same message bytes and parse again to the same packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sotto_zrtp::wire::{encode_message, parse_packet, seal_packet, ConfirmBody, SasRelayBody};

fuzz_target!(|data: &[u8]| {
    // The decrypted bodies are parsed from attacker-influenced bytes too.
    let _ = ConfirmBody::parse(data);
    let _ = SasRelayBody::parse(data);

    let Ok(packet) = parse_packet(data) else {
        return;
    };
    let mut message = Vec::new();
    encode_message(&packet.message, &mut message);
    assert_eq!(message, packet.raw, "re-encoding changed the message bytes");

    let mut datagram = Vec::new();
    seal_packet(packet.header, &message, &mut datagram);
    let again = parse_packet(&datagram).expect("a re-sealed packet must parse");
    assert_eq!(again.header, packet.header);
    assert_eq!(again.message, packet.message);
    assert_eq!(again.raw, packet.raw);
});
