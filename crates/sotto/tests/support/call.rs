//! Shared by the call tests: scratch files, loopback addresses, and a call to a peer that
//! speaks only ZRTP (it never sends media), so a test can inspect what the call sends.
#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sotto::media::AudioInput;
use sotto::zrtp_udp::ZrtpOverUdp;
use sotto::{Call, CallConfig};
use sotto_zrtp::cache::{MemoryCache, ZidCache};
use sotto_zrtp::{SecureInfo, Session, SessionConfig};

/// A fresh path in the test binary's scratch directory.
pub fn scratch(ext: &str) -> PathBuf {
    sotto_testkit::scratch_path(Path::new(env!("CARGO_TARGET_TMPDIR")), ext).expect("scratch")
}

/// Any free port on the loopback interface.
pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().expect("addr")
}

/// A call (tone in) and the ZRTP-only peer it reached.
pub struct ZrtpPeerCall {
    /// The call under test.
    pub call: Call,
    /// Its address.
    pub call_addr: SocketAddr,
    /// The peer's side of the handshake, to keep answering ZRTP if the test needs it.
    pub link: ZrtpOverUdp,
    /// What the peer derived: the keys to read the call's media with.
    pub info: Box<SecureInfo>,
    /// The peer's socket, to read what the call sends and to answer it.
    pub tap: UdpSocket,
}

/// Starts a call to a peer that completes ZRTP and then stays silent; `configure` adjusts the
/// call's configuration first.
pub fn call_a_zrtp_peer(configure: impl FnOnce(&mut CallConfig)) -> ZrtpPeerCall {
    call_a_zrtp_peer_keeping_cache(configure).0
}

/// As [`call_a_zrtp_peer`], also returning the peer's ZID cache (its identity), which a
/// Multistream session of the same peer must share.
pub fn call_a_zrtp_peer_keeping_cache(
    configure: impl FnOnce(&mut CallConfig),
) -> (ZrtpPeerCall, Arc<MemoryCache>) {
    let peer_socket = UdpSocket::bind(loopback()).expect("bind");
    let peer_addr = peer_socket.local_addr().expect("addr");
    let tap = peer_socket.try_clone().expect("clone");
    let mut config = CallConfig::new(loopback(), Some(peer_addr), scratch("sqlite"));
    config.audio_in = AudioInput::Tone;
    configure(&mut config);
    let call = Call::start(config).expect("start");
    let call_addr = call.local_addr();
    let cache = Arc::new(MemoryCache::new());
    let (link, info) = handshake(peer_socket, call_addr, SessionConfig::default(), &cache);
    let peer = ZrtpPeerCall {
        call,
        call_addr,
        link,
        info,
        tap,
    };
    (peer, cache)
}

/// SSRC in the ZRTP headers of the test peer's video stream (its audio stream's is 0).
pub const PEER_VIDEO_SSRC: u32 = 0x5eed_0002;

/// Completes the video stream's ZRTP Multistream exchange with `peer`'s call (which starts
/// its own once its audio stream is secure); returns what the peer derived for video.
pub fn answer_video(peer: &ZrtpPeerCall, cache: &Arc<MemoryCache>) -> Box<SecureInfo> {
    let config = SessionConfig {
        multistream: Some(peer.info.multistream.clone()),
        ssrc: PEER_VIDEO_SSRC,
        ..SessionConfig::default()
    };
    let socket = peer.tap.try_clone().expect("clone");
    let (mut link, info) = handshake(socket, peer.call_addr, config, cache);
    // Answer a repeated Confirm2 if our Conf2ACK is lost, as a real peer would.
    link.serve_until(Instant::now() + Duration::from_millis(100))
        .expect("serve");
    info
}

/// Completes a ZRTP exchange as the peer, on `socket`, with the call at `call_addr`.
fn handshake(
    socket: UdpSocket,
    call_addr: SocketAddr,
    config: SessionConfig,
    cache: &Arc<MemoryCache>,
) -> (ZrtpOverUdp, Box<SecureInfo>) {
    let session = Session::new(
        config,
        Arc::clone(cache) as Arc<dyn ZidCache>,
        &mut rand_core::OsRng,
        Instant::now(),
    )
    .expect("session");
    let mut link = ZrtpOverUdp::new(socket, Some(call_addr), session);
    let info = link.handshake(Duration::from_secs(10)).expect("handshake");
    (link, info)
}

/// Whether a datagram is RTP with the video payload type (readable in the clear header).
pub fn is_video_rtp(datagram: &[u8]) -> bool {
    sotto_rtp::classify(datagram) == sotto_rtp::PacketKind::Rtp
        && datagram.get(1).is_some_and(|b| b & 0x7f == 96)
}

/// The sequence number of a video RTP datagram (in its clear header); `None` for anything else.
pub fn video_sequence(datagram: &[u8]) -> Option<u16> {
    if !is_video_rtp(datagram) {
        return None;
    }
    let bytes = datagram.get(2..4)?;
    Some(u16::from_be_bytes([bytes[0], bytes[1]]))
}

/// How often the calls of the two-call tests report: their checks read the reports.
pub const STATS_INTERVAL: Duration = Duration::from_millis(500);

/// A listener's configuration, reporting every [`STATS_INTERVAL`].
pub fn listener_config() -> CallConfig {
    let mut config = CallConfig::new(loopback(), None, scratch("sqlite"));
    config.stats_interval = STATS_INTERVAL;
    config
}

/// The configuration of a call to `peer` that ends after `duration` and reports every
/// [`STATS_INTERVAL`].
pub fn caller_config(peer: SocketAddr, duration: Duration) -> CallConfig {
    let mut config = CallConfig::new(loopback(), Some(peer), scratch("sqlite"));
    config.duration = Some(duration);
    config.stats_interval = STATS_INTERVAL;
    config
}

/// Starts a listener from [`listener_config`]; `configure` adjusts it first.
pub fn start_listener(configure: impl FnOnce(&mut CallConfig)) -> Call {
    let mut config = listener_config();
    configure(&mut config);
    Call::start(config).expect("listener starts")
}

/// Starts a call from [`caller_config`]; `configure` adjusts it first.
pub fn start_caller(
    peer: SocketAddr,
    duration: Duration,
    configure: impl FnOnce(&mut CallConfig),
) -> Call {
    let mut config = caller_config(peer, duration);
    configure(&mut config);
    Call::start(config).expect("caller starts")
}

/// Makes a call send a tone and the moving test pattern at `width`x`height` and `bitrate_bps`.
pub fn send_pattern(config: &mut CallConfig, width: u32, height: u32, bitrate_bps: u32) {
    config.audio_in = AudioInput::Tone;
    config.video_in = sotto::media::video::VideoInput::Pattern;
    config.video_width = width;
    config.video_height = height;
    config.video_bitrate_bps = bitrate_bps;
}

/// Runs a call from [`start_caller`] and its listener to their end (the caller's duration,
/// whose RTCP BYE ends the listener) and returns the events of each.
pub fn run_to_end(
    caller: Call,
    listener: Call,
    duration: Duration,
) -> (Vec<sotto::CallEvent>, Vec<sotto::CallEvent>) {
    let caller_events = events_until_end(&caller, duration + Duration::from_secs(20));
    let listener_events = events_until_end(&listener, Duration::from_secs(15));
    assert_eq!(caller.wait(), sotto::EndReason::DurationReached);
    assert_eq!(listener.wait(), sotto::EndReason::PeerHungUp);
    (caller_events, listener_events)
}

/// Events until `Ended`, which must come within `limit`.
pub fn events_until_end(call: &Call, limit: Duration) -> Vec<sotto::CallEvent> {
    let end = Instant::now() + limit;
    let mut events = Vec::new();
    while let Some(event) = call.next_event(end.saturating_duration_since(Instant::now())) {
        let ended = matches!(event, sotto::CallEvent::Ended(_));
        events.push(event);
        if ended {
            return events;
        }
    }
    panic!("no Ended event within {limit:?}: {events:?}");
}

/// The SAS of the `Sas` event among `events`.
pub fn sas(events: &[sotto::CallEvent]) -> String {
    events
        .iter()
        .find_map(|e| match e {
            sotto::CallEvent::Sas { sas, .. } => Some(sas.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Sas event: {events:?}"))
}

/// The last statistics among `events`.
pub fn last_stats(events: &[sotto::CallEvent]) -> sotto::CallStats {
    events
        .iter()
        .rev()
        .find_map(|e| match e {
            sotto::CallEvent::Stats(s) => Some(*s),
            _ => None,
        })
        .expect("a Stats event")
}

/// The video figures of the last statistics among `events` that have them.
pub fn last_video_stats(events: &[sotto::CallEvent]) -> sotto::VideoStats {
    events
        .iter()
        .rev()
        .find_map(|e| match e {
            sotto::CallEvent::Stats(s) => s.video,
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Stats event with video figures: {events:?}"))
}

/// Every picture of a Y4M file.
pub fn read_y4m(path: &Path) -> Vec<sotto::media::VideoFrame> {
    use sotto::media::video::Y4mSource;
    use sotto::media::VideoSource;
    let mut source = Y4mSource::open(path).expect("open the y4m output");
    let mut frames = Vec::new();
    while let Some(frame) = source.read().expect("read the y4m output") {
        frames.push(frame);
    }
    frames
}

/// For each picture of the test pattern that came through a call, the frame index its barcode
/// names and its PSNR against the picture the pattern sent with that index (`None` for a
/// picture whose barcode cannot be read).
pub fn pattern_psnr(frames: &[sotto::media::VideoFrame]) -> Vec<Option<(u32, f64)>> {
    use sotto::media::video::{psnr, read_frame_index, PatternSource};
    let Some(first) = frames.first() else {
        return Vec::new();
    };
    let pattern = PatternSource::new(first.width(), first.height()).expect("pattern size");
    frames
        .iter()
        .map(|frame| {
            let index = read_frame_index(frame)?;
            let db = psnr(&pattern.frame(index), frame)?;
            Some((index, db))
        })
        .collect()
}

/// A UDP relay between a caller and a listener, on loopback, that can drop what the caller
/// sends. The caller is whoever sends first from an address other than the listener's.
pub struct Relay {
    /// Where the caller sends.
    pub addr: SocketAddr,
    stop: Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<Vec<Vec<u8>>>>,
}

impl Relay {
    /// Starts relaying to and from `listener`. `drop_forward` sees each datagram from the
    /// caller and returns true to drop it.
    pub fn start(
        listener: SocketAddr,
        mut drop_forward: impl FnMut(&[u8]) -> bool + Send + 'static,
    ) -> Relay {
        use std::sync::atomic::{AtomicBool, Ordering};
        let socket = UdpSocket::bind(loopback()).expect("bind relay");
        let addr = socket.local_addr().expect("relay addr");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let mut caller = None;
            let mut dropped = Vec::new();
            let mut buf = [0u8; 2048];
            while !stopping.load(Ordering::Relaxed) {
                let Ok((len, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                let datagram = &buf[..len];
                if from == listener {
                    if let Some(caller) = caller {
                        let _ = socket.send_to(datagram, caller);
                    }
                    continue;
                }
                caller.get_or_insert(from);
                if drop_forward(datagram) {
                    dropped.push(datagram.to_vec());
                } else {
                    let _ = socket.send_to(datagram, listener);
                }
            }
            dropped
        });
        Relay {
            addr,
            stop,
            handle: Some(handle),
        }
    }

    /// Stops relaying; returns the datagrams it dropped.
    pub fn finish(mut self) -> Vec<Vec<u8>> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.handle
            .take()
            .map(|h| h.join().expect("relay thread"))
            .unwrap_or_default()
    }
}

/// A relay to `listener` that drops the caller's video packets whose order of first arrival
/// (0 for the first video packet) `doomed` picks; their retransmissions are dropped too when
/// `resends_too`, and let through otherwise.
pub fn video_dropping_relay(
    listener: SocketAddr,
    doomed: impl Fn(usize) -> bool + Send + 'static,
    resends_too: bool,
) -> Relay {
    let mut seen = std::collections::HashSet::new();
    let mut dropped = std::collections::HashSet::new();
    Relay::start(listener, move |datagram| {
        let Some(sequence) = video_sequence(datagram) else {
            return false;
        };
        // A sequence number seen before is a retransmission.
        if !seen.insert(sequence) {
            return resends_too && dropped.contains(&sequence);
        }
        let drop = doomed(seen.len() - 1);
        if drop {
            dropped.insert(sequence);
        }
        drop
    })
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
