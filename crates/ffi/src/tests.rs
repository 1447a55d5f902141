//! The Rust side of the ABI: bad arguments become codes and messages, never a panic or UB.

use std::ffi::{c_char, CStr};
use std::ptr;

use super::*;
use crate::event::copy_text;
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
