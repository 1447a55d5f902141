//! Call events as one plain C struct with fixed, NUL-terminated text buffers.

use std::ffi::{c_char, c_int};

use sotto::{CallEvent, EndReason, Role};

/// Bytes in `sotto_event.sas`, its NUL included (two PGP words fit with room to spare).
pub const SOTTO_SAS_CAPACITY: usize = 64;
/// Bytes in `sotto_event.algorithms`, its NUL included.
pub const SOTTO_ALGORITHMS_CAPACITY: usize = 64;
/// Bytes in `sotto_event.text`, its NUL included; longer text is cut at a character boundary.
pub const SOTTO_TEXT_CAPACITY: usize = 256;

/// What kind of event a `sotto_event` holds; the fields it fills are named on each kind.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SottoEventKind {
    /// No event (never returned by `sotto_call_next_event`).
    None = 0,
    /// The Short Authentication String to read aloud and compare with the peer's: `sas`,
    /// `text` (its rendering, `"B32"` or `"B256"`), `verified` (both ends verified this peer
    /// before and key continuity holds), `cache_mismatch` (a retained secret did not match:
    /// compare the SAS, this may be a man in the middle).
    Sas = 1,
    /// ZRTP completed and media flows: `initiator`, `algorithms`, `text` (the peer's address).
    Secure = 2,
    /// The video stream is keyed (ZRTP Multistream): `initiator`, `algorithms`.
    VideoSecure = 3,
    /// Video was asked for but will not flow; the call goes on with audio: `text` (why).
    VideoUnavailable = 4,
    /// The video input ended (the end of a Y4M file); the call goes on.
    VideoInputEnded = 5,
    /// Periodic statistics once secure: the numeric fields from `elapsed_ms` on.
    Stats = 6,
    /// The call is over; the last event: `end_reason`, `text` (the reason for people).
    Ended = 7,
    /// An event this version of the C interface does not describe; skip it.
    Other = 8,
    /// A call set up by offer and answer found its path to the peer (through both NATs, if
    /// any) and starts ZRTP on it: `text` (the peer's address as this end reaches it, its
    /// NAT's when it is behind one). Comes again when the call moves to another path.
    Connected = 9,
    /// A ZRTP Hello came that does not match the `a=zrtp-hash` of the peer's offer or
    /// answer: someone between the two ends may be trying to intercept the call. The Hello
    /// was refused; the call goes on only if the real peer's Hello follows. `text` (where it
    /// came from).
    HelloHashMismatch = 10,
    /// Nothing has arrived from the peer for 3 s in a secure call: a network may have changed
    /// under it. A call from `sotto_call_prepare` can move to a new path
    /// (`sotto_call_restart_path`); otherwise it ends by itself if nothing comes. Once per quiet
    /// spell; no fields.
    PeerQuiet = 11,
}

/// Why a call ended.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SottoEndReason {
    /// Not ended (an event of another kind).
    None = 0,
    /// This end hung up (`sotto_call_hang_up`).
    HungUp = 1,
    /// The configured duration passed after the call became secure.
    DurationReached = 2,
    /// The peer hung up.
    PeerHungUp = 3,
    /// The peer sent nothing for the peer timeout (10 s): it vanished.
    PeerGone = 4,
    /// ZRTP did not complete: no answer in time, or the peer refused or misbehaved.
    HandshakeFailed = 5,
    /// Something on this side failed (the socket, the audio input or output), or an end this
    /// version of the C interface does not describe.
    Failed = 6,
    /// A call set up by offer and answer found no network path to the peer, or lost it (the
    /// peer stopped answering consent checks); a relay may be needed.
    NoPath = 7,
}

impl From<&EndReason> for SottoEndReason {
    fn from(reason: &EndReason) -> Self {
        match reason {
            EndReason::HungUp => SottoEndReason::HungUp,
            EndReason::DurationReached => SottoEndReason::DurationReached,
            EndReason::PeerHungUp => SottoEndReason::PeerHungUp,
            EndReason::PeerGone => SottoEndReason::PeerGone,
            EndReason::HandshakeFailed(_) => SottoEndReason::HandshakeFailed,
            EndReason::NoPath(_) => SottoEndReason::NoPath,
            _ => SottoEndReason::Failed,
        }
    }
}

/// One event of a call, filled by `sotto_call_next_event`. Which fields mean something
/// depends on `kind`; the others are 0 (or empty strings). Every text field is NUL-terminated.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SottoEvent {
    /// What happened.
    pub kind: SottoEventKind,
    /// `SAS`: the Short Authentication String (4 characters, or two words joined by ':').
    pub sas: [c_char; SOTTO_SAS_CAPACITY],
    /// `SAS`: 1 when both ends verified this peer's SAS before and key continuity holds.
    pub verified: c_int,
    /// `SAS`: 1 when a retained secret did not match: compare the SAS.
    pub cache_mismatch: c_int,
    /// `SECURE`, `VIDEO_SECURE`: 1 when this end sent the Commit, 0 when it answered it.
    pub initiator: c_int,
    /// `SECURE`, `VIDEO_SECURE`: the agreed algorithms, e.g. `"X255 S256 AES1 HS32 B32"`.
    pub algorithms: [c_char; SOTTO_ALGORITHMS_CAPACITY],
    /// `SAS`: its rendering; `SECURE`, `CONNECTED`: the peer's address; `VIDEO_UNAVAILABLE`:
    /// why; `ENDED`: why, for people; `HELLO_HASH_MISMATCH`: where the Hello came from.
    pub text: [c_char; SOTTO_TEXT_CAPACITY],
    /// `ENDED`: why the call ended.
    pub end_reason: SottoEndReason,
    /// `STATS`: milliseconds since the call became secure.
    pub elapsed_ms: u64,
    /// `STATS`: SRTP bits sent per second (audio, UDP payloads).
    pub tx_bitrate_bps: f64,
    /// `STATS`: SRTP bits received per second (audio, UDP payloads).
    pub rx_bitrate_bps: f64,
    /// `STATS`: audio packets sent.
    pub packets_sent: u64,
    /// `STATS`: audio packets received and accepted.
    pub packets_received: u64,
    /// `STATS`: share of the peer's audio packets lost in the last interval, in %.
    pub loss_percent: f64,
    /// `STATS`: interarrival jitter of the peer's audio, in ms.
    pub jitter_ms: f64,
    /// `STATS`: how long the last played frame waited in the jitter buffer, in ms.
    pub jitter_buffer_ms: f64,
    /// `STATS`: round-trip time in ms, or -1 until the peer's first report arrives.
    pub rtt_ms: f64,
    /// `STATS`: share of played audio frames that were concealed, in %.
    pub concealed_percent: f64,
    /// `STATS`: datagrams dropped after secure (failed authentication, replays, garbage).
    pub srtp_rejected: u64,
}

impl SottoEvent {
    /// An event of `kind` with every other field zero.
    pub fn empty(kind: SottoEventKind) -> Self {
        SottoEvent {
            kind,
            sas: [0; SOTTO_SAS_CAPACITY],
            verified: 0,
            cache_mismatch: 0,
            initiator: 0,
            algorithms: [0; SOTTO_ALGORITHMS_CAPACITY],
            text: [0; SOTTO_TEXT_CAPACITY],
            end_reason: SottoEndReason::None,
            elapsed_ms: 0,
            tx_bitrate_bps: 0.0,
            rx_bitrate_bps: 0.0,
            packets_sent: 0,
            packets_received: 0,
            loss_percent: 0.0,
            jitter_ms: 0.0,
            jitter_buffer_ms: 0.0,
            rtt_ms: 0.0,
            concealed_percent: 0.0,
            srtp_rejected: 0,
        }
    }

    /// The C form of an engine event.
    pub fn from_event(event: &CallEvent) -> Self {
        match event {
            CallEvent::Sas {
                sas,
                sas_type,
                verified,
                cache_mismatch,
            } => {
                let mut out = Self::empty(SottoEventKind::Sas);
                copy_text(&mut out.sas, sas);
                copy_text(&mut out.text, &sas_type.to_string());
                out.verified = c_int::from(*verified);
                out.cache_mismatch = c_int::from(*cache_mismatch);
                out
            }
            CallEvent::Secure {
                role,
                algorithms,
                peer,
            } => {
                let mut out = Self::empty(SottoEventKind::Secure);
                out.initiator = c_int::from(*role == Role::Initiator);
                copy_text(&mut out.algorithms, &algorithms_text(algorithms));
                copy_text(&mut out.text, &peer.to_string());
                out
            }
            CallEvent::VideoSecure { role, algorithms } => {
                let mut out = Self::empty(SottoEventKind::VideoSecure);
                out.initiator = c_int::from(*role == Role::Initiator);
                copy_text(&mut out.algorithms, &algorithms_text(algorithms));
                out
            }
            CallEvent::VideoUnavailable { reason } => {
                let mut out = Self::empty(SottoEventKind::VideoUnavailable);
                copy_text(&mut out.text, reason);
                out
            }
            CallEvent::VideoInputEnded => Self::empty(SottoEventKind::VideoInputEnded),
            // The local end is the call's own socket (`sotto_call_local_port`).
            CallEvent::Connected { remote, .. } => {
                let mut out = Self::empty(SottoEventKind::Connected);
                copy_text(&mut out.text, &remote.to_string());
                out
            }
            CallEvent::PeerQuiet { .. } => Self::empty(SottoEventKind::PeerQuiet),
            CallEvent::HelloHashMismatch { from } => {
                let mut out = Self::empty(SottoEventKind::HelloHashMismatch);
                copy_text(&mut out.text, &from.to_string());
                out
            }
            CallEvent::Stats(stats) => {
                let mut out = Self::empty(SottoEventKind::Stats);
                out.elapsed_ms = u64::try_from(stats.elapsed.as_millis()).unwrap_or(u64::MAX);
                out.tx_bitrate_bps = stats.tx_bitrate_bps;
                out.rx_bitrate_bps = stats.rx_bitrate_bps;
                out.packets_sent = stats.packets_sent;
                out.packets_received = stats.packets_received;
                out.loss_percent = stats.loss_percent;
                out.jitter_ms = stats.jitter_ms;
                out.jitter_buffer_ms = stats.jitter_buffer_ms;
                out.rtt_ms = stats.rtt_ms.unwrap_or(-1.0);
                out.concealed_percent = stats.concealed_percent;
                out.srtp_rejected = stats.srtp_rejected;
                out
            }
            CallEvent::Ended(reason) => {
                let mut out = Self::empty(SottoEventKind::Ended);
                out.end_reason = SottoEndReason::from(reason);
                copy_text(&mut out.text, &reason.to_string());
                out
            }
            _ => Self::empty(SottoEventKind::Other),
        }
    }
}

fn algorithms_text(a: &sotto::Algorithms) -> String {
    format!(
        "{} {} {} {} {}",
        a.key_agreement, a.hash, a.cipher, a.auth_tag, a.sas_type
    )
}

/// Copies `text` into `dst` as a NUL-terminated C string, cut at a character boundary when it
/// does not fit, and at an interior NUL (C would stop there anyway).
pub(crate) fn copy_text(dst: &mut [c_char], text: &str) {
    let Some(room) = dst.len().checked_sub(1) else {
        return;
    };
    let text = text.split('\0').next().unwrap_or_default();
    let mut end = text.len().min(room);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let bytes = text.as_bytes().get(..end).unwrap_or_default();
    for (d, &b) in dst.iter_mut().zip(bytes) {
        // c_char is i8 on some targets: keep the byte, not the value.
        *d = b as c_char;
    }
    if let Some(nul) = dst.get_mut(end) {
        *nul = 0;
    }
}
