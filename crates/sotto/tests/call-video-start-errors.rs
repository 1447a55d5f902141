//! Video settings and inputs that cannot work are clear errors from `Call::start`, before any
//! thread runs; with video off, the video settings are still checked but nothing is opened.

#[path = "support/call.rs"]
mod support;

use std::path::PathBuf;
use support::{loopback, scratch};

use sotto::media::video::{VideoInput, VideoOutput};
use sotto::{Call, CallConfig, Error};

fn start_error(configure: impl FnOnce(&mut CallConfig)) -> Error {
    let mut config = CallConfig::new(loopback(), None, scratch("sqlite"));
    configure(&mut config);
    Call::start(config).expect_err("the call must not start")
}

#[test]
fn unusable_video_settings_say_what_to_use() {
    let err = start_error(|c| {
        c.video_in = VideoInput::Pattern;
        c.video_width = 641;
    });
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(err.to_string().contains("641x480"), "{err}");
    assert!(err.to_string().contains("even sizes"), "{err}");

    let err = start_error(|c| c.video_fps = 0);
    assert!(
        err.to_string().contains("frame rate must be 1 to 60"),
        "{err}"
    );

    let err = start_error(|c| c.video_bitrate_bps = 1000);
    assert!(err.to_string().contains("video bitrate must be"), "{err}");
}

#[test]
fn a_missing_video_file_is_a_video_input_error() {
    let err = start_error(|c| {
        c.video_in = VideoInput::File(PathBuf::from("/nonexistent/clip.y4m"));
    });
    assert!(matches!(err, Error::VideoInput(_)), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/clip.y4m"), "{err}");
}

#[test]
fn an_unwritable_video_output_is_a_video_output_error() {
    let err = start_error(|c| {
        c.video_out = VideoOutput::File(PathBuf::from("/nonexistent/dir/out.y4m"));
    });
    assert!(matches!(err, Error::VideoOutput(_)), "{err:?}");
}

#[test]
fn a_camera_that_is_not_there_is_a_video_input_error() {
    let err = start_error(|c| c.video_in = VideoInput::Camera(97));
    assert!(matches!(err, Error::VideoInput(_)), "{err:?}");
}
