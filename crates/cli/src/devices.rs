//! `sotto devices`: the audio devices cpal finds.

use anyhow::anyhow;
use sotto_media::DeviceInfo;

/// Prints one line per device, or says there are none and what to use instead.
pub fn run() -> anyhow::Result<()> {
    let devices = sotto_media::list_devices().map_err(|e| anyhow!("{e}"))?;
    if devices.is_empty() {
        println!(
            "no audio devices found; use --audio-in tone|FILE.wav|none and \
             --audio-out FILE.wav|none instead"
        );
        return Ok(());
    }
    println!("audio devices (--audio-in/--audio-out default use the system default ones):");
    for device in &devices {
        println!("{}", describe(device));
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
}
