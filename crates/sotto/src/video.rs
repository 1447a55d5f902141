//! The video sender and decode threads, and the counters they share with the network thread.
//!
//! Like the audio threads, each opens its input or output (and codec) on its own thread and
//! reports the result before [`Call::start`](crate::Call::start) returns, then waits for the
//! network thread to say the video stream is secure. Video never flows before; if the video
//! stream is never keyed (the peer has video off), they never start and simply stop with the
//! call.
//!
//! - The sender thread, paced by its own clock at the frame rate, reads a picture, encodes it
//!   (an IDR first and whenever the peer asks), packetizes it (RFC 6184, 1200-byte payloads),
//!   protects and sends it, keeping each protected packet in a retransmission history. Between
//!   frames it waits on the feedback channel, so NACKs and keyframe requests from the network
//!   thread are served at once.
//! - The decode thread takes whole access units from the network thread through a bounded
//!   queue, decodes them and writes the pictures to the video output. Until a keyframe has
//!   been decoded (at the start, and after the decoder refused a frame) it shows nothing rather
//!   than a broken picture, and asks the network thread for a keyframe.

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use sotto_media::video::{H264Decoder, H264Encoder, H264EncoderConfig, VideoInput, VideoOutput};
use sotto_media::{VideoSink, VideoSource};
use sotto_rtp::h264::{H264Packetizer, H264_CLOCK_RATE_HZ};
use sotto_rtp::rtcp::NackPair;
use sotto_rtp::srtp::SrtpSender;
use sotto_rtp::stats::SenderStats;
use sotto_rtp::video::RetransmitHistory;

use crate::audio::{report_failure, spawn_media, Io, MediaThread, MAX_LAG_FRAMES, MAX_PACKET_LEN};
use crate::call::{Command, Shared, Waker};
use crate::Error;

/// RTP payload type of our H.264 stream (dynamic, as every H.264 sender uses).
pub(crate) const VIDEO_PAYLOAD_TYPE: u8 = 96;
/// Packets kept for retransmission: a few seconds at 1 Mbit/s, more than a NACK can be late.
const HISTORY_PACKETS: usize = 1024;
/// Keyframes the peer asks for come at most this often; a request in between is served when
/// it has passed (one lost IDR does not need three more).
const MIN_KEYFRAME_INTERVAL: Duration = Duration::from_millis(300);
/// The same packet is resent at most once in an RTT, and never twice in this long.
const MIN_RESEND_INTERVAL: Duration = Duration::from_millis(10);
/// Resend interval while no RTT is known.
const DEFAULT_RESEND_INTERVAL: Duration = Duration::from_millis(50);
/// Access units waiting for the decoder. A repaired loss releases every frame held behind it
/// at once (six at 30 fps for the receiver's 200 ms wait), which must fit; a decoder that falls
/// further behind drops frames and asks for a keyframe rather than showing ever older pictures.
pub(crate) const DECODE_QUEUE_FRAMES: usize = 10;
/// How often an idle video thread looks at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(50);
/// How often the decode thread repeats its keyframe request while it waits for one.
const KEYFRAME_RETRY: Duration = Duration::from_millis(500);
/// While the video is muted a black picture goes out this often (and whenever the peer asks
/// for a keyframe): the peer's stream stays alive for about 1 kbit/s, where black at the full
/// frame rate costs some 20 kbit/s on the wire and an encode every frame.
const MUTED_PICTURE_INTERVAL: Duration = Duration::from_secs(1);

/// Counters and gauges of the video stream that the video threads share with the network
/// thread: relaxed atomics, read every stats interval.
#[derive(Debug)]
pub(crate) struct VideoShared {
    /// What we sent, for the video stream's SRs (90 kHz) and RTT.
    sender_stats: Mutex<SenderStats>,
    pub(crate) frames_sent: AtomicU64,
    pub(crate) keyframes_sent: AtomicU64,
    pub(crate) packets_sent: AtomicU64,
    pub(crate) bytes_sent: AtomicU64,
    pub(crate) retransmissions: AtomicU64,
    pub(crate) frames_shown: AtomicU64,
    pub(crate) frames_dropped: AtomicU64,
    pub(crate) decoder_errors: AtomicU64,
    /// Size of the last decoded picture, width in the high half; 0 before the first.
    pub(crate) resolution: AtomicU64,
    /// The last picture written to the output: its RTP timestamp in the high half and when,
    /// in ms since `epoch`, in the low half (one word, so the pair is never torn); `u64::MAX`
    /// before the first. The network thread feeds it to lip sync.
    pub(crate) rendered: AtomicU64,
    /// RTT of the video stream in ms, for the resend interval; `u32::MAX` while unknown.
    pub(crate) rtt_ms: AtomicU32,
    /// The decode thread wants a keyframe (set before it sends [`Command::VideoKeyframe`]).
    pub(crate) keyframe_wanted: AtomicBool,
    /// Set by [`Call::set_video_muted`](crate::Call::set_video_muted): the sender encodes
    /// black pictures in place of the input's.
    pub(crate) muted: AtomicBool,
}

impl VideoShared {
    pub(crate) fn new() -> Self {
        VideoShared {
            sender_stats: Mutex::new(SenderStats::new(H264_CLOCK_RATE_HZ)),
            frames_sent: AtomicU64::new(0),
            keyframes_sent: AtomicU64::new(0),
            packets_sent: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            retransmissions: AtomicU64::new(0),
            frames_shown: AtomicU64::new(0),
            frames_dropped: AtomicU64::new(0),
            decoder_errors: AtomicU64::new(0),
            resolution: AtomicU64::new(0),
            rendered: AtomicU64::new(u64::MAX),
            rtt_ms: AtomicU32::new(u32::MAX),
            keyframe_wanted: AtomicBool::new(false),
            muted: AtomicBool::new(false),
        }
    }

    pub(crate) fn sender_stats(&self) -> MutexGuard<'_, SenderStats> {
        // Plain counters: a panic mid-update leaves nothing worth refusing.
        self.sender_stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The size of the last decoded picture.
    pub(crate) fn resolution(&self) -> Option<(u32, u32)> {
        let packed = self.resolution.load(Ordering::Relaxed);
        (packed != 0).then_some(((packed >> 32) as u32, packed as u32))
    }

    /// The last picture shown: its RTP timestamp and when, relative to `epoch`.
    pub(crate) fn rendered(&self, epoch: Instant) -> Option<(u32, Instant)> {
        let packed = self.rendered.load(Ordering::Relaxed);
        (packed != u64::MAX).then(|| {
            let at = epoch + Duration::from_millis(u64::from(packed as u32));
            ((packed >> 32) as u32, at)
        })
    }
}

/// Packs an RTP timestamp and an instant after `epoch` into [`VideoShared::rendered`]'s word.
/// Milliseconds wrap after 49 days, far beyond a call.
fn pack_rendered(timestamp: u32, at: Instant, epoch: Instant) -> u64 {
    let ms = at.saturating_duration_since(epoch).as_millis() as u32;
    (u64::from(timestamp) << 32) | u64::from(ms)
}

/// The video threads of a call; `None` for a direction that is off.
#[derive(Debug)]
pub(crate) struct VideoThreads {
    pub(crate) sender: Option<MediaThread<VideoSenderGo>>,
    pub(crate) decoder: Option<MediaThread<()>>,
}

/// What the network thread tells the video sender about the peer's reception.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Feedback {
    /// One entry of an RTCP generic NACK: resend these packets if still held.
    Nack(NackPair),
    /// A PLI or FIR: send a keyframe.
    KeyframeRequest,
}

/// What the video sender needs once the video stream is secure.
#[derive(Debug)]
pub(crate) struct VideoSenderGo {
    pub(crate) srtp: SrtpSender,
    pub(crate) packetizer: H264Packetizer,
    /// RTP timestamp of the first frame (random, as RFC 3550 asks).
    pub(crate) timestamp: u32,
}

/// What the video sender thread is made of.
#[derive(Debug)]
pub(crate) struct VideoSenderSetup {
    pub(crate) input: Io<VideoInput, dyn VideoSource>,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) fps: u32,
    pub(crate) bitrate_bps: u32,
    pub(crate) socket: UdpSocket,
    pub(crate) shared: Arc<Shared>,
    pub(crate) feedback: Receiver<Feedback>,
    pub(crate) commands: Sender<Command>,
    pub(crate) waker: Waker,
}

/// Starts the video sender thread once its input and encoder are open; `None` when there is
/// no video input.
pub(crate) fn spawn_sender(
    setup: VideoSenderSetup,
) -> Result<Option<MediaThread<VideoSenderGo>>, Error> {
    let VideoSenderSetup {
        input,
        width,
        height,
        fps,
        bitrate_bps,
        socket,
        shared,
        feedback,
        commands,
        waker,
    } = setup;
    if matches!(input, Io::Named(VideoInput::None)) {
        return Ok(None);
    }
    let thread = spawn_media(
        "sotto-video-send",
        move || {
            let source = match input {
                Io::Supplied(source) => source,
                Io::Named(input) => input
                    .open(width, height, fps)
                    .map_err(Error::VideoInput)?
                    .ok_or_else(|| Error::Config("video input none has nothing to send".into()))?,
            };
            // A file keeps its own size; the encoder takes what the source gives.
            let (width, height) = source.size();
            let encoder = H264Encoder::new(&H264EncoderConfig {
                width,
                height,
                fps,
                bitrate_bps,
            })
            .map_err(Error::VideoCodec)?;
            Ok((source, encoder))
        },
        move |(source, encoder), go: Receiver<VideoSenderGo>| {
            let Ok(go) = go.recv() else {
                return Ok(());
            };
            let sender = FrameSender {
                source,
                encoder,
                interval: Duration::from_secs(1) / fps.max(1),
                socket,
                feedback,
                history: RetransmitHistory::new(HISTORY_PACKETS, MAX_PACKET_LEN),
                resend_budget: ResendBudget::new(bitrate_bps),
                encoded: Vec::new(),
                black: None,
                black_sent_at: None,
                commands: commands.clone(),
                waker: waker.try_clone().ok(),
                shared,
            };
            report_failure(sender.run(go), &commands, &waker)
        },
    )?;
    Ok(Some(thread))
}

/// A token bucket on retransmitted bytes: half the target bitrate on average, at most half a
/// second of the full rate at once, so repairing a burst of loss cannot swamp the link that
/// just lost it.
#[derive(Debug)]
struct ResendBudget {
    bytes_per_sec: f64,
    cap: f64,
    tokens: f64,
    at: Option<Instant>,
}

impl ResendBudget {
    fn new(bitrate_bps: u32) -> Self {
        let full = f64::from(bitrate_bps) / 8.0;
        ResendBudget {
            bytes_per_sec: full / 2.0,
            cap: full / 2.0,
            tokens: full / 2.0,
            at: None,
        }
    }

    /// Takes `len` bytes from the budget if they are there.
    fn take(&mut self, len: usize, now: Instant) -> bool {
        if let Some(at) = self.at {
            let refill = now.saturating_duration_since(at).as_secs_f64() * self.bytes_per_sec;
            self.tokens = (self.tokens + refill).min(self.cap);
        }
        self.at = Some(now);
        if self.tokens < len as f64 {
            return false;
        }
        self.tokens -= len as f64;
        true
    }
}

/// The sending side of the video stream.
struct FrameSender {
    source: Box<dyn VideoSource>,
    encoder: H264Encoder,
    interval: Duration,
    socket: UdpSocket,
    feedback: Receiver<Feedback>,
    history: RetransmitHistory,
    resend_budget: ResendBudget,
    /// The current access unit, reused from frame to frame.
    encoded: Vec<u8>,
    /// The black picture sent while the video is muted, made at the input's size.
    black: Option<sotto_media::VideoFrame>,
    /// When the last black picture of this stretch of mute went out.
    black_sent_at: Option<Instant>,
    commands: Sender<Command>,
    waker: Option<Waker>,
    shared: Arc<Shared>,
}

/// A black picture the size of `like`: `cached` if it is one, else a new one.
fn black_like(
    cached: Option<sotto_media::VideoFrame>,
    like: &sotto_media::VideoFrame,
) -> Result<sotto_media::VideoFrame, String> {
    let size = (like.width(), like.height());
    match cached {
        Some(black) if (black.width(), black.height()) == size => Ok(black),
        _ => {
            sotto_media::VideoFrame::black(size.0, size.1).map_err(|e| format!("video input: {e}"))
        }
    }
}

/// The sender's state between frames.
struct Sending {
    srtp: SrtpSender,
    packetizer: H264Packetizer,
    first_timestamp: u32,
    start: Instant,
    /// A keyframe was asked for and not yet sent.
    keyframe_wanted: bool,
    last_forced_keyframe: Option<Instant>,
    packet: [u8; MAX_PACKET_LEN],
}

impl FrameSender {
    /// One frame every interval until the call stops (or the input ends), on a clock that does
    /// not drift; feedback is served while waiting for the next frame.
    fn run(mut self, go: VideoSenderGo) -> Result<(), String> {
        let start = Instant::now();
        let mut state = Sending {
            srtp: go.srtp,
            packetizer: go.packetizer,
            first_timestamp: go.timestamp,
            start,
            keyframe_wanted: false,
            last_forced_keyframe: None,
            packet: [0u8; MAX_PACKET_LEN],
        };
        let mut next = start;
        let mut ended = false;
        while !self.shared.stopped() {
            if !ended {
                match self.source.read() {
                    Ok(Some(frame)) if self.shared.video.muted.load(Ordering::Relaxed) => {
                        let due = state.keyframe_wanted
                            || self.black_sent_at.is_none_or(|at| {
                                next.saturating_duration_since(at) >= MUTED_PICTURE_INTERVAL
                            });
                        if due {
                            let black = black_like(self.black.take(), &frame)?;
                            self.send_frame(&black, next, &mut state)?;
                            self.black = Some(black);
                            self.black_sent_at = Some(next);
                        }
                    }
                    Ok(Some(frame)) => {
                        self.black_sent_at = None;
                        self.send_frame(&frame, next, &mut state)?;
                    }
                    Ok(None) => {
                        ended = true;
                        let _ = self.commands.send(Command::VideoInputEnded);
                        if let Some(waker) = &self.waker {
                            waker.wake();
                        }
                    }
                    Err(e) => return Err(format!("reading the video input: {e}")),
                }
            }
            next = self.serve_until(next + self.interval, &mut state);
        }
        Ok(())
    }

    /// Encodes `frame`, captured at `captured`, and sends its packets.
    fn send_frame(
        &mut self,
        frame: &sotto_media::VideoFrame,
        captured: Instant,
        state: &mut Sending,
    ) -> Result<(), String> {
        let now = Instant::now();
        if state.keyframe_wanted
            && state
                .last_forced_keyframe
                .is_none_or(|at| now.saturating_duration_since(at) >= MIN_KEYFRAME_INTERVAL)
        {
            self.encoder.request_keyframe();
            state.keyframe_wanted = false;
            state.last_forced_keyframe = Some(now);
        }
        let encoded = self
            .encoder
            .encode(frame, &mut self.encoded)
            .map_err(|e| format!("h264 encoder: {e}"))?;
        if encoded.skipped {
            // The encoder's rate control dropped this picture; the next one follows.
            return Ok(());
        }
        let video = &self.shared.video;
        video.frames_sent.fetch_add(1, Ordering::Relaxed);
        if encoded.keyframe {
            video.keyframes_sent.fetch_add(1, Ordering::Relaxed);
        }
        // The 90 kHz timestamp follows the capture clock, so the SR's NTP/RTP pair (taken
        // from the capture instant below) maps each frame to when it was captured.
        let elapsed = captured.saturating_duration_since(state.start).as_nanos();
        let ticks = elapsed * u128::from(H264_CLOCK_RATE_HZ) / 1_000_000_000;
        let timestamp = state.first_timestamp.wrapping_add(ticks as u32);
        let mut packets = state.packetizer.start_access_unit(&self.encoded, timestamp);
        while let Some(written) = packets.next_packet(&mut state.packet) {
            let rtp_len = match written {
                Ok(len) => len,
                Err(sotto_rtp::Error::BufferTooSmall { .. }) => {
                    return Err("rtp packetizer: a packet outgrew the datagram buffer".to_owned())
                }
                // A NAL unit that cannot be sent was skipped; the rest of the frame goes on.
                Err(_) => continue,
            };
            let srtp_len = state
                .srtp
                .protect_rtp(&mut state.packet, rtp_len)
                .map_err(|e| format!("srtp: {e}"))?;
            let datagram = &state.packet[..srtp_len];
            let sequence = u16::from_be_bytes([datagram[2], datagram[3]]);
            let now = Instant::now();
            self.history.store(sequence, now, datagram);
            // A failed send loses one packet, which the peer's NACK may recover.
            if self.shared.send_media(&self.socket, datagram) {
                video
                    .sender_stats()
                    .on_packet_sent(timestamp, rtp_len - RTP_HEADER_LEN, captured);
                video.packets_sent.fetch_add(1, Ordering::Relaxed);
                video
                    .bytes_sent
                    .fetch_add(srtp_len as u64, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    /// Serves feedback until `deadline` and returns it, or restarts the clock from now if the
    /// thread fell more than [`MAX_LAG_FRAMES`] behind.
    fn serve_until(&mut self, deadline: Instant, state: &mut Sending) -> Instant {
        loop {
            let now = Instant::now();
            if now > deadline + self.interval * MAX_LAG_FRAMES {
                return now;
            }
            if now >= deadline || self.shared.stopped() {
                return deadline;
            }
            // Never blocks long, so a stop is seen soon even at one frame a second.
            match self.feedback.recv_timeout((deadline - now).min(STOP_POLL)) {
                Ok(Feedback::Nack(pair)) => self.resend(pair),
                Ok(Feedback::KeyframeRequest) => state.keyframe_wanted = true,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    // The network thread is gone; the stop flag follows at once.
                    std::thread::sleep((deadline - now).min(STOP_POLL));
                }
            }
        }
    }

    /// Resends the packets a NACK entry names, if still held and within the budget.
    fn resend(&mut self, pair: NackPair) {
        let rtt = self.shared.video.rtt_ms.load(Ordering::Relaxed);
        // A packet goes again on its first NACK at once, and again only an RTT later: a second
        // NACK sooner was sent before the first retransmission could arrive.
        let min_interval = if rtt == u32::MAX {
            DEFAULT_RESEND_INTERVAL
        } else {
            Duration::from_millis(u64::from(rtt)).max(MIN_RESEND_INTERVAL)
        };
        let video = &self.shared.video;
        for sequence in pair.lost() {
            let now = Instant::now();
            let Some(packet) = self.history.resend(sequence, now, min_interval) else {
                continue;
            };
            if !self.resend_budget.take(packet.len(), now) {
                return;
            }
            if self.shared.send_media(&self.socket, packet) {
                video.retransmissions.fetch_add(1, Ordering::Relaxed);
                video
                    .bytes_sent
                    .fetch_add(packet.len() as u64, Ordering::Relaxed);
            }
        }
    }
}

/// The RTP fixed header our packetizer writes (no CSRCs, no extension).
const RTP_HEADER_LEN: usize = 12;

/// One access unit for the decode thread.
#[derive(Debug)]
pub(crate) struct DecodeJob {
    /// Annex-B bytes; the buffer goes back to the network thread once decoded.
    pub(crate) annexb: Vec<u8>,
    /// RTP timestamp (90 kHz), for lip sync.
    pub(crate) timestamp: u32,
    /// Whether it holds an IDR picture.
    pub(crate) keyframe: bool,
}

/// What the decode thread is made of.
#[derive(Debug)]
pub(crate) struct VideoDecodeSetup {
    pub(crate) output: Io<VideoOutput, dyn VideoSink>,
    pub(crate) fps: u32,
    pub(crate) jobs: Receiver<DecodeJob>,
    /// Emptied buffers go back to the network thread here, so frames allocate nothing once
    /// the pool has grown.
    pub(crate) spare: SyncSender<Vec<u8>>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) commands: Sender<Command>,
    pub(crate) waker: Waker,
}

/// Starts the decode thread once its output and decoder are open; `None` when there is no
/// video output.
pub(crate) fn spawn_decoder(setup: VideoDecodeSetup) -> Result<Option<MediaThread<()>>, Error> {
    let VideoDecodeSetup {
        output,
        fps,
        jobs,
        spare,
        shared,
        commands,
        waker,
    } = setup;
    if matches!(output, Io::Named(VideoOutput::None)) {
        return Ok(None);
    }
    let thread = spawn_media(
        "sotto-video-decode",
        move || {
            let sink = match output {
                Io::Supplied(sink) => sink,
                Io::Named(output) => {
                    output
                        .open(fps)
                        .map_err(Error::VideoOutput)?
                        .ok_or_else(|| {
                            Error::Config("video output none has nowhere to write".into())
                        })?
                }
            };
            let decoder = H264Decoder::new().map_err(Error::VideoCodec)?;
            Ok((sink, decoder))
        },
        move |(mut sink, decoder), go: Receiver<()>| {
            let shown = match go.recv() {
                Ok(()) => FrameShower {
                    decoder,
                    jobs,
                    spare,
                    shared,
                    commands: commands.clone(),
                    waker: waker.try_clone().ok(),
                }
                .run(sink.as_mut()),
                // Video never became secure: nothing to show, but a file is still closed.
                Err(_) => Ok(()),
            };
            let finished = sink
                .finish()
                .map_err(|e| format!("finishing the video output: {e}"));
            report_failure(shown.and(finished), &commands, &waker)
        },
    )?;
    Ok(Some(thread))
}

/// The showing side of the video stream.
struct FrameShower {
    decoder: H264Decoder,
    jobs: Receiver<DecodeJob>,
    spare: SyncSender<Vec<u8>>,
    shared: Arc<Shared>,
    commands: Sender<Command>,
    waker: Option<Waker>,
}

impl FrameShower {
    fn run(mut self, sink: &mut dyn VideoSink) -> Result<(), String> {
        // Nothing decodes before a keyframe; after a decoder error the picture would be broken
        // until one comes. Either way: show the last good picture and ask for a keyframe.
        let mut waiting = true;
        let mut last_request: Option<Instant> = None;
        while !self.shared.stopped() {
            let job = match self.jobs.recv_timeout(STOP_POLL) {
                Ok(job) => job,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let video = &self.shared.video;
            if waiting && !job.keyframe {
                video.frames_dropped.fetch_add(1, Ordering::Relaxed);
                self.ask_for_keyframe(&mut last_request);
                let _ = self.spare.try_send(job.annexb);
                continue;
            }
            match self.decoder.decode(&job.annexb) {
                Ok(Some(frame)) => {
                    waiting = false;
                    sink.write(&frame)
                        .map_err(|e| format!("writing the video output: {e}"))?;
                    let now = Instant::now();
                    video.frames_shown.fetch_add(1, Ordering::Relaxed);
                    video.resolution.store(
                        (u64::from(frame.width()) << 32) | u64::from(frame.height()),
                        Ordering::Relaxed,
                    );
                    video.rendered.store(
                        pack_rendered(job.timestamp, now, self.shared.epoch),
                        Ordering::Relaxed,
                    );
                }
                // The decoder holds the picture back (it has not been seen to do so with the
                // streams we send); a keyframe was fed either way.
                Ok(None) => waiting &= !job.keyframe,
                Err(_) => {
                    video.decoder_errors.fetch_add(1, Ordering::Relaxed);
                    waiting = true;
                    last_request = None;
                    self.ask_for_keyframe(&mut last_request);
                }
            }
            let _ = self.spare.try_send(job.annexb);
        }
        Ok(())
    }

    /// Asks the network thread for a keyframe (it sends the PLI), at most every
    /// [`KEYFRAME_RETRY`].
    fn ask_for_keyframe(&self, last_request: &mut Option<Instant>) {
        let now = Instant::now();
        if last_request.is_some_and(|at| now.saturating_duration_since(at) < KEYFRAME_RETRY) {
            return;
        }
        *last_request = Some(now);
        self.shared
            .video
            .keyframe_wanted
            .store(true, Ordering::Release);
        if self.commands.send(Command::VideoKeyframe).is_ok() {
            if let Some(waker) = &self.waker {
                waker.wake();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_word_round_trips() {
        let epoch = Instant::now();
        let at = epoch + Duration::from_millis(123_456);
        let shared = VideoShared::new();
        assert_eq!(shared.rendered(epoch), None);
        shared
            .rendered
            .store(pack_rendered(0xdead_beef, at, epoch), Ordering::Relaxed);
        assert_eq!(shared.rendered(epoch), Some((0xdead_beef, at)));
    }

    #[test]
    fn resend_budget_refills_at_half_the_bitrate() {
        let t0 = Instant::now();
        // 80 kbit/s: 10 000 bytes a second, half of it for resends, 5000 at once.
        let mut budget = ResendBudget::new(80_000);
        assert!(budget.take(5000, t0));
        assert!(!budget.take(1, t0));
        assert!(!budget.take(1200, t0 + Duration::from_millis(200)));
        assert!(budget.take(1200, t0 + Duration::from_millis(500)));
        // Never more than the cap, however long it was idle.
        assert!(!budget.take(5001, t0 + Duration::from_secs(60)));
        assert!(budget.take(5000, t0 + Duration::from_secs(60)));
    }
}
