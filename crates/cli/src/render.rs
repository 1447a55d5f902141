//! How call events reach the user: JSON lines for programs, or a SAS banner, state lines and a
//! live stats line for people.

use std::io::{self, IsTerminal as _, Write as _};
use std::net::SocketAddr;

use serde_json::{json, Value};
use sotto::{CallEvent, CallStats, EndReason, VideoStats};
use sotto_zrtp::{Algorithms, Role, SasType};

/// Writes events to stdout, as JSON lines or for a person.
#[derive(Debug)]
pub struct Printer {
    json: bool,
    tty: bool,
    /// A line is on screen without its newline: the live stats line (updated in place on a
    /// terminal) or a question waiting for its answer.
    line_open: bool,
    /// The microphone is muted: the live stats line says so.
    muted: bool,
}

impl Printer {
    /// A printer for JSON lines (`json`) or for a person.
    pub fn new(json: bool) -> Self {
        Printer {
            json,
            tty: io::stdout().is_terminal(),
            line_open: false,
            muted: false,
        }
    }

    /// Whether the live stats line says the microphone is muted.
    pub fn set_muted(&mut self, muted: bool) {
        self.muted = muted;
    }

    /// A state or advice line: stdout for a person, stderr in JSON mode (stdout carries events
    /// only there).
    pub fn note(&mut self, line: &str) {
        if self.json {
            eprintln!("{line}");
        } else {
            self.close_line();
            println!("{line}");
        }
    }

    /// A question that waits for an answer on the same line.
    pub fn ask(&mut self, question: &str) {
        if self.json {
            eprint!("{question} ");
        } else {
            self.close_line();
            print!("{question} ");
            // The prompt has no newline, so it must be flushed to show.
            let _ = io::stdout().flush();
            self.line_open = true;
        }
    }

    /// The answer to [`Printer::ask`] came; the user's Enter ended the line.
    pub fn answered(&mut self) {
        self.line_open = false;
    }

    /// Shows one call event.
    pub fn event(&mut self, event: &CallEvent) {
        if self.json {
            if let Some(value) = event_json(event) {
                println!("{value}");
            }
            return;
        }
        match event {
            CallEvent::Sas {
                sas,
                sas_type,
                verified,
                cache_mismatch,
            } => {
                self.close_line();
                print!("{}", sas_banner(sas, *sas_type, *verified, *cache_mismatch));
            }
            CallEvent::Secure {
                role,
                algorithms,
                peer,
            } => self.note(&secure_line(*role, algorithms, *peer)),
            CallEvent::VideoSecure { role, algorithms } => {
                self.note(&video_secure_line(*role, algorithms));
            }
            CallEvent::VideoUnavailable { reason } => {
                self.note(&format!(
                    "video unavailable: {reason}; the call goes on with audio"
                ));
            }
            CallEvent::VideoInputEnded => {
                self.note("video input ended: no more video is sent; the call goes on");
            }
            CallEvent::Stats(stats) => {
                let mut line = stats_line(stats);
                if self.muted {
                    line.push_str("  MUTED");
                }
                if self.tty {
                    // Carriage return and erase-line redraw the one line in place.
                    print!("\r\x1b[K{line}");
                    let _ = io::stdout().flush();
                    self.line_open = true;
                } else {
                    self.close_line();
                    println!("{line}");
                }
            }
            CallEvent::Connected { local, remote } => {
                self.note(&format!(
                    "path found: {local} <-> {remote}; securing the call with ZRTP..."
                ));
            }
            CallEvent::PeerQuiet { silent } => self.note(&format!(
                "nothing from your peer for {:.0} s: a network may have changed (after \
                 `sotto invite`/`join`, type `restart`)",
                silent.as_secs_f64()
            )),
            CallEvent::HelloHashMismatch { from } => {
                self.close_line();
                println!("{}", hello_hash_warning(*from));
            }
            CallEvent::Ended(reason) => self.note(&format!("call ended: {reason}")),
            // Events added to the engine later are not shown until the tool learns them.
            _ => {}
        }
    }

    fn close_line(&mut self) {
        if self.line_open {
            println!();
            self.line_open = false;
        }
    }
}

impl Drop for Printer {
    fn drop(&mut self) {
        self.close_line();
    }
}

/// The JSON line for an event, `None` for an event this tool does not know.
pub fn event_json(event: &CallEvent) -> Option<Value> {
    Some(match event {
        CallEvent::Sas {
            sas,
            sas_type,
            verified,
            cache_mismatch,
        } => json!({
            "event": "sas",
            "sas": sas,
            "sas_type": sas_type.to_string(),
            "verified": verified,
            "cache_mismatch": cache_mismatch,
        }),
        CallEvent::Secure {
            role,
            algorithms,
            peer,
        } => {
            let mut value = keyed_json("secure", *role, algorithms);
            value["peer"] = json!(peer.to_string());
            value
        }
        CallEvent::VideoSecure { role, algorithms } => {
            keyed_json("video_secure", *role, algorithms)
        }
        CallEvent::VideoUnavailable { reason } => json!({
            "event": "video_unavailable",
            "reason": reason,
        }),
        CallEvent::VideoInputEnded => json!({"event": "video_input_ended"}),
        CallEvent::Stats(s) => json!({
            "event": "stats",
            "elapsed_s": s.elapsed.as_secs_f64(),
            "tx_bitrate_bps": s.tx_bitrate_bps,
            "rx_bitrate_bps": s.rx_bitrate_bps,
            "packets_sent": s.packets_sent,
            "packets_received": s.packets_received,
            "loss_percent": s.loss_percent,
            "jitter_ms": s.jitter_ms,
            "jitter_buffer_ms": s.jitter_buffer_ms,
            "rtt_ms": s.rtt_ms,
            "concealed_percent": s.concealed_percent,
            "srtp_rejected": s.srtp_rejected,
            "video": s.video.as_ref().map(video_json),
        }),
        CallEvent::Connected { local, remote } => json!({
            "event": "connected",
            "local": local.to_string(),
            "remote": remote.to_string(),
        }),
        CallEvent::PeerQuiet { silent } => json!({
            "event": "peer_quiet",
            "silent_ms": silent.as_secs_f64() * 1000.0,
        }),
        CallEvent::HelloHashMismatch { from } => json!({
            "event": "hello_hash_mismatch",
            "from": from.to_string(),
        }),
        CallEvent::Ended(reason) => json!({
            "event": "ended",
            "reason": reason.to_string(),
            "ok": ended_well(reason),
        }),
        _ => return None,
    })
}

/// The JSON of a stream that became secure: who committed and what was agreed.
fn keyed_json(event: &str, role: Role, algorithms: &Algorithms) -> Value {
    json!({
        "event": event,
        "role": role.to_string(),
        "key_agreement": algorithms.key_agreement.to_string(),
        "hash": algorithms.hash.to_string(),
        "cipher": algorithms.cipher.to_string(),
        "auth_tag": algorithms.auth_tag.to_string(),
        "sas_type": algorithms.sas_type.to_string(),
    })
}

/// The `"video"` object of a stats line: every [`VideoStats`] field, durations in ms, the
/// resolution as `{"width", "height"}`; not-yet-known figures are `null`.
pub fn video_json(v: &VideoStats) -> Value {
    json!({
        "sent_fps": v.sent_fps,
        "received_fps": v.received_fps,
        "tx_bitrate_bps": v.tx_bitrate_bps,
        "rx_bitrate_bps": v.rx_bitrate_bps,
        "received_resolution": v
            .received_resolution
            .map(|(width, height)| json!({"width": width, "height": height})),
        "frames_sent": v.frames_sent,
        "frames_received": v.frames_received,
        "keyframes_sent": v.keyframes_sent,
        "keyframes_received": v.keyframes_received,
        "nacks_sent": v.nacks_sent,
        "nacks_received": v.nacks_received,
        "retransmissions": v.retransmissions,
        "packets_repaired": v.packets_repaired,
        "packets_unrepaired": v.packets_unrepaired,
        "plis_sent": v.plis_sent,
        "plis_received": v.plis_received,
        "frames_dropped": v.frames_dropped,
        "freezes": v.freezes,
        "frozen_ms": v.frozen.as_secs_f64() * 1000.0,
        "decoder_errors": v.decoder_errors,
        "loss_percent": v.loss_percent,
        "rtt_ms": v.rtt_ms,
        "av_skew_ms": v.av_skew_ms,
    })
}

/// Whether a call ended normally: hung up by either end or after its duration. A handshake or
/// local failure is not.
pub fn ended_well(reason: &EndReason) -> bool {
    matches!(
        reason,
        EndReason::HungUp
            | EndReason::DurationReached
            | EndReason::PeerHungUp
            | EndReason::PeerGone
    )
}

/// The alarm for a ZRTP Hello that the offer or answer did not announce.
pub fn hello_hash_warning(from: SocketAddr) -> String {
    format!(
        "WARNING: a ZRTP Hello from {from} does not match the one the other side's offer or \
         answer announced.\nSomeone on the network may be trying to intercept this call. It was \
         refused; do not trust this call unless the SAS you both read matches."
    )
}

/// The SAS as people read it aloud: B32 letters spaced apart, B256 words ("upset:Virginia")
/// side by side.
pub fn spaced_sas(sas: &str, sas_type: SasType) -> String {
    if sas_type == SasType::B32 {
        let letters: Vec<String> = sas.chars().map(|c| c.to_string()).collect();
        letters.join(" ")
    } else {
        sas.split(|c: char| c == ':' || c.is_whitespace())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join("   ")
    }
}

/// The boxed SAS banner, with what to do and, when set, the cache-mismatch warning.
pub fn sas_banner(sas: &str, sas_type: SasType, verified: bool, cache_mismatch: bool) -> String {
    let text = spaced_sas(sas, sas_type);
    let width = text.chars().count().max(20) + 12;
    let pad_total = width - text.chars().count();
    let (left, right) = (pad_total / 2, pad_total - pad_total / 2);
    let rule = "═".repeat(width);
    let blank = " ".repeat(width);
    let mut out = String::new();
    out.push('\n');
    if cache_mismatch {
        out.push_str(
            "!!! CACHE MISMATCH: this peer's retained secret does not match the one cached from\n\
             !!! an earlier call. Someone may be intercepting this call, or the peer lost its\n\
             !!! cache. Compare the SAS with special care before you say anything private.\n\n",
        );
    }
    out.push_str(&format!("  ╔{rule}╗\n"));
    out.push_str(&format!("  ║{blank}║\n"));
    out.push_str(&format!(
        "  ║{}{text}{}║\n",
        " ".repeat(left),
        " ".repeat(right)
    ));
    out.push_str(&format!("  ║{blank}║\n"));
    out.push_str(&format!("  ╚{rule}╝\n"));
    out.push_str(&format!("  SAS ({sas_type}): {sas}\n"));
    if verified {
        out.push_str("  Verified in an earlier call with this peer.\n");
    } else {
        out.push_str(
            "  Read it aloud to your peer and listen to theirs: the call is private only if\n  \
             both of you read the same.\n",
        );
    }
    out.push('\n');
    out
}

/// The state line once the call is secure.
pub fn secure_line(role: Role, algorithms: &Algorithms, peer: SocketAddr) -> String {
    format!(
        "secure with {peer} ({role}): key agreement {}, hash {}, cipher {}, auth tag {}",
        algorithms.key_agreement, algorithms.hash, algorithms.cipher, algorithms.auth_tag
    )
}

/// The state line once the video stream is keyed.
pub fn video_secure_line(role: Role, algorithms: &Algorithms) -> String {
    format!(
        "video secure ({role}): key agreement {}, cipher {}, auth tag {}",
        algorithms.key_agreement, algorithms.cipher, algorithms.auth_tag
    )
}

/// The video part of the live stats line: frame rates, the received picture size, then
/// NACKs and PLIs, each as ↑ sent by us and ↓ received from the peer, freezes and lip sync.
pub fn video_stats_part(v: &VideoStats) -> String {
    let size = v
        .received_resolution
        .map_or_else(|| "-".to_owned(), |(w, h)| format!("{w}x{h}"));
    let skew = v
        .av_skew_ms
        .map_or_else(|| "-".to_owned(), |ms| format!("{ms:+.0} ms"));
    format!(
        "video ↑{:.0} ↓{:.0} fps {size}  nack ↑{} ↓{}  pli ↑{} ↓{}  freezes {}  skew {skew}",
        v.sent_fps,
        v.received_fps,
        v.nacks_sent,
        v.nacks_received,
        v.plis_sent,
        v.plis_received,
        v.freezes,
    )
}

/// One line of live statistics, with a video part in calls whose video stream is secure.
pub fn stats_line(s: &CallStats) -> String {
    let rtt = s
        .rtt_ms
        .map_or_else(|| "-".to_owned(), |rtt| format!("{rtt:.1} ms"));
    let mut line = format!(
        "{:>5.0} s  tx {:.1} kbit/s  rx {:.1} kbit/s  loss {:.1}%  jitter {:.1} ms  buffer {:.0} ms  rtt {rtt}  concealed {:.1}%",
        s.elapsed.as_secs_f64(),
        s.tx_bitrate_bps / 1000.0,
        s.rx_bitrate_bps / 1000.0,
        s.loss_percent,
        s.jitter_ms,
        s.jitter_buffer_ms,
        s.concealed_percent,
    );
    if let Some(video) = &s.video {
        line.push_str("  | ");
        line.push_str(&video_stats_part(video));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use sotto_zrtp::{AuthTag, CipherAlgorithm, HashAlgorithm, KeyAgreement};

    fn stats() -> CallStats {
        CallStats {
            elapsed: Duration::from_secs(3),
            tx_bitrate_bps: 32_400.0,
            rx_bitrate_bps: 31_900.0,
            packets_sent: 150,
            packets_received: 148,
            loss_percent: 1.3,
            jitter_ms: 2.25,
            jitter_buffer_ms: 40.0,
            rtt_ms: Some(12.5),
            concealed_percent: 0.7,
            srtp_rejected: 2,
            video: None,
        }
    }

    fn video_stats() -> VideoStats {
        VideoStats {
            sent_fps: 29.6,
            received_fps: 30.2,
            tx_bitrate_bps: 980_000.0,
            rx_bitrate_bps: 1_010_000.0,
            received_resolution: Some((640, 480)),
            frames_sent: 90,
            frames_received: 88,
            keyframes_sent: 2,
            keyframes_received: 1,
            nacks_sent: 3,
            nacks_received: 1,
            retransmissions: 1,
            packets_repaired: 4,
            packets_unrepaired: 1,
            plis_sent: 1,
            plis_received: 0,
            frames_dropped: 2,
            freezes: 1,
            frozen: Duration::from_millis(250),
            decoder_errors: 0,
            loss_percent: 2.5,
            rtt_ms: Some(8.0),
            av_skew_ms: Some(-12.4),
        }
    }

    #[test]
    fn sas_is_spaced_for_reading_aloud() {
        assert_eq!(spaced_sas("4x8k", SasType::B32), "4 x 8 k");
        assert_eq!(
            spaced_sas("upset:Virginia", SasType::B256),
            "upset   Virginia"
        );
    }

    #[test]
    fn banner_boxes_the_sas_and_warns_on_cache_mismatch() {
        let banner = sas_banner("4x8k", SasType::B32, false, false);
        assert!(
            banner.contains("║            4 x 8 k             ║"),
            "{banner}"
        );
        assert!(banner.contains("Read it aloud"), "{banner}");
        assert!(!banner.contains("CACHE MISMATCH"));
        // Every row of the box is equally wide.
        let widths: Vec<usize> = banner
            .lines()
            .filter(|l| l.contains('║') || l.contains('═'))
            .map(|l| l.chars().count())
            .collect();
        assert_eq!(widths.len(), 5);
        assert!(widths.iter().all(|w| *w == widths[0]), "{widths:?}");

        let warned = sas_banner("4x8k", SasType::B32, true, true);
        assert!(warned.contains("CACHE MISMATCH"));
        assert!(warned.contains("Verified in an earlier call"));
    }

    #[test]
    fn stats_line_shows_rates_loss_jitter_buffer_and_rtt() {
        assert_eq!(
            stats_line(&stats()),
            "    3 s  tx 32.4 kbit/s  rx 31.9 kbit/s  loss 1.3%  jitter 2.2 ms  buffer 40 ms  \
             rtt 12.5 ms  concealed 0.7%"
        );
        let no_rtt = CallStats {
            rtt_ms: None,
            ..stats()
        };
        assert!(stats_line(&no_rtt).contains("rtt -"));
    }

    #[test]
    fn stats_line_gains_a_video_part_once_video_is_secure() {
        let with_video = CallStats {
            video: Some(video_stats()),
            ..stats()
        };
        assert_eq!(
            stats_line(&with_video),
            format!(
                "{}  | video ↑30 ↓30 fps 640x480  nack ↑3 ↓1  pli ↑1 ↓0  freezes 1  skew -12 ms",
                stats_line(&stats())
            )
        );
        let early = VideoStats {
            received_resolution: None,
            av_skew_ms: None,
            ..video_stats()
        };
        let part = video_stats_part(&early);
        assert!(
            part.contains("fps -  nack") && part.ends_with("skew -"),
            "{part}"
        );
    }

    #[test]
    fn video_events_become_json_and_lines() {
        let algorithms = Algorithms {
            hash: HashAlgorithm::S256,
            cipher: CipherAlgorithm::Aes1,
            auth_tag: AuthTag::Hs80,
            key_agreement: KeyAgreement::Mult,
            sas_type: SasType::B32,
        };
        let secure = CallEvent::VideoSecure {
            role: Role::Responder,
            algorithms,
        };
        assert_eq!(
            event_json(&secure),
            Some(
                json!({"event": "video_secure", "role": "responder", "key_agreement": "Mult",
                        "hash": "S256", "cipher": "AES1", "auth_tag": "HS80", "sas_type": "B32"})
            )
        );
        assert_eq!(
            video_secure_line(Role::Responder, &algorithms),
            "video secure (responder): key agreement Mult, cipher AES1, auth tag HS80"
        );
        let unavailable = CallEvent::VideoUnavailable {
            reason: "the peer has video off".to_owned(),
        };
        assert_eq!(
            event_json(&unavailable),
            Some(json!({"event": "video_unavailable", "reason": "the peer has video off"}))
        );
        assert_eq!(
            event_json(&CallEvent::VideoInputEnded),
            Some(json!({"event": "video_input_ended"}))
        );
    }

    #[test]
    fn stats_json_carries_every_video_figure_or_null() {
        let audio_only = event_json(&CallEvent::Stats(stats())).expect("known event");
        assert!(audio_only["video"].is_null(), "{audio_only}");
        let with_video = CallStats {
            video: Some(video_stats()),
            ..stats()
        };
        let value = event_json(&CallEvent::Stats(with_video)).expect("known event");
        let video = &value["video"];
        assert_eq!(video.as_object().map(|o| o.len()), Some(23), "{video}");
        assert_eq!(
            video["received_resolution"],
            json!({"width": 640, "height": 480})
        );
        assert_eq!(video["frames_received"], 88);
        assert_eq!(video["keyframes_sent"], 2);
        assert_eq!(video["nacks_sent"], 3);
        assert_eq!(video["packets_repaired"], 4);
        assert_eq!(video["packets_unrepaired"], 1);
        assert_eq!(video["plis_sent"], 1);
        assert_eq!(video["frozen_ms"], 250.0);
        assert_eq!(video["decoder_errors"], 0);
        assert_eq!(video["av_skew_ms"], -12.4);
        // The audio keys stay as they were.
        assert_eq!(value["packets_received"], 148);
        assert_eq!(value.as_object().map(|o| o.len()), Some(13));
        let early = VideoStats {
            received_resolution: None,
            rtt_ms: None,
            av_skew_ms: None,
            ..video_stats()
        };
        let early = video_json(&early);
        for key in ["received_resolution", "rtt_ms", "av_skew_ms"] {
            assert!(early[key].is_null(), "{key}: {early}");
        }
    }

    #[test]
    fn events_become_the_documented_json_objects() {
        let sas = CallEvent::Sas {
            sas: "4x8k".to_owned(),
            sas_type: SasType::B32,
            verified: false,
            cache_mismatch: true,
        };
        assert_eq!(
            event_json(&sas),
            Some(json!({"event": "sas", "sas": "4x8k", "sas_type": "B32",
                        "verified": false, "cache_mismatch": true}))
        );
        let secure = CallEvent::Secure {
            role: Role::Initiator,
            algorithms: Algorithms {
                hash: HashAlgorithm::S256,
                cipher: CipherAlgorithm::Aes1,
                auth_tag: AuthTag::Hs80,
                key_agreement: KeyAgreement::X255,
                sas_type: SasType::B32,
            },
            peer: SocketAddr::from(([127, 0, 0, 1], 5004)),
        };
        assert_eq!(
            event_json(&secure),
            Some(
                json!({"event": "secure", "role": "initiator", "key_agreement": "X255",
                        "hash": "S256", "cipher": "AES1", "auth_tag": "HS80",
                        "sas_type": "B32", "peer": "127.0.0.1:5004"})
            )
        );
        let stats = event_json(&CallEvent::Stats(stats())).expect("known event");
        assert_eq!(stats["event"], "stats");
        assert_eq!(stats["elapsed_s"], 3.0);
        assert_eq!(stats["packets_received"], 148);
        assert_eq!(stats["rtt_ms"], 12.5);
        assert_eq!(stats["srtp_rejected"], 2);
        assert_eq!(stats.as_object().map(|o| o.len()), Some(13));
        assert_eq!(
            event_json(&CallEvent::Ended(EndReason::PeerGone)),
            Some(json!({"event": "ended", "reason": "peer gone", "ok": true}))
        );
    }

    #[test]
    fn path_events_become_json() {
        let (local, remote) = (
            "10.0.1.2:5004".parse().expect("addr"),
            "198.18.2.2:6000".parse().expect("addr"),
        );
        assert_eq!(
            event_json(&CallEvent::Connected { local, remote }),
            Some(
                json!({"event": "connected", "local": "10.0.1.2:5004", "remote": "198.18.2.2:6000"})
            )
        );
        assert_eq!(
            event_json(&CallEvent::PeerQuiet {
                silent: Duration::from_millis(3250)
            }),
            Some(json!({"event": "peer_quiet", "silent_ms": 3250.0}))
        );
        assert_eq!(
            event_json(&CallEvent::HelloHashMismatch { from: remote }),
            Some(json!({"event": "hello_hash_mismatch", "from": "198.18.2.2:6000"}))
        );
        let no_path = EndReason::NoPath("nobody answered".to_owned());
        assert_eq!(
            event_json(&CallEvent::Ended(no_path)),
            Some(
                json!({"event": "ended", "reason": "no path to the peer: nobody answered", "ok": false})
            )
        );
    }
}
