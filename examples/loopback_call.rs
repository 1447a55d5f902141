//! Two sotto endpoints on this machine call each other over loopback UDP: a tone goes one
//! way, both print the SAS they would read aloud, and the receiving side prints its stats.
//!
//! `cargo run --example loopback_call` (no sound card needed).

use std::time::Duration;

use anyhow::{bail, Context};
use sotto::media::AudioInput;
use sotto::{Call, CallConfig, CallEvent};

fn main() -> anyhow::Result<()> {
    let dir = std::env::temp_dir();
    let listener = Call::start(CallConfig::new(
        "127.0.0.1:0".parse()?,
        None,
        dir.join(format!(
            "sotto-example-listener-{}.sqlite",
            std::process::id()
        )),
    ))
    .context("starting the listener")?;
    let mut config = CallConfig::new(
        "127.0.0.1:0".parse()?,
        Some(listener.local_addr()),
        dir.join(format!(
            "sotto-example-caller-{}.sqlite",
            std::process::id()
        )),
    );
    config.audio_in = AudioInput::Tone;
    config.duration = Some(Duration::from_secs(3));
    let caller = Call::start(config).context("starting the caller")?;

    for (name, call) in [("caller", &caller), ("listener", &listener)] {
        loop {
            match call.next_event(Duration::from_secs(30)) {
                Some(CallEvent::Sas { sas, .. }) => {
                    println!("{name}: SAS {sas}");
                    break;
                }
                Some(CallEvent::Ended(reason)) => bail!("{name} ended early: {reason}"),
                Some(_) => {}
                None => bail!("{name}: no SAS within 30 s"),
            }
        }
    }
    while let Some(event) = listener.next_event(Duration::from_secs(30)) {
        match event {
            CallEvent::Stats(s) => println!(
                "listener: {:.1} kbit/s in, {} packets, loss {:.1}%, jitter {:.1} ms, buffer {:.0} ms",
                s.rx_bitrate_bps / 1000.0,
                s.packets_received,
                s.loss_percent,
                s.jitter_ms,
                s.jitter_buffer_ms
            ),
            CallEvent::Ended(reason) => {
                println!("listener: ended ({reason})");
                break;
            }
            _ => {}
        }
    }
    println!("caller: ended ({})", caller.wait());
    listener.wait();
    Ok(())
}
