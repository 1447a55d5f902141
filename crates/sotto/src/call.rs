//! [`Call`]: one secure audio (and video) call on one UDP socket, run by three threads, and
//! two more with video.
//!
//! - The network thread owns the receiving side of the socket and the ZRTP sessions. Its read
//!   timeout is the next deadline (a ZRTP timer, RTCP, statistics, the video receiver, a
//!   timeout). Once ZRTP is secure it keys SRTP, unprotects the peer's packets into the jitter
//!   buffer, sends RTCP and starts the two audio threads; with video on it then keys the video
//!   stream by ZRTP Multistream, assembles the peer's frames (asking for lost packets and
//!   keyframes) and starts the video threads. It ends the call and reports why.
//! - The sender thread, paced by its own clock, reads a frame of audio, Opus-encodes,
//!   packetizes and protects it and sends it to the peer.
//! - The playout thread, paced by its own clock, pops the jitter buffer, decodes or conceals,
//!   and writes to the audio output.
//! - The video sender and decode threads: see [`video`](crate::video).
//!
//! Nothing is sent but ZRTP until ZRTP is secure: the media threads wait for keys.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sotto_media::video::{VideoInput, VideoOutput};
use sotto_media::{AudioInput, AudioOutput, AudioSink, AudioSource, VideoSink, VideoSource};
use sotto_rtp::opus::OPUS_CLOCK_RATE_HZ;
use sotto_rtp::stats::SenderStats;
use sotto_zrtp::cache::{SqliteCache, ZidCache};
use sotto_zrtp::Session;

use crate::audio::{self, Io, PlayoutSetup, SenderSetup};
use crate::net::{self, MediaIds, NetSetup};
use crate::signaling::IceSetup;
use crate::video::{self, VideoDecodeSetup, VideoSenderSetup, VideoShared, VideoThreads};
use crate::video_net::VideoNetSetup;
use crate::{CallConfig, CallEvent, EndReason, Error};

/// A request from the application or a media thread to the network thread.
#[derive(Debug)]
pub(crate) enum Command {
    SetSasVerified(bool),
    HangUp,
    /// A media thread failed; the call ends with this message.
    Failed(String),
    /// The video decode thread wants a keyframe (its flag in [`VideoShared`] says so too).
    VideoKeyframe,
    /// The video input ended.
    VideoInputEnded,
    /// Look for a new path: gather again and reply with a restart offer line.
    RestartPath(Sender<Result<String, Error>>),
    /// The peer's restart offer line: reply with the answer line and check the new path.
    AnswerRestart(String, Sender<Result<String, Error>>),
    /// The answer to our restart offer: check the new path.
    AcceptRestart(String, Sender<Result<(), Error>>),
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
    /// Set by [`Call::set_muted`]: the sender encodes silence in place of the input.
    pub(crate) muted: AtomicBool,
    /// The video stream's counters.
    pub(crate) video: VideoShared,
    /// Where the media threads send: set once the call is secure, moved when the network
    /// path changes. Read once per packet by the sender threads, which are not audio
    /// callbacks.
    peer: Mutex<Option<SocketAddr>>,
    /// Origin of the times the threads share as integers.
    pub(crate) epoch: Instant,
}

impl Shared {
    pub(crate) fn new() -> Self {
        Shared {
            stop: AtomicBool::new(false),
            sender_stats: Mutex::new(SenderStats::new(OPUS_CLOCK_RATE_HZ)),
            packets_sent: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            frames_played: AtomicU64::new(0),
            frames_concealed: AtomicU64::new(0),
            jitter_buffer_ms: AtomicU64::new(0),
            peer_loss_percent: AtomicU32::new(u32::MAX),
            muted: AtomicBool::new(false),
            video: VideoShared::new(),
            peer: Mutex::new(None),
            epoch: Instant::now(),
        }
    }

    pub(crate) fn sender_stats(&self) -> std::sync::MutexGuard<'_, SenderStats> {
        // Plain counters: a panic mid-update leaves nothing worth refusing.
        self.sender_stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends a media datagram to the peer's current address; whether it left (a failed send
    /// loses one packet, and a peer that is really gone ends the call by the peer timeout).
    pub(crate) fn send_media(&self, socket: &UdpSocket, datagram: &[u8]) -> bool {
        let peer = *self.peer.lock().unwrap_or_else(PoisonError::into_inner);
        peer.is_some_and(|peer| socket.send_to(datagram, peer).is_ok())
    }

    pub(crate) fn set_peer(&self, peer: SocketAddr) {
        *self.peer.lock().unwrap_or_else(PoisonError::into_inner) = Some(peer);
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
    shared: Arc<Shared>,
    net: Option<JoinHandle<EndReason>>,
}

impl Call {
    /// Binds the socket, opens the ZID cache and the audio input and output, and starts the
    /// call's threads. Returns at once; a caller starts ZRTP immediately, a listener waits for
    /// its peer.
    pub fn start(config: CallConfig) -> Result<Call, Error> {
        let media = Media::named(&config);
        Self::start_inner(config, media)
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
        let mut media = Media::named(&config);
        media.supply_audio(source, sink);
        Self::start_inner(config, media)
    }

    /// Like [`Call::start`], but the video sender thread reads `source` (if given) instead of
    /// opening `config.video_in`, and the video decode thread writes `sink` (if given) instead
    /// of opening `config.video_out`: for applications that show video themselves, and for
    /// measurements that time-stamp pictures. Giving either turns video on. `source.read` is
    /// called once per frame interval (`config.video_fps`) on the sender's clock, and
    /// `sink.write` with each decoded picture, from the call's threads, and only once the
    /// video stream is secure. The source's size is the size sent.
    pub fn start_with_video(
        config: CallConfig,
        source: Option<Box<dyn VideoSource>>,
        sink: Option<Box<dyn VideoSink>>,
    ) -> Result<Call, Error> {
        let mut media = Media::named(&config);
        media.supply_video(source, sink);
        Self::start_inner(config, media)
    }

    fn start_inner(config: CallConfig, media: Media) -> Result<Call, Error> {
        config.validate()?;
        let bound = Bound::new(&config)?;
        Self::launch(config, media, bound, None)
    }

    /// Starts the threads of a call whose socket, cache and ZRTP session exist; with `ice`
    /// the network thread finds the path to the peer before ZRTP starts.
    pub(crate) fn launch(
        config: CallConfig,
        media: Media,
        bound: Bound,
        ice: Option<IceSetup>,
    ) -> Result<Call, Error> {
        let video_on = media.video_on();
        let Media {
            audio_in: input,
            audio_out: output,
            video_in,
            video_out,
        } = media;
        let Bound {
            socket,
            local_addr,
            cache,
            ids,
            zrtp,
            session,
        } = bound;
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
        let video = if video_on {
            let started = start_video(
                &config,
                VideoIo {
                    input: video_in,
                    output: video_out,
                },
                &socket,
                &shared,
                &commands,
                &waker,
            );
            match started.map(|(threads, channels)| VideoNetSetup {
                zrtp,
                cache,
                ids: ids.another_stream(),
                threads,
                feedback: channels.0,
                jobs: channels.1,
                spare: channels.2,
            }) {
                Ok(setup) => Some(setup),
                Err(e) => {
                    let _ = sender.join();
                    let _ = playout.join();
                    return Err(e);
                }
            }
        } else {
            None
        };
        // If the thread cannot start, dropping the setup releases the media threads.
        let net = net::spawn(NetSetup {
            config,
            socket,
            session,
            ids,
            jitter: jitter_in,
            shared: Arc::clone(&shared),
            commands: command_rx,
            events,
            sender,
            playout,
            video,
            ice,
        })?;
        Ok(Call {
            local_addr,
            events: Mutex::new(event_rx),
            commands,
            waker,
            shared,
            net: Some(net),
        })
    }

    /// The local address of the call's socket (with the port picked when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The addresses a peer can call this call at: the bound address if it names one, else
    /// this machine's interface addresses of its family with the call's port (loopback only
    /// when there is nothing else). What a listener shows the person who will call it.
    pub fn reachable_at(&self) -> Result<Vec<SocketAddr>, Error> {
        crate::signaling::host_addresses(self.local_addr)
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

    /// Mutes the microphone (or whatever audio input the call has) or unmutes it, from the
    /// next frame on: while muted the call encodes silence in place of what the input gives,
    /// so nothing said reaches the peer, and with DTX it sends a comfort-noise packet every
    /// 400 ms instead of 50 a second. The input keeps running, so unmuting is immediate.
    /// Video is unaffected. Works before the call is secure too.
    pub fn set_muted(&self, muted: bool) {
        self.shared.muted.store(muted, Ordering::Relaxed);
    }

    /// Turns the camera (or whatever video input the call has) off or back on, from the next
    /// picture on: while off the call sends a black picture once a second (and when the peer
    /// asks for a keyframe) in place of the input's, so the peer sees black rather than a
    /// frozen last picture, nothing of the camera reaches it, and the stream costs about
    /// 1 kbit/s. The input keeps running, so turning it back on is immediate. Audio is
    /// unaffected; a call without video ignores it.
    pub fn set_video_muted(&self, muted: bool) {
        self.shared.video.muted.store(muted, Ordering::Relaxed);
    }

    /// Ends the call: the threads stop, the output is finalised, and
    /// [`CallEvent::Ended`] with [`EndReason::HungUp`] follows (unless it had already ended).
    pub fn hang_up(&self) {
        self.command(Command::HangUp);
    }

    /// Starts looking for a new path to the peer, for when the network changed (another
    /// Wi-Fi, a mobile network) and the peer can no longer be reached: gathers candidates again
    /// on the call's socket (waiting at most the path's `gather_timeout`) and returns a
    /// restart offer line for the application to carry to the peer, like the first offer.
    /// The call goes on meanwhile; once the peer's answer is given to
    /// [`Call::accept_path_restart`], checks find the new path and
    /// [`CallEvent::Connected`] reports it. ZRTP and SRTP keys stay as they are. Only for a
    /// call set up by offer and answer ([`Call::prepare`]).
    pub fn restart_path(&self) -> Result<String, Error> {
        self.ask(Command::RestartPath)
    }

    /// Answers the peer's restart offer line (from its [`Call::restart_path`]): gathers
    /// candidates again, starts checking the new path and returns the answer line to carry
    /// back.
    pub fn answer_path_restart(&self, offer: &str) -> Result<String, Error> {
        self.ask(|reply| Command::AnswerRestart(offer.to_owned(), reply))
    }

    /// Takes the peer's answer to [`Call::restart_path`]'s offer and checks the new path.
    pub fn accept_path_restart(&self, answer: &str) -> Result<(), Error> {
        self.ask(|reply| Command::AcceptRestart(answer.to_owned(), reply))
    }

    /// Sends the network thread a command that replies, and waits for the reply.
    fn ask<T>(
        &self,
        command: impl FnOnce(Sender<Result<T, Error>>) -> Command,
    ) -> Result<T, Error> {
        let (reply, answer) = mpsc::channel();
        self.command(command(reply));
        // The thread drops the reply channel unanswered only when the call has ended.
        answer.recv().unwrap_or_else(|_| {
            Err(Error::Config(
                "the call has ended; a path restart needs a running call".to_owned(),
            ))
        })
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

/// A call's socket, ZID cache, stream identifiers and audio-stream ZRTP session: what exists
/// before its threads start (and before its offer is written, which carries the session's Hello
/// hash).
#[derive(Debug)]
pub(crate) struct Bound {
    pub(crate) socket: UdpSocket,
    pub(crate) local_addr: SocketAddr,
    cache: Arc<dyn ZidCache>,
    ids: MediaIds,
    /// The ZRTP settings with the call's SSRC, for the video stream's session.
    zrtp: sotto_zrtp::SessionConfig,
    pub(crate) session: Session,
}

impl Bound {
    /// Binds `config.bind`, opens the ZID cache and creates the ZRTP session.
    pub(crate) fn new(config: &CallConfig) -> Result<Bound, Error> {
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
        let cache: Arc<dyn ZidCache> = Arc::new(cache);
        let ids = MediaIds::random();
        let mut zrtp = config.zrtp.clone();
        zrtp.ssrc = ids.ssrc;
        let session = Session::new(
            zrtp.clone(),
            Arc::clone(&cache),
            &mut rand_core::OsRng,
            Instant::now(),
        )
        .map_err(Error::ZrtpConfig)?;
        Ok(Bound {
            socket,
            local_addr,
            cache,
            ids,
            zrtp,
            session,
        })
    }
}

/// Where a call's media comes from and goes: named in its configuration or supplied.
pub(crate) struct Media {
    audio_in: Io<AudioInput, dyn AudioSource>,
    audio_out: Io<AudioOutput, dyn AudioSink>,
    video_in: Io<VideoInput, dyn VideoSource>,
    video_out: Io<VideoOutput, dyn VideoSink>,
}

impl Media {
    pub(crate) fn named(config: &CallConfig) -> Self {
        Media {
            audio_in: Io::Named(config.audio_in.clone()),
            audio_out: Io::Named(config.audio_out.clone()),
            video_in: Io::Named(config.video_in.clone()),
            video_out: Io::Named(config.video_out.clone()),
        }
    }

    /// Whether the call has video: a video input or output named or supplied.
    pub(crate) fn video_on(&self) -> bool {
        !matches!(self.video_in, Io::Named(VideoInput::None))
            || !matches!(self.video_out, Io::Named(VideoOutput::None))
    }

    pub(crate) fn supply_audio(&mut self, source: Box<dyn AudioSource>, sink: Box<dyn AudioSink>) {
        self.audio_in = Io::Supplied(source);
        self.audio_out = Io::Supplied(sink);
    }

    pub(crate) fn supply_video(
        &mut self,
        source: Option<Box<dyn VideoSource>>,
        sink: Option<Box<dyn VideoSink>>,
    ) {
        if let Some(source) = source {
            self.video_in = Io::Supplied(source);
        }
        if let Some(sink) = sink {
            self.video_out = Io::Supplied(sink);
        }
    }
}

/// The video input and output of a call with video on.
struct VideoIo {
    input: Io<VideoInput, dyn VideoSource>,
    output: Io<VideoOutput, dyn VideoSink>,
}

/// The channels between the network thread and the video threads, its ends.
type VideoChannels = (
    mpsc::SyncSender<video::Feedback>,
    mpsc::SyncSender<video::DecodeJob>,
    Receiver<Vec<u8>>,
);

/// Feedback entries (NACK pairs, keyframe requests) waiting for the video sender.
const FEEDBACK_QUEUE: usize = 256;

/// Opens the video input and output on their threads; returns the threads (`None` for a
/// direction that is off) and the network thread's ends of their channels.
fn start_video(
    config: &CallConfig,
    io: VideoIo,
    socket: &UdpSocket,
    shared: &Arc<Shared>,
    commands: &Sender<Command>,
    waker: &Waker,
) -> Result<(VideoThreads, VideoChannels), Error> {
    let (feedback, feedback_rx) = mpsc::sync_channel(FEEDBACK_QUEUE);
    let (jobs, jobs_rx) = mpsc::sync_channel(video::DECODE_QUEUE_FRAMES);
    let (spare, spare_rx) = mpsc::sync_channel(video::DECODE_QUEUE_FRAMES + 2);
    let sender = video::spawn_sender(VideoSenderSetup {
        input: io.input,
        width: config.video_width,
        height: config.video_height,
        fps: config.video_fps,
        bitrate_bps: config.video_bitrate_bps,
        socket: socket.try_clone()?,
        shared: Arc::clone(shared),
        feedback: feedback_rx,
        commands: commands.clone(),
        waker: waker.try_clone()?,
    })?;
    let decoder = video::spawn_decoder(VideoDecodeSetup {
        output: io.output,
        fps: config.video_fps,
        jobs: jobs_rx,
        spare,
        shared: Arc::clone(shared),
        commands: commands.clone(),
        waker: waker.try_clone()?,
    });
    let decoder = match decoder {
        Ok(decoder) => decoder,
        Err(e) => {
            if let Some(sender) = sender {
                let _ = sender.join();
            }
            return Err(e);
        }
    };
    Ok((VideoThreads { sender, decoder }, (feedback, jobs, spare_rx)))
}
