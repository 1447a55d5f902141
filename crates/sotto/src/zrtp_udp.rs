//! Driving a [`Session`] over a real UDP socket: the driver loop of the sans-IO core, on a
//! blocking socket whose read timeout is the session's next deadline.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use sotto_zrtp::wire;
use sotto_zrtp::{Event, Input, Output, SecureInfo, Session};

/// Why a handshake over UDP did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The ZRTP session failed (the peer refused, timed out or misbehaved).
    #[error("zrtp handshake failed: {0}")]
    Zrtp(#[from] sotto_zrtp::Error),
    /// Nothing usable arrived before the deadline.
    #[error(
        "no zrtp answer from {peer} within {waited:?}; is the peer running and reachable over udp?"
    )]
    NoAnswer {
        /// Where we sent (or `*` when listening).
        peer: String,
        /// How long we waited.
        waited: Duration,
    },
    /// The socket failed.
    #[error("udp socket: {0}")]
    Io(#[from] std::io::Error),
}

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

/// A ZRTP session bound to a UDP socket and (once known) one peer address.
#[derive(Debug)]
pub struct ZrtpOverUdp {
    socket: UdpSocket,
    peer: Option<SocketAddr>,
    session: Session,
    stats: HandshakeStats,
    deadline: Option<Instant>,
}

impl ZrtpOverUdp {
    /// Drives `session` on `socket`. With `peer` `None` it latches onto the first address that
    /// sends a ZRTP packet the session accepts (a listening endpoint); its first Hellos wait
    /// until then.
    pub fn new(socket: UdpSocket, peer: Option<SocketAddr>, session: Session) -> Self {
        ZrtpOverUdp {
            socket,
            peer,
            session,
            stats: HandshakeStats::default(),
            deadline: None,
        }
    }

    /// The peer address, once known.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// The session, e.g. to mark the SAS verified.
    pub fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    /// Counters so far.
    pub fn stats(&self) -> HandshakeStats {
        self.stats
    }

    /// Runs until the session is secure, fails, or `give_up` passes without completion.
    pub fn handshake(&mut self, give_up: Duration) -> Result<Box<SecureInfo>, HandshakeError> {
        let end = Instant::now() + give_up;
        loop {
            if let Some(info) = self.flush()? {
                return Ok(info);
            }
            let now = Instant::now();
            if now >= end {
                return Err(HandshakeError::NoAnswer {
                    peer: self.peer.map_or_else(|| "*".to_owned(), |p| p.to_string()),
                    waited: give_up,
                });
            }
            let wake = self.deadline.map_or(end, |d| d.min(end));
            self.receive_until(wake)?;
        }
    }

    /// Keeps answering the peer (a lost Conf2ACK, a repeated Hello) until `until`.
    pub fn serve_until(&mut self, until: Instant) -> Result<(), HandshakeError> {
        while Instant::now() < until {
            self.flush()?;
            let wake = self.deadline.map_or(until, |d| d.min(until));
            self.receive_until(wake)?;
        }
        Ok(())
    }

    /// Sends what the session has queued; returns the secure event if one came out.
    fn flush(&mut self) -> Result<Option<Box<SecureInfo>>, HandshakeError> {
        let mut secure = None;
        loop {
            match self.session.poll_output() {
                Output::Transmit(packet) => {
                    // Before the peer is known there is nowhere to send: the Hello is repeated
                    // by its timer once the peer has spoken.
                    if let Some(peer) = self.peer {
                        self.socket.send_to(&packet, peer)?;
                        self.stats.sent += 1;
                    }
                }
                Output::Event(Event::Secure(info)) => secure = Some(info),
                Output::Event(Event::Failed(e)) => return Err(e.into()),
                Output::Event(_) => {}
                Output::Timeout(deadline) => {
                    self.deadline = deadline;
                    return Ok(secure);
                }
            }
        }
    }

    /// Waits for one datagram or `wake`, feeding the session either way.
    fn receive_until(&mut self, wake: Instant) -> Result<(), HandshakeError> {
        let mut buf = [0u8; 2048];
        let wait = wake
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        self.socket.set_read_timeout(Some(wait))?;
        match self.socket.recv_from(&mut buf) {
            Ok((n, from)) => self.on_datagram(from, &buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            // An ICMP port unreachable from a peer not up yet surfaces here on Linux: keep going.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
            Err(e) => return Err(e.into()),
        }
        // A listener's clock starts with its peer: until then its Hello timer must not run out.
        if self.peer.is_some() && self.deadline.is_some_and(|d| d <= Instant::now()) {
            // Timeouts are always accepted; failures come out of poll_output as events.
            let _ = self.session.handle_input(Input::Timeout(Instant::now()));
        }
        Ok(())
    }

    fn on_datagram(&mut self, from: SocketAddr, datagram: &[u8]) {
        if !wire::is_zrtp(datagram) || self.peer.is_some_and(|p| p != from) {
            self.stats.dropped += 1;
            return;
        }
        match self.session.handle_input(Input::Receive {
            now: Instant::now(),
            packet: datagram,
        }) {
            Ok(()) => {
                self.stats.accepted += 1;
                self.peer.get_or_insert(from);
            }
            Err(_) => self.stats.dropped += 1,
        }
    }
}
