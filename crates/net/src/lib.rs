//! sotto-net: sans-IO STUN address discovery (RFC 8489) and ICE-style connectivity checks
//! (an RFC 8445 subset) for a call that carries STUN, ZRTP and SRTP on one UDP port.
//!
//! - [`Gatherer`] turns local interface addresses into host candidates and asks STUN servers
//!   what the NAT maps them to (server-reflexive candidates).
//! - [`Candidate::to_sdp`] / [`Candidate::parse_sdp`] and [`IceCredentials`] are what the offer
//!   and answer carry.
//! - [`Agent`] checks candidate pairs with authenticated Binding requests, punches through NATs,
//!   nominates one pair, then keeps RFC 7675 consent on it and moves to another pair when the
//!   network changes.
//!
//! Neither touches a socket or a clock. The driver loop is the same for both: feed each STUN
//! datagram ([`is_stun`]) or an expired deadline through `handle_input`, then drain
//! `poll_output` until it yields [`Output::Timeout`], sending every [`Output::Transmit`].
//! Here two agents on one LAN connect in memory:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use sotto_net::{Agent, AgentConfig, Candidate, Event, IceCredentials, Input, Output};
//!
//! let mut rng = rand_core::OsRng;
//! let (alice_addr, bob_addr) = ("192.0.2.1:5004".parse()?, "192.0.2.2:5004".parse()?);
//! let (alice_creds, bob_creds) = (IceCredentials::generate(&mut rng), IceCredentials::generate(&mut rng));
//! let alice_host = Candidate::host(alice_addr, 65535);
//! let bob_host = Candidate::host(bob_addr, 65535);
//! // Candidates travel in the offer and answer as SDP lines.
//! let bob_seen_by_alice = Candidate::parse_sdp(&bob_host.to_sdp())?;
//! let alice_seen_by_bob = Candidate::parse_sdp(&alice_host.to_sdp())?;
//!
//! let mut now = Instant::now();
//! let mut alice_cfg = AgentConfig::new(alice_creds.clone(), bob_creds.clone(), true);
//! alice_cfg.local_candidates = vec![alice_host];
//! alice_cfg.remote_candidates = vec![bob_seen_by_alice];
//! let mut bob_cfg = AgentConfig::new(bob_creds, alice_creds, false);
//! bob_cfg.local_candidates = vec![bob_host];
//! bob_cfg.remote_candidates = vec![alice_seen_by_bob];
//! let mut agents = [Agent::new(alice_cfg, &mut rng, now)?, Agent::new(bob_cfg, &mut rng, now)?];
//! let mut connected = [None, None];
//! while connected.iter().any(Option::is_none) {
//!     let mut next = now + Duration::from_secs(1);
//!     for i in 0..2 {
//!         loop {
//!             match agents[i].poll_output() {
//!                 // A real driver sends `bytes` from `from` to `to` over UDP.
//!                 Output::Transmit { from, to, bytes } => {
//!                     let input = Input::Receive { now, from, to: Some(to), packet: &bytes };
//!                     let _ = agents[1 - i].handle_input(input);
//!                 }
//!                 Output::Event(Event::Connected { local, remote }) => connected[i] = Some((local, remote)),
//!                 Output::Event(other) => panic!("{other:?}"),
//!                 Output::Timeout(deadline) => {
//!                     next = deadline.map_or(next, |d| d.min(next));
//!                     break;
//!                 }
//!             }
//!         }
//!     }
//!     now = next;
//!     for agent in &mut agents {
//!         agent.handle_input(Input::Timeout(now))?;
//!     }
//! }
//! assert_eq!(connected[0], Some((alice_addr, bob_addr)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

use std::net::SocketAddr;
use std::time::Instant;

mod agent;
mod candidate;
mod credentials;
mod error;
mod gather;
mod stun;

pub use agent::{Agent, AgentConfig, Event};
pub use candidate::{candidate_priority, Candidate, CandidateKind, COMPONENT_RTP};
pub use credentials::{IceCredentials, IcePwd, PWD_LEN, UFRAG_LEN};
pub use error::Error;
pub use gather::{GatherEvent, GatherFailure, Gatherer, GathererConfig};
pub use stun::is_stun;

/// An input to [`Gatherer::handle_input`] or [`Agent::handle_input`].
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    /// A datagram that [`is_stun`] accepted, received at `now`.
    Receive {
        /// Arrival time.
        now: Instant,
        /// Where it came from.
        from: SocketAddr,
        /// The local address it arrived on, when the socket layer knows it; `None` means the
        /// first local host address.
        to: Option<SocketAddr>,
        /// The whole datagram.
        packet: &'a [u8],
    },
    /// The deadline from [`Output::Timeout`] has passed.
    Timeout(Instant),
}

/// An output of [`Gatherer::poll_output`] (`E` = [`GatherEvent`]) or [`Agent::poll_output`]
/// (`E` = [`Event`]).
#[derive(Debug)]
pub enum Output<E> {
    /// A datagram to send.
    Transmit {
        /// The local address it must leave from (a host candidate); with one socket bound
        /// to that address, just send.
        from: SocketAddr,
        /// Destination.
        to: SocketAddr,
        /// The datagram.
        bytes: Vec<u8>,
    },
    /// Something for the application.
    Event(E),
    /// Nothing more now; call back with [`Input::Timeout`] at this deadline (`None`: no timer).
    Timeout(Option<Instant>),
}
