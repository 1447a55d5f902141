//! Calls set up by an offer and an answer that the application carries over its own channel
//! (a chat message), for peers that know nothing of each other's addresses and may sit behind
//! NATs: the C form of [`sotto::PreparedCall`].
//!
//! Ownership, in one rule: `sotto_prepared_answer` and `sotto_prepared_accept` take the
//! prepared call over only when they return a call. When they return NULL it is still the
//! caller's, to retry or to free with `sotto_prepared_free`: a failure can never lose it or
//! leave it to leak. A failure found before the engine is handed the prepared call (a NULL or
//! non-UTF-8 argument, a buffer that is too small, a line that is not an offer or answer)
//! leaves it usable; a later one (the peer's offer cannot be answered, the call cannot start)
//! uses it up, and then only `sotto_prepared_free` applies.

use std::ffi::c_char;
use std::net::SocketAddr;
use std::time::Duration;

use sotto::signal::{Answer, Offer};
use sotto::{Call, PathConfig, PreparedCall};

use crate::{
    guard, handle, handle_mut, opt_str_arg, str_arg, take_config, Failure, SottoCall, SottoConfig,
    SottoStatus,
};

/// The longest offer or answer line there is, in bytes, without its NUL: what a peer reads at
/// most (`sotto::signal::MAX_LINE_LEN`).
pub const SOTTO_MAX_LINE_LEN: usize = 21871;
/// Bytes in a buffer that holds any offer or answer line, its NUL included.
/// `sotto_prepared_answer`, `sotto_call_restart_path` and `sotto_call_answer_path_restart`
/// require this much; an offer fits in it too.
pub const SOTTO_LINE_CAPACITY: usize = SOTTO_MAX_LINE_LEN + 1;

// The header needs a literal; this keeps it the engine's figure.
const _: () = assert!(SOTTO_MAX_LINE_LEN == sotto::signal::MAX_LINE_LEN);

/// A call being set up by offer and answer, from `sotto_call_prepare`; opaque to C.
#[derive(Debug)]
pub struct SottoPrepared {
    /// `None` once a failed answer or accept has used it up.
    inner: Option<PreparedCall>,
}

impl SottoPrepared {
    fn get(&self) -> Result<&PreparedCall, Failure> {
        self.inner.as_ref().ok_or_else(used_up)
    }
}

fn used_up() -> Failure {
    Failure::new(
        SottoStatus::UsedUp,
        "this prepared call was used up by a failed answer or accept; free it with \
         sotto_prepared_free and prepare a new call",
    )
}

/// Reads `"IP:PORT,IP:PORT,..."`; white space around an entry and empty entries are ignored.
pub(crate) fn parse_stun_servers(list: &str) -> Result<Vec<SocketAddr>, Failure> {
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let invalid = |why: &str| {
                Failure::new(
                    SottoStatus::InvalidArgument,
                    format!(
                        "stun server '{entry}' {why}; write IP:PORT, e.g. 192.0.2.1:3478, \
                         several separated by commas"
                    ),
                )
            };
            let addr: SocketAddr = entry.parse().map_err(|_| invalid("is not an address"))?;
            if addr.port() == 0 || addr.ip().is_unspecified() {
                return Err(invalid("needs a host and a port"));
            }
            Ok(addr)
        })
        .collect()
}

/// Writes `text` and a NUL into the caller's buffer, or nothing but an empty string when it
/// does not fit (half a line would only fail at the peer). `*needed`, unless NULL, gets the
/// bytes the text needs, its NUL included, in either case.
///
/// # Safety
/// `buf` is NULL or points to `len` writable bytes; `needed` is NULL or points to a writable
/// `size_t`.
pub(crate) unsafe fn write_text(
    text: &str,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
    what: &str,
) -> Result<SottoStatus, Failure> {
    // C would stop reading at a NUL anyway; none of our lines or messages holds one.
    let text = text.split('\0').next().unwrap_or_default();
    let need = text.len() + 1;
    if !needed.is_null() {
        // SAFETY: not NULL, and the caller promises a writable size_t.
        unsafe { needed.write(need) };
    }
    if buf.is_null() && len > 0 {
        return Err(Failure::new(
            SottoStatus::NullPointer,
            format!("the buffer for {what} is NULL but its length is {len}"),
        ));
    }
    if len < need {
        if len > 0 {
            // SAFETY: not NULL (checked above) and at least one writable byte.
            unsafe { buf.write(0) };
        }
        return Err(Failure::new(
            SottoStatus::BufferTooSmall,
            format!(
                "{what} needs {need} bytes with its NUL but the buffer holds {len}; \
                 pass a larger one (SOTTO_LINE_CAPACITY bytes always suffice)"
            ),
        ));
    }
    // SAFETY: `buf` holds `len >= need` writable bytes (so it is not NULL: need >= 1), and
    // `text` is a distinct Rust string, so the two do not overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr().cast::<c_char>(), buf, text.len());
        buf.add(text.len()).write(0);
    }
    Ok(SottoStatus::Ok)
}

/// Refuses a buffer that might not hold the line the engine is about to make (`buf_name`
/// holding `what`), before anything is asked of the engine: making it has side effects
/// (a started call, gathered candidates), so a line that then did not fit would be lost.
/// `*needed`, unless NULL, gets `SOTTO_LINE_CAPACITY` when the buffer is too small.
///
/// # Safety
/// `needed` is NULL or points to a writable `size_t`.
pub(crate) unsafe fn require_line_capacity(
    buf: *const c_char,
    len: usize,
    needed: *mut usize,
    buf_name: &str,
    what: &str,
) -> Result<(), Failure> {
    if buf.is_null() {
        return Err(Failure::new(
            SottoStatus::NullPointer,
            format!("{buf_name} is NULL; pass a buffer of SOTTO_LINE_CAPACITY bytes"),
        ));
    }
    if len < SOTTO_LINE_CAPACITY {
        if !needed.is_null() {
            // SAFETY: not NULL, and the caller promises a writable size_t.
            unsafe { needed.write(SOTTO_LINE_CAPACITY) };
        }
        return Err(Failure::new(
            SottoStatus::BufferTooSmall,
            format!(
                "{buf_name} holds {len} bytes; {what} may need up to \
                 SOTTO_LINE_CAPACITY ({SOTTO_LINE_CAPACITY}); nothing was started"
            ),
        ));
    }
    Ok(())
}

/// Refuses a line of ours longer than any peer reads (an SDP over 16 KiB): the peer could
/// never use it, so it is not handed out.
pub(crate) fn readable_by_peer(line: &str, what: &str) -> Result<(), Failure> {
    if line.len() > SOTTO_MAX_LINE_LEN {
        return Err(Failure::new(
            SottoStatus::StartFailed,
            format!(
                "{what} came out {} bytes long, more than a peer reads",
                line.len()
            ),
        ));
    }
    Ok(())
}

/// Sets how long `sotto_call_prepare` waits for its STUN servers (`gather_ms`, 3000 unless
/// set) and how long a call set up by offer and answer looks for a path to the peer before it
/// ends with `SOTTO_END_REASON_NO_PATH` (`connect_ms`, 10000 unless set). 0 leaves a value as
/// it was. Calls started with `sotto_call_start` do neither and ignore these.
///
/// # Safety
/// `config` is NULL or a live `sotto_config`.
#[no_mangle]
pub unsafe extern "C" fn sotto_config_set_path_timeouts(
    config: *mut SottoConfig,
    gather_ms: u32,
    connect_ms: u32,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes a live config or NULL.
        let config = unsafe { handle_mut(config, "config")? };
        let set = |value: &mut Duration, ms: u32| {
            if ms > 0 {
                *value = Duration::from_millis(u64::from(ms));
            }
        };
        set(&mut config.path.gather_timeout, gather_ms);
        set(&mut config.path.connect_timeout, connect_ms);
        Ok(SottoStatus::Ok)
    })
}

/// Prepares a call set up by offer and answer (`sotto_prepared_offer` and then
/// `sotto_prepared_accept` on one side, `sotto_prepared_answer` on the other): binds the
/// config's address, opens its ZID cache and gathers the addresses the peer may reach this
/// end at. `stun_servers` is NULL (host addresses only, enough on one network) or a
/// comma-separated list of `IP:PORT` of STUN servers, which tell the address a NAT shows the
/// internet. Waits for them up to 3 s; one that does not answer is no error, see
/// `sotto_prepared_stun_failure`. The config's peer address is not used: the offer and the
/// answer find the path; a call that finds none within 10 s ends with `SOTTO_END_REASON_NO_PATH`
/// (both times can be changed, `sotto_config_set_path_timeouts`).
///
/// Takes `config` over, like `sotto_call_start` (freed here whether this succeeds or not: do
/// not use or free it afterwards). Returns NULL on failure (`sotto_last_error` says why: an
/// unreadable STUN list, the port in use, the cache unreadable, ...). Free the result with
/// `sotto_prepared_free` unless an answer or accept takes it over.
///
/// # Safety
/// `config` is NULL or a live `sotto_config`, not used again afterwards; `stun_servers` is
/// NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sotto_call_prepare(
    config: *mut SottoConfig,
    stun_servers: *const c_char,
) -> *mut SottoPrepared {
    guard(|| {
        // SAFETY: the caller gives up a live config or passes NULL; taken first so that
        // every failure below frees it.
        let config = unsafe { take_config(config)? };
        // SAFETY: the caller passes NULL or a NUL-terminated string, read only within this call.
        let stun_servers = unsafe { opt_str_arg(stun_servers, "stun_servers")? };
        let SottoConfig { inner, path } = *config;
        let path = PathConfig {
            stun_servers: stun_servers
                .map(parse_stun_servers)
                .transpose()?
                .unwrap_or_default(),
            ..path
        };
        let prepared = Call::prepare(inner, path)
            .map_err(|e| Failure::new(SottoStatus::StartFailed, e.to_string()))?;
        Ok(Box::into_raw(Box::new(SottoPrepared {
            inner: Some(prepared),
        })))
    })
}

/// The local UDP port of the prepared call's socket (the one picked when asked for port 0).
/// 0 for a NULL or used-up prepared call.
///
/// # Safety
/// `prepared` is NULL or a live `sotto_prepared`.
#[no_mangle]
pub unsafe extern "C" fn sotto_prepared_local_port(prepared: *const SottoPrepared) -> u16 {
    guard(|| {
        // SAFETY: the caller passes a live prepared call or NULL.
        let prepared = unsafe { handle(prepared, "prepared")? };
        Ok(prepared.get()?.local_addr().port())
    })
}

/// Writes the offer, one line of text (ASCII, starting `sotto1:offer:`) for the application
/// to carry to the peer, and a NUL into `buf`, which holds `len` bytes. `*needed` (unless
/// `needed` is NULL) gets the bytes the line needs with its NUL, whether it fits or not; a
/// buffer of `SOTTO_LINE_CAPACITY` bytes always suffices. The same prepared call writes the
/// same offer every time.
///
/// Returns `SOTTO_STATUS_OK`, `SOTTO_STATUS_BUFFER_TOO_SMALL` (nothing but an empty string
/// was written; ask again with `*needed` bytes; `buf` NULL with `len` 0 asks only for the
/// size), `SOTTO_STATUS_USED_UP`, or another negative error.
///
/// # Safety
/// `prepared` is NULL or a live `sotto_prepared`; `buf` is NULL or points to `len` writable
/// bytes; `needed` is NULL or points to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn sotto_prepared_offer(
    prepared: *const SottoPrepared,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes a live prepared call or NULL.
        let prepared = unsafe { handle(prepared, "prepared")? };
        let offer = prepared
            .get()?
            .offer()
            .map_err(|e| Failure::new(SottoStatus::InvalidArgument, e.to_string()))?;
        // SAFETY: the caller's promises about buf, len and needed, passed on.
        unsafe { write_text(&offer, buf, len, needed, "the offer") }
    })
}

/// How many STUN servers gave no address (each is reported by
/// `sotto_prepared_stun_failure`). 0 for a NULL or used-up prepared call.
///
/// # Safety
/// `prepared` is NULL or a live `sotto_prepared`.
#[no_mangle]
pub unsafe extern "C" fn sotto_prepared_stun_failure_count(
    prepared: *const SottoPrepared,
) -> usize {
    guard(|| {
        // SAFETY: the caller passes a live prepared call or NULL.
        let prepared = unsafe { handle(prepared, "prepared")? };
        Ok(prepared.get()?.stun_failures().len())
    })
}

/// Writes why STUN server number `index` (from 0, below
/// `sotto_prepared_stun_failure_count`) gave no address, for the user (lower case, naming the
/// server and what to check), and a NUL into `buf`, which holds `len` bytes; `*needed` as for
/// `sotto_prepared_offer`, with the same return values, and `SOTTO_STATUS_INVALID_ARGUMENT`
/// for an index out of range.
///
/// # Safety
/// As `sotto_prepared_offer`.
#[no_mangle]
pub unsafe extern "C" fn sotto_prepared_stun_failure(
    prepared: *const SottoPrepared,
    index: usize,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes a live prepared call or NULL.
        let prepared = unsafe { handle(prepared, "prepared")? };
        let failures = prepared.get()?.stun_failures();
        let failure = failures.get(index).ok_or_else(|| {
            Failure::new(
                SottoStatus::InvalidArgument,
                format!(
                    "there is no stun failure {index}: there are {}, numbered from 0",
                    failures.len()
                ),
            )
        })?;
        // SAFETY: the caller's promises about buf, len and needed, passed on.
        unsafe {
            write_text(
                &failure.reason.to_string(),
                buf,
                len,
                needed,
                "the stun failure",
            )
        }
    })
}

/// Hands the prepared call to the engine (`start`): it is used up from here whatever
/// happens, and a failure says so.
fn start_with<T>(
    prepared: &mut SottoPrepared,
    start: impl FnOnce(PreparedCall) -> Result<T, sotto::Error>,
) -> Result<T, Failure> {
    let inner = prepared.inner.take().ok_or_else(used_up)?;
    start(inner).map_err(|e| {
        // The peer's line did not fit ours (no codec in common, unusable candidates), or this
        // end could not start.
        let status = match e {
            sotto::Error::Signal(_) | sotto::Error::Path(_) => SottoStatus::InvalidArgument,
            _ => SottoStatus::StartFailed,
        };
        Failure::new(
            status,
            format!("{e}; this prepared call is used up: free it and prepare a new one"),
        )
    })
}

/// Answers the peer's offer line `offer` (white space in it, such as a chat's line wrap, is
/// ignored): starts the call, which first finds a path to the peer and then runs ZRTP on it,
/// and writes the answer line (starting `sotto1:answer:`) for the application to carry back,
/// and a NUL, into `answer_buf`, which holds `len` bytes.
///
/// The answer's length is known only once the call has started, so `len` must be at least
/// `SOTTO_LINE_CAPACITY` (checked first: a smaller buffer fails with nothing started and the
/// prepared call still usable). `*needed` (unless `needed` is NULL) gets the bytes the answer
/// needed with its NUL on success, and `SOTTO_LINE_CAPACITY` when the buffer was too small.
///
/// Returns the call, having taken `prepared` over (freed: do not use or free it afterwards).
/// Returns NULL on failure (`sotto_last_error` says why), `prepared` remaining the caller's:
/// still usable after a NULL or non-UTF-8 argument, a small buffer or a line that is not an
/// offer (damaged, cut off, an answer), used up after a later failure (an offer this end
/// cannot answer, a call that cannot start); free it with `sotto_prepared_free` either way.
///
/// # Safety
/// `prepared` is NULL or a live `sotto_prepared` that no other thread uses meanwhile; `offer`
/// is NULL or NUL-terminated; `answer_buf` is NULL or points to `len` writable bytes;
/// `needed` is NULL or points to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn sotto_prepared_answer(
    prepared: *mut SottoPrepared,
    offer: *const c_char,
    answer_buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> *mut SottoCall {
    guard(|| {
        // SAFETY: the caller passes a live prepared call used by no one else (or NULL), and a
        // NUL-terminated string (or NULL), read only within this call.
        let (handle, offer) =
            unsafe { (handle_mut(prepared, "prepared")?, str_arg(offer, "offer")?) };
        // SAFETY: needed is NULL or writable, as the caller promises.
        unsafe { require_line_capacity(answer_buf, len, needed, "answer_buf", "an answer") }?;
        handle.get()?;
        // Read it before the engine takes the prepared call, so a garbled paste leaves it
        // usable for the next try.
        Offer::from_line(offer).map_err(|e| {
            Failure::new(
                SottoStatus::InvalidArgument,
                format!("the offer cannot be read: {e}"),
            )
        })?;
        let (call, answer) = start_with(handle, |p| p.answer(offer))?;
        if let Err(mut failure) = readable_by_peer(&answer, "the answer") {
            // The call could never be set up.
            call.hang_up();
            let _ = call.wait();
            failure.message.push_str("; this prepared call is used up");
            return Err(failure);
        }
        // SAFETY: answer_buf holds len >= SOTTO_LINE_CAPACITY bytes, enough for the answer and
        // its NUL, and needed is NULL or writable, as promised.
        unsafe { write_text(&answer, answer_buf, len, needed, "the answer") }?;
        // SAFETY: a live handle from Box::into_raw in sotto_call_prepare, which the caller gives
        // up on success; `handle` is not used after this.
        drop(unsafe { Box::from_raw(prepared) });
        Ok(SottoCall::into_raw(call, true))
    })
}

/// Takes the peer's answer line `answer` to this end's offer (white space in it is ignored)
/// and starts the call: it first finds a path to the peer, then runs ZRTP on it.
///
/// Returns the call, having taken `prepared` over (freed: do not use or free it afterwards).
/// Returns NULL on failure (`sotto_last_error` says why), `prepared` remaining the caller's:
/// still usable after a NULL or non-UTF-8 argument or a line that is not an answer, used up
/// after a later failure (an answer that does not fit the offer, a call that cannot start);
/// free it with `sotto_prepared_free` either way.
///
/// # Safety
/// `prepared` is NULL or a live `sotto_prepared` that no other thread uses meanwhile;
/// `answer` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sotto_prepared_accept(
    prepared: *mut SottoPrepared,
    answer: *const c_char,
) -> *mut SottoCall {
    guard(|| {
        // SAFETY: the caller passes a live prepared call used by no one else (or NULL), and a
        // NUL-terminated string (or NULL), read only within this call.
        let (handle, answer) = unsafe {
            (
                handle_mut(prepared, "prepared")?,
                str_arg(answer, "answer")?,
            )
        };
        handle.get()?;
        Answer::from_line(answer).map_err(|e| {
            Failure::new(
                SottoStatus::InvalidArgument,
                format!("the answer cannot be read: {e}"),
            )
        })?;
        let call = start_with(handle, |p| p.accept(answer))?;
        // SAFETY: a live handle from Box::into_raw in sotto_call_prepare, which the caller gives
        // up on success; `handle` is not used after this.
        drop(unsafe { Box::from_raw(prepared) });
        Ok(SottoCall::into_raw(call, true))
    })
}

/// Frees a prepared call that no answer or accept took over (closing its socket), used up or
/// not. NULL is ignored.
///
/// # Safety
/// `prepared` is NULL or a live `sotto_prepared`, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn sotto_prepared_free(prepared: *mut SottoPrepared) {
    guard(|| {
        if !prepared.is_null() {
            // SAFETY: a live handle from Box::into_raw in sotto_call_prepare, given up by the
            // caller.
            drop(unsafe { Box::from_raw(prepared) });
        }
        Ok(SottoStatus::Ok)
    });
}
