//! Feeds arbitrary text to the SDP reader and to the one-line reader, as a peer or a relay on
//! the signaling path may send it. Whatever parses must write back to SDP that parses to the
//! same description; whatever line reads must write back to the same offer or answer; and an
//! accepted offer must be answerable or refused with an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sotto_signal::{LocalMedia, LocalStream, Offer, SessionDescription, Signal, ZrtpHash};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    if let Ok(sdp) = SessionDescription::parse(text) {
        let written = sdp.to_sdp();
        let again = SessionDescription::parse(&written).expect("sotto's own sdp must parse");
        assert_eq!(again, sdp);

        let local = LocalMedia {
            session_id: 1,
            session_version: 1,
            address: "192.0.2.1".parse().expect("address"),
            audio: LocalStream::new(5004, Some(ZrtpHash::new([1; 32]))),
            video: Some(LocalStream::new(5004, None)),
            ice: None,
        };
        let offer = Offer(sdp);
        if let Ok((answer, _)) = offer.answer(&local) {
            // sotto's answer to any offer is one the offer accepts.
            offer
                .accept(&answer)
                .expect("an answer sotto made fits its offer");
        }
    }
    if let Ok(signal) = Signal::from_line(text) {
        assert_eq!(Signal::from_line(&signal.to_line()), Ok(signal));
    }
});
