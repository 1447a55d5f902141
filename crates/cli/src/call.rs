//! `sotto listen` and `sotto call`: one call, its events shown as they come, Ctrl-C hangs up.

use std::ffi::OsString;
use std::io::{self, BufRead as _, IsTerminal as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use sotto::{Call, CallConfig, CallEvent};
use sotto_zrtp::SessionConfig;

use crate::args::CallArgs;
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
    let call = Call::start(config).map_err(|e| anyhow!("{e}"))?;

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

    let mut answer: Option<Receiver<bool>> = None;
    // Asked once the secure line is out, so that line does not land after the question.
    let (mut ask_pending, mut secure) = (false, false);
    let mut hung_up = false;
    loop {
        if interrupt::requested() && !hung_up {
            printer.note("hanging up...");
            call.hang_up();
            hung_up = true;
        }
        if let Some(verified) = answer.as_ref().and_then(|rx| rx.try_recv().ok()) {
            answer = None;
            printer.answered();
            call.set_sas_verified(verified);
            printer.note(if verified {
                "SAS marked verified; the next call with this peer will show it as verified."
            } else {
                "SAS not verified: if your peer read a different SAS, someone may be \
                 listening in; hang up with Ctrl-C."
            });
        }
        let Some(event) = call.next_event(POLL) else {
            continue;
        };
        // A prompt waiting on this line would be overwritten by the live stats line.
        if answer.is_some() && matches!(event, CallEvent::Stats(_)) {
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
            CallEvent::Ended(_) => break,
            _ => {}
        }
        if ask_pending && secure {
            ask_pending = false;
            printer.ask("Does your peer read the same SAS? [y/N]");
            answer = Some(ask_yes_no());
        }
    }
    let reason = call.wait();
    Ok(if ended_well(&reason) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
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

/// Reads one answer from stdin on a thread of its own, so the call goes on while it waits.
fn ask_yes_no() -> Receiver<bool> {
    let (tx, rx) = mpsc::channel();
    let spawned = thread::Builder::new()
        .name("sas-prompt".to_owned())
        .spawn(move || {
            let mut line = String::new();
            if io::stdin().lock().read_line(&mut line).is_ok() {
                let yes = matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes");
                let _ = tx.send(yes);
            }
        });
    if let Err(e) = spawned {
        eprintln!("warning: cannot ask about the SAS ({e}); use --verify next time");
    }
    rx
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
