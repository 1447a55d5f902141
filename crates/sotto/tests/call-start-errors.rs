//! What cannot start a call is a clear error from `Call::start`, before any thread runs.

#[path = "support/call.rs"]
mod support;

use std::net::UdpSocket;
use std::path::PathBuf;
use support::{loopback, scratch};

use sotto::media::{AudioInput, AudioOutput};
use sotto::{Call, CallConfig, Error};

#[test]
fn a_port_in_use_says_so() {
    let taken = UdpSocket::bind(loopback()).expect("bind");
    let addr = taken.local_addr().expect("addr");
    let err = Call::start(CallConfig::new(addr, None, scratch("sqlite"))).expect_err("in use");
    assert!(matches!(err, Error::PortInUse { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("port {} is already in use", addr.port())),
        "{message}"
    );
    assert!(message.contains("choose another port"), "{message}");
}

#[test]
fn a_missing_input_file_says_which() {
    let mut config = CallConfig::new(loopback(), None, scratch("sqlite"));
    config.audio_in = AudioInput::File(PathBuf::from("/nonexistent/talk.wav"));
    let err = Call::start(config).expect_err("missing file");
    assert!(matches!(err, Error::AudioInput(_)), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/talk.wav"), "{err}");
}

#[test]
fn an_unwritable_output_file_is_an_output_error() {
    let mut config = CallConfig::new(loopback(), None, scratch("sqlite"));
    config.audio_out = AudioOutput::File(PathBuf::from("/nonexistent/dir/out.wav"));
    let err = Call::start(config).expect_err("unwritable");
    assert!(matches!(err, Error::AudioOutput(_)), "{err:?}");
}

#[test]
fn a_cache_in_a_missing_directory_says_create_it() {
    let config = CallConfig::new(
        loopback(),
        None,
        PathBuf::from("/nonexistent/dir/zid.sqlite"),
    );
    let err = Call::start(config).expect_err("no directory");
    assert!(matches!(err, Error::Cache { .. }), "{err:?}");
    assert!(err.to_string().contains("create it"), "{err}");
}

#[test]
fn ptime_other_than_10_or_20_is_refused() {
    let mut config = CallConfig::new(loopback(), None, scratch("sqlite"));
    config.ptime_ms = 30;
    let err = Call::start(config).expect_err("ptime 30");
    assert!(err.to_string().contains("ptime must be 10 or 20"), "{err}");
}
