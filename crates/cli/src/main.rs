//! `sotto`: secure voice calls from the command line, a self-contained demo, the device list and
//! a UDP impairment relay for testing calls over a bad network.
//!
//! Exit codes: 0 when a command did what was asked (a call that ended by a hang-up on either
//! side or its duration), 1 when a call failed (no handshake, a local failure), 2 for bad input
//! (flags, addresses, files, a port in use).

mod args;
mod bench_connect;
mod bench_cpu;
mod bench_latency;
mod bench_video;
mod call;
mod demo;
mod devices;
mod interrupt;
mod relay;
mod render;

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;

use anyhow::anyhow;
use clap::error::ErrorKind as ClapErrorKind;
use clap::Parser as _;

use crate::args::{Cli, Command};

fn main() -> ExitCode {
    // A bug must still read as one line that says what to do, not a backtrace banner.
    std::panic::set_hook(Box::new(|info| {
        eprintln!(
            "error: internal error ({}); please report it with the command you ran",
            one_line(&info.to_string())
        );
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(&e),
    };
    interrupt::install();
    let outcome = match cli.command {
        Command::Listen { port, call } => {
            call::run(SocketAddr::from(([0, 0, 0, 0], port)), None, &call)
        }
        Command::Call { peer, port, call } => {
            let bind = if peer.is_ipv4() {
                SocketAddr::from(([0, 0, 0, 0], port))
            } else {
                SocketAddr::from(([0u16; 8], port))
            };
            call::run(bind, Some(peer), &call)
        }
        Command::Invite { ipv6, path, call } => call::invite(ipv6, &path, &call),
        Command::Join { offer, path, call } => call::join(&offer, &path, &call),
        Command::Devices => devices::run().map(|()| ExitCode::SUCCESS),
        Command::Demo(demo) => demo::run(&demo),
        Command::Relay(relay) => relay::run(&relay).map(|()| ExitCode::SUCCESS),
        Command::Bench(bench) => bench_latency::run(&bench),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", one_line(&format!("{e:#}")));
            ExitCode::from(2)
        }
    }
}

/// Help and version go to stdout with success; usage errors become one `error: ...` line.
fn clap_exit(e: &clap::Error) -> ExitCode {
    match e.kind() {
        ClapErrorKind::DisplayHelp
        | ClapErrorKind::DisplayVersion
        | ClapErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // Printing help only fails on a closed stdout, where nobody would read a complaint.
            let _ = e.print();
            if e.kind() == ClapErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => {
            let rendered = e.render().to_string();
            let first = rendered
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("error: invalid command line");
            let first = first.trim_end();
            let first = if first.starts_with("error:") {
                first.to_owned()
            } else {
                format!("error: {first}")
            };
            eprintln!("{first}; see 'sotto --help'");
            ExitCode::from(2)
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Binds a UDP socket, turning the usual failures into advice.
pub(crate) fn bind_udp(addr: SocketAddr, flag: &str) -> anyhow::Result<UdpSocket> {
    UdpSocket::bind(addr).map_err(|e| match e.kind() {
        ErrorKind::AddrInUse => anyhow!(
            "port {} is in use; pick another with {flag} or stop what is using it",
            addr.port()
        ),
        ErrorKind::PermissionDenied => anyhow!(
            "not allowed to bind port {}; use a port above 1023 with {flag}",
            addr.port()
        ),
        _ => anyhow!("cannot bind udp {addr}: {e}; check {flag}"),
    })
}
