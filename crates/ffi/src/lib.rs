//! A C ABI for the sotto calling engine, so that applications written in C, C++, Swift or
//! Kotlin (through their C interop) can embed it. The header is `include/sotto.h`, generated
//! from this crate by cbindgen; the crate builds as a shared library (`libsotto_ffi.so`), a
//! static library (`libsotto_ffi.a`) and an rlib.
//!
//! The C side drives a call exactly as Rust drives [`sotto::Call`]:
//!
//! ```c
//! sotto_config *config = sotto_config_new("0.0.0.0:0", "192.0.2.7:5004", "zid-cache.sqlite");
//! sotto_config_set_audio(config, "tone", "none");
//! sotto_call *call = sotto_call_start(config); /* consumes config */
//! if (call == NULL) { fprintf(stderr, "%s\n", sotto_last_error()); return 1; }
//! sotto_event event;
//! while (sotto_call_next_event(call, 1000, &event) >= 0) {
//!     if (event.kind == SOTTO_EVENT_KIND_SAS) printf("compare with your peer: %s\n", event.sas);
//!     if (event.kind == SOTTO_EVENT_KIND_ENDED) break;
//! }
//! int reason = sotto_call_wait_and_free(call);
//! ```
//!
//! Peers that know nothing of each other's addresses (behind NATs, say) set the call up with
//! an offer and an answer, lines of text that the application carries over its own channel:
//!
//! ```c
//! static char offer[SOTTO_LINE_CAPACITY], answer[SOTTO_LINE_CAPACITY];
//! /* the caller */
//! sotto_prepared *prepared = sotto_call_prepare(config, "192.0.2.1:3478"); /* consumes config */
//! sotto_prepared_offer(prepared, offer, sizeof offer, NULL);   /* send it to the peer */
//! /* the peer, with its own config, once the offer came */
//! sotto_prepared *theirs = sotto_call_prepare(their_config, NULL);
//! sotto_call *their_call = sotto_prepared_answer(theirs, offer, answer, sizeof answer, NULL);
//! /* the caller, once the answer came back */
//! sotto_call *call = sotto_prepared_accept(prepared, answer);
//! ```
//! Answer and accept take the prepared call over when they return a call; on NULL it is still
//! the caller's to free (`sotto_prepared_free`) or retry. `examples/c/messenger.c` is the
//! whole program.
//!
//! When the network of one end changes (another Wi-Fi, a mobile network) such a call moves to
//! a new path with a second, shorter exchange of lines, while it goes on (same keys, no new
//! SAS); a second `SOTTO_EVENT_KIND_CONNECTED` on each end reports the new path:
//!
//! ```c
//! sotto_call_restart_path(call, offer, sizeof offer, NULL);          /* send it to the peer */
//! sotto_call_answer_path_restart(their_call, offer, answer, sizeof answer, NULL); /* the peer */
//! sotto_call_accept_path_restart(call, answer);                      /* once it came back */
//! ```
//!
//! Rules every function keeps: no Rust panic crosses into C (it becomes
//! [`SottoStatus::Panic`]); a NULL pointer or a string that is not UTF-8 is an error code, not
//! undefined behaviour; after any failure [`sotto_last_error`] says what went wrong and what to
//! do. Pointers the caller passes must otherwise be valid: a handle from this library that has
//! not been freed, and NUL-terminated strings.
#![deny(missing_docs)]

mod event;
mod prepared;
mod restart;

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr, CString};
use std::net::{SocketAddr, ToSocketAddrs};
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sotto::{Call, CallConfig, PathConfig};

pub use event::{
    SottoEndReason, SottoEvent, SottoEventKind, SOTTO_ALGORITHMS_CAPACITY, SOTTO_SAS_CAPACITY,
    SOTTO_TEXT_CAPACITY,
};
pub use prepared::{
    sotto_call_prepare, sotto_config_set_path_timeouts, sotto_prepared_accept,
    sotto_prepared_answer, sotto_prepared_free, sotto_prepared_local_port, sotto_prepared_offer,
    sotto_prepared_stun_failure, sotto_prepared_stun_failure_count, SottoPrepared,
    SOTTO_LINE_CAPACITY, SOTTO_MAX_LINE_LEN,
};
pub use restart::{
    sotto_call_accept_path_restart, sotto_call_answer_path_restart, sotto_call_restart_path,
};

/// What a function returned: `SOTTO_STATUS_OK` (0) or another non-negative outcome, or a
/// negative error whose message `sotto_last_error` holds.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SottoStatus {
    /// Done.
    Ok = 0,
    /// `sotto_call_next_event`: no event came within the timeout, or the call has ended and
    /// every event was taken.
    NoEvent = 1,
    /// A pointer argument that must not be NULL was NULL.
    NullPointer = -1,
    /// A string argument is not valid UTF-8.
    InvalidUtf8 = -2,
    /// An argument cannot be used (an address that does not resolve, an unknown audio or video
    /// spec, ...).
    InvalidArgument = -3,
    /// The call could not start (port in use, cache unreadable, device missing, ...), or a
    /// path restart could not (a socket error while gathering, ...).
    StartFailed = -4,
    /// An internal error in sotto was caught before it reached the caller; please report it.
    Panic = -5,
    /// The caller's buffer is too small for the text; nothing but an empty string was written,
    /// and `*needed` says how many bytes to pass.
    BufferTooSmall = -6,
    /// The prepared call was used up by a failed answer or accept; free it and prepare a
    /// new one.
    UsedUp = -7,
}

/// The settings of one call, from `sotto_config_new`; opaque to C.
#[derive(Debug)]
pub struct SottoConfig {
    inner: CallConfig,
    /// How long a prepared call gathers and looks for a path (`sotto_config_set_path_timeouts`);
    /// its STUN servers come with `sotto_call_prepare`.
    path: PathConfig,
}

/// A running call, from `sotto_call_start`; opaque to C.
#[derive(Debug)]
pub struct SottoCall {
    inner: Call,
    /// Set up by offer and answer (`sotto_call_prepare`), so its path can be restarted.
    negotiated: bool,
}

impl SottoCall {
    /// Hands `inner` to C.
    fn into_raw(inner: Call, negotiated: bool) -> *mut SottoCall {
        Box::into_raw(Box::new(SottoCall { inner, negotiated }))
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// An error on its way to C: the code returned and the message kept for `sotto_last_error`.
#[derive(Debug)]
struct Failure {
    status: SottoStatus,
    message: String,
}

impl Failure {
    fn new(status: SottoStatus, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }
}

/// What an entry point returns to C when it fails.
trait FfiReturn {
    fn failed(status: SottoStatus) -> Self;
}

impl FfiReturn for SottoStatus {
    fn failed(status: SottoStatus) -> Self {
        status
    }
}

impl FfiReturn for c_int {
    fn failed(status: SottoStatus) -> Self {
        status as c_int
    }
}

impl FfiReturn for usize {
    fn failed(_: SottoStatus) -> Self {
        0
    }
}

impl FfiReturn for u16 {
    fn failed(_: SottoStatus) -> Self {
        0
    }
}

impl<T> FfiReturn for *mut T {
    fn failed(_: SottoStatus) -> Self {
        std::ptr::null_mut()
    }
}

fn set_last_error(message: &str) {
    // A message with a NUL inside would be cut short in C; keep all of it readable.
    let message = CString::new(message.replace('\0', " ")).unwrap_or_default();
    // Fails only while the thread is being torn down, when nobody can read it anyway.
    let _ = LAST_ERROR.try_with(|last| *last.borrow_mut() = message);
}

/// Runs the body of an entry point: its error becomes a code and the last error message, and
/// a panic is caught here, because unwinding into C is undefined behaviour.
fn guard<R: FfiReturn>(body: impl FnOnce() -> Result<R, Failure>) -> R {
    // The body only touches what the caller handed it; after a panic the caller gets an error
    // code and the handle stays as consistent as the engine left it (its own locks recover
    // from poisoning), so asserting unwind safety is sound here.
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => value,
        Ok(Err(failure)) => {
            set_last_error(&failure.message);
            R::failed(failure.status)
        }
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("unknown");
            set_last_error(&format!(
                "internal error in sotto ({what}); please report it"
            ));
            R::failed(SottoStatus::Panic)
        }
    }
}

/// Reads a required string argument.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that lives and stays unchanged for `'a`.
unsafe fn str_arg<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Failure> {
    // SAFETY: the caller promises NULL or a valid string; NULL is handled inside.
    unsafe { opt_str_arg(ptr, name) }?.ok_or_else(|| {
        Failure::new(
            SottoStatus::NullPointer,
            format!("{name} is NULL; pass a NUL-terminated string"),
        )
    })
}

/// Reads an optional string argument: NULL is `None`.
///
/// # Safety
/// As [`str_arg`].
unsafe fn opt_str_arg<'a>(ptr: *const c_char, name: &str) -> Result<Option<&'a str>, Failure> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: not NULL, and the caller promises a NUL-terminated string living for 'a.
    let text = unsafe { CStr::from_ptr(ptr) };
    text.to_str().map(Some).map_err(|_| {
        Failure::new(
            SottoStatus::InvalidUtf8,
            format!("{name} is not valid UTF-8; pass UTF-8 text"),
        )
    })
}

/// Borrows a handle.
///
/// # Safety
/// `ptr` is NULL or a live handle of this library that nothing else uses mutably for `'a`.
unsafe fn handle<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, Failure> {
    // SAFETY: the caller promises NULL or a live, properly aligned handle from Box::into_raw.
    unsafe { ptr.as_ref() }.ok_or_else(|| {
        Failure::new(
            SottoStatus::NullPointer,
            format!("{name} is NULL; pass the handle this library returned"),
        )
    })
}

/// Takes over a configuration handle the caller gives up (it is freed with the returned box).
///
/// # Safety
/// `config` is NULL or a live `sotto_config` that the caller does not use again.
unsafe fn take_config(config: *mut SottoConfig) -> Result<Box<SottoConfig>, Failure> {
    if config.is_null() {
        return Err(Failure::new(
            SottoStatus::NullPointer,
            "config is NULL; create one with sotto_config_new",
        ));
    }
    // SAFETY: a live handle from Box::into_raw in sotto_config_new, given up by the caller.
    Ok(unsafe { Box::from_raw(config) })
}

/// Borrows a handle mutably.
///
/// # Safety
/// `ptr` is NULL or a live handle of this library that nothing else uses for `'a`.
unsafe fn handle_mut<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: the caller promises NULL or a live handle from Box::into_raw used by no one else.
    unsafe { ptr.as_mut() }.ok_or_else(|| {
        Failure::new(
            SottoStatus::NullPointer,
            format!("{name} is NULL; pass the handle this library returned"),
        )
    })
}

/// Resolves `HOST:PORT`, preferring IPv4 as the command-line tool does.
fn resolve(text: &str, name: &str) -> Result<SocketAddr, Failure> {
    let hint = "write HOST:PORT, e.g. 127.0.0.1:5004, [::1]:5004 or example.org:5004";
    let invalid = |why: String| Failure::new(SottoStatus::InvalidArgument, why);
    let addrs: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|e| invalid(format!("{name} '{text}' cannot be resolved ({e}); {hint}")))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| invalid(format!("{name} '{text}' resolves to no address; {hint}")))
}

/// Creates the settings of a call: bind to `bind` (`"0.0.0.0:0"` picks a free port), call
/// `peer_or_null` (`"HOST:PORT"`) or, when it is NULL, listen for the first peer, and keep this
/// end's ZRTP identity and the peers' retained secrets in the SQLite file `cache_path`
/// (created if missing; two ends of one call need different files).
///
/// The defaults are those of the engine: no audio in or out, no video, no duration limit.
/// Returns NULL on failure (NULL or non-UTF-8 strings, an address that does not resolve, a
/// peer on port 0); `sotto_last_error` says why. Free the result with `sotto_config_free`,
/// or hand it to `sotto_call_start`, which takes it over.
///
/// # Safety
/// Each string is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sotto_config_new(
    bind: *const c_char,
    peer_or_null: *const c_char,
    cache_path: *const c_char,
) -> *mut SottoConfig {
    guard(|| {
        // SAFETY: the caller passes NULL or NUL-terminated strings, read only within this call.
        let (bind, peer, cache_path) = unsafe {
            (
                str_arg(bind, "bind")?,
                opt_str_arg(peer_or_null, "peer")?,
                str_arg(cache_path, "cache_path")?,
            )
        };
        let bind = resolve(bind, "bind address")?;
        let peer = peer.map(|p| resolve(p, "peer address")).transpose()?;
        if peer.is_some_and(|p| p.port() == 0 || p.ip().is_unspecified()) {
            return Err(Failure::new(
                SottoStatus::InvalidArgument,
                "the peer address needs a port and a host to send to, e.g. 127.0.0.1:5004",
            ));
        }
        if cache_path.is_empty() {
            return Err(Failure::new(
                SottoStatus::InvalidArgument,
                "cache_path is empty; name a file for the zid cache",
            ));
        }
        let config = CallConfig::new(bind, peer, PathBuf::from(cache_path));
        Ok(Box::into_raw(Box::new(SottoConfig {
            inner: config,
            path: PathConfig::default(),
        })))
    })
}

/// Parses an input and an output spec of `kind` (either may be NULL: unchanged), both before
/// anything changes, then hands what was given to `apply`.
///
/// # Safety
/// `config` is NULL or a live `sotto_config`; each string is NULL or NUL-terminated.
unsafe fn set_specs<I, O>(
    config: *mut SottoConfig,
    input: *const c_char,
    output: *const c_char,
    kind: &str,
    apply: impl FnOnce(&mut CallConfig, Option<I>, Option<O>),
) -> SottoStatus
where
    I: FromStr<Err = sotto::media::Error>,
    O: FromStr<Err = sotto::media::Error>,
{
    guard(|| {
        // SAFETY: the caller passes a live config (or NULL) and NULL or NUL-terminated strings.
        let (config, input, output) = unsafe {
            (
                handle_mut(config, "config")?,
                opt_str_arg(input, &format!("{kind} input"))?,
                opt_str_arg(output, &format!("{kind} output"))?,
            )
        };
        let invalid =
            |e: sotto::media::Error| Failure::new(SottoStatus::InvalidArgument, e.to_string());
        let input = input.map(str::parse::<I>).transpose().map_err(invalid)?;
        let output = output.map(str::parse::<O>).transpose().map_err(invalid)?;
        apply(&mut config.inner, input, output);
        Ok(SottoStatus::Ok)
    })
}

/// Sets where the call's audio comes from and goes. `input`: `"default"` (the capture
/// device), `"none"` (silence), `"tone"` (a synthetic tone) or a WAV file to play;
/// `output`: `"default"` (the playback device), `"none"` or a WAV file to write. A NULL spec
/// leaves that side as it was. On an invalid spec nothing changes.
///
/// # Safety
/// `config` is NULL or a live `sotto_config`; each string is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sotto_config_set_audio(
    config: *mut SottoConfig,
    input: *const c_char,
    output: *const c_char,
) -> SottoStatus {
    // SAFETY: the caller's promises, passed on unchanged.
    unsafe {
        set_specs(config, input, output, "audio", |config, input, output| {
            if let Some(input) = input {
                config.audio_in = input;
            }
            if let Some(output) = output {
                config.audio_out = output;
            }
        })
    }
}

/// Sets the call's video. `input`: `"none"`, `"pattern"` (a moving test picture),
/// `"camera"`, `"camera:N"` or a Y4M file to send; `output`: `"none"` or a Y4M file to write.
/// Video is on when either is not `"none"`; a peer without video leaves it an audio call. A
/// NULL spec leaves that side as it was. On an invalid spec nothing changes.
///
/// # Safety
/// `config` is NULL or a live `sotto_config`; each string is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sotto_config_set_video(
    config: *mut SottoConfig,
    input: *const c_char,
    output: *const c_char,
) -> SottoStatus {
    // SAFETY: the caller's promises, passed on unchanged.
    unsafe {
        set_specs(config, input, output, "video", |config, input, output| {
            if let Some(input) = input {
                config.video_in = input;
            }
            if let Some(output) = output {
                config.video_out = output;
            }
        })
    }
}

/// Hangs the call up `duration_ms` milliseconds after it becomes secure; 0 (the default) runs
/// it until either end hangs up.
///
/// # Safety
/// `config` is NULL or a live `sotto_config`.
#[no_mangle]
pub unsafe extern "C" fn sotto_config_set_duration_ms(
    config: *mut SottoConfig,
    duration_ms: u32,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes a live config or NULL.
        let config = unsafe { handle_mut(config, "config")? };
        config.inner.duration =
            (duration_ms > 0).then(|| Duration::from_millis(u64::from(duration_ms)));
        Ok(SottoStatus::Ok)
    })
}

/// Frees settings that were not handed to `sotto_call_start`. NULL is ignored.
///
/// # Safety
/// `config` is NULL or a live `sotto_config`, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn sotto_config_free(config: *mut SottoConfig) {
    guard(|| {
        if !config.is_null() {
            // SAFETY: a live handle from Box::into_raw in sotto_config_new, given up by the caller.
            drop(unsafe { Box::from_raw(config) });
        }
        Ok(SottoStatus::Ok)
    });
}

/// Starts a call with `config`, which it takes over (freed here, whether the start succeeds or
/// not: do not use or free it afterwards). Binds the socket, opens the ZID cache and the audio
/// and video, starts the call's threads and returns at once: a caller starts ZRTP immediately,
/// a listener waits for its peer. Returns NULL on failure (`sotto_last_error` says why: the
/// port in use, the cache unreadable, a device or file missing, ...).
///
/// # Safety
/// `config` is NULL or a live `sotto_config`, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn sotto_call_start(config: *mut SottoConfig) -> *mut SottoCall {
    guard(|| {
        // SAFETY: the caller gives up a live config or passes NULL.
        let config = unsafe { take_config(config)? };
        let call = Call::start(config.inner)
            .map_err(|e| Failure::new(SottoStatus::StartFailed, e.to_string()))?;
        Ok(SottoCall::into_raw(call, false))
    })
}

/// The local UDP port of the call's socket (the one picked when asked for port 0): what a
/// listener tells its peer to call. 0 for a NULL call.
///
/// # Safety
/// `call` is NULL or a live `sotto_call`.
#[no_mangle]
pub unsafe extern "C" fn sotto_call_local_port(call: *const SottoCall) -> u16 {
    guard(|| {
        // SAFETY: the caller passes a live call or NULL.
        let call = unsafe { handle(call, "call")? };
        Ok(call.inner.local_addr().port())
    })
}

/// Waits up to `timeout_ms` milliseconds for the call's next event and writes it to `*out`.
/// Returns `SOTTO_STATUS_OK` when an event was written, `SOTTO_STATUS_NO_EVENT` when none came
/// in time (or the call has ended and every event was taken), or a negative error. The last
/// event of every call is `SOTTO_EVENT_KIND_ENDED`.
///
/// May be called from any thread, also while another thread calls `sotto_call_hang_up` or
/// `sotto_call_set_sas_verified`.
///
/// # Safety
/// `call` is NULL or a live `sotto_call`; `out` is NULL or points to writable memory for one
/// `sotto_event`.
#[no_mangle]
pub unsafe extern "C" fn sotto_call_next_event(
    call: *const SottoCall,
    timeout_ms: u32,
    out: *mut SottoEvent,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes a live call or NULL.
        let call = unsafe { handle(call, "call")? };
        if out.is_null() {
            return Err(Failure::new(
                SottoStatus::NullPointer,
                "out is NULL; pass a sotto_event to fill",
            ));
        }
        let timeout = Duration::from_millis(u64::from(timeout_ms));
        let Some(event) = call.inner.next_event(timeout) else {
            return Ok(SottoStatus::NoEvent);
        };
        let event = SottoEvent::from_event(&event);
        // SAFETY: not NULL, and the caller promises room for one sotto_event; `write` does not
        // read (or drop) what was there, so uninitialised memory is fine.
        unsafe { out.write(event) };
        Ok(SottoStatus::Ok)
    })
}

/// Marks the peer's SAS verified (`verified` not 0) or not in the ZID cache, after the two
/// people compared it. Before the call is secure the choice is kept and applied once it is.
///
/// # Safety
/// `call` is NULL or a live `sotto_call`.
#[no_mangle]
pub unsafe extern "C" fn sotto_call_set_sas_verified(
    call: *const SottoCall,
    verified: c_int,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes a live call or NULL.
        let call = unsafe { handle(call, "call")? };
        call.inner.set_sas_verified(verified != 0);
        Ok(SottoStatus::Ok)
    })
}

/// Mutes the microphone (`muted` not 0) or unmutes it, from the next audio frame on: while
/// muted the call sends silence in place of its audio input (with DTX, a comfort-noise
/// packet every 400 ms), so nothing said reaches the peer. Video is unaffected.
///
/// # Safety
/// `call` is NULL or a live `sotto_call`.
#[no_mangle]
pub unsafe extern "C" fn sotto_call_set_muted(call: *const SottoCall, muted: c_int) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes a live call or NULL.
        let call = unsafe { handle(call, "call")? };
        call.inner.set_muted(muted != 0);
        Ok(SottoStatus::Ok)
    })
}

/// Turns the call's video input off (`muted` not 0: a black picture a second is sent in its
/// place) or back on, from the next picture on. Audio is unaffected; a call without video
/// ignores it.
///
/// # Safety
/// `call` is NULL or a live `sotto_call`.
#[no_mangle]
pub unsafe extern "C" fn sotto_call_set_video_muted(
    call: *const SottoCall,
    muted: c_int,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes a live call or NULL.
        let call = unsafe { handle(call, "call")? };
        call.inner.set_video_muted(muted != 0);
        Ok(SottoStatus::Ok)
    })
}

/// Ends the call: its threads stop, its output is finalised, and an event of kind
/// `SOTTO_EVENT_KIND_ENDED` with `SOTTO_END_REASON_HUNG_UP` follows (unless it had already
/// ended). Returns at once; `sotto_call_wait_and_free` waits for the end.
///
/// # Safety
/// `call` is NULL or a live `sotto_call`.
#[no_mangle]
pub unsafe extern "C" fn sotto_call_hang_up(call: *const SottoCall) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes a live call or NULL.
        let call = unsafe { handle(call, "call")? };
        call.inner.hang_up();
        Ok(SottoStatus::Ok)
    })
}

/// Waits until the call has ended and every thread has stopped, frees it, and returns why it
/// ended: a `sotto_end_reason` (positive), or a negative `sotto_status` for a NULL call. Does
/// not hang up: call `sotto_call_hang_up` first to end the call now. No other function may be
/// running on this call, or be called on it afterwards.
///
/// # Safety
/// `call` is NULL or a live `sotto_call`, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn sotto_call_wait_and_free(call: *mut SottoCall) -> c_int {
    guard(|| {
        if call.is_null() {
            return Err(Failure::new(
                SottoStatus::NullPointer,
                "call is NULL; pass the handle sotto_call_start returned",
            ));
        }
        // SAFETY: a live handle from Box::into_raw in sotto_call_start, given up by the caller.
        let call = unsafe { Box::from_raw(call) };
        Ok(SottoEndReason::from(&call.inner.wait()) as c_int)
    })
}

/// Whether a call that ended for `reason` (a `sotto_end_reason`, as `sotto_call_wait_and_free`
/// returns it) ended well: 1 when hung up by either end or after its duration, 0 when the
/// peer vanished, the handshake failed, something failed locally, or `reason` is no end
/// reason.
#[no_mangle]
pub extern "C" fn sotto_end_reason_ended_well(reason: c_int) -> c_int {
    let well = [
        SottoEndReason::HungUp,
        SottoEndReason::DurationReached,
        SottoEndReason::PeerHungUp,
    ];
    c_int::from(well.iter().any(|&r| r as c_int == reason))
}

/// The message of the last failure on this thread (lower case, saying what to do), or an empty
/// string if nothing failed yet. Never NULL. The pointer is valid until the next `sotto_*`
/// call on this thread; copy the text to keep it.
#[no_mangle]
pub extern "C" fn sotto_last_error() -> *const c_char {
    LAST_ERROR
        .try_with(|last| last.borrow().as_ptr())
        .unwrap_or(c"".as_ptr())
}

#[cfg(test)]
mod tests;
