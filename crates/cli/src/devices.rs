//! `sotto devices`: the audio devices cpal finds and the cameras nokhwa finds.

use anyhow::anyhow;
use sotto_media::video::CameraInfo;
use sotto_media::DeviceInfo;

/// Prints one line per audio device and one per camera, or says there are none of a kind and
/// what to use instead.
pub fn run() -> anyhow::Result<()> {
    let devices = sotto_media::list_devices().map_err(|e| anyhow!("{e}"))?;
    if devices.is_empty() {
        println!(
            "no audio devices found; use --audio-in tone|FILE.wav|none and \
             --audio-out FILE.wav|none instead"
        );
    } else {
        println!("audio devices (--audio-in/--audio-out default use the system default ones):");
        for device in &devices {
            println!("{}", describe(device));
        }
    }
    let cameras = sotto_media::video::list_cameras().map_err(|e| anyhow!("{e}"))?;
    if cameras.is_empty() {
        println!("no cameras found; use --video-in pattern|FILE.y4m|none instead");
    } else {
        println!("cameras (--video-in camera:N, or camera for the first):");
        for camera in &cameras {
            println!("{}", describe_camera(camera));
        }
    }
    Ok(())
}

fn describe(device: &DeviceInfo) -> String {
    let kind = match (device.input, device.output) {
        (true, true) => "in/out",
        (true, false) => "in",
        _ => "out",
    };
    let rate = device
        .default_sample_rate_hz
        .map_or_else(|| "? Hz".to_owned(), |hz| format!("{hz} Hz"));
    let channels = device
        .default_channels
        .map_or_else(|| "? ch".to_owned(), |ch| format!("{ch} ch"));
    format!("  {kind:<7} {rate:>9} {channels:>5}  {}", device.name)
}

fn describe_camera(camera: &CameraInfo) -> String {
    let line = format!("  camera:{:<3} {}", camera.index, camera.name);
    if camera.description.is_empty() || camera.description == camera.name {
        line
    } else {
        format!("{line} ({})", camera.description)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_line_shows_direction_format_and_name() {
        let device = DeviceInfo {
            name: "hw:0".to_owned(),
            input: true,
            output: false,
            default_sample_rate_hz: Some(44_100),
            default_channels: None,
        };
        assert_eq!(describe(&device), "  in       44100 Hz  ? ch  hw:0");
    }

    #[test]
    fn a_camera_line_shows_the_flag_value_and_name() {
        let camera = CameraInfo {
            index: 2,
            name: "Integrated Camera".to_owned(),
            description: "/dev/video2".to_owned(),
        };
        assert_eq!(
            describe_camera(&camera),
            "  camera:2   Integrated Camera (/dev/video2)"
        );
        let bare = CameraInfo {
            description: String::new(),
            ..camera
        };
        assert_eq!(describe_camera(&bare), "  camera:2   Integrated Camera");
    }
}
