//! Moving a running call to a new network path: the C form of [`sotto::Call::restart_path`],
//! [`sotto::Call::answer_path_restart`] and [`sotto::Call::accept_path_restart`].
//!
//! One end's network changed (another Wi-Fi, a mobile network) and the peer no longer reaches
//! it. That end makes a restart offer, the peer answers it, and the first end accepts the
//! answer: the same three steps as setting the call up, with lines the application carries
//! over its own channel again. The call goes on meanwhile with its keys and SAS; connectivity
//! checks find the new path and a `SOTTO_EVENT_KIND_CONNECTED` event on each end reports it.

use std::ffi::c_char;

use sotto::Call;

use crate::prepared::{readable_by_peer, require_line_capacity, write_text};
use crate::{guard, handle, str_arg, Failure, SottoCall, SottoStatus};

/// The engine call behind a handle whose path can be restarted: one set up by offer and answer.
fn negotiated(call: &SottoCall) -> Result<&Call, Failure> {
    if call.negotiated {
        Ok(&call.inner)
    } else {
        Err(Failure::new(
            SottoStatus::InvalidArgument,
            "this call was started by sotto_call_start with the peer's address; only a call set \
             up by offer and answer (sotto_call_prepare) can restart its path",
        ))
    }
}

/// The engine's refusal of a restart step, saying which step it was.
fn refused(step: &str, e: sotto::Error) -> Failure {
    // The peer's line, or the call's state (ended, no restart offer waiting), cannot be used;
    // anything else failed on this end.
    let status = match e {
        sotto::Error::Signal(_) | sotto::Error::Path(_) | sotto::Error::Config(_) => {
            SottoStatus::InvalidArgument
        }
        _ => SottoStatus::StartFailed,
    };
    Failure::new(status, format!("{step}: {e}"))
}

/// Starts moving the call to a new network path, for when this end's network changed and the
/// peer can no longer be reached: gathers this end's addresses again (as `sotto_call_prepare`
/// did, asking its STUN servers, so this may block up to 3 s) and writes a restart offer line
/// (starting `sotto1:offer:`) for the application to carry to the peer, and a NUL, into
/// `buf`, which holds `len` bytes. The peer passes it to `sotto_call_answer_path_restart`;
/// its answer goes to `sotto_call_accept_path_restart`. The call goes on meanwhile, with the
/// same keys and SAS; a `SOTTO_EVENT_KIND_CONNECTED` event reports the new path once found. A
/// new restart offer replaces one still waiting for its answer.
///
/// Only for a call set up by offer and answer (`sotto_prepared_answer`,
/// `sotto_prepared_accept`). Every restart makes a new offer, so `len` must be at least
/// `SOTTO_LINE_CAPACITY` (checked first: a smaller buffer fails with nothing gathered and no
/// restart begun). `*needed` (unless `needed` is NULL) gets the bytes the line needed with
/// its NUL on success, and `SOTTO_LINE_CAPACITY` when the buffer was too small.
///
/// Returns `SOTTO_STATUS_OK`, `SOTTO_STATUS_BUFFER_TOO_SMALL`,
/// `SOTTO_STATUS_INVALID_ARGUMENT` (a call from `sotto_call_start`, or one that has ended),
/// `SOTTO_STATUS_START_FAILED` (gathering failed) or another negative error;
/// `sotto_last_error` says why. May be called from any thread, also while another thread waits
/// in `sotto_call_next_event`.
///
/// # Safety
/// `call` is NULL or a live `sotto_call`; `buf` is NULL or points to `len` writable bytes;
/// `needed` is NULL or points to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn sotto_call_restart_path(
    call: *const SottoCall,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes a live call or NULL.
        let call = negotiated(unsafe { handle(call, "call")? })?;
        // SAFETY: needed is NULL or writable, as the caller promises.
        unsafe { require_line_capacity(buf, len, needed, "buf", "a restart offer") }?;
        let offer = call
            .restart_path()
            .map_err(|e| refused("the path cannot be restarted", e))?;
        readable_by_peer(&offer, "the restart offer")?;
        // SAFETY: buf holds len >= SOTTO_LINE_CAPACITY bytes, enough for the line and its NUL,
        // and needed is NULL or writable, as promised.
        unsafe { write_text(&offer, buf, len, needed, "the restart offer") }
    })
}

/// Answers the peer's restart offer line `offer` (from its `sotto_call_restart_path`; white
/// space in it is ignored): gathers this end's addresses again (this may block up to 3 s),
/// starts checking the new path and writes the answer line (starting `sotto1:answer:`) for
/// the application to carry back, and a NUL, into `answer_buf`, which holds `len` bytes. The
/// call goes on meanwhile; a `SOTTO_EVENT_KIND_CONNECTED` event reports the new path.
///
/// The same buffer rule as `sotto_call_restart_path`: `len` must be at least
/// `SOTTO_LINE_CAPACITY` (checked first: a smaller buffer fails with nothing gathered and the
/// offer still to answer), and `*needed` likewise.
/// Returns `SOTTO_STATUS_OK`, `SOTTO_STATUS_BUFFER_TOO_SMALL`,
/// `SOTTO_STATUS_INVALID_ARGUMENT` (a line that is not a restart offer, or one this call
/// cannot answer; a call from `sotto_call_start`, or one that has ended; nothing changed
/// then), `SOTTO_STATUS_START_FAILED` or another negative error; `sotto_last_error` says why.
///
/// # Safety
/// `call` is NULL or a live `sotto_call`; `offer` is NULL or NUL-terminated; `answer_buf` is
/// NULL or points to `len` writable bytes; `needed` is NULL or points to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn sotto_call_answer_path_restart(
    call: *const SottoCall,
    offer: *const c_char,
    answer_buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes a live call (or NULL) and a NUL-terminated string (or
        // NULL), read only within this call.
        let (call, offer) = unsafe { (handle(call, "call")?, str_arg(offer, "offer")?) };
        let call = negotiated(call)?;
        // SAFETY: needed is NULL or writable, as the caller promises.
        unsafe { require_line_capacity(answer_buf, len, needed, "answer_buf", "an answer") }?;
        let answer = call
            .answer_path_restart(offer)
            .map_err(|e| refused("the restart offer cannot be answered", e))?;
        readable_by_peer(&answer, "the restart answer")?;
        // SAFETY: answer_buf holds len >= SOTTO_LINE_CAPACITY bytes, enough for the line and
        // its NUL, and needed is NULL or writable, as promised.
        unsafe { write_text(&answer, answer_buf, len, needed, "the restart answer") }
    })
}

/// Takes the peer's answer line `answer` to this end's latest restart offer (white space in it
/// is ignored) and starts checking the new path; a `SOTTO_EVENT_KIND_CONNECTED` event reports
/// it once found. Returns `SOTTO_STATUS_OK`, `SOTTO_STATUS_INVALID_ARGUMENT` (a line that is
/// not an answer or does not fit the restart offer, which then keeps waiting for the right
/// one; no restart offer waiting; a call from `sotto_call_start`, or one that has ended) or
/// another negative error; `sotto_last_error` says why.
///
/// # Safety
/// `call` is NULL or a live `sotto_call`; `answer` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sotto_call_accept_path_restart(
    call: *const SottoCall,
    answer: *const c_char,
) -> SottoStatus {
    guard(|| {
        // SAFETY: the caller passes a live call (or NULL) and a NUL-terminated string (or
        // NULL), read only within this call.
        let (call, answer) = unsafe { (handle(call, "call")?, str_arg(answer, "answer")?) };
        negotiated(call)?
            .accept_path_restart(answer)
            .map_err(|e| refused("the restart answer cannot be taken", e))?;
        Ok(SottoStatus::Ok)
    })
}
