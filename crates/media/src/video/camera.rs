//! Cameras through nokhwa (V4L2 on Linux, AVFoundation on macOS, Media Foundation on Windows).
//!
//! A camera delivers frames at its own pace, so [`CameraSource`] runs a capture thread, as the
//! audio devices have their callback thread: it blocks in the driver for each frame, converts
//! it to I420 ([`FrameConverter`]) and leaves the newest one for [`VideoSource::read`]. The
//! engine reads on its own clock and gets the newest picture, or the previous one again if the
//! camera has not delivered since. The capture thread reuses two frame buffers; only the JPEG
//! decoder allocates per frame.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use nokhwa::utils::{CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType};
use nokhwa::Camera;

use super::{check_size, FrameConverter, PixelFormat, VideoFrame, VideoSource};
use crate::Error;

/// How long opening a camera and getting its first frame may take (USB cameras need a second
/// or two to start streaming).
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long dropping a [`CameraSource`] waits for the capture thread to leave the driver.
const STOP_TIMEOUT: Duration = Duration::from_secs(2);
/// Corrupt frames in a row after which the camera counts as stopped (a single bad MJPEG frame
/// now and then is normal on a busy USB bus).
const MAX_BAD_FRAMES_IN_A_ROW: u32 = 30;
/// Reads in a row without a new frame, in seconds of the requested rate, after which the
/// camera counts as stalled.
const STALL_SECONDS: u32 = 5;
/// Highest frame rate asked of a camera.
const MAX_FPS: u32 = 240;
/// The camera formats sotto converts, as nokhwa names them.
const FORMATS: [FrameFormat; 4] = [
    FrameFormat::YUYV,
    FrameFormat::NV12,
    FrameFormat::MJPEG,
    FrameFormat::RAWRGB,
];

/// One camera as the system reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraInfo {
    /// The index to pass to [`CameraSource::open`] (on Linux, N of `/dev/videoN`).
    pub index: u32,
    /// Its name.
    pub name: String,
    /// What the driver says about it (on Linux, the device path).
    pub description: String,
}

/// Runs a call into nokhwa, turning its errors and panics into the reason to report.
fn guarded<T>(f: impl FnOnce() -> Result<T, nokhwa::NokhwaError>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the camera driver layer failed".to_owned()),
    }
}

/// Lists the cameras of the system's native backend, by index. A machine without cameras
/// gives an empty list, not an error.
pub fn list_cameras() -> Result<Vec<CameraInfo>, Error> {
    let Some(backend) = nokhwa::native_api_backend() else {
        return Ok(Vec::new());
    };
    let found = guarded(|| nokhwa::query(backend))
        .map_err(|e| Error::Camera(format!("cannot list cameras: {e}")))?;
    let mut cameras: Vec<CameraInfo> = found
        .into_iter()
        .filter_map(|info| {
            let index = info.index().as_index().ok()?;
            Some(CameraInfo {
                index,
                name: info.human_name(),
                description: info.description().to_owned(),
            })
        })
        .collect();
    cameras.sort_by_key(|c| c.index);
    Ok(cameras)
}

/// The nokhwa format as a sotto one, if sotto converts it.
fn pixel_format(format: FrameFormat) -> Option<PixelFormat> {
    match format {
        FrameFormat::YUYV => Some(PixelFormat::Yuyv),
        FrameFormat::NV12 => Some(PixelFormat::Nv12),
        FrameFormat::MJPEG => Some(PixelFormat::Mjpeg),
        FrameFormat::RAWRGB => Some(PixelFormat::Rgb24),
        _ => None,
    }
}

/// Picks the camera mode closest to `width` x `height` at `fps`: pixels of size difference plus
/// 20 per frame per second short of `fps` (so 640x360 at 30 fps beats 640x480 at 15), one per
/// frame per second over it, and a little for formats that cost more to convert (so raw YUV
/// wins a tie against MJPEG). Modes sotto cannot convert or of odd size are skipped.
fn choose_mode(modes: &[CameraFormat], width: u32, height: u32, fps: u32) -> Option<CameraFormat> {
    modes
        .iter()
        .filter(|m| {
            pixel_format(m.format()).is_some()
                && m.frame_rate() > 0
                && check_size(m.width(), m.height()).is_ok()
        })
        .min_by_key(|m| {
            let size = m.width().abs_diff(width) + m.height().abs_diff(height);
            let rate = if m.frame_rate() < fps {
                20 * (fps - m.frame_rate())
            } else {
                m.frame_rate() - fps
            };
            let cost = match m.format() {
                FrameFormat::YUYV | FrameFormat::NV12 => 0,
                FrameFormat::RAWRGB => 2,
                _ => 4,
            };
            (
                u64::from(size) + u64::from(rate) + cost,
                m.width(),
                m.height(),
                m.frame_rate(),
            )
        })
        .copied()
}

/// What the capture thread hands over.
struct Slot {
    frame: VideoFrame,
    /// Frames published so far.
    seq: u64,
    /// Why the camera stopped, once it has.
    failure: Option<String>,
}

struct Shared {
    stop: AtomicBool,
    bad_frames: AtomicU64,
    slot: Mutex<Slot>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        // A panic while holding the lock leaves a whole frame or the one before: still usable.
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The mode a camera was opened in.
#[derive(Debug, Clone, Copy)]
struct Mode {
    width: u32,
    height: u32,
    fps: u32,
    format: PixelFormat,
}

/// Pictures from a camera: the newest frame at each read.
pub struct CameraSource {
    index: u32,
    mode: Mode,
    shared: Arc<Shared>,
    last: VideoFrame,
    seen: u64,
    stale_reads: u32,
    stall_limit: u32,
    thread: Option<JoinHandle<()>>,
    exited: mpsc::Receiver<()>,
}

impl std::fmt::Debug for CameraSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CameraSource")
            .field("index", &self.index)
            .field("mode", &self.mode)
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}

impl CameraSource {
    /// Opens camera `index` in the mode closest to `width` x `height` at `fps`, starts it
    /// and waits for its first frame. The pictures keep the camera's own size (see
    /// [`VideoSource::size`]), which may differ from the one asked for.
    ///
    /// Fails with [`Error::NoCamera`] if there is no camera at `index`, and with
    /// [`Error::Camera`] if it cannot be opened, offers no mode sotto converts, or sends no
    /// frame within 10 seconds.
    pub fn open(index: u32, width: u32, height: u32, fps: u32) -> Result<Self, Error> {
        check_size(width, height)?;
        if fps == 0 || fps > MAX_FPS {
            return Err(Error::InvalidFrameRate(fps));
        }
        if !list_cameras()?.iter().any(|c| c.index == index) {
            return Err(Error::NoCamera(index));
        }
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            bad_frames: AtomicU64::new(0),
            slot: Mutex::new(Slot {
                frame: VideoFrame::black(2, 2)?,
                seq: 0,
                failure: None,
            }),
        });
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let (exited_tx, exited) = mpsc::sync_channel::<()>(0);
        let thread_shared = Arc::clone(&shared);
        // The camera's device thread, the counterpart of an audio device's callback thread:
        // it lives inside the driver's blocking read, which the engine's threads must not.
        let thread = std::thread::Builder::new()
            .name(format!("sotto-camera-{index}"))
            .spawn(move || {
                // Dropped when the thread ends, which is how `Drop` learns that it has.
                let _exited = exited_tx;
                let result = catch_unwind(AssertUnwindSafe(|| {
                    capture(index, (width, height, fps), &thread_shared, &ready_tx)
                }));
                let failure = match result {
                    Ok(Ok(())) => return,
                    // Not wrapped twice in "camera error: ".
                    Ok(Err(Error::Camera(reason))) => reason,
                    Ok(Err(e)) => e.to_string(),
                    Err(_) => "the capture thread failed".to_owned(),
                };
                // Whoever is waiting learns why: `open` through the channel, `read` through
                // the slot.
                let _ = ready_tx.try_send(Err(Error::Camera(failure.clone())));
                thread_shared.lock().failure = Some(failure);
            })
            .map_err(|e| Error::Camera(format!("cannot start camera thread: {e}")))?;
        let mode = match ready_rx.recv_timeout(OPEN_TIMEOUT) {
            Ok(Ok(mode)) => mode,
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(RecvTimeoutError::Timeout) => {
                shared.stop.store(true, Ordering::Release);
                return Err(Error::Camera(format!(
                    "camera {index} sent no frame within {} s",
                    OPEN_TIMEOUT.as_secs()
                )));
            }
            Err(RecvTimeoutError::Disconnected) => {
                let _ = thread.join();
                return Err(Error::Camera(format!("camera {index} did not start")));
            }
        };
        let (last, seen) = {
            let slot = shared.lock();
            (slot.frame.clone(), slot.seq)
        };
        Ok(CameraSource {
            index,
            mode,
            shared,
            last,
            seen,
            stale_reads: 0,
            stall_limit: STALL_SECONDS * fps,
            thread: Some(thread),
            exited,
        })
    }

    /// The camera's pixel format, as it sends frames.
    pub fn pixel_format(&self) -> PixelFormat {
        self.mode.format
    }

    /// The frame rate the camera was set to.
    pub fn fps(&self) -> u32 {
        self.mode.fps
    }

    /// Frames the camera sent that could not be converted and were skipped.
    pub fn bad_frames(&self) -> u64 {
        self.shared.bad_frames.load(Ordering::Relaxed)
    }
}

/// The capture thread's work: open, pick a mode, stream until told to stop. Reports the mode
/// through `ready` once the first frame is in the slot.
fn capture(
    index: u32,
    (width, height, fps): (u32, u32, u32),
    shared: &Shared,
    ready: &mpsc::SyncSender<Result<Mode, Error>>,
) -> Result<(), Error> {
    let fail = |what: &str, e: String| Error::Camera(format!("{what} camera {index}: {e}"));
    let request = RequestedFormat::with_formats(RequestedFormatType::None, &FORMATS);
    let mut camera = guarded(|| Camera::new(CameraIndex::Index(index), request))
        .map_err(|e| fail("cannot open", e))?;
    let modes = guarded(|| camera.compatible_camera_formats())
        .map_err(|e| fail("cannot list the modes of", e))?;
    let chosen = choose_mode(&modes, width, height, fps).ok_or_else(|| {
        Error::Camera(format!(
            "camera {index} offers no mode sotto can use (YUYV, NV12, MJPEG or RGB24 at an even size)"
        ))
    })?;
    if camera.camera_format() != chosen {
        // Exact: the mode was picked from the camera's own list, so it is fulfilled as is.
        let exact = RequestedFormat::with_formats(RequestedFormatType::Exact(chosen), &FORMATS);
        guarded(|| camera.set_camera_requset(exact))
            .map_err(|e| fail(&format!("mode {chosen} refused by"), e))?;
    }
    guarded(|| camera.open_stream()).map_err(|e| fail("cannot start", e))?;
    let mode = Mode {
        width: chosen.width(),
        height: chosen.height(),
        fps: chosen.frame_rate(),
        format: pixel_format(chosen.format()).ok_or_else(|| {
            Error::Camera(format!("camera {index} chose format {}", chosen.format()))
        })?,
    };
    let mut converter = FrameConverter::new(mode.format, mode.width, mode.height)?;
    let mut work = VideoFrame::black(mode.width, mode.height)?;
    let mut bad_in_a_row = 0;
    let mut started = false;
    while !shared.stop.load(Ordering::Acquire) {
        let raw = guarded(|| camera.frame_raw()).map_err(|e| fail("lost", e))?;
        if let Err(e) = converter.convert(&raw, &mut work) {
            shared.bad_frames.fetch_add(1, Ordering::Relaxed);
            bad_in_a_row += 1;
            if bad_in_a_row >= MAX_BAD_FRAMES_IN_A_ROW {
                return Err(Error::Camera(format!(
                    "camera {index} sent {bad_in_a_row} bad frames in a row: {e}"
                )));
            }
            continue;
        }
        bad_in_a_row = 0;
        {
            let mut slot = shared.lock();
            // The reader's copy stays in the slot until the next swap; `work` takes the older
            // buffer, to be overwritten.
            std::mem::swap(&mut slot.frame, &mut work);
            slot.seq += 1;
        }
        if !started {
            started = true;
            // The buffer after the first swap is the 2x2 placeholder: give it the real size.
            work = VideoFrame::black(mode.width, mode.height)?;
            if ready.send(Ok(mode)).is_err() {
                // `open` gave up waiting.
                return Ok(());
            }
        }
    }
    Ok(())
}

impl VideoSource for CameraSource {
    fn size(&self) -> (u32, u32) {
        (self.mode.width, self.mode.height)
    }

    fn read(&mut self) -> Result<Option<VideoFrame>, Error> {
        {
            let slot = self.shared.lock();
            if let Some(failure) = &slot.failure {
                return Err(Error::Camera(failure.clone()));
            }
            if slot.seq != self.seen {
                self.seen = slot.seq;
                self.last.clone_from(&slot.frame);
                self.stale_reads = 0;
            } else {
                self.stale_reads += 1;
            }
        }
        if self.stale_reads > self.stall_limit {
            return Err(Error::Camera(format!(
                "camera {} sent no frame for {STALL_SECONDS} s",
                self.index
            )));
        }
        Ok(Some(self.last.clone()))
    }
}

impl Drop for CameraSource {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        // The thread notices the flag after its current frame; a camera that hangs in the
        // driver is left to its thread rather than hanging the caller too.
        if let Err(RecvTimeoutError::Disconnected) = self.exited.recv_timeout(STOP_TIMEOUT) {
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nokhwa::utils::Resolution;

    fn mode(w: u32, h: u32, format: FrameFormat, fps: u32) -> CameraFormat {
        CameraFormat::new(Resolution::new(w, h), format, fps)
    }

    #[test]
    fn mode_choice_prefers_size_then_rate_then_cheap_formats() {
        let modes = [
            mode(1280, 720, FrameFormat::MJPEG, 30),
            mode(1280, 720, FrameFormat::YUYV, 10),
            mode(640, 480, FrameFormat::YUYV, 30),
            mode(640, 480, FrameFormat::MJPEG, 30),
            mode(640, 360, FrameFormat::YUYV, 30),
            mode(320, 240, FrameFormat::GRAY, 30),
            mode(641, 480, FrameFormat::YUYV, 30),
        ];
        assert_eq!(
            choose_mode(&modes, 640, 480, 30),
            Some(mode(640, 480, FrameFormat::YUYV, 30))
        );
        // YUYV at 720p only runs at 10 fps: MJPEG at 30 wins.
        assert_eq!(
            choose_mode(&modes, 1280, 720, 30),
            Some(mode(1280, 720, FrameFormat::MJPEG, 30))
        );
        assert_eq!(
            choose_mode(&modes, 1280, 720, 10),
            Some(mode(1280, 720, FrameFormat::YUYV, 10))
        );
        assert_eq!(choose_mode(&modes[5..], 320, 240, 30), None);
    }
}
