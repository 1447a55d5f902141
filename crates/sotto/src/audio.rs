//! The sender and playout threads, and the audio inputs and outputs they open.
//!
//! Each thread opens its own input or output (a device stream may have to stay on the thread
//! that opened it) and reports the result before [`Call::start`](crate::Call::start) returns,
//! so a missing file or device is a clear error at once. Then it waits for the network thread
//! to say the call is secure; media never flows before.

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use sotto_media::{
    AudioInput, AudioOutput, AudioSink, AudioSource, CaptureStream, NullSink, OpusDecoder,
    OpusEncoder, PlaybackStream, SilenceSource, ToneSource, WavSink, WavSource, SAMPLE_RATE_HZ,
};
use sotto_rt::{AudioConsumer, AudioProducer, JitterOutput, Playout};
use sotto_rtp::opus::is_dtx;
use sotto_rtp::srtp::SrtpSender;
use sotto_rtp::OpusPacketizer;

use crate::call::{Command, Shared, Waker};
use crate::Error;

/// Frequency of the tone [`AudioInput::Tone`] sends.
pub const TONE_FREQ_HZ: f32 = 440.0;
/// Its amplitude, as a fraction of full scale.
pub const TONE_AMPLITUDE: f32 = 0.3;

/// Room between a device callback and the codec side: half a second absorbs scheduling hiccups.
const DEVICE_RING_SAMPLES: usize = SAMPLE_RATE_HZ as usize / 2;
/// The longest frame an Opus decoder may return (120 ms at 48 kHz).
const MAX_DECODED_SAMPLES: usize = 5760;
/// Frames a paced thread may fall behind (the machine was suspended, say) before it gives up
/// catching up and restarts its clock, rather than sending a burst.
pub(crate) const MAX_LAG_FRAMES: u32 = 5;
/// Largest datagram we build: an Ethernet MTU.
pub(crate) const MAX_PACKET_LEN: usize = 1500;

/// Samples in a frame of `ptime_ms` at 48 kHz.
pub(crate) fn frame_samples(ptime_ms: u32) -> u32 {
    SAMPLE_RATE_HZ / 1000 * ptime_ms
}

/// A media thread waiting for its start signal `G`; it returns an error message if it failed.
#[derive(Debug)]
pub(crate) struct MediaThread<G> {
    go: SyncSender<G>,
    handle: JoinHandle<Result<(), String>>,
}

impl<G> MediaThread<G> {
    /// Lets the thread start its media. A thread that already died reports why in `join`.
    pub(crate) fn start(&self, go: G) {
        let _ = self.go.send(go);
    }

    /// Stops a thread (the caller has set the stop flag, or never started it) and waits for it.
    pub(crate) fn join(self) -> Result<(), String> {
        drop(self.go);
        self.handle
            .join()
            .unwrap_or_else(|_| Err("a media thread stopped unexpectedly".to_owned()))
    }
}

/// Spawns a thread named `name` that runs `open`, reports its result, then waits for `G` and
/// runs `run`. Returns once `open` has finished.
pub(crate) fn spawn_media<G: Send + 'static, T: 'static>(
    name: &str,
    open: impl FnOnce() -> Result<T, Error> + Send + 'static,
    run: impl FnOnce(T, Receiver<G>) -> Result<(), String> + Send + 'static,
) -> Result<MediaThread<G>, Error> {
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), Error>>();
    let (go, go_rx) = mpsc::sync_channel(1);
    let handle = thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || match open() {
            Ok(opened) => {
                let _ = ready_tx.send(Ok(()));
                run(opened, go_rx)
            }
            Err(e) => {
                let _ = ready_tx.send(Err(e));
                Ok(())
            }
        })?;
    let thread = MediaThread { go, handle };
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(thread),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => Err(Error::Io(std::io::Error::other(
            thread
                .join()
                .err()
                .unwrap_or_else(|| "a media thread stopped unexpectedly".to_owned()),
        ))),
    }
}

/// Passes a media thread's result through, first telling the network thread of a failure so
/// that the call ends with its message at once.
pub(crate) fn report_failure(
    result: Result<(), String>,
    commands: &Sender<Command>,
    waker: &Waker,
) -> Result<(), String> {
    if let Err(message) = &result {
        let _ = commands.send(Command::Failed(message.clone()));
        waker.wake();
    }
    result
}

/// What the sender thread needs once the call is secure.
#[derive(Debug)]
pub(crate) struct SenderGo {
    pub(crate) srtp: SrtpSender,
    pub(crate) packetizer: OpusPacketizer,
}

/// Where a media thread's audio or video comes from or goes: named in the configuration
/// (`S`), or supplied by the application through
/// [`Call::start_with_audio`](crate::Call::start_with_audio) or
/// [`Call::start_with_video`](crate::Call::start_with_video).
pub(crate) enum Io<S, T: ?Sized> {
    Named(S),
    Supplied(Box<T>),
}

impl<S: std::fmt::Debug, T: ?Sized> std::fmt::Debug for Io<S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Io::Named(spec) => f.debug_tuple("Named").field(spec).finish(),
            Io::Supplied(_) => f.write_str("Supplied(..)"),
        }
    }
}

/// What the sender thread is made of.
#[derive(Debug)]
pub(crate) struct SenderSetup {
    pub(crate) input: Io<AudioInput, dyn AudioSource>,
    pub(crate) ptime_ms: u32,
    pub(crate) bitrate_bps: i32,
    pub(crate) socket: UdpSocket,
    pub(crate) shared: Arc<Shared>,
    pub(crate) commands: Sender<Command>,
    pub(crate) waker: Waker,
}

/// The audio input: a source, and the device stream feeding it if it is a device.
struct Input {
    source: Box<dyn AudioSource>,
    _capture: Option<CaptureStream>,
    /// Set when media starts: until then the capture callback discards what it hears, so the
    /// ring does not start the call full of stale audio (half a second of added delay).
    live: Arc<AtomicBool>,
}

fn open_input(input: Io<AudioInput, dyn AudioSource>) -> Result<Input, Error> {
    let live = Arc::new(AtomicBool::new(false));
    let input = match input {
        Io::Named(input) => input,
        Io::Supplied(source) => {
            return Ok(Input {
                source,
                _capture: None,
                live,
            })
        }
    };
    let source: Box<dyn AudioSource> = match input {
        AudioInput::Default => {
            let (mut producer, consumer) = sotto_rt::audio_ring(DEVICE_RING_SAMPLES);
            let capturing = Arc::clone(&live);
            let capture = CaptureStream::open(None, move |samples: &[i16]| {
                if capturing.load(Ordering::Acquire) {
                    // A full ring drops samples; the ring counts them.
                    producer.push_rt(samples);
                }
            })
            .map_err(Error::AudioInput)?;
            return Ok(Input {
                source: Box::new(RingSource(consumer)),
                _capture: Some(capture),
                live,
            });
        }
        AudioInput::None => Box::new(SilenceSource),
        AudioInput::Tone => Box::new(ToneSource::new(TONE_FREQ_HZ, TONE_AMPLITUDE)),
        AudioInput::File(path) => Box::new(WavSource::open(&path).map_err(Error::AudioInput)?),
    };
    Ok(Input {
        source,
        _capture: None,
        live,
    })
}

/// Capture samples the device callback left in the ring; silence where it fell short.
struct RingSource(AudioConsumer);

impl AudioSource for RingSource {
    fn read(&mut self, out: &mut [i16]) -> Result<usize, sotto_media::Error> {
        self.0.pop_or_silence_rt(out);
        Ok(out.len())
    }
}

/// Starts the sender thread; returns once its input and encoder are open.
pub(crate) fn spawn_sender(setup: SenderSetup) -> Result<MediaThread<SenderGo>, Error> {
    let SenderSetup {
        input,
        ptime_ms,
        bitrate_bps,
        socket,
        shared,
        commands,
        waker,
    } = setup;
    spawn_media(
        "sotto-send",
        move || {
            let input = open_input(input)?;
            let encoder = OpusEncoder::new(ptime_ms, bitrate_bps).map_err(Error::Codec)?;
            Ok((input, encoder))
        },
        move |(input, encoder), go: Receiver<SenderGo>| {
            let Ok(go) = go.recv() else {
                return Ok(());
            };
            input.live.store(true, Ordering::Release);
            let sender = FrameSender {
                source: input.source,
                encoder,
                ptime: Duration::from_millis(u64::from(ptime_ms)),
                frame_samples: frame_samples(ptime_ms),
                socket,
                shared,
            };
            report_failure(sender.run(go), &commands, &waker)
        },
    )
}

/// The sending side of a secure call.
struct FrameSender {
    source: Box<dyn AudioSource>,
    encoder: OpusEncoder,
    ptime: Duration,
    frame_samples: u32,
    socket: UdpSocket,
    shared: Arc<Shared>,
}

impl FrameSender {
    /// One frame every ptime until the call stops, on a clock that does not drift: each
    /// deadline is the previous one plus ptime, not "now plus ptime".
    fn run(mut self, go: SenderGo) -> Result<(), String> {
        let SenderGo {
            mut srtp,
            mut packetizer,
        } = go;
        let frame = self.frame_samples as usize;
        let mut pcm = vec![0i16; frame];
        let mut opus = [0u8; MAX_PACKET_LEN];
        let mut packet = [0u8; MAX_PACKET_LEN];
        let mut next = Instant::now();
        let mut loss_hint = u32::MAX;
        while !self.shared.stopped() {
            // The peer's loss reports steer how much in-band FEC the encoder adds.
            let reported = self.shared.peer_loss_percent.load(Ordering::Relaxed);
            if reported != loss_hint && reported <= 100 {
                loss_hint = reported;
                let percent = i32::try_from(reported).unwrap_or(100);
                self.encoder
                    .set_packet_loss_percent(percent)
                    .map_err(|e| format!("opus encoder: {e}"))?;
            }
            let n = self
                .source
                .read(&mut pcm)
                .map_err(|e| format!("reading the audio input: {e}"))?;
            // A file that ended goes on as silence; muted, everything read is dropped.
            let kept = if self.shared.muted.load(Ordering::Relaxed) {
                0
            } else {
                n
            };
            pcm[kept..].fill(0);
            let len = self
                .encoder
                .encode(&pcm, &mut opus)
                .map_err(|e| format!("opus encoder: {e}"))?;
            // DTX: between its comfort-noise updates the encoder's frames say only "silence",
            // which the peer's concealment plays anyway; sent, they would cost 20 kbit/s of
            // headers for nothing.
            if is_dtx(&opus[..len]) {
                packetizer.skip_silence(self.frame_samples);
            } else {
                let timestamp = packetizer.timestamp();
                let rtp_len = packetizer
                    .packetize(&opus[..len], self.frame_samples, &mut packet)
                    .map_err(|e| format!("rtp packetizer: {e}"))?;
                let srtp_len = srtp
                    .protect_rtp(&mut packet, rtp_len)
                    .map_err(|e| format!("srtp: {e}"))?;
                // A failed send (no route for a moment, an ICMP error) loses one packet; a
                // peer that is really gone ends the call through the peer timeout.
                if self.shared.send_media(&self.socket, &packet[..srtp_len]) {
                    let now = Instant::now();
                    self.shared
                        .sender_stats()
                        .on_packet_sent(timestamp, len, now);
                    self.shared.packets_sent.fetch_add(1, Ordering::Relaxed);
                    self.shared
                        .bytes_sent
                        .fetch_add(srtp_len as u64, Ordering::Relaxed);
                }
            }
            next = pace(next, self.ptime);
        }
        Ok(())
    }
}

/// Sleeps until `next + ptime` and returns that deadline, or restarts the clock from now if
/// the thread fell more than [`MAX_LAG_FRAMES`] behind.
pub(crate) fn pace(next: Instant, ptime: Duration) -> Instant {
    let next = next + ptime;
    let now = Instant::now();
    if now > next + ptime * MAX_LAG_FRAMES {
        return now;
    }
    if next > now {
        thread::sleep(next - now);
    }
    next
}

/// What the playout thread is made of.
#[derive(Debug)]
pub(crate) struct PlayoutSetup {
    pub(crate) output: Io<AudioOutput, dyn AudioSink>,
    pub(crate) ptime_ms: u32,
    pub(crate) jitter: JitterOutput,
    pub(crate) shared: Arc<Shared>,
    pub(crate) commands: Sender<Command>,
    pub(crate) waker: Waker,
}

/// The audio output: a sink, and the device stream it feeds if it is a device.
struct Output {
    sink: Box<dyn AudioSink>,
    _playback: Option<PlaybackStream>,
}

fn open_output(output: Io<AudioOutput, dyn AudioSink>) -> Result<Output, Error> {
    let output = match output {
        Io::Named(output) => output,
        Io::Supplied(sink) => {
            return Ok(Output {
                sink,
                _playback: None,
            })
        }
    };
    let sink: Box<dyn AudioSink> = match output {
        AudioOutput::Default => {
            let (producer, mut consumer) = sotto_rt::audio_ring(DEVICE_RING_SAMPLES);
            let playback = PlaybackStream::open(None, move |out: &mut [i16]| {
                // An empty ring plays silence; the ring counts the underrun.
                consumer.pop_or_silence_rt(out);
            })
            .map_err(Error::AudioOutput)?;
            return Ok(Output {
                sink: Box::new(RingSink(producer)),
                _playback: Some(playback),
            });
        }
        AudioOutput::None => Box::new(NullSink),
        AudioOutput::File(path) => Box::new(WavSink::create(&path).map_err(Error::AudioOutput)?),
    };
    Ok(Output {
        sink,
        _playback: None,
    })
}

/// Decoded audio for the device callback to pull.
struct RingSink(AudioProducer);

impl AudioSink for RingSink {
    fn write(&mut self, samples: &[i16]) -> Result<(), sotto_media::Error> {
        // A full ring drops samples (the device stalled); the ring counts them.
        self.0.push_rt(samples);
        Ok(())
    }

    fn finish(&mut self) -> Result<(), sotto_media::Error> {
        Ok(())
    }
}

/// Starts the playout thread; returns once its output and decoder are open.
pub(crate) fn spawn_playout(setup: PlayoutSetup) -> Result<MediaThread<()>, Error> {
    let PlayoutSetup {
        output,
        ptime_ms,
        jitter,
        shared,
        commands,
        waker,
    } = setup;
    spawn_media(
        "sotto-playout",
        move || {
            let output = open_output(output)?;
            let decoder = OpusDecoder::new().map_err(Error::Codec)?;
            Ok((output, decoder))
        },
        move |(mut output, decoder), go: Receiver<()>| {
            let played = match go.recv() {
                Ok(()) => FramePlayer {
                    decoder,
                    jitter,
                    ptime: Duration::from_millis(u64::from(ptime_ms)),
                    frame_samples: frame_samples(ptime_ms) as usize,
                    shared,
                    heard: false,
                }
                .run(output.sink.as_mut()),
                // Ended before secure: nothing to play, but a file still gets its header.
                Err(_) => Ok(()),
            };
            let finished = output
                .sink
                .finish()
                .map_err(|e| format!("finishing the audio output: {e}"));
            report_failure(played.and(finished), &commands, &waker)
        },
    )
}

/// The playing side of a secure call.
struct FramePlayer {
    decoder: OpusDecoder,
    jitter: JitterOutput,
    ptime: Duration,
    frame_samples: usize,
    shared: Arc<Shared>,
    /// A frame has been decoded: from then on the decoder can conceal a gap.
    heard: bool,
}

impl FramePlayer {
    /// One frame to the sink every ptime until the call stops. The sender's clock and ours run
    /// at the same rate but an arbitrary phase apart; left alone, a frame waits up to a whole
    /// ptime for our tick. So the tick is phase-locked to the packets: a frame that waited
    /// longer than the jitter buffer's target plus [`PHASE_MARGIN`] pulls the next tick
    /// earlier, and a frame missed while its packet was still on its way pushes it
    /// [`PHASE_BACKOFF`] later.
    fn run(mut self, sink: &mut dyn AudioSink) -> Result<(), String> {
        let mut pcm = vec![0i16; MAX_DECODED_SAMPLES];
        let mut next = Instant::now();
        while !self.shared.stopped() {
            let (n, kind) = self.next_frame(&mut pcm);
            sink.write(&pcm[..n])
                .map_err(|e| format!("writing the audio output: {e}"))?;
            let stats = self.jitter.stats();
            self.shared
                .jitter_buffer_ms
                .store(u64::from(stats.playout_delay_ms), Ordering::Relaxed);
            let waited = Duration::from_millis(u64::from(stats.playout_delay_ms));
            let wanted = Duration::from_millis(u64::from(stats.target_delay_ms)) + PHASE_MARGIN;
            match kind {
                Popped::Frame if waited > wanted => {
                    next -= ((waited - wanted) / 2).clamp(PHASE_STEP, PHASE_STEP_MAX);
                }
                Popped::Missed => next += PHASE_BACKOFF,
                Popped::Frame | Popped::Silence => {}
            }
            next = pace(next, self.ptime);
        }
        Ok(())
    }

    /// Decodes, recovers or conceals the next frame into `pcm`; returns its length and what
    /// the jitter buffer had.
    fn next_frame(&mut self, pcm: &mut [i16]) -> (usize, Popped) {
        let frame = self.frame_samples;
        let shared = &self.shared;
        let decoder = &mut self.decoder;
        let popped = self.jitter.pop_rt(Instant::now());
        let kind = match popped {
            Playout::Frame(_) => Popped::Frame,
            Playout::Lost { .. } => Popped::Missed,
            Playout::Empty => Popped::Silence,
        };
        let decoded = match popped {
            Playout::Frame(packet) => {
                shared.frames_played.fetch_add(1, Ordering::Relaxed);
                decoder.decode(packet, pcm)
            }
            Playout::Lost { next } => {
                shared.frames_played.fetch_add(1, Ordering::Relaxed);
                shared.frames_concealed.fetch_add(1, Ordering::Relaxed);
                match next {
                    Some(next) => decoder.decode_fec(next, &mut pcm[..frame]),
                    None => decoder.conceal(&mut pcm[..frame]),
                }
            }
            // Drained: the peer is in DTX silence or its packets are late. The decoder's
            // concealment carries on the sound (comfort noise during DTX, a fade otherwise)
            // where zeros would be a hard gap.
            Playout::Empty if self.heard => decoder.conceal(&mut pcm[..frame]),
            Playout::Empty => {
                pcm[..frame].fill(0);
                Ok(frame)
            }
        };
        self.heard |= kind == Popped::Frame;
        let n = match decoded {
            Ok(n) => n.min(pcm.len()),
            // An undecodable packet from an authenticated peer: play the concealment instead.
            Err(_) => {
                shared.frames_concealed.fetch_add(1, Ordering::Relaxed);
                self.decoder.conceal(&mut pcm[..frame]).unwrap_or_else(|_| {
                    pcm[..frame].fill(0);
                    frame
                })
            }
        };
        (n, kind)
    }
}

/// What the jitter buffer handed the playout thread for one tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Popped {
    Frame,
    /// A frame was due but its packet was not there.
    Missed,
    /// Nothing to play yet (before the first packet, or rebuffering).
    Silence,
}

/// How much longer than the jitter buffer's target a frame may wait before the playout tick
/// moves earlier: room for scheduling noise on a loaded machine.
const PHASE_MARGIN: Duration = Duration::from_millis(3);
/// How far the playout tick moves earlier per frame that waited too long: half the excess,
/// within these bounds, so it locks within a few frames without overshooting.
const PHASE_STEP: Duration = Duration::from_millis(1);
const PHASE_STEP_MAX: Duration = Duration::from_millis(5);
/// How far the playout tick moves later after a frame that was missed.
const PHASE_BACKOFF: Duration = Duration::from_millis(2);

#[cfg(test)]
mod tests {
    use super::*;

    fn rms(x: &[i16]) -> f64 {
        (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
    }

    /// A player fed `frames` packets of the engine's tone, all arrived now.
    fn player_with_tone(frames: u16) -> FramePlayer {
        let (mut input, jitter) = sotto_rt::jitter_buffer(sotto_rt::JitterConfig {
            frame_samples: 960,
            clock_rate_hz: SAMPLE_RATE_HZ,
            min_delay_ms: 0,
            ..sotto_rt::JitterConfig::default()
        });
        let mut tone = ToneSource::new(TONE_FREQ_HZ, TONE_AMPLITUDE);
        let mut encoder = OpusEncoder::new(20, 32_000).expect("encoder");
        let (mut pcm, mut packet) = ([0i16; 960], [0u8; 1500]);
        let now = Instant::now();
        for seq in 0..frames {
            tone.read(&mut pcm).expect("tone");
            let len = encoder.encode(&pcm, &mut packet).expect("encode");
            input
                .push(seq, u32::from(seq) * 960, now, &packet[..len])
                .expect("push");
        }
        FramePlayer {
            decoder: OpusDecoder::new().expect("decoder"),
            jitter,
            ptime: Duration::from_millis(20),
            frame_samples: 960,
            shared: Arc::new(Shared::new()),
            heard: false,
        }
    }

    #[test]
    fn a_drained_buffer_mid_call_plays_concealment_not_a_hard_gap() {
        let mut player = player_with_tone(10);
        let mut pcm = vec![0i16; MAX_DECODED_SAMPLES];
        for _ in 0..10 {
            assert_eq!(player.next_frame(&mut pcm).1, Popped::Frame);
        }
        let played = rms(&pcm[..960]);
        let (n, kind) = player.next_frame(&mut pcm);
        assert_eq!((n, kind), (960, Popped::Silence));
        let concealed = rms(&pcm[..n]);
        assert!(
            concealed > played * 0.5,
            "concealment rms {concealed:.0} after a tone of rms {played:.0}"
        );
        // Not counted as loss: nothing was missing, the buffer ran dry.
        assert_eq!(player.shared.frames_concealed.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn before_the_first_packet_the_player_plays_silence() {
        let mut player = player_with_tone(0);
        let mut pcm = vec![1i16; MAX_DECODED_SAMPLES];
        assert_eq!(player.next_frame(&mut pcm), (960, Popped::Silence));
        assert!(pcm[..960].iter().all(|&v| v == 0));
    }
}
