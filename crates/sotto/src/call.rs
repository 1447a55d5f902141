//! [`Call`]: one secure audio call on one UDP socket, run by three threads.
//!
//! - The network thread owns the receiving side of the socket and the ZRTP session. Its read
//!   timeout is the next deadline (a ZRTP timer, RTCP, statistics, a timeout). Once ZRTP is
//!   secure it keys SRTP, unprotects the peer's packets into the jitter buffer, sends RTCP and
//!   starts the two media threads; it ends the call and reports why.
//! - The sender thread, paced by its own clock, reads a frame of audio, Opus-encodes,
//!   packetizes and protects it and sends it to the peer.
//! - The playout thread, paced by its own clock, pops the jitter buffer, decodes or conceals,
//!   and writes to the audio output.
//!
//! Nothing is sent but ZRTP until ZRTP is secure: the media threads wait for keys.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sotto_media::{AudioInput, AudioOutput, AudioSink, AudioSource};
use sotto_rtp::opus::OPUS_CLOCK_RATE_HZ;
use sotto_rtp::stats::SenderStats;
use sotto_zrtp::cache::SqliteCache;
use sotto_zrtp::Session;

use crate::audio::{self, Audio, PlayoutSetup, SenderSetup};
use crate::net::{self, NetSetup};
use crate::{CallConfig, CallEvent, EndReason, Error};

/// A request from the application or a media thread to the network thread.
#[derive(Debug)]
pub(crate) enum Command {
    SetSasVerified(bool),
    HangUp,
    /// A media thread failed; the call ends with this message.
    Failed(String),
}

/// Wakes the network thread out of its blocking read with an empty datagram to its own port,
/// so commands take effect at once rather than at the next deadline.
#[derive(Debug)]
pub(crate) struct Waker {
    socket: UdpSocket,
    to: SocketAddr,
}

impl Waker {
    fn new(socket: &UdpSocket, local: SocketAddr) -> io::Result<Self> {
        let ip = match local.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        Ok(Waker {
            socket: socket.try_clone()?,
            to: SocketAddr::new(ip, local.port()),
        })
    }

    pub(crate) fn try_clone(&self) -> io::Result<Self> {
        Ok(Waker {
            socket: self.socket.try_clone()?,
            to: self.to,
        })
    }

    /// Best effort: if the datagram is lost the network thread still wakes at its next
    /// deadline, which is never far off.
    pub(crate) fn wake(&self) {
        let _ = self.socket.send_to(&[], self.to);
    }
}

/// Counters and flags the three threads share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Set by the network thread when the call ends; the media threads stop at their next frame.
    pub(crate) stop: AtomicBool,
    /// What we sent, for SRs and RTT (the sender thread writes it once per packet, the
    /// network thread reads it every few seconds; neither is a real-time audio callback).
    pub(crate) sender_stats: Mutex<SenderStats>,
    pub(crate) packets_sent: AtomicU64,
    pub(crate) bytes_sent: AtomicU64,
    pub(crate) frames_played: AtomicU64,
    pub(crate) frames_concealed: AtomicU64,
    pub(crate) jitter_buffer_ms: AtomicU64,
    /// Loss the peer reports for our stream (RTCP fraction lost, in percent), which tells the
    /// Opus encoder how much in-band FEC to spend; `u32::MAX` until the first report.
    pub(crate) peer_loss_percent: AtomicU32,
}

impl Shared {
    fn new() -> Self {
        Shared {
            stop: AtomicBool::new(false),
            sender_stats: Mutex::new(SenderStats::new(OPUS_CLOCK_RATE_HZ)),
            packets_sent: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            frames_played: AtomicU64::new(0),
            frames_concealed: AtomicU64::new(0),
            jitter_buffer_ms: AtomicU64::new(0),
            peer_loss_percent: AtomicU32::new(u32::MAX),
        }
    }

    pub(crate) fn sender_stats(&self) -> std::sync::MutexGuard<'_, SenderStats> {
        // Plain counters: a panic mid-update leaves nothing worth refusing.
        self.sender_stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}

/// A secure audio call. [`Call::start`] returns at once; events come from
/// [`Call::next_event`] until [`CallEvent::Ended`], and [`Call::wait`] returns why it ended.
///
/// ```no_run
/// use std::time::Duration;
/// use sotto::{Call, CallConfig, CallEvent};
///
/// let mut config = CallConfig::new(
///     "0.0.0.0:0".parse()?,
///     Some("192.0.2.7:5004".parse()?),
///     "zid-cache.sqlite".into(),
/// );
/// config.duration = Some(Duration::from_secs(10));
/// let call = Call::start(config)?;
/// while let Some(event) = call.next_event(Duration::from_secs(60)) {
///     match event {
///         CallEvent::Sas { sas, .. } => println!("read aloud: {sas}"),
///         CallEvent::Ended(reason) => println!("ended: {reason}"),
///         _ => {}
///     }
/// }
/// let reason = call.wait();
/// # let _ = reason;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Call {
    local_addr: SocketAddr,
    events: Mutex<Receiver<CallEvent>>,
    commands: Sender<Command>,
    waker: Waker,
    net: Option<JoinHandle<EndReason>>,
}

impl Call {
    /// Binds the socket, opens the ZID cache and the audio input and output, and starts the
    /// call's threads. Returns at once; a caller starts ZRTP immediately, a listener waits for
    /// its peer.
    pub fn start(config: CallConfig) -> Result<Call, Error> {
        let input = Audio::Named(config.audio_in.clone());
        let output = Audio::Named(config.audio_out.clone());
        Self::start_inner(config, input, output)
    }

    /// Like [`Call::start`], but the sender thread reads `source` and the playout thread writes
    /// `sink` instead of opening `config.audio_in` and `config.audio_out`: for applications
    /// with an audio path of their own, and for measurements that time-stamp the samples (the
    /// `sotto bench latency` command). As with the file twins, `source.read` is called for one
    /// frame every ptime on the sender's clock and `sink.write` with one frame every ptime on
    /// the playout clock, from the call's threads, and only once the call is secure.
    pub fn start_with_audio(
        config: CallConfig,
        source: Box<dyn AudioSource>,
        sink: Box<dyn AudioSink>,
    ) -> Result<Call, Error> {
        Self::start_inner(config, Audio::Supplied(source), Audio::Supplied(sink))
    }

    fn start_inner(
        config: CallConfig,
        input: Audio<AudioInput, dyn AudioSource>,
        output: Audio<AudioOutput, dyn AudioSink>,
    ) -> Result<Call, Error> {
        if !matches!(config.ptime_ms, 10 | 20) {
            return Err(Error::Config(format!(
                "ptime must be 10 or 20 ms, not {}",
                config.ptime_ms
            )));
        }
        for (name, value) in [
            ("handshake timeout", config.handshake_timeout),
            ("peer timeout", config.peer_timeout),
            ("stats interval", config.stats_interval),
        ] {
            if value.is_zero() {
                return Err(Error::Config(format!("the {name} must not be zero")));
            }
        }
        let socket = UdpSocket::bind(config.bind).map_err(|source| {
            if source.kind() == io::ErrorKind::AddrInUse {
                Error::PortInUse { addr: config.bind }
            } else {
                Error::Bind {
                    addr: config.bind,
                    source,
                }
            }
        })?;
        let local_addr = socket.local_addr()?;
        let cache = SqliteCache::open(&config.cache_path).map_err(|source| Error::Cache {
            path: config.cache_path.clone(),
            source,
        })?;
        let ids = net::MediaIds::random();
        let mut zrtp = config.zrtp.clone();
        zrtp.ssrc = ids.ssrc;
        let session = Session::new(zrtp, Arc::new(cache), &mut rand_core::OsRng, Instant::now())
            .map_err(Error::ZrtpConfig)?;

        let shared = Arc::new(Shared::new());
        let (commands, command_rx) = mpsc::channel();
        let (events, event_rx) = mpsc::channel();
        let waker = Waker::new(&socket, local_addr)?;
        let frame_samples = audio::frame_samples(config.ptime_ms);
        let (jitter_in, jitter_out) = sotto_rt::jitter_buffer(sotto_rt::JitterConfig {
            frame_samples,
            clock_rate_hz: OPUS_CLOCK_RATE_HZ,
            // No fixed floor: the playout tick is phase-locked a few milliseconds behind the
            // packets (audio.rs), and the adaptive target covers the network's jitter.
            min_delay_ms: 0,
            ..sotto_rt::JitterConfig::default()
        });

        let sender = audio::spawn_sender(SenderSetup {
            input,
            ptime_ms: config.ptime_ms,
            bitrate_bps: config.bitrate_bps,
            socket: socket.try_clone()?,
            shared: Arc::clone(&shared),
            commands: commands.clone(),
            waker: waker.try_clone()?,
        })?;
        let playout = match audio::spawn_playout(PlayoutSetup {
            output,
            ptime_ms: config.ptime_ms,
            jitter: jitter_out,
            shared: Arc::clone(&shared),
            commands: commands.clone(),
            waker: waker.try_clone()?,
        }) {
            Ok(playout) => playout,
            Err(e) => {
                // Its own error, if any, matters less than the one that stopped the start.
                let _ = sender.join();
                return Err(e);
            }
        };
        // If the thread cannot start, dropping the setup releases the media threads.
        let net = net::spawn(NetSetup {
            config,
            socket,
            session,
            ids,
            jitter: jitter_in,
            shared,
            commands: command_rx,
            events,
            sender,
            playout,
        })?;
        Ok(Call {
            local_addr,
            events: Mutex::new(event_rx),
            commands,
            waker,
            net: Some(net),
        })
    }

    /// The local address of the call's socket (with the port picked when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The next event, waiting up to `timeout`; `None` if none came in that time or the call
    /// has ended and every event was taken.
    pub fn next_event(&self, timeout: Duration) -> Option<CallEvent> {
        let events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
        events.recv_timeout(timeout).ok()
    }

    /// Marks the peer's SAS verified (or not) in the ZID cache. Before the call is secure the
    /// choice is kept and applied once it is.
    pub fn set_sas_verified(&self, verified: bool) {
        self.command(Command::SetSasVerified(verified));
    }

    /// Ends the call: the threads stop, the output is finalised, and
    /// [`CallEvent::Ended`] with [`EndReason::HungUp`] follows (unless it had already ended).
    pub fn hang_up(&self) {
        self.command(Command::HangUp);
    }

    /// Waits until the call has ended and every thread has stopped; returns why it ended.
    /// Does not hang up: call [`Call::hang_up`] first to end it now.
    pub fn wait(mut self) -> EndReason {
        match self.net.take().map(JoinHandle::join) {
            Some(Ok(reason)) => reason,
            _ => EndReason::Failed("the network thread stopped unexpectedly".to_owned()),
        }
    }

    fn command(&self, command: Command) {
        // After the call ended nobody listens, and there is nothing left to do.
        if self.commands.send(command).is_ok() {
            self.waker.wake();
        }
    }
}

impl Drop for Call {
    /// A call dropped without [`Call::wait`] hangs up; its threads finish on their own.
    fn drop(&mut self) {
        if self.net.is_some() {
            self.command(Command::HangUp);
        }
    }
}
