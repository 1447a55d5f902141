//! How a messenger embeds sotto: two "chat clients" that know nothing of each other's
//! addresses hold a secure call. The call is set up by two lines of text, an offer and an
//! answer, which each client sends over its chat (here an in-process channel standing in for
//! the messenger's own encrypted chat). The messenger never parses them.
//!
//! `cargo run --example messenger` (no sound card needed: Alice sends a tone, Bob plays
//! nothing). Add `-- --stun HOST:PORT` to also offer the address a STUN server sees, as a
//! client behind a NAT would.

use std::net::SocketAddr;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use sotto::media::AudioInput;
use sotto::{Call, CallConfig, CallEvent, PathConfig};

/// A message on the chat between the two clients.
#[derive(Debug)]
enum ChatMessage {
    CallOffer(String),
    CallAnswer(String),
}

fn main() -> anyhow::Result<()> {
    let stun_servers = stun_servers_from_args()?;
    let (to_bob, bob_inbox) = mpsc::channel();
    let (to_alice, alice_inbox) = mpsc::channel();
    let started = Instant::now();
    let bob_stun = stun_servers.clone();
    let bob = thread::spawn(move || bob_client(bob_inbox, to_alice, bob_stun));
    let alice = alice_client(alice_inbox, to_bob, stun_servers, started);
    let bob = bob.join().map_err(|_| anyhow!("bob's client panicked"))?;
    let (alice_sas, bob_sas) = (alice?, bob?);
    println!("alice read {alice_sas}, bob read {bob_sas}");
    if alice_sas != bob_sas {
        bail!("the two SAS differ: someone is in the middle");
    }
    Ok(())
}

/// Alice calls: she prepares the call, sends the offer on the chat, and starts the call when
/// the answer comes back. Returns the SAS she would read aloud.
fn alice_client(
    inbox: Receiver<ChatMessage>,
    chat: Sender<ChatMessage>,
    stun_servers: Vec<SocketAddr>,
    started: Instant,
) -> anyhow::Result<String> {
    let mut config = config("alice")?;
    config.audio_in = AudioInput::Tone;
    config.duration = Some(Duration::from_secs(3));
    let prepared = Call::prepare(config, path(stun_servers)).context("alice prepares")?;
    for failure in prepared.stun_failures() {
        println!("alice: {}", failure.reason);
    }
    chat.send(ChatMessage::CallOffer(prepared.offer()?))?;
    let answer = match inbox.recv_timeout(Duration::from_secs(30))? {
        ChatMessage::CallAnswer(answer) => answer,
        other => bail!("alice expected an answer, got {other:?}"),
    };
    let call = prepared.accept(&answer).context("alice accepts")?;
    hold("alice", &call, started)
}

/// Bob answers the offer that comes on the chat and sends the answer back.
fn bob_client(
    inbox: Receiver<ChatMessage>,
    chat: Sender<ChatMessage>,
    stun_servers: Vec<SocketAddr>,
) -> anyhow::Result<String> {
    let offer = match inbox.recv_timeout(Duration::from_secs(30))? {
        ChatMessage::CallOffer(offer) => offer,
        other => bail!("bob expected an offer, got {other:?}"),
    };
    let started = Instant::now();
    let prepared = Call::prepare(config("bob")?, path(stun_servers)).context("bob prepares")?;
    let (call, answer) = prepared.answer(&offer).context("bob answers")?;
    chat.send(ChatMessage::CallAnswer(answer))?;
    hold("bob", &call, started)
}

/// Shows the call's progress until it ends; returns the SAS.
fn hold(name: &str, call: &Call, started: Instant) -> anyhow::Result<String> {
    let mut sas = None;
    let mut first_media = true;
    while let Some(event) = call.next_event(Duration::from_secs(30)) {
        match event {
            CallEvent::Connected { remote, .. } => println!("{name}: path to {remote}"),
            CallEvent::HelloHashMismatch { from } => {
                println!("{name}: WARNING: a ZRTP Hello from {from} does not match the offer")
            }
            CallEvent::Sas {
                sas: s, verified, ..
            } => {
                println!("{name}: SAS {s} (verified before: {verified})");
                sas = Some(s);
            }
            CallEvent::Stats(stats) if first_media && stats.packets_received > 0 => {
                first_media = false;
                println!(
                    "{name}: media flowing {:.0} ms after the offer was made",
                    started.elapsed().as_secs_f64() * 1000.0
                );
            }
            CallEvent::Ended(reason) => println!("{name}: call ended: {reason}"),
            _ => {}
        }
    }
    sas.ok_or_else(|| anyhow!("{name}'s call never became secure"))
}

fn config(name: &str) -> anyhow::Result<CallConfig> {
    let cache = std::env::temp_dir().join(format!(
        "sotto-messenger-{name}-{}.sqlite",
        std::process::id()
    ));
    // 0.0.0.0: every address of this machine is offered, as a messenger would.
    let mut config = CallConfig::new("0.0.0.0:0".parse()?, None, cache);
    // Frequent statistics time the first media to within 50 ms.
    config.stats_interval = Duration::from_millis(50);
    Ok(config)
}

fn path(stun_servers: Vec<SocketAddr>) -> PathConfig {
    PathConfig {
        stun_servers,
        ..PathConfig::default()
    }
}

fn stun_servers_from_args() -> anyhow::Result<Vec<SocketAddr>> {
    let mut servers = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--stun", Some(server)) => servers.push(
                server
                    .parse()
                    .with_context(|| format!("--stun {server}: write IP:PORT"))?,
            ),
            _ => bail!("usage: messenger [--stun IP:PORT]..."),
        }
    }
    Ok(servers)
}
