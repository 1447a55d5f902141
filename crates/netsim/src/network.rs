//! The simulated network: links keyed by direction, one delivery queue ordered by due time.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use crate::{Error, LinkConfig};

/// One UDP datagram in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// Sender address.
    pub from: SocketAddr,
    /// Receiver address.
    pub to: SocketAddr,
    /// UDP payload.
    pub payload: Vec<u8>,
}

impl Datagram {
    /// A datagram from `from` to `to` carrying `payload`.
    pub fn new(from: SocketAddr, to: SocketAddr, payload: Vec<u8>) -> Self {
        Self { from, to, payload }
    }
}

/// Counters of what the network did with the datagrams it was given.
///
/// `sent + duplicated == delivered + lost + dropped_queue_full + in flight` always holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NetStats {
    /// Datagrams passed to [`Network::send`].
    pub sent: u64,
    /// Datagrams returned by [`Network::poll_deliver`], duplicates included.
    pub delivered: u64,
    /// Datagrams dropped by the link's `loss`.
    pub lost: u64,
    /// Extra copies made by the link's `duplicate`.
    pub duplicated: u64,
    /// Datagrams scheduled to arrive before one sent earlier on the same link.
    pub reordered: u64,
    /// Datagrams (or copies) dropped because the link already held `max_queue` in flight.
    pub dropped_queue_full: u64,
}

/// A seeded, sans-IO network of directed links.
///
/// Every `(from, to)` direction is its own link, configured with [`Network::set_link`] or else by
/// the default given to [`Network::new`]. The network never reads a clock: every call takes
/// `now`, and [`Network::next_delivery`] tells the driver when to call [`Network::poll_deliver`]
/// next, so tests jump virtual time instead of sleeping. After a call with some `now`, drain
/// `poll_deliver(now)` until it returns `None`.
///
/// Each link draws from its own ChaCha8 stream, derived from the seed and the link's two
/// addresses: what happens on a link depends only on the seed and the sends on that link, so
/// traffic in the other direction never shifts its loss pattern, and the same seed and calls
/// replay exactly.
///
/// With `reorder == 0` a link is FIFO even under jitter: a datagram is never due before the one
/// sent just before it on the same link, so jitter then delays and bunches datagrams but never
/// swaps them. That clamp cannot push latency past `delay + jitter`, because the earlier
/// datagram was sent no later and was itself due within that bound.
pub struct Network {
    seed: u64,
    default_link: LinkConfig,
    links: HashMap<(SocketAddr, SocketAddr), Link>,
    queue: BinaryHeap<Scheduled>,
    next_seq: u64,
    stats: NetStats,
}

impl Network {
    /// A network whose links all follow `default_link` until [`Network::set_link`] says otherwise.
    ///
    /// # Errors
    /// `default_link` fails [`LinkConfig::validate`].
    pub fn new(seed: u64, default_link: LinkConfig) -> Result<Self, Error> {
        default_link.validate()?;
        Ok(Self {
            seed,
            default_link,
            links: HashMap::new(),
            queue: BinaryHeap::new(),
            next_seq: 0,
            stats: NetStats::default(),
        })
    }

    /// Configures the direction `from -> to`; the reverse direction is a separate link.
    ///
    /// Datagrams already in flight keep their schedule, and FIFO order still holds across the
    /// change.
    ///
    /// # Errors
    /// `cfg` fails [`LinkConfig::validate`]; the link keeps its previous configuration.
    pub fn set_link(
        &mut self,
        from: SocketAddr,
        to: SocketAddr,
        cfg: LinkConfig,
    ) -> Result<(), Error> {
        cfg.validate()?;
        self.link_mut(from, to).config = Some(cfg);
        Ok(())
    }

    /// The configuration the direction `from -> to` uses.
    pub fn link_config(&self, from: SocketAddr, to: SocketAddr) -> &LinkConfig {
        self.links
            .get(&(from, to))
            .and_then(|link| link.config.as_ref())
            .unwrap_or(&self.default_link)
    }

    /// Hands a datagram to the network at `now`: it is lost, dropped for a full queue, or
    /// scheduled (perhaps twice) for delivery.
    pub fn send(&mut self, now: Instant, datagram: Datagram) {
        self.stats.sent += 1;
        let key = (datagram.from, datagram.to);
        let seed = self.seed;
        let link = self
            .links
            .entry(key)
            .or_insert_with(|| Link::new(seed, key.0, key.1));
        let cfg = link.config.as_ref().unwrap_or(&self.default_link);
        link.stats.sent += 1;

        // Draws happen in a fixed order per datagram so a run replays from the seed alone.
        if chance(&mut link.rng, cfg.loss) {
            link.stats.lost += 1;
            self.stats.lost += 1;
            return;
        }
        let duplicate = chance(&mut link.rng, cfg.duplicate);
        let mut copies = [None, Some(datagram)];
        if duplicate {
            link.stats.duplicated += 1;
            self.stats.duplicated += 1;
            copies[0] = copies[1].clone();
        }
        for datagram in copies.into_iter().flatten() {
            let reorder = chance(&mut link.rng, cfg.reorder);
            let jitter = uniform_duration(&mut link.rng, cfg.jitter);
            if link.in_flight >= cfg.max_queue {
                link.stats.dropped_queue_full += 1;
                self.stats.dropped_queue_full += 1;
                continue;
            }
            let Some(earliest) = now.checked_add(cfg.delay) else {
                // Unreachable with a validated delay unless `now` sits at the end of the
                // platform's clock range; dropping beats panicking.
                link.stats.lost += 1;
                self.stats.lost += 1;
                continue;
            };
            let due = if reorder {
                // Skipping jitter lets this datagram overtake the ones jitter still holds.
                if link.fifo_due.is_some_and(|last| earliest < last) {
                    link.stats.reordered += 1;
                    self.stats.reordered += 1;
                }
                earliest
            } else {
                let jittered = earliest.checked_add(jitter).unwrap_or(earliest);
                let due = link.fifo_due.map_or(jittered, |last| jittered.max(last));
                link.fifo_due = Some(due);
                due
            };
            link.in_flight += 1;
            self.queue.push(Scheduled {
                due,
                seq: self.next_seq,
                datagram,
            });
            self.next_seq += 1;
        }
    }

    /// The next datagram due at or before `now`, earliest first; `None` when nothing is due yet.
    pub fn poll_deliver(&mut self, now: Instant) -> Option<Datagram> {
        if self.queue.peek()?.due > now {
            return None;
        }
        let Scheduled { datagram, .. } = self.queue.pop()?;
        if let Some(link) = self.links.get_mut(&(datagram.from, datagram.to)) {
            link.in_flight = link.in_flight.saturating_sub(1);
            link.stats.delivered += 1;
        }
        self.stats.delivered += 1;
        Some(datagram)
    }

    /// When the earliest datagram in flight is due, for jumping virtual time; `None` when idle.
    pub fn next_delivery(&self) -> Option<Instant> {
        self.queue.peek().map(|s| s.due)
    }

    /// Datagrams scheduled but not yet delivered, on all links.
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }

    /// Counters over all links.
    pub fn stats(&self) -> NetStats {
        self.stats
    }

    /// Counters for the direction `from -> to` alone.
    pub fn link_stats(&self, from: SocketAddr, to: SocketAddr) -> NetStats {
        self.links
            .get(&(from, to))
            .map(|link| link.stats)
            .unwrap_or_default()
    }

    fn link_mut(&mut self, from: SocketAddr, to: SocketAddr) -> &mut Link {
        let seed = self.seed;
        self.links
            .entry((from, to))
            .or_insert_with(|| Link::new(seed, from, to))
    }
}

impl fmt::Debug for Network {
    // The queue can hold thousands of payloads; a summary is what a reader wants.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Network")
            .field("seed", &self.seed)
            .field("default_link", &self.default_link)
            .field("links", &self.links.len())
            .field("in_flight", &self.queue.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// State of one direction.
struct Link {
    /// `None` follows the network's default.
    config: Option<LinkConfig>,
    rng: ChaCha8Rng,
    in_flight: usize,
    /// Due time of the last datagram scheduled in order; later in-order ones are never earlier.
    fifo_due: Option<Instant>,
    stats: NetStats,
}

impl Link {
    fn new(seed: u64, from: SocketAddr, to: SocketAddr) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream_id(from, to));
        Self {
            config: None,
            rng,
            in_flight: 0,
            fifo_due: None,
            stats: NetStats::default(),
        }
    }
}

/// A datagram waiting in the delivery queue.
struct Scheduled {
    due: Instant,
    /// Breaks ties between equal due times in send order.
    seq: u64,
    datagram: Datagram,
}

impl Scheduled {
    fn key(&self) -> (Instant, u64) {
        (self.due, self.seq)
    }
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Scheduled {}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scheduled {
    // Reversed: `BinaryHeap` is a max-heap and the earliest due must come out first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key().cmp(&self.key())
    }
}

/// FNV-1a over both addresses: a stable stream id (std's hasher is randomly keyed per process).
fn stream_id(from: SocketAddr, to: SocketAddr) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for addr in [from, to] {
        match addr {
            SocketAddr::V4(a) => {
                eat(&[4]);
                eat(&a.ip().octets());
            }
            SocketAddr::V6(a) => {
                eat(&[6]);
                eat(&a.ip().octets());
                eat(&a.scope_id().to_be_bytes());
            }
        }
        eat(&addr.port().to_be_bytes());
    }
    hash
}

/// True with probability `p`; always consumes one draw.
fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    // 53 random bits give a uniform f64 in [0, 1): p = 0 is never, p = 1 is always.
    let unit = (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
    unit < p
}

/// Uniform in `[0, max]` at nanosecond resolution; always consumes one draw.
fn uniform_duration(rng: &mut ChaCha8Rng, max: Duration) -> Duration {
    let span = max.as_nanos().saturating_add(1);
    // Multiply-shift maps 64 random bits onto the span; the bias is below 2^-20 for any span a
    // validated link allows (at most an hour, about 2^42 ns).
    let nanos = (u128::from(rng.next_u64()) * span) >> 64;
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(
        clippy::disallowed_methods,
        reason = "tests need one real origin; every later instant is virtual"
    )]
    fn t0() -> Instant {
        Instant::now()
    }

    fn addr(n: u8) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, n], 5000 + u16::from(n)))
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn numbered(from: SocketAddr, to: SocketAddr, n: u32) -> Datagram {
        Datagram::new(from, to, n.to_be_bytes().to_vec())
    }

    fn number(d: &Datagram) -> u32 {
        let bytes: [u8; 4] = d
            .payload
            .as_slice()
            .try_into()
            .expect("4-byte test payload");
        u32::from_be_bytes(bytes)
    }

    /// One delivery seen by the driver: when (after the origin), and what.
    #[derive(Debug, PartialEq)]
    struct Arrival {
        at: Duration,
        datagram: Datagram,
    }

    /// Sends `count` numbered datagrams `from -> to`, one per `interval`, delivering in virtual
    /// time at the exact due instants, and returns the arrivals in order.
    fn drive(
        net: &mut Network,
        from: SocketAddr,
        to: SocketAddr,
        count: u32,
        interval: Duration,
    ) -> Vec<Arrival> {
        let start = t0();
        let mut arrivals = Vec::new();
        let mut collect = |net: &mut Network, until: Instant| {
            while let Some(due) = net.next_delivery().filter(|&due| due <= until) {
                while let Some(datagram) = net.poll_deliver(due) {
                    arrivals.push(Arrival {
                        at: due - start,
                        datagram,
                    });
                }
            }
        };
        for n in 0..count {
            let now = start + interval * n;
            collect(net, now);
            net.send(now, numbered(from, to, n));
        }
        collect(net, start + interval * count + LinkConfig::MAX_LATENCY);
        arrivals
    }

    /// Inclusive 6-sigma band around `n * p` for a binomial count: wide enough never to flake.
    fn six_sigma(n: u64, p: f64) -> (f64, f64) {
        let n = n as f64;
        let mean = n * p;
        let sigma = (n * p * (1.0 - p)).sqrt();
        (mean - 6.0 * sigma, mean + 6.0 * sigma)
    }

    fn assert_balanced(net: &Network) {
        let s = net.stats();
        assert_eq!(
            s.sent + s.duplicated,
            s.delivered + s.lost + s.dropped_queue_full + net.in_flight() as u64,
            "{s:?}"
        );
    }

    #[test]
    fn perfect_link_delivers_at_send_time_in_order() {
        let mut net = Network::new(1, LinkConfig::perfect()).expect("valid");
        let (a, b) = (addr(1), addr(2));
        let now = t0();
        assert_eq!(net.next_delivery(), None);
        assert_eq!(net.poll_deliver(now), None);
        for n in 0..3 {
            net.send(now, numbered(a, b, n));
        }
        assert_eq!(net.next_delivery(), Some(now));
        let got: Vec<u32> = std::iter::from_fn(|| net.poll_deliver(now))
            .map(|d| number(&d))
            .collect();
        assert_eq!(got, [0, 1, 2]);
        let s = net.stats();
        assert_eq!((s.sent, s.delivered, s.lost, s.duplicated), (3, 3, 0, 0));
        assert_eq!(net.in_flight(), 0);
    }

    #[test]
    fn nothing_is_delivered_before_it_is_due() {
        let mut net = Network::new(1, LinkConfig::perfect().with_delay(ms(50))).expect("valid");
        let now = t0();
        net.send(now, numbered(addr(1), addr(2), 9));
        assert_eq!(net.next_delivery(), Some(now + ms(50)));
        assert_eq!(net.poll_deliver(now + ms(49)), None);
        let d = net.poll_deliver(now + ms(50)).expect("due");
        assert_eq!((d.from, d.to, number(&d)), (addr(1), addr(2), 9));
        assert_eq!(net.poll_deliver(now + ms(60)), None);
    }

    fn rough() -> LinkConfig {
        LinkConfig::perfect()
            .with_delay(ms(20))
            .with_jitter(ms(30))
            .with_loss(0.2)
            .with_reorder(0.1)
            .with_duplicate(0.1)
            .with_max_queue(50)
    }

    #[test]
    fn same_seed_replays_and_other_seed_differs() {
        let run = |seed| {
            let mut net = Network::new(seed, rough()).expect("valid");
            let arrivals = drive(&mut net, addr(1), addr(2), 2_000, ms(5));
            (arrivals, net.stats())
        };
        let first = run(42);
        assert_eq!(first, run(42));
        assert_ne!(first.0, run(43).0);
    }

    #[test]
    fn reverse_traffic_does_not_shift_a_link() {
        let (a, b) = (addr(1), addr(2));
        let mut alone = Network::new(5, rough()).expect("valid");
        let expected = drive(&mut alone, a, b, 500, ms(10));

        let mut busy = Network::new(5, rough()).expect("valid");
        let start = t0();
        for n in 0..200 {
            busy.send(start, numbered(b, a, n));
        }
        let got: Vec<_> = drive(&mut busy, a, b, 500, ms(10))
            .into_iter()
            .filter(|arrival| arrival.datagram.to == b)
            .map(|arrival| number(&arrival.datagram))
            .collect();
        let expected: Vec<_> = expected.iter().map(|a| number(&a.datagram)).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn loss_rate_matches_config() {
        const N: u32 = 100_000;
        for (seed, p) in [(1, 0.01), (2, 0.1), (3, 0.3), (4, 0.5)] {
            let mut net = Network::new(seed, LinkConfig::perfect().with_loss(p)).expect("valid");
            let arrivals = drive(&mut net, addr(1), addr(2), N, ms(1));
            let lost = net.stats().lost;
            let (lo, hi) = six_sigma(u64::from(N), p);
            assert!(
                (lo..=hi).contains(&(lost as f64)),
                "p={p}: lost {lost} outside [{lo}, {hi}]"
            );
            assert_eq!(arrivals.len() as u64, u64::from(N) - lost);
            assert_balanced(&net);
        }
    }

    #[test]
    fn loss_extremes_are_exact() {
        let mut all = Network::new(1, LinkConfig::perfect().with_loss(1.0)).expect("valid");
        assert!(drive(&mut all, addr(1), addr(2), 1_000, ms(1)).is_empty());
        assert_eq!(all.stats().lost, 1_000);
        let mut none = Network::new(1, LinkConfig::perfect().with_loss(0.0)).expect("valid");
        assert_eq!(
            drive(&mut none, addr(1), addr(2), 1_000, ms(1)).len(),
            1_000
        );
    }

    #[test]
    fn jitter_without_reorder_keeps_fifo_and_bounds() {
        // Jitter far above the send interval would swap nearly every pair without the clamp.
        let cfg = LinkConfig::perfect()
            .with_delay(ms(30))
            .with_jitter(ms(100))
            .with_duplicate(0.2);
        let mut net = Network::new(9, cfg).expect("valid");
        let interval = ms(2);
        let arrivals = drive(&mut net, addr(1), addr(2), 5_000, interval);
        let numbers: Vec<u32> = arrivals.iter().map(|a| number(&a.datagram)).collect();
        assert!(numbers.windows(2).all(|w| w[0] <= w[1]), "out of order");
        assert_eq!(net.stats().reordered, 0);
        for a in &arrivals {
            let latency = a.at - interval * number(&a.datagram);
            assert!((ms(30)..=ms(130)).contains(&latency), "{latency:?}");
        }
    }

    #[test]
    fn reorder_lets_datagrams_overtake() {
        let cfg = LinkConfig::perfect()
            .with_delay(ms(30))
            .with_jitter(ms(20))
            .with_reorder(0.1);
        let mut net = Network::new(11, cfg).expect("valid");
        let arrivals = drive(&mut net, addr(1), addr(2), 10_000, ms(2));
        let mut highest = 0;
        let mut late = 0;
        for a in &arrivals {
            let n = number(&a.datagram);
            if n < highest {
                late += 1;
            }
            highest = highest.max(n);
        }
        let reordered = net.stats().reordered;
        assert!(late > 0, "no datagram arrived after a later one");
        // Nearly every reorder draw finds jittered datagrams to overtake at this send rate.
        let (lo, hi) = six_sigma(10_000, 0.1);
        assert!((lo * 0.9..=hi).contains(&(reordered as f64)), "{reordered}");
        assert_eq!(arrivals.len(), 10_000);
    }

    #[test]
    fn reorder_without_jitter_cannot_overtake() {
        let cfg = LinkConfig::perfect().with_delay(ms(30)).with_reorder(0.5);
        let mut net = Network::new(3, cfg).expect("valid");
        let arrivals = drive(&mut net, addr(1), addr(2), 1_000, ms(1));
        let numbers: Vec<u32> = arrivals.iter().map(|a| number(&a.datagram)).collect();
        assert!(numbers.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(net.stats().reordered, 0);
    }

    #[test]
    fn duplication_rate_and_extremes() {
        let mut always = Network::new(1, LinkConfig::perfect().with_duplicate(1.0)).expect("valid");
        let arrivals = drive(&mut always, addr(1), addr(2), 100, ms(1));
        let numbers: Vec<u32> = arrivals.iter().map(|a| number(&a.datagram)).collect();
        let twice: Vec<u32> = (0..100).flat_map(|n| [n, n]).collect();
        assert_eq!(numbers, twice);
        assert_eq!(always.stats().duplicated, 100);

        const N: u32 = 100_000;
        let mut some = Network::new(2, LinkConfig::perfect().with_duplicate(0.25)).expect("valid");
        let arrivals = drive(&mut some, addr(1), addr(2), N, ms(1));
        let dup = some.stats().duplicated;
        let (lo, hi) = six_sigma(u64::from(N), 0.25);
        assert!((lo..=hi).contains(&(dup as f64)), "{dup}");
        assert_eq!(arrivals.len() as u64, u64::from(N) + dup);
        assert_balanced(&some);
    }

    #[test]
    fn lost_datagrams_are_not_duplicated() {
        let cfg = LinkConfig::perfect().with_loss(1.0).with_duplicate(1.0);
        let mut net = Network::new(1, cfg).expect("valid");
        drive(&mut net, addr(1), addr(2), 100, ms(1));
        let s = net.stats();
        assert_eq!((s.lost, s.duplicated, s.delivered), (100, 0, 0));
    }

    #[test]
    fn queue_bound_is_per_link_and_frees_on_delivery() {
        let cfg = LinkConfig::perfect().with_delay(ms(100)).with_max_queue(5);
        let mut net = Network::new(1, cfg).expect("valid");
        let (a, b, c) = (addr(1), addr(2), addr(3));
        let now = t0();
        for n in 0..20 {
            net.send(now, numbered(a, b, n));
        }
        assert_eq!(net.in_flight(), 5);
        assert_eq!(net.stats().dropped_queue_full, 15);
        // Another direction has its own queue.
        net.send(now, numbered(a, c, 0));
        assert_eq!(net.in_flight(), 6);

        let later = now + ms(100);
        let first: Vec<u32> = std::iter::from_fn(|| net.poll_deliver(later))
            .filter(|d| d.to == b)
            .map(|d| number(&d))
            .collect();
        assert_eq!(first, [0, 1, 2, 3, 4]);
        net.send(later, numbered(a, b, 20));
        assert_eq!(net.link_stats(a, b).dropped_queue_full, 15);
        assert_eq!(net.in_flight(), 1);
        assert_balanced(&net);
    }

    #[test]
    fn duplicate_counts_against_the_queue() {
        let cfg = LinkConfig::perfect()
            .with_delay(ms(10))
            .with_duplicate(1.0)
            .with_max_queue(3);
        let mut net = Network::new(1, cfg).expect("valid");
        let now = t0();
        net.send(now, numbered(addr(1), addr(2), 0));
        net.send(now, numbered(addr(1), addr(2), 1));
        assert_eq!(net.in_flight(), 3);
        let s = net.stats();
        assert_eq!((s.duplicated, s.dropped_queue_full), (2, 1));
        assert_balanced(&net);
    }

    #[test]
    fn latency_stays_within_delay_and_jitter() {
        let cfg = LinkConfig::perfect()
            .with_delay(ms(30))
            .with_jitter(ms(10))
            .with_reorder(0.3)
            .with_duplicate(0.1)
            .with_loss(0.1);
        let mut net = Network::new(4, cfg).expect("valid");
        let interval = ms(20);
        let arrivals = drive(&mut net, addr(1), addr(2), 5_000, interval);
        let latencies: Vec<Duration> = arrivals
            .iter()
            .map(|a| a.at - interval * number(&a.datagram))
            .collect();
        assert!(latencies.iter().all(|l| (ms(30)..=ms(40)).contains(l)));
        // Jitter spreads over the whole range rather than collapsing to one value.
        let early = latencies.iter().filter(|&&l| l < ms(31)).count();
        let late = latencies.iter().filter(|&&l| l > ms(39)).count();
        assert!(early > 0 && late > 0, "early {early}, late {late}");
    }

    #[test]
    fn links_are_per_direction() {
        let (a, b) = (addr(1), addr(2));
        let mut net = Network::new(1, LinkConfig::perfect()).expect("valid");
        net.set_link(a, b, LinkConfig::perfect().with_loss(1.0))
            .expect("valid");
        assert_eq!(net.link_config(a, b).loss, 1.0);
        assert_eq!(net.link_config(b, a), &LinkConfig::perfect());
        assert!(drive(&mut net, a, b, 50, ms(1)).is_empty());
        assert_eq!(drive(&mut net, b, a, 50, ms(1)).len(), 50);
        assert_eq!(net.link_stats(a, b).lost, 50);
        assert_eq!(net.link_stats(b, a).delivered, 50);
    }

    #[test]
    fn invalid_configs_are_refused() {
        assert_eq!(
            Network::new(1, LinkConfig::perfect().with_max_queue(0)).map(|_| ()),
            Err(Error::ZeroQueue)
        );
        let (a, b) = (addr(1), addr(2));
        let mut net = Network::new(1, LinkConfig::perfect()).expect("valid");
        net.set_link(a, b, LinkConfig::perfect().with_delay(ms(5)))
            .expect("valid");
        let err = net.set_link(a, b, LinkConfig::perfect().with_reorder(f64::NAN));
        assert!(matches!(err, Err(Error::InvalidProbability { .. })));
        assert_eq!(net.link_config(a, b).delay, ms(5));
    }

    #[test]
    fn fifo_holds_across_a_config_change() {
        let (a, b) = (addr(1), addr(2));
        let mut net = Network::new(1, LinkConfig::perfect().with_delay(ms(100))).expect("valid");
        let now = t0();
        net.send(now, numbered(a, b, 0));
        net.set_link(a, b, LinkConfig::perfect()).expect("valid");
        net.send(now + ms(1), numbered(a, b, 1));
        let got: Vec<u32> = std::iter::from_fn(|| net.poll_deliver(now + ms(100)))
            .map(|d| number(&d))
            .collect();
        assert_eq!(got, [0, 1]);
    }

    #[test]
    fn debug_summarises_instead_of_dumping_payloads() {
        let mut net = Network::new(1, LinkConfig::perfect().with_delay(ms(1))).expect("valid");
        net.send(t0(), Datagram::new(addr(1), addr(2), vec![0xAB; 64]));
        let text = format!("{net:?}");
        assert!(text.contains("in_flight: 1"), "{text}");
        assert!(!text.contains("171"), "{text}");
    }
}
