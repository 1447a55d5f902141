//! Seeded, sans-IO network impairment for tests, benches and `sotto relay`.
//!
//! A [`Network`] carries [`Datagram`]s between socket addresses over directed links, each with
//! its own [`LinkConfig`]: delay, jitter, loss, reordering, duplication and a queue bound. It
//! owns no sockets, threads or clocks: time comes in as `now`, randomness from a `u64` seed, so
//! the same seed and the same calls replay the same run.
//!
//! # Driver loop
//!
//! Jump virtual time to the earliest deadline (the endpoints' timers or
//! [`Network::next_delivery`]), feed what is due, repeat. No sleeps.
//!
//! ```
//! use std::net::SocketAddr;
//! use std::time::{Duration, Instant};
//!
//! use sotto_netsim::{Datagram, LinkConfig, Network};
//!
//! # fn main() -> Result<(), sotto_netsim::Error> {
//! let alice: SocketAddr = "192.0.2.1:5004".parse().expect("literal address");
//! let bob: SocketAddr = "198.51.100.7:5004".parse().expect("literal address");
//!
//! // Alice to Bob: 40-50 ms and 5% loss. Bob to Alice: a clean 20 ms.
//! let lossy = LinkConfig::perfect()
//!     .with_delay(Duration::from_millis(40))
//!     .with_jitter(Duration::from_millis(10))
//!     .with_loss(0.05);
//! let mut net = Network::new(7, lossy)?;
//! net.set_link(bob, alice, LinkConfig::perfect().with_delay(Duration::from_millis(20)))?;
//!
//! // The one real clock read: the origin of virtual time.
//! let start = Instant::now();
//! let ptime = Duration::from_millis(20);
//! let mut next_send = Some(start);
//! let (mut sent, mut echoed) = (0u32, 0u32);
//! loop {
//!     let now = match (next_send, net.next_delivery()) {
//!         (Some(a), Some(b)) => a.min(b),
//!         (Some(t), None) | (None, Some(t)) => t,
//!         (None, None) => break,
//!     };
//!     // Alice's timer: one packet per ptime.
//!     if next_send.is_some_and(|t| t <= now) {
//!         net.send(now, Datagram::new(alice, bob, sent.to_be_bytes().to_vec()));
//!         sent += 1;
//!         next_send = (sent < 100).then(|| now + ptime);
//!     }
//!     // Drain everything due: Bob echoes, Alice counts.
//!     while let Some(d) = net.poll_deliver(now) {
//!         if d.to == bob {
//!             net.send(now, Datagram::new(bob, alice, d.payload));
//!         } else {
//!             echoed += 1;
//!         }
//!     }
//! }
//! assert_eq!(u64::from(echoed), net.link_stats(bob, alice).delivered);
//! assert_eq!(net.stats().sent, 100 + u64::from(echoed));
//! assert!(echoed > 80);
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod config;
mod error;
mod network;

pub use config::LinkConfig;
pub use error::Error;
pub use network::{Datagram, NetStats, Network};
