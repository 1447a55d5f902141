//! Driving a [`Session`] over a real UDP socket: the driver loop of the sans-IO core, on a
//! blocking socket whose read timeout is the session's next deadline.
//!
//! The latching and timer logic lives in `ZrtpLink`, which owns no socket, so the call
//! engine's network thread (which also carries SRTP on the same port) shares it.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use sotto_zrtp::wire;
use sotto_zrtp::{Event, Input, Output, SecureInfo, Session};

use crate::Error;

/// Counters of one handshake, for status lines and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HandshakeStats {
    /// ZRTP packets sent.
    pub sent: u64,
    /// ZRTP packets the session accepted.
    pub accepted: u64,
    /// Datagrams dropped: not ZRTP, from another address, or refused by the session.
    pub dropped: u64,
}

/// A ZRTP session and the one peer address it talks to, without a socket: datagrams and
/// expired deadlines go in, datagrams for the peer and session events come out.
#[derive(Debug)]
pub(crate) struct ZrtpLink {
    peer: Option<SocketAddr>,
    session: Session,
    stats: HandshakeStats,
    deadline: Option<Instant>,
    /// Before a peer is known: who sent the Hello the session just refused, to get the RFC's
    /// Error answer (one short packet per Hello, no amplification) instead of silence.
    refused: Option<SocketAddr>,
}

impl ZrtpLink {
    /// With `peer` `None` the link latches onto the first address whose Hello the session
    /// accepts (an Error, ErrorACK or Ping from anyone does not make it the peer); its first
    /// Hellos wait until then.
    pub(crate) fn new(peer: Option<SocketAddr>, session: Session) -> Self {
        ZrtpLink {
            peer,
            session,
            stats: HandshakeStats::default(),
            deadline: None,
            refused: None,
        }
    }

    pub(crate) fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Points the link at `peer` (found by connectivity checks, or moved to a new path):
    /// ZRTP from anywhere else is dropped from now on.
    pub(crate) fn set_peer(&mut self, peer: SocketAddr) {
        self.peer = Some(peer);
    }

    pub(crate) fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    pub(crate) fn stats(&self) -> HandshakeStats {
        self.stats
    }

    /// The session's next timer, once there is a peer to time out against: a listener's
    /// clock starts with its peer, so until then its Hello timer must not run out.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline.filter(|_| self.peer.is_some())
    }

    /// Sends what the session has queued through `send` and hands every event to `on_event`.
    /// Before the peer is known there is nowhere to send (the Hello is repeated by its timer
    /// once the peer has spoken), except the answer to a refused Hello.
    pub(crate) fn flush<E>(
        &mut self,
        mut send: impl FnMut(&[u8], SocketAddr) -> Result<(), E>,
        mut on_event: impl FnMut(Event),
    ) -> Result<(), E> {
        loop {
            match self.session.poll_output() {
                Output::Transmit(packet) => {
                    if let Some(to) = self.peer.or(self.refused) {
                        send(&packet, to)?;
                        self.stats.sent += 1;
                    }
                }
                Output::Event(event) => on_event(event),
                Output::Timeout(deadline) => {
                    self.deadline = deadline;
                    self.refused = None;
                    return Ok(());
                }
            }
        }
    }

    /// [`ZrtpLink::flush`] onto `socket`, best effort, returning the events: a lost send is
    /// ZRTP's to retransmit, and the socket's real failures surface on receive. For the call
    /// engine, whose network thread carries SRTP on the same socket.
    pub(crate) fn flush_best_effort(&mut self, socket: &UdpSocket) -> Vec<Event> {
        let mut events = Vec::new();
        let flushed = self.flush(
            |packet, peer| {
                let _ = socket.send_to(packet, peer);
                Ok::<(), std::convert::Infallible>(())
            },
            |event| events.push(event),
        );
        let Ok(()) = flushed;
        events
    }

    /// Feeds the session's timer if it is due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if self.deadline().is_some_and(|d| d <= now) {
            // Timeouts are always accepted; failures come out of poll_output as events.
            let _ = self.session.handle_input(Input::Timeout(now));
        }
    }

    /// Feeds a datagram classified as ZRTP (anything else is dropped and counted). The sender
    /// of the first accepted Hello becomes the peer. Returns whether the session accepted it
    /// from the peer: what a stranger sends before that (an ErrorACK, a Ping) is answered but
    /// says nothing about the peer.
    pub(crate) fn handle_datagram(
        &mut self,
        from: SocketAddr,
        datagram: &[u8],
        now: Instant,
    ) -> bool {
        if !wire::is_zrtp(datagram) || self.peer.is_some_and(|p| p != from) {
            self.stats.dropped += 1;
            return false;
        }
        match self.session.handle_input(Input::Receive {
            now,
            packet: datagram,
        }) {
            Ok(()) => {
                self.stats.accepted += 1;
                if self.peer.is_none() && self.session.peer_zid().is_some() {
                    self.peer = Some(from);
                }
                self.peer == Some(from)
            }
            Err(e) => {
                if self.peer.is_none() && matches!(e, sotto_zrtp::Error::HelloRefused(_)) {
                    self.refused = Some(from);
                }
                self.stats.dropped += 1;
                false
            }
        }
    }
}

/// A ZRTP session bound to a UDP socket and (once known) one peer address.
#[derive(Debug)]
pub struct ZrtpOverUdp {
    socket: UdpSocket,
    link: ZrtpLink,
}

impl ZrtpOverUdp {
    /// Drives `session` on `socket`. With `peer` `None` it latches onto the first address whose
    /// Hello the session accepts (a listening endpoint); its first Hellos wait until then.
    pub fn new(socket: UdpSocket, peer: Option<SocketAddr>, session: Session) -> Self {
        ZrtpOverUdp {
            socket,
            link: ZrtpLink::new(peer, session),
        }
    }

    /// The peer address, once known.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.link.peer()
    }

    /// The session, e.g. to mark the SAS verified.
    pub fn session_mut(&mut self) -> &mut Session {
        self.link.session_mut()
    }

    /// Counters so far.
    pub fn stats(&self) -> HandshakeStats {
        self.link.stats()
    }

    /// Runs until the session is secure, fails, or `give_up` passes without completion.
    pub fn handshake(&mut self, give_up: Duration) -> Result<Box<SecureInfo>, Error> {
        let end = Instant::now() + give_up;
        loop {
            if let Some(info) = self.flush()? {
                return Ok(info);
            }
            let now = Instant::now();
            if now >= end {
                return Err(Error::NoAnswer {
                    peer: self
                        .link
                        .peer()
                        .map_or_else(|| "*".to_owned(), |p| p.to_string()),
                    waited: give_up,
                });
            }
            let wake = self.link.deadline.map_or(end, |d| d.min(end));
            self.receive_until(wake)?;
        }
    }

    /// Keeps answering the peer (a lost Conf2ACK, a repeated Hello) until `until`.
    pub fn serve_until(&mut self, until: Instant) -> Result<(), Error> {
        while Instant::now() < until {
            self.flush()?;
            let wake = self.link.deadline.map_or(until, |d| d.min(until));
            self.receive_until(wake)?;
        }
        Ok(())
    }

    /// Sends what the session has queued; returns the secure event if one came out.
    fn flush(&mut self) -> Result<Option<Box<SecureInfo>>, Error> {
        let mut secure = None;
        let mut failed = None;
        let socket = &self.socket;
        self.link.flush(
            |packet, peer| socket.send_to(packet, peer).map(drop),
            |event| match event {
                Event::Secure(info) => secure = Some(info),
                Event::Failed(e) => failed = Some(e),
                _ => {}
            },
        )?;
        match failed {
            Some(e) => Err(e.into()),
            None => Ok(secure),
        }
    }

    /// Waits for one datagram or `wake`, feeding the session either way.
    fn receive_until(&mut self, wake: Instant) -> Result<(), Error> {
        let mut buf = [0u8; 2048];
        let wait = wake
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        self.socket.set_read_timeout(Some(wait))?;
        match self.socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                self.link.handle_datagram(from, &buf[..n], Instant::now());
            }
            // A timeout, or an ICMP error from a peer not up yet: keep going.
            Err(e) if crate::signaling::is_transient(&e) => {}
            Err(e) => return Err(e.into()),
        }
        self.link.handle_timeout(Instant::now());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sotto_zrtp::cache::MemoryCache;
    use sotto_zrtp::wire::{Header, Message};
    use sotto_zrtp::SessionConfig;

    use super::*;

    fn session(now: Instant) -> Session {
        let cache = Arc::new(MemoryCache::new());
        Session::new(SessionConfig::default(), cache, &mut rand_core::OsRng, now).expect("session")
    }

    fn error_ack() -> Vec<u8> {
        let mut body = Vec::new();
        wire::encode_message(&Message::ErrorAck, &mut body);
        let mut packet = Vec::new();
        let header = Header {
            sequence: 1,
            ssrc: 0x5742_4e47,
        };
        wire::seal_packet(header, &body, &mut packet);
        packet
    }

    #[test]
    fn a_listener_latches_onto_the_first_accepted_hello_not_onto_any_accepted_packet() {
        let now = {
            #[allow(
                clippy::disallowed_methods,
                reason = "an origin for the sessions' clocks"
            )]
            Instant::now()
        };
        let stranger: SocketAddr = "192.0.2.7:5004".parse().expect("addr");
        let caller_addr: SocketAddr = "192.0.2.9:5004".parse().expect("addr");
        let mut listener = ZrtpLink::new(None, session(now));

        // The session takes an ErrorACK from anyone (it needs no answer), but that makes no
        // one the peer and is not reported as the peer's.
        assert!(!listener.handle_datagram(stranger, &error_ack(), now));
        assert_eq!(listener.peer(), None);
        assert_eq!(listener.stats().accepted, 1);

        let mut caller = session(now);
        let Output::Transmit(hello) = caller.poll_output() else {
            panic!("a new session sends its Hello first");
        };
        assert!(listener.handle_datagram(caller_addr, &hello, now));
        assert_eq!(listener.peer(), Some(caller_addr));
        // From now on the stranger is dropped unread.
        assert!(!listener.handle_datagram(stranger, &error_ack(), now));
        assert_eq!(listener.stats().dropped, 1);
    }
}
