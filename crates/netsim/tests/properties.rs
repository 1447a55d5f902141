//! Properties over arbitrary configurations and traffic: no panics, counters balance, latency
//! stays within `[delay, delay + jitter]`, and links without reordering stay FIFO.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use sotto_netsim::{Datagram, LinkConfig, Network};

#[allow(
    clippy::disallowed_methods,
    reason = "tests need one real origin; every later instant is virtual"
)]
fn t0() -> Instant {
    Instant::now()
}

fn addr(n: u8) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, n], 4000))
}

/// Mostly valid probabilities, with NaN, infinities and out-of-range values mixed in.
fn probability() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => 0.0..=1.0f64,
        3 => Just(0.0),
        1 => Just(1.0),
        1 => any::<f64>(),
    ]
}

fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        8 => (0u64..200_000).prop_map(Duration::from_micros),
        1 => Just(Duration::ZERO),
        1 => any::<u64>().prop_map(Duration::from_nanos),
        1 => Just(Duration::MAX),
    ]
}

prop_compose! {
    fn link_config()(
        delay in duration(),
        jitter in duration(),
        loss in probability(),
        reorder in probability(),
        duplicate in probability(),
        max_queue in 0usize..40,
    ) -> LinkConfig {
        LinkConfig { delay, jitter, loss, reorder, duplicate, max_queue }
    }
}

/// A send after `gap_us` of virtual time on link `from -> to` (three hosts, six directions).
#[derive(Debug, Clone)]
struct Send {
    gap_us: u32,
    from: u8,
    to: u8,
}

fn sends() -> impl Strategy<Value = Vec<Send>> {
    prop::collection::vec(
        (0u32..20_000, 0u8..3, 0u8..3).prop_map(|(gap_us, from, to)| Send { gap_us, from, to }),
        0..300,
    )
}

/// Drives deliveries at their exact due instants and checks each one.
#[derive(Default)]
struct Observer {
    /// Send instant of each datagram; its payload is its index here.
    sent_at: Vec<Instant>,
    /// Highest index delivered so far on each link.
    last_seen: HashMap<(SocketAddr, SocketAddr), usize>,
}

impl Observer {
    fn deliver_until(&mut self, net: &mut Network, until: Instant) -> Result<(), TestCaseError> {
        while let Some(due) = net.next_delivery().filter(|&due| due <= until) {
            prop_assert_eq!(net.poll_deliver(due - Duration::from_nanos(1)), None);
            while let Some(d) = net.poll_deliver(due) {
                self.check(net, due, &d)?;
            }
        }
        Ok(())
    }

    fn check(&mut self, net: &Network, at: Instant, d: &Datagram) -> Result<(), TestCaseError> {
        let bytes = d
            .payload
            .as_slice()
            .try_into()
            .expect("payload is a usize index");
        let index = usize::from_be_bytes(bytes);
        let cfg = net.link_config(d.from, d.to);
        let latency = at - self.sent_at[index];
        prop_assert!(latency >= cfg.delay, "{latency:?} < {:?}", cfg.delay);
        prop_assert!(latency <= cfg.delay + cfg.jitter, "{latency:?} > {cfg:?}");
        if cfg.reorder == 0.0 {
            let last = self.last_seen.entry((d.from, d.to)).or_insert(0);
            prop_assert!(index >= *last, "link not FIFO: {index} after {last}");
            *last = index;
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_config_and_traffic_behaves(
        seed in any::<u64>(),
        default_link in link_config(),
        overrides in prop::collection::vec((0u8..3, 0u8..3, link_config()), 0..4),
        traffic in sends(),
    ) {
        let Ok(mut net) = Network::new(seed, default_link.clone()) else {
            prop_assert!(default_link.validate().is_err());
            return Ok(());
        };
        for (from, to, cfg) in &overrides {
            let before = net.link_config(addr(*from), addr(*to)).clone();
            let result = net.set_link(addr(*from), addr(*to), cfg.clone());
            prop_assert_eq!(result.is_ok(), cfg.validate().is_ok());
            if result.is_err() {
                prop_assert_eq!(net.link_config(addr(*from), addr(*to)), &before);
            }
        }

        let mut now = t0();
        let mut observer = Observer::default();
        for send in &traffic {
            now += Duration::from_micros(u64::from(send.gap_us));
            observer.deliver_until(&mut net, now)?;
            let index = observer.sent_at.len();
            observer.sent_at.push(now);
            net.send(now, Datagram::new(addr(send.from), addr(send.to), index.to_be_bytes().to_vec()));
        }
        observer.deliver_until(&mut net, now + LinkConfig::MAX_LATENCY)?;

        let s = net.stats();
        prop_assert_eq!(net.in_flight(), 0);
        prop_assert_eq!(s.sent, traffic.len() as u64);
        prop_assert_eq!(s.sent + s.duplicated, s.delivered + s.lost + s.dropped_queue_full);
    }
}
