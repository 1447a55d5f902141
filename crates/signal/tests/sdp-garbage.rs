//! Whatever arrives through the signaling (random text, SDP-shaped soup, a real SDP damaged in
//! transit, a mangled line) the reader returns a value or an error, never panics, and stays
//! within its bounds; what it accepts, it writes back to something it reads the same.

use proptest::collection::vec;
use proptest::prelude::*;
use sotto_signal::{
    Error, LocalMedia, LocalStream, Offer, SessionDescription, Signal, ZrtpHash, MAX_CANDIDATES,
    MAX_LINES, MAX_MEDIA, MAX_SDP_LEN,
};

/// Parses; if that works, the written form must read back the same.
fn check(text: &str) {
    if let Ok(sdp) = SessionDescription::parse(text) {
        let written = sdp.to_sdp();
        assert_eq!(
            SessionDescription::parse(&written).as_ref(),
            Ok(&sdp),
            "accepted\n{text:?}\nwrote\n{written:?}"
        );
    }
}

fn sotto_offer() -> String {
    let mut audio = LocalStream::new(5004, Some(ZrtpHash::new([7; 32])));
    audio.candidates.push(
        sotto_signal::Candidate::new("1 1 UDP 2130706431 192.0.2.1 5004 typ host")
            .expect("candidate"),
    );
    Offer::new(&LocalMedia {
        session_id: 1,
        session_version: 1,
        address: "192.0.2.1".parse().expect("address"),
        audio,
        video: Some(LocalStream::new(5004, None)),
        ice: None,
    })
    .expect("offer")
    .to_sdp()
}

/// SDP-looking lines with random values: most parse as far as their own line goes.
fn sdp_line() -> impl Strategy<Value = String> {
    let word = "[ -~]{0,12}";
    prop_oneof![
        Just("v=0".to_owned()),
        (any::<u64>(), any::<u64>(), word).prop_map(|(a, b, w)| format!("o=- {a} {b} IN IP4 {w}")),
        word.prop_map(|w| format!("s={w}")),
        (any::<u64>(), any::<u64>()).prop_map(|(a, b)| format!("t={a} {b}")),
        prop_oneof![
            Just("IP4 192.0.2.1"),
            Just("IP6 ::1"),
            Just("IP4 ::1"),
            Just("IP7 x")
        ]
        .prop_map(|a| format!("c=IN {a}")),
        (
            prop_oneof![Just("audio"), Just("video"), Just("text")],
            any::<u16>(),
            prop_oneof![Just("RTP/AVP"), Just("RTP/SAVP"), Just("udp")],
            vec(0u16..300, 0..5),
        )
            .prop_map(|(k, port, proto, pts)| {
                let pts: Vec<String> = pts.iter().map(u16::to_string).collect();
                format!("m={k} {port} {proto} {}", pts.join(" "))
            }),
        (0u16..300, word).prop_map(|(pt, w)| format!("a=rtpmap:{pt} {w}")),
        (0u16..300, word).prop_map(|(pt, w)| format!("a=fmtp:{pt} {w}")),
        (0u16..130, word).prop_map(|(pt, w)| format!("a=rtcp-fb:{pt} {w}")),
        word.prop_map(|w| format!("a=rtcp-fb:* {w}")),
        word.prop_map(|w| format!("a=ptime:{w}")),
        word.prop_map(|w| format!("a=zrtp-hash:{w}")),
        "[0-9a-f]{64}".prop_map(|h| format!("a=zrtp-hash:1.10 {h}")),
        word.prop_map(|w| format!("a=candidate:{w}")),
        (any::<u32>(), any::<u16>())
            .prop_map(|(p, port)| format!("a=candidate:1 1 UDP {p} 192.0.2.9 {port} typ host")),
        word.prop_map(|w| format!("a=ice-ufrag:{w}")),
        "[a-z0-9]{20,24}".prop_map(|w| format!("a=ice-pwd:{w}")),
        prop_oneof![
            Just("a=sendrecv"),
            Just("a=sendonly"),
            Just("a=recvonly"),
            Just("a=inactive"),
            Just("a=rtcp-mux"),
            Just("b=AS:64"),
            Just("a=")
        ]
        .prop_map(str::to_owned),
        "[ -~]{0,20}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,400}") {
        check(&text);
        let _ = Signal::from_line(&text);
    }

    #[test]
    fn random_bytes_as_text_never_panic(bytes in vec(any::<u8>(), 0..600)) {
        let text = String::from_utf8_lossy(&bytes);
        check(&text);
        let _ = Signal::from_line(&text);
    }

    #[test]
    fn sdp_shaped_soup_never_panics(
        lines in vec(sdp_line(), 0..40),
        header in any::<bool>(),
        crlf in any::<bool>(),
    ) {
        let mut all = Vec::new();
        if header {
            all.extend(["v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0"]
                .map(str::to_owned));
        }
        all.extend(lines);
        check(&all.join(if crlf { "\r\n" } else { "\n" }));
    }

    #[test]
    fn a_damaged_real_offer_never_panics(
        edits in vec((0usize..4, any::<usize>(), any::<usize>(), any::<u8>()), 1..6),
    ) {
        let mut lines: Vec<String> = sotto_offer().split("\r\n").map(str::to_owned).collect();
        for (kind, i, j, byte) in edits {
            let (i, j) = (i % lines.len(), j % lines.len());
            match kind {
                0 => { lines.remove(i); if lines.is_empty() { break; } }
                1 => { let l = lines[i].clone(); lines.insert(j, l); }
                2 => lines.swap(i, j),
                _ => {
                    // Overwrite one byte of one line with an ASCII byte.
                    let mut b = lines[i].clone().into_bytes();
                    if !b.is_empty() {
                        let at = j % b.len();
                        b[at] = byte & 0x7f;
                    }
                    lines[i] = String::from_utf8(b).expect("ascii");
                }
            }
        }
        check(&lines.join("\r\n"));
    }

    #[test]
    fn a_mangled_line_never_panics(cut in any::<usize>(), at in any::<usize>(), c in any::<char>()) {
        let line = Offer::parse(&sotto_offer()).expect("offer").to_line();
        let mut chars: Vec<char> = line.chars().collect();
        let at = at % chars.len();
        chars[at] = c;
        chars.truncate(cut % (chars.len() + 1));
        let mangled: String = chars.into_iter().collect();
        if let Ok(signal) = Signal::from_line(&mangled) {
            // Only a change the checksum cannot see (none expected) may pass, and then intact.
            prop_assert_eq!(signal.to_line(), line);
        }
    }
}

#[test]
fn bounds_are_enforced_with_their_errors() {
    let sdp = sotto_offer();
    let padded = format!(
        "{sdp}{}",
        "a=x\r\n".repeat((MAX_SDP_LEN - sdp.len()) / 5 + 1)
    );
    assert!(matches!(
        SessionDescription::parse(&padded),
        Err(Error::TooLong { .. })
    ));

    let many_lines = format!("{sdp}{}", "a=x\r\n".repeat(MAX_LINES));
    assert!(many_lines.len() <= MAX_SDP_LEN);
    assert!(matches!(
        SessionDescription::parse(&many_lines),
        Err(Error::TooMany { what: "lines", .. })
    ));
    // Blank lines are not counted.
    let blank = format!("{sdp}{}", "\r\n".repeat(MAX_LINES * 2));
    assert!(SessionDescription::parse(&blank).is_ok());

    let many_media = format!("{sdp}{}", "m=text 0 RTP/AVP 98\r\n".repeat(MAX_MEDIA - 1));
    assert!(matches!(
        SessionDescription::parse(&many_media),
        Err(Error::TooMany {
            what: "media streams",
            ..
        })
    ));

    let many_candidates = format!(
        "{sdp}{}",
        "a=candidate:1 1 UDP 1 192.0.2.1 9 typ host\r\n".repeat(MAX_CANDIDATES + 1)
    );
    assert!(matches!(
        SessionDescription::parse(&many_candidates),
        Err(Error::TooMany {
            what: "ice candidates for one stream",
            ..
        })
    ));
}

#[test]
fn what_a_call_depends_on_must_be_well_formed() {
    let sdp = sotto_offer();
    for (from, to, line) in [
        ("v=0", "v=1", 1),
        ("m=audio 5004", "m=audio 65536", 6),
        ("m=audio 5004 RTP/SAVP 111", "m=audio 5004 RTP/SAVP 128", 6),
        (
            "m=audio 5004 RTP/SAVP 111",
            "m=audio 5004 RTP/SAVP 111 111",
            6,
        ),
        ("c=IN IP4 192.0.2.1", "c=IN IP4 host.example", 4),
        ("c=IN IP4 192.0.2.1", "c=IN IP6 192.0.2.1", 4),
        ("a=rtpmap:111 opus/48000/2", "a=rtpmap:111 opus", 7),
        (
            "a=rtpmap:111 opus/48000/2",
            "a=rtpmap:111 opus/48000/2/1",
            7,
        ),
        ("a=ptime:20", "a=ptime:twenty", 9),
        ("a=sendrecv", "a=sendrecv\r\na=inactive", 12),
        ("a=zrtp-hash:1.10 0707", "a=zrtp-hash:1.10 0x07", 12),
        ("typ host", "typ", 13),
        ("o=- 1 1", "o=- one 1", 2),
        ("t=0 0", "t=0", 5),
    ] {
        assert!(sdp.contains(from), "{from}");
        let broken = sdp.replacen(from, to, 1);
        match SessionDescription::parse(&broken) {
            Err(Error::Malformed { line: l, .. }) => assert_eq!(l, line, "{to}"),
            other => panic!("{to}: {other:?}"),
        }
    }
    for (from, missing) in [
        ("o=- 1 1 IN IP4 192.0.2.1\r\n", "o="),
        ("c=IN IP4 192.0.2.1\r\n", "c="),
    ] {
        let broken = sdp.replacen(from, "", 1);
        match SessionDescription::parse(&broken) {
            Err(Error::Missing(what)) => assert!(what.starts_with(missing), "{what}"),
            other => panic!("without {missing}: {other:?}"),
        }
    }
    // Unknown attributes and line types are read past.
    let extended = sdp.replacen(
        "a=ptime:20",
        "a=ptime:20\r\na=x-future:1\r\nb=AS:64\r\ny=?",
        1,
    );
    assert!(SessionDescription::parse(&extended).is_ok());
}
