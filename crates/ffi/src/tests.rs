//! The Rust side of the ABI: bad arguments become codes and messages, never a panic or UB.

use std::ffi::{c_char, CStr};
use std::ptr;

use super::*;
use crate::event::copy_text;
use crate::prepared::parse_stun_servers;
use sotto::media::{AudioInput, AudioOutput};
use sotto::EndReason;

fn last_error() -> String {
    // SAFETY: sotto_last_error never returns NULL and the text lives until the next call here.
    unsafe { CStr::from_ptr(sotto_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn new_config(bind: &CStr, peer: Option<&CStr>, cache: &CStr) -> *mut SottoConfig {
    // SAFETY: NUL-terminated strings (or NULL) that outlive the call.
    unsafe {
        sotto_config_new(
            bind.as_ptr(),
            peer.map_or(ptr::null(), CStr::as_ptr),
            cache.as_ptr(),
        )
    }
}

#[test]
fn a_valid_config_is_made_and_freed() {
    let config = new_config(c"127.0.0.1:0", Some(c"localhost:5004"), c"cache.sqlite");
    assert!(!config.is_null(), "{}", last_error());
    // SAFETY: a live config from sotto_config_new, freed once.
    unsafe {
        assert_eq!(
            sotto_config_set_audio(config, c"tone".as_ptr(), ptr::null()),
            SottoStatus::Ok
        );
        assert_eq!(sotto_config_set_duration_ms(config, 2_000), SottoStatus::Ok);
        let inner = &(*config).inner;
        assert_eq!(inner.audio_in, AudioInput::Tone);
        assert_eq!(inner.audio_out, AudioOutput::None);
        assert_eq!(inner.duration, Some(Duration::from_secs(2)));
        assert_eq!(inner.peer, Some("127.0.0.1:5004".parse().expect("address")));
        assert_eq!(sotto_config_set_duration_ms(config, 0), SottoStatus::Ok);
        assert_eq!((*config).inner.duration, None);
        sotto_config_free(config);
    }
}

#[test]
fn null_pointers_are_error_codes_with_messages() {
    assert!(new_config_raw(ptr::null(), ptr::null(), c"c".as_ptr()).is_null());
    assert!(last_error().contains("bind is NULL"), "{}", last_error());
    assert!(new_config_raw(c"127.0.0.1:0".as_ptr(), ptr::null(), ptr::null()).is_null());
    assert!(
        last_error().contains("cache_path is NULL"),
        "{}",
        last_error()
    );
    let mut event = SottoEvent::empty(SottoEventKind::None);
    // SAFETY: every handle is NULL, which each function must refuse without touching memory.
    unsafe {
        assert_eq!(
            sotto_config_set_audio(ptr::null_mut(), c"tone".as_ptr(), ptr::null()),
            SottoStatus::NullPointer
        );
        assert!(last_error().contains("config is NULL"), "{}", last_error());
        assert_eq!(
            sotto_config_set_video(ptr::null_mut(), ptr::null(), ptr::null()),
            SottoStatus::NullPointer
        );
        assert_eq!(
            sotto_config_set_duration_ms(ptr::null_mut(), 5),
            SottoStatus::NullPointer
        );
        sotto_config_free(ptr::null_mut());
        assert!(sotto_call_start(ptr::null_mut()).is_null());
        assert!(last_error().contains("config is NULL"), "{}", last_error());
        assert_eq!(sotto_call_local_port(ptr::null()), 0);
        assert_eq!(
            sotto_call_next_event(ptr::null(), 0, &mut event),
            SottoStatus::NullPointer
        );
        assert!(last_error().contains("call is NULL"), "{}", last_error());
        assert_eq!(
            sotto_call_set_sas_verified(ptr::null(), 1),
            SottoStatus::NullPointer
        );
        assert_eq!(
            sotto_call_set_muted(ptr::null(), 1),
            SottoStatus::NullPointer
        );
        assert_eq!(
            sotto_call_set_video_muted(ptr::null(), 1),
            SottoStatus::NullPointer
        );
        assert!(last_error().contains("call is NULL"), "{}", last_error());
        assert_eq!(sotto_call_hang_up(ptr::null()), SottoStatus::NullPointer);
        assert_eq!(
            sotto_call_wait_and_free(ptr::null_mut()),
            SottoStatus::NullPointer as c_int
        );
    }
}

fn new_config_raw(
    bind: *const c_char,
    peer: *const c_char,
    cache: *const c_char,
) -> *mut SottoConfig {
    // SAFETY: each pointer is NULL or a NUL-terminated literal.
    unsafe { sotto_config_new(bind, peer, cache) }
}

#[test]
fn bad_utf8_is_refused() {
    let bad = c"127.0.0.1:\xff0";
    assert!(new_config(bad, None, c"c").is_null());
    assert!(
        last_error().contains("bind is not valid UTF-8"),
        "{}",
        last_error()
    );
    let config = new_config(c"127.0.0.1:0", None, c"c");
    assert!(!config.is_null(), "{}", last_error());
    // SAFETY: a live config, freed once.
    unsafe {
        assert_eq!(
            sotto_config_set_audio(config, c"tone".as_ptr(), c"out\xfe.wav".as_ptr()),
            SottoStatus::InvalidUtf8
        );
        assert!(last_error().contains("audio output"), "{}", last_error());
        // Nothing changed: the valid input spec beside the bad one was not applied.
        assert_eq!((*config).inner.audio_in, AudioInput::None);
        sotto_config_free(config);
    }
}

#[test]
fn bad_addresses_and_specs_are_invalid_arguments() {
    for (bind, peer, expect) in [
        (c"not an address", None, "bind address 'not an address'"),
        (
            c"127.0.0.1:0",
            Some(c"127.0.0.1"),
            "peer address '127.0.0.1'",
        ),
        (c"127.0.0.1:0", Some(c"127.0.0.1:0"), "needs a port"),
        (c"127.0.0.1:0", Some(c"0.0.0.0:5004"), "a host to send to"),
    ] {
        assert!(new_config(bind, peer, c"c").is_null());
        assert!(last_error().contains(expect), "{}", last_error());
    }
    assert!(new_config(c"127.0.0.1:0", None, c"").is_null());
    assert!(
        last_error().contains("cache_path is empty"),
        "{}",
        last_error()
    );

    let config = new_config(c"127.0.0.1:0", None, c"c");
    // SAFETY: a live config, freed once.
    unsafe {
        assert_eq!(
            sotto_config_set_audio(config, c"".as_ptr(), ptr::null()),
            SottoStatus::InvalidArgument
        );
        assert!(last_error().contains("tone"), "{}", last_error());
        assert_eq!(
            sotto_config_set_video(config, c"patern".as_ptr(), ptr::null()),
            SottoStatus::InvalidArgument
        );
        assert!(last_error().contains("patern"), "{}", last_error());
        assert_eq!(
            sotto_config_set_video(config, c"pattern".as_ptr(), c"out.y4m".as_ptr()),
            SottoStatus::Ok
        );
        assert!((*config).inner.video_enabled());
        sotto_config_free(config);
    }
}

#[test]
fn a_start_failure_frees_the_config_and_says_why() {
    let dir = std::env::temp_dir().join(format!("sotto-ffi-unit-{}", std::process::id()));
    let missing = CString::new(
        dir.join("no-such-dir/cache.sqlite")
            .to_str()
            .expect("utf-8 temp dir"),
    )
    .expect("no NUL");
    let config = new_config(c"127.0.0.1:0", None, &missing);
    assert!(!config.is_null(), "{}", last_error());
    // SAFETY: a live config, consumed by sotto_call_start.
    let call = unsafe { sotto_call_start(config) };
    assert!(call.is_null());
    assert!(last_error().contains("zid cache"), "{}", last_error());
}

#[test]
fn a_call_started_through_the_abi_reports_its_port_and_hangs_up() {
    let dir = std::env::temp_dir().join(format!("sotto-ffi-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cache = CString::new(dir.join("listener.sqlite").to_str().expect("utf-8")).expect("cstr");
    let config = new_config(c"127.0.0.1:0", None, &cache);
    assert!(!config.is_null(), "{}", last_error());
    // SAFETY: live handles, each consumed or freed once.
    unsafe {
        let call = sotto_call_start(config);
        assert!(!call.is_null(), "{}", last_error());
        assert_ne!(sotto_call_local_port(call), 0);
        assert_eq!(sotto_call_set_muted(call, 1), SottoStatus::Ok);
        assert_eq!(sotto_call_set_muted(call, 0), SottoStatus::Ok);
        assert_eq!(sotto_call_set_video_muted(call, 1), SottoStatus::Ok);
        let mut event = SottoEvent::empty(SottoEventKind::None);
        assert_eq!(
            sotto_call_next_event(call, 0, &mut event),
            SottoStatus::NoEvent
        );
        assert_eq!(sotto_call_hang_up(call), SottoStatus::Ok);
        assert_eq!(
            sotto_call_next_event(call, 5_000, &mut event),
            SottoStatus::Ok
        );
        assert_eq!(event.kind, SottoEventKind::Ended);
        assert_eq!(event.end_reason, SottoEndReason::HungUp);
        assert_eq!(text_of(&event.text), "hung up");
        let reason = sotto_call_wait_and_free(call);
        assert_eq!(reason, SottoEndReason::HungUp as c_int);
        assert_eq!(sotto_end_reason_ended_well(reason), 1);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn text_of(buffer: &[c_char]) -> String {
    let bytes: Vec<u8> = buffer
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8(bytes).expect("utf-8 text")
}

#[test]
fn long_text_is_cut_at_a_character_boundary_and_terminated() {
    let mut small = [0x55 as c_char; 6];
    // "ééé" is 6 bytes; 5 fit before the NUL, so the third "é" must go whole.
    copy_text(&mut small, "ééé");
    assert_eq!(text_of(&small), "éé");
    assert_eq!(small[4], 0);
    copy_text(&mut small, "ab\0cd");
    assert_eq!(text_of(&small), "ab");
    copy_text(&mut [], "nothing to write into");

    let reason = "x".repeat(1_000);
    let event = SottoEvent::from_event(&sotto::CallEvent::Ended(EndReason::Failed(reason)));
    assert_eq!(event.end_reason, SottoEndReason::Failed);
    assert_eq!(event.text[SOTTO_TEXT_CAPACITY - 1], 0);
    assert_eq!(text_of(&event.text).len(), SOTTO_TEXT_CAPACITY - 1);
    assert!(text_of(&event.text).starts_with("failed: xxx"));
}

#[test]
fn end_reasons_that_ended_well() {
    let well: Vec<c_int> = (-10..10)
        .filter(|&r| sotto_end_reason_ended_well(r) == 1)
        .collect();
    assert_eq!(well, [1, 2, 3]);
}

#[test]
fn a_panic_becomes_an_error_code_and_a_message() {
    let status: SottoStatus = guard(|| panic!("boom"));
    assert_eq!(status, SottoStatus::Panic);
    assert!(
        last_error().contains("internal error in sotto (boom)"),
        "{}",
        last_error()
    );
    let null: *mut SottoCall = guard(|| panic!("{}", String::from("owned")));
    assert!(null.is_null());
    assert!(last_error().contains("(owned)"), "{}", last_error());
}

/// A directory of a test's own for its ZID caches, removed when the test ends.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("sotto-ffi-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Scratch(dir)
    }

    fn cache(&self, name: &str) -> CString {
        let path = self.0.join(format!("{name}.sqlite"));
        CString::new(path.to_str().expect("utf-8 temp dir")).expect("no NUL")
    }

    /// Prepares a call on loopback through the ABI.
    fn prepare(&self, name: &str, stun_servers: Option<&CStr>) -> *mut SottoPrepared {
        self.prepare_with(name, stun_servers, |_| {})
    }

    /// Prepares a call on loopback through the ABI, its config first changed by `configure`.
    fn prepare_with(
        &self,
        name: &str,
        stun_servers: Option<&CStr>,
        configure: impl FnOnce(*mut SottoConfig),
    ) -> *mut SottoPrepared {
        let config = new_config(c"127.0.0.1:0", None, &self.cache(name));
        assert!(!config.is_null(), "{}", last_error());
        configure(config);
        // SAFETY: a live config, consumed here; a NUL-terminated list or NULL.
        let prepared =
            unsafe { sotto_call_prepare(config, stun_servers.map_or(ptr::null(), CStr::as_ptr)) };
        assert!(!prepared.is_null(), "{}", last_error());
        prepared
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The offer of a live prepared call.
fn offer_of(prepared: *const SottoPrepared) -> CString {
    let mut buf = vec![0 as c_char; SOTTO_LINE_CAPACITY];
    // SAFETY: a live prepared call and a buffer of the length passed.
    let status =
        unsafe { sotto_prepared_offer(prepared, buf.as_mut_ptr(), buf.len(), ptr::null_mut()) };
    assert_eq!(status, SottoStatus::Ok, "{}", last_error());
    CString::new(text_of(&buf)).expect("no NUL")
}

#[test]
fn prepare_refuses_bad_arguments_with_messages() {
    let scratch = Scratch::new("prepare-refused");
    // SAFETY: NULL, which must be refused without touching memory.
    assert!(unsafe { sotto_call_prepare(ptr::null_mut(), ptr::null()) }.is_null());
    assert!(last_error().contains("config is NULL"), "{}", last_error());
    for (stun, expect) in [
        (c"192.0.2.1:\xff", "stun_servers is not valid UTF-8"),
        (
            c"192.0.2.1:3478,stun.example.org:3478",
            "'stun.example.org:3478' is not an address",
        ),
        (c"0.0.0.0:3478", "'0.0.0.0:3478' needs a host and a port"),
        (c"192.0.2.1:0", "needs a host and a port"),
    ] {
        let config = new_config(c"127.0.0.1:0", None, &scratch.cache("refused"));
        assert!(!config.is_null(), "{}", last_error());
        // SAFETY: a live config, taken over (and freed) even though this fails.
        assert!(unsafe { sotto_call_prepare(config, stun.as_ptr()) }.is_null());
        assert!(last_error().contains(expect), "{}", last_error());
    }
    assert_eq!(
        parse_stun_servers(" 192.0.2.1:3478 , [2001:db8::1]:3478,").ok(),
        Some(vec![
            "192.0.2.1:3478".parse().expect("address"),
            "[2001:db8::1]:3478".parse().expect("address"),
        ])
    );
}

#[test]
fn prepared_entry_points_refuse_null() {
    let mut buf = [0 as c_char; 16];
    let mut needed = 0usize;
    // SAFETY: every handle is NULL, which each function must refuse without touching memory.
    unsafe {
        assert_eq!(
            sotto_prepared_offer(ptr::null(), buf.as_mut_ptr(), buf.len(), &mut needed),
            SottoStatus::NullPointer
        );
        assert!(
            last_error().contains("prepared is NULL"),
            "{}",
            last_error()
        );
        assert_eq!(sotto_prepared_local_port(ptr::null()), 0);
        assert_eq!(sotto_prepared_stun_failure_count(ptr::null()), 0);
        assert_eq!(
            sotto_prepared_stun_failure(ptr::null(), 0, buf.as_mut_ptr(), buf.len(), &mut needed),
            SottoStatus::NullPointer
        );
        assert!(sotto_prepared_answer(
            ptr::null_mut(),
            c"sotto1:offer:x".as_ptr(),
            buf.as_mut_ptr(),
            buf.len(),
            &mut needed
        )
        .is_null());
        assert!(
            last_error().contains("prepared is NULL"),
            "{}",
            last_error()
        );
        assert!(sotto_prepared_accept(ptr::null_mut(), c"sotto1:answer:x".as_ptr()).is_null());
        assert!(
            last_error().contains("prepared is NULL"),
            "{}",
            last_error()
        );
        sotto_prepared_free(ptr::null_mut());
        assert_eq!(
            sotto_config_set_path_timeouts(ptr::null_mut(), 1, 1),
            SottoStatus::NullPointer
        );
        assert!(last_error().contains("config is NULL"), "{}", last_error());
    }
}

#[test]
fn an_offer_is_written_only_into_a_buffer_that_holds_it() {
    let scratch = Scratch::new("offer-buffers");
    let prepared = scratch.prepare("offer-buffers", None);
    let mut needed = 0usize;
    // SAFETY: a live prepared call, buffers of the lengths passed, freed once.
    unsafe {
        assert_ne!(sotto_prepared_local_port(prepared), 0);
        // Asking for the size only.
        assert_eq!(
            sotto_prepared_offer(prepared, ptr::null_mut(), 0, &mut needed),
            SottoStatus::BufferTooSmall
        );
        assert!(needed > 100 && needed <= SOTTO_LINE_CAPACITY, "{needed}");
        assert!(
            last_error().contains(&format!("needs {needed} bytes")),
            "{}",
            last_error()
        );
        assert_eq!(
            sotto_prepared_offer(prepared, ptr::null_mut(), 8, &mut needed),
            SottoStatus::NullPointer
        );
        // One byte short: nothing but an empty string, never half a line.
        let mut buf = vec![0x55 as c_char; needed];
        assert_eq!(
            sotto_prepared_offer(prepared, buf.as_mut_ptr(), needed - 1, ptr::null_mut()),
            SottoStatus::BufferTooSmall
        );
        assert_eq!(buf[0], 0);
        assert_eq!(buf[1], 0x55);
        assert_eq!(
            sotto_prepared_offer(prepared, buf.as_mut_ptr(), needed, &mut needed),
            SottoStatus::Ok
        );
        let offer = text_of(&buf);
        assert_eq!(offer.len() + 1, needed);
        assert!(offer.starts_with("sotto1:offer:"), "{offer}");
        assert_eq!(offer_of(prepared).to_str().expect("ascii"), offer, "stable");
        assert_eq!(sotto_prepared_stun_failure_count(prepared), 0);
        assert_eq!(
            sotto_prepared_stun_failure(prepared, 0, buf.as_mut_ptr(), buf.len(), &mut needed),
            SottoStatus::InvalidArgument
        );
        assert!(
            last_error().contains("no stun failure 0"),
            "{}",
            last_error()
        );
        sotto_prepared_free(prepared);
    }
}

#[test]
fn bad_input_to_answer_and_accept_keeps_the_prepared_calls_for_a_retry() {
    let scratch = Scratch::new("retry");
    let alice = scratch.prepare("retry-alice", None);
    let bob = scratch.prepare("retry-bob", None);
    let offer = offer_of(alice);
    let mut answer = vec![0 as c_char; SOTTO_LINE_CAPACITY];
    let mut needed = 0usize;
    // SAFETY: live prepared calls, kept by every failure and taken over by the successes;
    // buffers of the lengths passed.
    unsafe {
        let answer_with = |offer: &CStr, buf: &mut [c_char], needed: &mut usize| {
            sotto_prepared_answer(bob, offer.as_ptr(), buf.as_mut_ptr(), buf.len(), needed)
        };
        assert!(answer_with(c"sotto1:offer:\xff", &mut answer, &mut needed).is_null());
        assert!(
            last_error().contains("offer is not valid UTF-8"),
            "{}",
            last_error()
        );
        assert!(answer_with(c"hello bob", &mut answer, &mut needed).is_null());
        assert!(
            last_error().contains("the offer cannot be read"),
            "{}",
            last_error()
        );
        assert!(last_error().contains("sotto1:"), "{}", last_error());
        // A line cut off by a chat is caught by its checksum.
        let cut = CString::new(&offer.as_bytes()[..offer.as_bytes().len() - 40]).expect("cstr");
        assert!(answer_with(&cut, &mut answer, &mut needed).is_null());
        assert!(last_error().contains("cut off"), "{}", last_error());
        assert!(sotto_prepared_answer(
            bob,
            offer.as_ptr(),
            ptr::null_mut(),
            SOTTO_LINE_CAPACITY,
            &mut needed
        )
        .is_null());
        assert!(
            last_error().contains("answer_buf is NULL"),
            "{}",
            last_error()
        );
        // A buffer that might be too small for the answer is refused before anything starts.
        let mut small = vec![0 as c_char; SOTTO_LINE_CAPACITY - 1];
        assert!(answer_with(&offer, &mut small, &mut needed).is_null());
        assert_eq!(needed, SOTTO_LINE_CAPACITY);
        assert!(
            last_error().contains("nothing was started"),
            "{}",
            last_error()
        );

        // Bob's prepared call survived all of that: it answers now and is taken over.
        let bob_call = answer_with(&offer, &mut answer, &mut needed);
        assert!(!bob_call.is_null(), "{}", last_error());
        let answer = text_of(&answer);
        assert_eq!(answer.len() + 1, needed);
        assert!(answer.starts_with("sotto1:answer:"), "{answer}");

        // Alice refuses an offer as an answer, then takes the real one.
        assert!(sotto_prepared_accept(alice, offer.as_ptr()).is_null());
        assert!(
            last_error().contains("answer cannot be read"),
            "{}",
            last_error()
        );
        assert!(sotto_prepared_accept(alice, c"\xfe".as_ptr()).is_null());
        assert!(
            last_error().contains("answer is not valid UTF-8"),
            "{}",
            last_error()
        );
        assert!(sotto_prepared_accept(alice, ptr::null()).is_null());
        assert!(last_error().contains("answer is NULL"), "{}", last_error());
        let answer = CString::new(answer).expect("no NUL");
        let alice_call = sotto_prepared_accept(alice, answer.as_ptr());
        assert!(!alice_call.is_null(), "{}", last_error());

        // The path is found and reported through the C event, both ends named.
        let (alice_port, bob_port) = (
            sotto_call_local_port(alice_call),
            sotto_call_local_port(bob_call),
        );
        let connected = next_event_of_kind(alice_call, SottoEventKind::Connected);
        assert_eq!(text_of(&connected.text), format!("127.0.0.1:{bob_port}"));
        let connected = next_event_of_kind(bob_call, SottoEventKind::Connected);
        assert_eq!(text_of(&connected.text), format!("127.0.0.1:{alice_port}"));
        for call in [alice_call, bob_call] {
            assert_eq!(sotto_call_hang_up(call), SottoStatus::Ok);
            assert_eq!(
                sotto_call_wait_and_free(call),
                SottoEndReason::HungUp as c_int
            );
        }
    }
}

/// Events of `call` until one of `kind` (within 10 s).
///
/// # Safety
/// `call` is a live call.
unsafe fn next_event_of_kind(call: *const SottoCall, kind: SottoEventKind) -> SottoEvent {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut event = SottoEvent::empty(SottoEventKind::None);
    let mut seen = Vec::new();
    while std::time::Instant::now() < deadline {
        // SAFETY: a live call (the caller's promise) and an event to fill.
        match unsafe { sotto_call_next_event(call, 100, &mut event) } {
            SottoStatus::Ok if event.kind == kind => return event,
            SottoStatus::Ok => seen.push(event.kind),
            SottoStatus::NoEvent => {}
            other => panic!("{other:?}: {}", last_error()),
        }
    }
    panic!("no {kind:?} event within 10 s; saw {seen:?}");
}

#[test]
fn a_failure_after_the_engine_took_the_prepared_call_uses_it_up() {
    let scratch = Scratch::new("used-up");
    let alice = scratch.prepare("used-up-alice", None);
    let bob = scratch.prepare("used-up-bob", None);
    // A readable offer without ICE credentials: no path could ever be checked with it.
    let mut offer = sotto::signal::Offer::from_line(offer_of(alice).to_str().expect("ascii"))
        .expect("the offer reads");
    offer.0.ice = None;
    for media in &mut offer.0.media {
        media.ice = None;
    }
    let offer = CString::new(offer.to_line()).expect("no NUL");
    let mut answer = vec![0 as c_char; SOTTO_LINE_CAPACITY];
    let mut needed = 0usize;
    // SAFETY: live prepared calls, each freed once; buffers of the lengths passed.
    unsafe {
        let call = sotto_prepared_answer(
            bob,
            offer.as_ptr(),
            answer.as_mut_ptr(),
            answer.len(),
            &mut needed,
        );
        assert!(call.is_null());
        assert!(last_error().contains("ice-ufrag"), "{}", last_error());
        assert!(last_error().contains("used up"), "{}", last_error());
        // Still Bob's to free; everything else on it says it is used up.
        assert_eq!(
            sotto_prepared_offer(bob, answer.as_mut_ptr(), answer.len(), &mut needed),
            SottoStatus::UsedUp
        );
        assert!(
            last_error().contains("sotto_prepared_free"),
            "{}",
            last_error()
        );
        assert_eq!(sotto_prepared_local_port(bob), 0);
        let real = offer_of(alice);
        assert!(sotto_prepared_answer(
            bob,
            real.as_ptr(),
            answer.as_mut_ptr(),
            answer.len(),
            &mut needed
        )
        .is_null());
        assert!(last_error().contains("used up"), "{}", last_error());
        sotto_prepared_free(bob);
        sotto_prepared_free(alice);
    }
}

#[test]
fn an_unanswered_stun_server_is_reported_with_its_reason() {
    let scratch = Scratch::new("stun");
    // A closed port: the server never answers, so gathering waits out its 3 s.
    let closed = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let server = closed.local_addr().expect("addr");
    drop(closed);
    let list = CString::new(format!("{server}")).expect("cstr");
    let prepared = scratch.prepare("stun", Some(&list));
    let mut buf = [0 as c_char; 512];
    let mut needed = 0usize;
    // SAFETY: a live prepared call and a buffer of the length passed, freed once.
    unsafe {
        assert_eq!(sotto_prepared_stun_failure_count(prepared), 1);
        assert_eq!(
            sotto_prepared_stun_failure(prepared, 0, buf.as_mut_ptr(), 4, &mut needed),
            SottoStatus::BufferTooSmall
        );
        assert_eq!(buf[0], 0);
        assert_eq!(
            sotto_prepared_stun_failure(prepared, 0, buf.as_mut_ptr(), buf.len(), &mut needed),
            SottoStatus::Ok,
            "{}",
            last_error()
        );
        let reason = text_of(&buf);
        assert_eq!(reason.len() + 1, needed);
        assert!(reason.contains(&server.to_string()), "{reason}");
        assert!(reason.contains("did not answer"), "{reason}");
        assert_eq!(
            sotto_prepared_stun_failure(prepared, 1, buf.as_mut_ptr(), buf.len(), &mut needed),
            SottoStatus::InvalidArgument
        );
        assert!(last_error().contains("there are 1"), "{}", last_error());
        // The call still has its host address to offer.
        assert!(offer_of(prepared)
            .to_str()
            .expect("ascii")
            .starts_with("sotto1:offer:"));
        sotto_prepared_free(prepared);
    }
}

/// The number of milliseconds a message says it waited ("... within N ms ...").
fn waited_ms(message: &str) -> u64 {
    let (_, rest) = message
        .split_once("within ")
        .expect("a wait in the message");
    let (ms, _) = rest.split_once(" ms").expect("milliseconds");
    ms.parse().expect("a number")
}

#[test]
fn path_timeouts_set_through_the_abi_bound_gathering_and_the_search_for_a_path() {
    let scratch = Scratch::new("timeouts");
    let closed = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let list = CString::new(closed.local_addr().expect("addr").to_string()).expect("cstr");
    drop(closed);
    let short = |config| {
        // SAFETY: a live config.
        let status = unsafe { sotto_config_set_path_timeouts(config, 300, 500) };
        assert_eq!(status, SottoStatus::Ok, "{}", last_error());
    };
    let alice = scratch.prepare_with("alice", Some(&list), short);
    let bob = scratch.prepare("bob", None);
    let mut reason = [0 as c_char; 512];
    let mut answer = vec![0 as c_char; SOTTO_LINE_CAPACITY];
    // SAFETY: live prepared calls and buffers of the lengths passed; each handle used once.
    unsafe {
        assert_eq!(
            sotto_prepared_stun_failure(
                alice,
                0,
                reason.as_mut_ptr(),
                reason.len(),
                ptr::null_mut()
            ),
            SottoStatus::Ok,
            "{}",
            last_error()
        );
        // The silent server was given up after 0.3 s, not the 3 s it would get unset.
        let gathered = waited_ms(&text_of(&reason));
        assert!((300..3_000).contains(&gathered), "{}", text_of(&reason));

        // Bob answers and vanishes before any check reaches him.
        let offer = offer_of(alice);
        let bob_call = sotto_prepared_answer(
            bob,
            offer.as_ptr(),
            answer.as_mut_ptr(),
            answer.len(),
            ptr::null_mut(),
        );
        assert!(!bob_call.is_null(), "{}", last_error());
        assert_eq!(sotto_call_hang_up(bob_call), SottoStatus::Ok);
        sotto_call_wait_and_free(bob_call);
        let alice_call = sotto_prepared_accept(alice, answer.as_ptr());
        assert!(!alice_call.is_null(), "{}", last_error());
        let ended = next_event_of_kind(alice_call, SottoEventKind::Ended);
        assert_eq!(ended.end_reason, SottoEndReason::NoPath);
        // It looked for 0.5 s, not the 10 s it would unset.
        let searched = waited_ms(&text_of(&ended.text));
        assert!(
            (500..10_000).contains(&searched),
            "{}",
            text_of(&ended.text)
        );
        sotto_call_wait_and_free(alice_call);
    }
}

#[test]
fn path_events_and_the_no_path_end_reach_c() {
    let local: std::net::SocketAddr = "192.0.2.1:4000".parse().expect("address");
    let remote: std::net::SocketAddr = "[2001:db8::7]:5004".parse().expect("address");
    let event = SottoEvent::from_event(&sotto::CallEvent::Connected { local, remote });
    assert_eq!(event.kind, SottoEventKind::Connected);
    assert_eq!(text_of(&event.algorithms), "");
    assert_eq!(text_of(&event.text), "[2001:db8::7]:5004");
    let event = SottoEvent::from_event(&sotto::CallEvent::HelloHashMismatch { from: remote });
    assert_eq!(event.kind, SottoEventKind::HelloHashMismatch);
    assert_eq!(text_of(&event.text), "[2001:db8::7]:5004");
    let event = SottoEvent::from_event(&sotto::CallEvent::Ended(EndReason::NoPath(
        "nobody answered".into(),
    )));
    assert_eq!(event.end_reason, SottoEndReason::NoPath);
    assert_eq!(text_of(&event.text), "no path to the peer: nobody answered");
    let event = SottoEvent::from_event(&sotto::CallEvent::PeerQuiet {
        silent: std::time::Duration::from_secs(3),
    });
    assert_eq!(event.kind, SottoEventKind::PeerQuiet);
    assert_eq!(
        sotto_end_reason_ended_well(SottoEndReason::NoPath as c_int),
        0
    );
    // The values C programs built against earlier headers know keep their numbers.
    assert_eq!(SottoEventKind::Other as c_int, 8);
    assert_eq!(SottoEventKind::Connected as c_int, 9);
    assert_eq!(SottoEventKind::HelloHashMismatch as c_int, 10);
    assert_eq!(SottoEventKind::PeerQuiet as c_int, 11);
    assert_eq!(SottoEndReason::Failed as c_int, 6);
    assert_eq!(SottoEndReason::NoPath as c_int, 7);
    assert_eq!(SottoStatus::Panic as c_int, -5);
}

#[test]
fn restart_entry_points_refuse_null_and_bad_utf8() {
    let scratch = Scratch::new("restart-null");
    let mut buf = vec![0 as c_char; SOTTO_LINE_CAPACITY];
    let mut needed = 0usize;
    // SAFETY: NULL handles, which each function must refuse without touching memory; then a
    // live call, freed once, with buffers of the lengths passed.
    unsafe {
        assert_eq!(
            sotto_call_restart_path(ptr::null(), buf.as_mut_ptr(), buf.len(), &mut needed),
            SottoStatus::NullPointer
        );
        assert!(last_error().contains("call is NULL"), "{}", last_error());
        assert_eq!(
            sotto_call_answer_path_restart(
                ptr::null(),
                c"sotto1:offer:x".as_ptr(),
                buf.as_mut_ptr(),
                buf.len(),
                &mut needed
            ),
            SottoStatus::NullPointer
        );
        assert!(last_error().contains("call is NULL"), "{}", last_error());
        assert_eq!(
            sotto_call_accept_path_restart(ptr::null(), c"sotto1:answer:x".as_ptr()),
            SottoStatus::NullPointer
        );
        assert!(last_error().contains("call is NULL"), "{}", last_error());

        let config = new_config(c"127.0.0.1:0", None, &scratch.cache("restart-null"));
        let call = sotto_call_start(config);
        assert!(!call.is_null(), "{}", last_error());
        let answer_with = |offer: *const c_char, buf: &mut [c_char], needed: &mut usize| {
            sotto_call_answer_path_restart(call, offer, buf.as_mut_ptr(), buf.len(), needed)
        };
        assert_eq!(
            answer_with(ptr::null(), &mut buf, &mut needed),
            SottoStatus::NullPointer
        );
        assert!(last_error().contains("offer is NULL"), "{}", last_error());
        assert_eq!(
            answer_with(c"sotto1:offer:\xff".as_ptr(), &mut buf, &mut needed),
            SottoStatus::InvalidUtf8
        );
        assert!(
            last_error().contains("offer is not valid UTF-8"),
            "{}",
            last_error()
        );
        assert_eq!(
            sotto_call_accept_path_restart(call, ptr::null()),
            SottoStatus::NullPointer
        );
        assert!(last_error().contains("answer is NULL"), "{}", last_error());
        assert_eq!(
            sotto_call_accept_path_restart(call, c"sotto1:answer:\xfe".as_ptr()),
            SottoStatus::InvalidUtf8
        );
        assert!(
            last_error().contains("answer is not valid UTF-8"),
            "{}",
            last_error()
        );
        assert_eq!(sotto_call_hang_up(call), SottoStatus::Ok);
        assert_eq!(
            sotto_call_wait_and_free(call),
            SottoEndReason::HungUp as c_int
        );
    }
}

#[test]
fn a_call_started_with_an_address_refuses_a_path_restart() {
    let scratch = Scratch::new("restart-started");
    let mut buf = vec![0x55 as c_char; SOTTO_LINE_CAPACITY];
    let mut needed = 7usize;
    let config = new_config(c"127.0.0.1:0", None, &scratch.cache("restart-started"));
    // SAFETY: a live config, consumed here, and a live call, freed once; buffers of the
    // lengths passed.
    unsafe {
        let call = sotto_call_start(config);
        assert!(!call.is_null(), "{}", last_error());
        assert_eq!(
            sotto_call_restart_path(call, buf.as_mut_ptr(), buf.len(), &mut needed),
            SottoStatus::InvalidArgument
        );
        assert!(
            last_error().contains("sotto_call_prepare"),
            "{}",
            last_error()
        );
        assert!(
            last_error().contains("can restart its path"),
            "{}",
            last_error()
        );
        // Refused before anything was written.
        assert_eq!((buf[0], needed), (0x55, 7));
        assert_eq!(
            sotto_call_answer_path_restart(
                call,
                c"sotto1:offer:x".as_ptr(),
                buf.as_mut_ptr(),
                buf.len(),
                &mut needed
            ),
            SottoStatus::InvalidArgument
        );
        assert!(
            last_error().contains("sotto_call_prepare"),
            "{}",
            last_error()
        );
        assert_eq!(
            sotto_call_accept_path_restart(call, c"sotto1:answer:x".as_ptr()),
            SottoStatus::InvalidArgument
        );
        assert!(
            last_error().contains("sotto_call_prepare"),
            "{}",
            last_error()
        );
        // The call itself is unharmed.
        let mut event = SottoEvent::empty(SottoEventKind::None);
        assert_eq!(
            sotto_call_next_event(call, 0, &mut event),
            SottoStatus::NoEvent
        );
        assert_eq!(sotto_call_hang_up(call), SottoStatus::Ok);
        assert_eq!(
            sotto_call_wait_and_free(call),
            SottoEndReason::HungUp as c_int
        );
    }
}

/// Events of `call` until one that `wanted` picks (within 15 s); every event is kept in `seen`.
///
/// # Safety
/// `call` is a live call.
unsafe fn wait_for(
    call: *const SottoCall,
    seen: &mut Vec<SottoEvent>,
    wanted: impl Fn(&SottoEvent) -> bool,
) -> SottoEvent {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut event = SottoEvent::empty(SottoEventKind::None);
    while std::time::Instant::now() < deadline {
        // SAFETY: a live call (the caller's promise) and an event to fill.
        match unsafe { sotto_call_next_event(call, 100, &mut event) } {
            SottoStatus::Ok => {
                seen.push(event);
                if wanted(&event) {
                    return event;
                }
                let kinds: Vec<_> = seen.iter().map(|e| e.kind).collect();
                assert_ne!(event.kind, SottoEventKind::Ended, "{kinds:?}");
            }
            SottoStatus::NoEvent => {}
            other => panic!("{other:?}: {}", last_error()),
        }
    }
    let kinds: Vec<_> = seen.iter().map(|e| e.kind).collect();
    panic!("not within 15 s; saw {kinds:?}");
}

fn count(seen: &[SottoEvent], kind: SottoEventKind) -> usize {
    seen.iter().filter(|e| e.kind == kind).count()
}

#[test]
fn a_path_restart_through_the_abi_reconnects_a_running_call() {
    let scratch = Scratch::new("restart");
    let with_tone = |config: *mut SottoConfig| {
        // SAFETY: a live config from sotto_config_new.
        unsafe {
            assert_eq!(
                sotto_config_set_audio(config, c"tone".as_ptr(), ptr::null()),
                SottoStatus::Ok
            );
            (*config).inner.stats_interval = Duration::from_millis(250);
        }
    };
    let alice = scratch.prepare_with("restart-alice", None, with_tone);
    let bob = scratch.prepare_with("restart-bob", None, with_tone);
    let offer = offer_of(alice);
    let mut line = vec![0 as c_char; SOTTO_LINE_CAPACITY];
    let mut small = vec![0x55 as c_char; SOTTO_LINE_CAPACITY - 1];
    let mut needed = 0usize;
    let (mut alice_seen, mut bob_seen) = (Vec::new(), Vec::new());
    // SAFETY: live prepared calls taken over by answer and accept; live calls, each freed
    // once; buffers of the lengths passed.
    unsafe {
        let bob_call = sotto_prepared_answer(
            bob,
            offer.as_ptr(),
            line.as_mut_ptr(),
            line.len(),
            &mut needed,
        );
        assert!(!bob_call.is_null(), "{}", last_error());
        let first_answer = CString::new(text_of(&line)).expect("no NUL");
        let alice_call = sotto_prepared_accept(alice, first_answer.as_ptr());
        assert!(!alice_call.is_null(), "{}", last_error());
        let (alice_port, bob_port) = (
            sotto_call_local_port(alice_call),
            sotto_call_local_port(bob_call),
        );
        let secure = |e: &SottoEvent| e.kind == SottoEventKind::Secure;
        wait_for(alice_call, &mut alice_seen, secure);
        wait_for(bob_call, &mut bob_seen, secure);

        // A buffer that might be too small is refused before anything is gathered: no restart
        // offer waits for an answer afterwards.
        assert_eq!(
            sotto_call_restart_path(alice_call, small.as_mut_ptr(), small.len(), &mut needed),
            SottoStatus::BufferTooSmall
        );
        assert_eq!(needed, SOTTO_LINE_CAPACITY);
        assert_eq!(small[0], 0x55, "nothing written");
        assert!(
            last_error().contains("nothing was started"),
            "{}",
            last_error()
        );
        assert_eq!(
            sotto_call_restart_path(
                alice_call,
                ptr::null_mut(),
                SOTTO_LINE_CAPACITY,
                &mut needed
            ),
            SottoStatus::NullPointer
        );
        assert!(last_error().contains("buf is NULL"), "{}", last_error());
        assert_eq!(
            sotto_call_accept_path_restart(alice_call, first_answer.as_ptr()),
            SottoStatus::InvalidArgument
        );
        assert!(
            last_error().contains("no path restart is waiting"),
            "{}",
            last_error()
        );
        // Bob's buffer is checked before his engine reads the line: a garbled one with a small
        // buffer is refused for the buffer.
        let answer_with = |offer: &CStr, buf: &mut [c_char], needed: &mut usize| {
            sotto_call_answer_path_restart(
                bob_call,
                offer.as_ptr(),
                buf.as_mut_ptr(),
                buf.len(),
                needed,
            )
        };
        assert_eq!(
            answer_with(c"hello bob", &mut small, &mut needed),
            SottoStatus::BufferTooSmall
        );
        assert_eq!(needed, SOTTO_LINE_CAPACITY);
        assert_eq!(
            answer_with(c"hello bob", &mut line, &mut needed),
            SottoStatus::InvalidArgument
        );
        assert!(
            last_error().contains("the restart offer cannot be answered"),
            "{}",
            last_error()
        );

        // The restart itself, every line through the C functions.
        assert_eq!(
            sotto_call_restart_path(alice_call, line.as_mut_ptr(), line.len(), &mut needed),
            SottoStatus::Ok,
            "{}",
            last_error()
        );
        let restart_offer = text_of(&line);
        assert!(
            restart_offer.starts_with("sotto1:offer:"),
            "{restart_offer}"
        );
        assert_eq!(restart_offer.len() + 1, needed);
        assert_ne!(restart_offer, offer.to_str().expect("ascii"), "a new offer");
        let restart_offer = CString::new(restart_offer).expect("no NUL");
        assert_eq!(
            answer_with(&restart_offer, &mut line, &mut needed),
            SottoStatus::Ok,
            "{}",
            last_error()
        );
        let restart_answer = text_of(&line);
        assert!(
            restart_answer.starts_with("sotto1:answer:"),
            "{restart_answer}"
        );
        assert_eq!(restart_answer.len() + 1, needed);
        let restart_answer = CString::new(restart_answer).expect("no NUL");
        // An offer where the answer belongs is refused, and the restart offer keeps waiting.
        assert_eq!(
            sotto_call_accept_path_restart(alice_call, restart_offer.as_ptr()),
            SottoStatus::InvalidArgument
        );
        assert!(
            last_error().contains("the restart answer cannot be taken"),
            "{}",
            last_error()
        );
        assert_eq!(
            sotto_call_accept_path_restart(alice_call, restart_answer.as_ptr()),
            SottoStatus::Ok,
            "{}",
            last_error()
        );

        // Each end reports the path found again, and audio keeps arriving on it.
        let connected = |e: &SottoEvent| e.kind == SottoEventKind::Connected;
        for (call, seen, peer_port) in [
            (alice_call, &mut alice_seen, bob_port),
            (bob_call, &mut bob_seen, alice_port),
        ] {
            let before = count(seen, SottoEventKind::Connected);
            let event = wait_for(call, seen, connected);
            assert_eq!(before, 1);
            assert_eq!(text_of(&event.text), format!("127.0.0.1:{peer_port}"));
            let stats = |e: &SottoEvent| e.kind == SottoEventKind::Stats;
            let first = wait_for(call, seen, stats).packets_received;
            wait_for(call, seen, |e| stats(e) && e.packets_received > first + 25);
        }

        // Still the same call: one handshake, one SAS, the same on both ends; it ends well.
        assert_eq!(sotto_call_hang_up(alice_call), SottoStatus::Ok);
        let ended = |e: &SottoEvent| e.kind == SottoEventKind::Ended;
        let alice_end = wait_for(alice_call, &mut alice_seen, ended);
        let bob_end = wait_for(bob_call, &mut bob_seen, ended);
        assert_eq!(alice_end.end_reason, SottoEndReason::HungUp);
        assert_eq!(bob_end.end_reason, SottoEndReason::PeerHungUp);
        for call in [alice_call, bob_call] {
            let reason = sotto_call_wait_and_free(call);
            assert_eq!(sotto_end_reason_ended_well(reason), 1, "{reason}");
        }
        for seen in [&alice_seen, &bob_seen] {
            assert_eq!(count(seen, SottoEventKind::Connected), 2);
            assert_eq!(count(seen, SottoEventKind::Secure), 1);
            assert_eq!(count(seen, SottoEventKind::Sas), 1);
        }
        let sas = |seen: &[SottoEvent]| {
            seen.iter()
                .find(|e| e.kind == SottoEventKind::Sas)
                .map(|e| text_of(&e.sas))
        };
        assert_eq!(sas(&alice_seen), sas(&bob_seen));
    }
}
