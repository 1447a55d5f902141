//! `sotto relay`: a UDP impairment relay driven in real time by the seeded `sotto_netsim`
//! simulator, for trying calls over a bad network.
//!
//! Datagrams from a client to the listen socket go to the target from a second socket; the
//! target's replies go back to the last client address. Both directions share one link setting;
//! the same seed and the same datagrams in each direction give the same drops and delays.
//! Two reader threads hand datagrams to the relay loop, which sleeps until the next delivery,
//! the next arrival or the next report, whichever is first.

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use sotto_netsim::{Datagram, LinkConfig, NetStats, Network};

use crate::args::RelayArgs;
use crate::interrupt;

/// How often the summary line is printed while the relay runs.
const REPORT_INTERVAL: Duration = Duration::from_secs(5);
/// Longest sleep, so that Ctrl-C is noticed promptly.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Largest UDP payload.
const MAX_DATAGRAM: usize = 65_535;
/// The two ends as the simulator sees them. Its per-link random streams derive from the link's
/// addresses, so fixed stand-ins for the real (ephemeral) ones make a seed replay the same drops.
const CLIENT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 1);
const TARGET: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), 2);

/// Which socket a datagram arrived on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// The listen socket: from a client, bound for the target.
    Client,
    /// The upstream socket: from the target, bound for the last client.
    Upstream,
}

#[derive(Debug)]
enum Arrival {
    Datagram {
        side: Side,
        from: SocketAddr,
        payload: Vec<u8>,
    },
    Failed(Side, std::io::Error),
}

/// Runs the relay until Ctrl-C.
pub fn run(args: &RelayArgs) -> anyhow::Result<()> {
    let (mut relay, rx) = Relay::open(args)?;
    println!(
        "relay: listening on {}, forwarding to {} from port {} \
         (delay {} ms, jitter {} ms, loss {}%, seed {}); Ctrl-C stops",
        relay.local_addr()?,
        args.to,
        relay.upstream_port()?,
        args.delay_ms,
        args.jitter_ms,
        args.loss_pct,
        args.seed
    );
    let result = relay.drive(&rx, interrupt::requested, Some(REPORT_INTERVAL));
    println!("{}", relay.summary());
    result
}

/// Starts the relay on a thread of its own, silent, until `stop` is set (checked every
/// [`POLL_INTERVAL`]); for measuring calls through it inside this process. Returns the listen
/// address and the thread, which ends with the relay's counters. Its socket reader threads end
/// with the process.
pub(crate) fn spawn(
    args: &RelayArgs,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<(SocketAddr, JoinHandle<anyhow::Result<NetStats>>)> {
    let (mut relay, rx) = Relay::open(args)?;
    let local = relay.local_addr()?;
    let handle = thread::Builder::new()
        .name("relay".to_owned())
        .spawn(move || {
            relay.drive(&rx, || stop.load(Ordering::Acquire), None)?;
            Ok(relay.net.stats())
        })
        .context("starting the relay thread")?;
    Ok((local, handle))
}

struct Relay {
    net: Network,
    target: SocketAddr,
    listen: UdpSocket,
    upstream: UdpSocket,
    last_client: Option<SocketAddr>,
    /// Datagrams on the upstream socket from anyone but the target, or before any client.
    ignored: u64,
}

impl Relay {
    /// Binds both sockets and starts their reader threads, which feed the returned channel.
    fn open(args: &RelayArgs) -> anyhow::Result<(Relay, Receiver<Arrival>)> {
        let link = LinkConfig::perfect()
            .with_delay(Duration::from_millis(args.delay_ms))
            .with_jitter(Duration::from_millis(args.jitter_ms))
            .with_loss(args.loss_pct / 100.0);
        let net = Network::new(args.seed, link).context("invalid impairment")?;

        let listen = crate::bind_udp(args.listen, "--listen")?;
        let upstream_bind: SocketAddr = if args.to.is_ipv4() {
            SocketAddr::from(([0, 0, 0, 0], 0))
        } else {
            SocketAddr::from(([0u16; 8], 0))
        };
        let upstream = crate::bind_udp(upstream_bind, "--to")?;

        let (tx, rx) = mpsc::channel();
        spawn_reader(Side::Client, listen.try_clone()?, tx.clone())?;
        spawn_reader(Side::Upstream, upstream.try_clone()?, tx)?;
        let relay = Relay {
            net,
            target: args.to,
            listen,
            upstream,
            last_client: None,
            ignored: 0,
        };
        Ok((relay, rx))
    }

    fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        self.listen
            .local_addr()
            .context("reading the listen address")
    }

    fn upstream_port(&self) -> anyhow::Result<u16> {
        Ok(self
            .upstream
            .local_addr()
            .context("reading the upstream address")?
            .port())
    }

    fn summary(&self) -> String {
        summary(&self.net.stats(), self.net.in_flight(), self.ignored)
    }

    /// Relays until `stop` says so, printing the summary every `report` if given.
    fn drive(
        &mut self,
        rx: &Receiver<Arrival>,
        stop: impl Fn() -> bool,
        report: Option<Duration>,
    ) -> anyhow::Result<()> {
        let mut next_report = report.map(|every| Instant::now() + every);
        while !stop() {
            let now = Instant::now();
            let mut wake = now + POLL_INTERVAL;
            if let Some(t) = next_report {
                wake = wake.min(t);
            }
            if let Some(t) = self.net.next_delivery() {
                wake = wake.min(t);
            }
            match rx.recv_timeout(wake.saturating_duration_since(now)) {
                Ok(arrival) => {
                    self.accept(arrival)?;
                    // Take everything already queued before delivering, in arrival order.
                    while let Ok(arrival) = rx.try_recv() {
                        self.accept(arrival)?;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => bail!("both relay sockets closed"),
            }
            let now = Instant::now();
            while let Some(d) = self.net.poll_deliver(now) {
                self.forward(&d);
            }
            if let (Some(t), Some(every)) = (next_report, report) {
                if now >= t {
                    println!("{}", self.summary());
                    next_report = Some(now + every);
                }
            }
        }
        Ok(())
    }

    fn accept(&mut self, arrival: Arrival) -> anyhow::Result<()> {
        let now = Instant::now();
        match arrival {
            Arrival::Datagram {
                side: Side::Client,
                from,
                payload,
            } => {
                self.last_client = Some(from);
                self.net.send(now, Datagram::new(CLIENT, TARGET, payload));
            }
            Arrival::Datagram {
                side: Side::Upstream,
                from,
                payload,
            } => {
                if from == self.target && self.last_client.is_some() {
                    self.net.send(now, Datagram::new(TARGET, CLIENT, payload));
                } else {
                    self.ignored += 1;
                }
            }
            Arrival::Failed(side, e) => {
                let socket = match side {
                    Side::Client => "listen",
                    Side::Upstream => "upstream",
                };
                bail!("relay {socket} socket failed: {e}");
            }
        }
        Ok(())
    }

    fn forward(&self, d: &Datagram) {
        let (socket, to) = match (d.to == TARGET, self.last_client) {
            (true, _) => (&self.upstream, self.target),
            (false, Some(client)) => (&self.listen, client),
            // Replies enter the simulator only once a client is known.
            (false, None) => return,
        };
        // A send error (an unreachable port) is a lost datagram on a real network too.
        if let Err(e) = socket.send_to(&d.payload, to) {
            eprintln!("relay: sending to {to} failed: {e}");
        }
    }
}

fn spawn_reader(side: Side, socket: UdpSocket, tx: Sender<Arrival>) -> anyhow::Result<()> {
    thread::Builder::new()
        .name(format!("relay-{side:?}").to_lowercase())
        .spawn(move || {
            let mut buf = vec![0u8; MAX_DATAGRAM];
            loop {
                let arrival = match socket.recv_from(&mut buf) {
                    Ok((n, from)) => Arrival::Datagram {
                        side,
                        from,
                        payload: buf[..n].to_vec(),
                    },
                    // ICMP errors from an earlier send surface here on Linux: not fatal.
                    Err(e)
                        if matches!(
                            e.kind(),
                            ErrorKind::ConnectionRefused
                                | ErrorKind::ConnectionReset
                                | ErrorKind::Interrupted
                        ) =>
                    {
                        continue
                    }
                    Err(e) => Arrival::Failed(side, e),
                };
                let failed = matches!(arrival, Arrival::Failed(..));
                if tx.send(arrival).is_err() || failed {
                    return;
                }
            }
        })
        .context("starting a relay thread")?;
    Ok(())
}

fn summary(stats: &NetStats, in_flight: usize, ignored: u64) -> String {
    format!(
        "relay: sent {}, lost {}, delivered {}, in flight {}, ignored {}",
        stats.sent, stats.lost, stats.delivered, in_flight, ignored
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_every_counter() {
        let mut stats = NetStats::default();
        stats.sent = 10;
        stats.delivered = 7;
        stats.lost = 3;
        assert_eq!(
            summary(&stats, 0, 2),
            "relay: sent 10, lost 3, delivered 7, in flight 0, ignored 2"
        );
    }
}
