//! `sotto listen`, `sotto call`, `sotto invite` and `sotto join`: one call, its events shown
//! as they come, Ctrl-C hangs up.

use std::ffi::OsString;
use std::io::{self, BufRead as _, IsTerminal as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use serde_json::json;
use sotto::media::video::VideoInput;
use sotto::signal::Offer;
use sotto::{Call, CallConfig, CallEvent, EndReason, PathConfig, PreparedCall};
use sotto_zrtp::SessionConfig;

use crate::args::{CallArgs, PathArgs};
use crate::interrupt;
use crate::render::{ended_well, Printer};

/// How long one wait for an event lasts, so Ctrl-C and answers are noticed promptly.
const POLL: Duration = Duration::from_millis(100);

/// Runs one call: listening when `peer` is `None`, calling it otherwise.
pub fn run(
    bind: SocketAddr,
    peer: Option<SocketAddr>,
    args: &CallArgs,
) -> anyhow::Result<ExitCode> {
    let call = Call::start(call_config(bind, peer, args)?).map_err(|e| anyhow!("{e}"))?;
    let mut printer = Printer::new(args.json);
    printer.note(&match peer {
        None => format!(
            "waiting for a call on port {} (Ctrl-C to stop)",
            call.local_addr().port()
        ),
        Some(peer) => format!(
            "calling {peer} from port {}; securing the call with ZRTP...",
            call.local_addr().port()
        ),
    });
    if peer.is_none() {
        // A listener is useless without its address; an interface list that cannot be read
        // leaves only the port, as above.
        if let Ok(addresses) = call.reachable_at() {
            let commands: Vec<String> = addresses
                .iter()
                .map(|a| format!("sotto call {a}"))
                .collect();
            printer.note(&format!("your peer runs: {}", commands.join("  or  ")));
        }
    }
    let lines = stdin_lines().context("cannot read stdin")?;
    hold(&call, args, &mut printer, &lines, false);
    Ok(exit_code(call))
}

/// `sotto invite`: prints an offer line, reads the answer line from stdin, holds the call.
pub fn invite(ipv6: bool, path: &PathArgs, args: &CallArgs) -> anyhow::Result<ExitCode> {
    let mut printer = Printer::new(args.json);
    let family = ipv6.then_some("--ipv6");
    let prepared = prepare(family, path, args, &mut printer)?;
    let offer = prepared.offer().map_err(|e| anyhow!("{e}"))?;
    if args.json {
        println!("{}", json!({"event": "offer", "offer": offer}));
    } else {
        printer.note(&format!(
            "Send this line to the person you are calling (any chat will do):\n\n{offer}\n"
        ));
    }
    // In JSON mode the answer line simply follows on stdin.
    if !args.json {
        printer.ask("Paste their answer line (from `sotto join`) and press Enter:");
    }
    let lines = stdin_lines().context("cannot read the answer from stdin")?;
    let answer = read_answer(&lines)?;
    printer.answered();
    let call = prepared
        .accept(&answer)
        .map_err(|e| anyhow!("{e}; paste the whole line `sotto join` printed"))?;
    printer.note("looking for a network path to your peer...");
    hold(&call, args, &mut printer, &lines, true);
    Ok(exit_code(call))
}

/// `sotto join OFFER`: prints the answer line and holds the call.
pub fn join(offer: &str, path: &PathArgs, args: &CallArgs) -> anyhow::Result<ExitCode> {
    let mut printer = Printer::new(args.json);
    let family = offer_is_ipv6(offer).then_some("the offer is IPv6");
    let prepared = prepare(family, path, args, &mut printer)?;
    let (call, answer) = prepared
        .answer(offer.trim())
        .map_err(|e| anyhow!("{e}; pass the whole line `sotto invite` printed, in quotes"))?;
    if args.json {
        println!("{}", json!({"event": "answer", "answer": answer}));
    } else {
        printer.note(&format!(
            "Send this answer line back to the person who invited you:\n\n{answer}\n"
        ));
        printer.note("looking for a network path to your peer...");
    }
    let lines = stdin_lines().context("cannot read stdin")?;
    hold(&call, args, &mut printer, &lines, true);
    Ok(exit_code(call))
}

/// Whether the offer's sender calls from IPv6 (its default address): `join` calls from the
/// same family, the only one the sender's addresses can be reached from.
fn offer_is_ipv6(offer: &str) -> bool {
    Offer::from_line(offer.trim()).is_ok_and(|Offer(sdp)| {
        let audio = sdp.media.first().and_then(|m| m.connection);
        audio.or(sdp.connection).is_some_and(|ip| ip.is_ipv6())
    })
}

/// Binds (IPv6 when `ipv6` says why, else IPv4), gathers candidates (bounded by the STUN
/// servers' deadline) and tells the user what the STUN servers said.
fn prepare(
    ipv6: Option<&str>,
    path: &PathArgs,
    args: &CallArgs,
    printer: &mut Printer,
) -> anyhow::Result<PreparedCall> {
    if let Some(why) = ipv6 {
        if let Some(server) = path.stun.iter().find(|s| s.is_ipv4()) {
            return Err(anyhow!(
                "--stun {server} is an IPv4 server and this call is over IPv6 ({why}); name \
                 an IPv6 STUN server, e.g. --stun [2001:db8::1]:3478"
            ));
        }
    }
    let bind = if ipv6.is_some() {
        SocketAddr::from(([0u16; 8], path.port))
    } else {
        SocketAddr::from(([0, 0, 0, 0], path.port))
    };
    let config = call_config(bind, None, args)?;
    if !path.stun.is_empty() {
        printer.note("asking the STUN servers for this machine's public address...");
    }
    let path_config = PathConfig {
        stun_servers: path.stun.clone(),
        ..PathConfig::default()
    };
    let prepared = Call::prepare(config, path_config).map_err(|e| anyhow!("{e}"))?;
    for failure in prepared.stun_failures() {
        if args.json {
            println!(
                "{}",
                json!({
                    "event": "stun_failed",
                    "server": failure.server.to_string(),
                    "reason": failure.reason.to_string(),
                })
            );
        } else {
            printer.note(&format!(
                "warning: {}; offering this network's addresses only, so a peer behind \
                 another NAT may not reach you",
                failure.reason
            ));
        }
    }
    Ok(prepared)
}

/// Reads the first non-blank line of stdin; Ctrl-C gives up waiting.
fn read_answer(lines: &Receiver<String>) -> anyhow::Result<String> {
    loop {
        if interrupt::requested() {
            return Err(anyhow!("no call: stopped before an answer was pasted"));
        }
        match lines.recv_timeout(POLL) {
            Ok(text) if text.trim().is_empty() => {}
            Ok(text) => return Ok(text.trim().to_owned()),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(anyhow!(
                    "no answer line came (stdin closed); run `sotto invite` again and paste \
                     the answer line `sotto join` prints"
                ))
            }
        }
    }
}

/// The call's settings from the flags.
fn call_config(
    bind: SocketAddr,
    peer: Option<SocketAddr>,
    args: &CallArgs,
) -> anyhow::Result<CallConfig> {
    let cache_path = match &args.cache {
        Some(path) => path.clone(),
        None => default_cache_path(std::env::var_os("XDG_DATA_HOME"), std::env::var_os("HOME"))?,
    };
    ensure_parent_dir(&cache_path)?;
    let mut config = CallConfig::new(bind, peer, cache_path);
    config.audio_in = args.audio_in.clone();
    config.audio_out = args.audio_out.clone();
    config.zrtp = session_config(args);
    config.ptime_ms = args.ptime;
    config.duration = args.duration;
    config.video_in = args.video_in.clone();
    config.video_out = args.video_out.clone();
    args.video.apply(&mut config);
    Ok(config)
}

fn exit_code(call: Call) -> ExitCode {
    if ended_well(&call.wait()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// What can be typed during a call: the hint shown when it starts and after an unknown line.
fn commands_hint(negotiated: bool, video: bool) -> String {
    let mut hint = "type `mute` or `unmute` to turn your microphone off or on".to_owned();
    if video {
        hint.push_str(", `video off` or `video on` for your camera");
    }
    if negotiated {
        hint.push_str(
            "; if the call breaks after a network change, type `restart` and send the line it \
             prints to your peer",
        );
    }
    hint
}

/// Shows the call's events until it ends; asks about the SAS on a terminal; Ctrl-C hangs up.
///
/// `lines` (stdin) carry the commands typed during the call ([`typed_command`]) and the answer
/// to the SAS question; a call set up by offer and answer (`negotiated`) may also restart its
/// path through them.
fn hold(
    call: &Call,
    args: &CallArgs,
    printer: &mut Printer,
    lines: &Receiver<String>,
    negotiated: bool,
) {
    let hint = commands_hint(negotiated, args.video_in != VideoInput::None);
    printer.note(&hint);
    let mut question_open = false;
    // Asked once the secure line is out, so that line does not land after the question.
    let (mut ask_pending, mut secure) = (false, false);
    let mut hung_up = false;
    loop {
        if interrupt::requested() && !hung_up {
            printer.note("hanging up...");
            call.hang_up();
            hung_up = true;
        }
        while let Ok(line) = lines.try_recv() {
            let line = line.trim();
            if typed_command(call, line, negotiated, args.json, printer) {
                continue;
            }
            if question_open {
                question_open = false;
                answer_sas_question(call, line, printer);
            } else if !line.is_empty() {
                printer.note(&format!("unknown command {line:?}; {hint}"));
            }
        }
        let Some(event) = call.next_event(POLL) else {
            continue;
        };
        // A prompt waiting on this line would be overwritten by the live stats line.
        if question_open && matches!(event, CallEvent::Stats(_)) {
            continue;
        }
        printer.event(&event);
        match event {
            CallEvent::Sas { verified, .. } => {
                if args.verify {
                    call.set_sas_verified(true);
                    printer.note("SAS marked verified (--verify).");
                } else if !verified && io::stdin().is_terminal() {
                    ask_pending = true;
                }
            }
            CallEvent::Secure { .. } => secure = true,
            CallEvent::Ended(EndReason::HandshakeFailed(why)) if why.contains("same zid cache") => {
                printer.note(
                    "Both ends are this machine's sotto with one identity: start one of them \
                     with --cache OTHER.sqlite.",
                );
                break;
            }
            CallEvent::Ended(_) => break,
            _ => {}
        }
        if ask_pending && secure {
            ask_pending = false;
            printer.ask("Does your peer read the same SAS? [y/N]");
            question_open = true;
        }
    }
}

/// The user's answer to "Does your peer read the same SAS?".
fn answer_sas_question(call: &Call, line: &str, printer: &mut Printer) {
    let verified = matches!(line.to_ascii_lowercase().as_str(), "y" | "yes");
    printer.answered();
    call.set_sas_verified(verified);
    printer.note(if verified {
        "SAS marked verified; the next call with this peer will show it as verified."
    } else {
        "SAS not verified: if your peer read a different SAS, someone may be \
         listening in; hang up with Ctrl-C."
    });
}

/// A command typed during the call: `mute` and `unmute`, `video off` and `video on`, and for
/// a call set up by offer and answer the path restart lines ([`path_line`]). Whether the line
/// was one.
fn typed_command(
    call: &Call,
    line: &str,
    negotiated: bool,
    json: bool,
    printer: &mut Printer,
) -> bool {
    match line {
        "mute" | "unmute" => {
            let muted = line == "mute";
            call.set_muted(muted);
            printer.set_muted(muted);
            let said = "microphone muted: your peer hears silence (type `unmute` to speak again)";
            tell_switch(printer, json, "muted", muted, (said, "microphone on"));
            true
        }
        "video off" | "video on" => {
            let off = line == "video off";
            call.set_video_muted(off);
            let said = "camera off: your peer sees black (type `video on` to show it again)";
            tell_switch(printer, json, "video_muted", off, (said, "camera on"));
            true
        }
        _ => negotiated && path_line(call, line, json, printer),
    }
}

/// Tells the user a typed switch took effect: the JSON `event` with `muted`, or for a person
/// the first of `said` when muted, the second when not.
fn tell_switch(printer: &mut Printer, json: bool, event: &str, muted: bool, said: (&str, &str)) {
    if json {
        println!("{}", json!({"event": event, "muted": muted}));
    } else {
        printer.note(if muted { said.0 } else { said.1 });
    }
}

/// The ZRTP offer from the flags; the session appends the mandatory algorithms itself.
fn session_config(args: &CallArgs) -> SessionConfig {
    let mut zrtp = SessionConfig::default();
    if let Some(list) = &args.key_agreement {
        zrtp.key_agreements = list.0.clone();
    }
    if let Some(sas_type) = args.sas_type {
        zrtp.sas_types = vec![sas_type];
    }
    zrtp
}

/// The lines of stdin, read on a thread of their own so the caller keeps polling (the call's
/// events, Ctrl-C); the channel closes at the end of input.
fn stdin_lines() -> io::Result<Receiver<String>> {
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name("stdin".to_owned())
        .spawn(move || {
            let stdin = io::stdin();
            let mut line = String::new();
            loop {
                // A job in the background that read its terminal would be stopped (SIGTTIN),
                // call and all: it waits until it is brought to the foreground instead.
                while in_background(&stdin) {
                    thread::sleep(Duration::from_millis(250));
                }
                line.clear();
                match stdin.lock().read_line(&mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                let typed = line.trim_end_matches(['\n', '\r']).to_owned();
                if tx.send(typed).is_err() {
                    return;
                }
            }
        })?;
    Ok(rx)
}

/// Whether `stdin` is the terminal of a job that is not in its foreground.
fn in_background(stdin: &io::Stdin) -> bool {
    stdin.is_terminal()
        && nix::unistd::tcgetpgrp(stdin).is_ok_and(|fg| fg != nix::unistd::getpgrp())
}

/// A line typed or pasted during a call set up by offer and answer: `restart` writes a
/// restart offer for the peer (after a network change), and the peer's restart offer or
/// answer line is taken. Whether the line was one of these.
fn path_line(call: &Call, line: &str, json: bool, printer: &mut Printer) -> bool {
    let shown = if line == "restart" {
        call.restart_path().map(|offer| {
            let hint = "Send this restart line to your peer; they paste it into their sotto, \
                        and you paste the answer line they get here:";
            Some(("restart_offer", "offer", offer, hint))
        })
    } else if line.starts_with("sotto1:offer:") {
        call.answer_path_restart(line).map(|answer| {
            let hint = "Send this answer line back to your peer:";
            Some(("restart_answer", "answer", answer, hint))
        })
    } else if line.starts_with("sotto1:answer:") {
        call.accept_path_restart(line).map(|()| None)
    } else {
        return false;
    };
    match shown {
        Ok(Some((event, field, text, _))) if json => {
            println!("{}", json!({"event": event, field: text}))
        }
        Ok(Some((_, _, text, hint))) => printer.note(&format!("{hint}\n\n{text}\n")),
        Ok(None) => printer.note("looking for the new network path to your peer..."),
        Err(e) => printer.note(&format!("warning: path restart: {e}")),
    }
    true
}

/// `sotto/zid.sqlite` in the user's data directory: `$XDG_DATA_HOME`, else `~/.local/share`.
fn default_cache_path(
    xdg_data_home: Option<OsString>,
    home: Option<OsString>,
) -> anyhow::Result<PathBuf> {
    // The XDG spec says to ignore a relative XDG_DATA_HOME.
    let base = xdg_data_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            home.filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".local").join("share"))
        })
        .ok_or_else(|| {
            anyhow!("cannot find your data directory (HOME is not set); pass --cache PATH")
        })?;
    Ok(base.join("sotto").join("zid.sqlite"))
}

fn ensure_parent_dir(path: &Path) -> anyhow::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir)
            .with_context(|| {
                format!(
                    "cannot create the cache directory {}; pass --cache PATH in a writable directory",
                    dir.display()
                )
            }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_defaults_to_xdg_data_home_then_home() {
        let path = default_cache_path(Some("/data".into()), Some("/home/u".into()));
        assert_eq!(path.ok(), Some(PathBuf::from("/data/sotto/zid.sqlite")));
        let path = default_cache_path(Some("relative".into()), Some("/home/u".into()));
        assert_eq!(
            path.ok(),
            Some(PathBuf::from("/home/u/.local/share/sotto/zid.sqlite"))
        );
        let err = default_cache_path(None, None).expect_err("no directory to use");
        assert!(err.to_string().contains("--cache"), "{err}");
    }

    #[test]
    fn cache_directory_is_created() {
        let dir = std::env::temp_dir().join(format!("sotto-cli-cache-{}", std::process::id()));
        let path = dir.join("nested").join("zid.sqlite");
        ensure_parent_dir(&path).expect("temp dir is writable");
        assert!(dir.join("nested").is_dir());
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
