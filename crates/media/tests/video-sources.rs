//! Video sources and sinks: the test pattern and its barcode, Y4M files, cameras and the
//! command-line video specifications.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::io::Write;
use std::path::Path;

use sotto_media::video::{
    list_cameras, psnr, read_frame_index, CameraSource, PatternSource, Y4mSink, Y4mSource,
};
use sotto_media::{Error, VideoFrame, VideoInput, VideoOutput, VideoSink, VideoSource};

/// xorshift64*: deterministic noise for the tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn read_all(source: &mut dyn VideoSource) -> Vec<VideoFrame> {
    let mut frames = Vec::new();
    while let Some(frame) = source.read().unwrap() {
        frames.push(frame);
    }
    frames
}

/// Fraction of luma samples in rows `rows` that differ between `a` and `b`.
fn changed_fraction(a: &VideoFrame, b: &VideoFrame, rows: std::ops::Range<usize>) -> f64 {
    let w = a.width() as usize;
    let (ya, yb) = (a.planes().0, b.planes().0);
    let range = rows.start * w..rows.end * w;
    let changed = ya[range.clone()]
        .iter()
        .zip(&yb[range.clone()])
        .filter(|(x, y)| x != y)
        .count();
    changed as f64 / range.len() as f64
}

// ---------------------------------------------------------------- pattern

#[test]
fn pattern_is_deterministic_and_frame_rebuilds_what_read_gave() {
    let mut a = PatternSource::new(320, 240).unwrap();
    let mut b = PatternSource::new(320, 240).unwrap();
    assert_eq!(a.size(), (320, 240));
    for n in 0..40u32 {
        assert_eq!(a.next_index(), n);
        let fa = a.read().unwrap().unwrap();
        let fb = b.read().unwrap().unwrap();
        assert_eq!(fa, fb, "frame {n}");
        assert_eq!(fa, a.frame(n), "frame {n} rebuilt");
        assert_eq!(read_frame_index(&fa), Some(n));
    }
}

#[test]
fn pattern_moves_every_frame_and_keeps_its_static_band() {
    let pattern = PatternSource::new(640, 480).unwrap();
    let frames: Vec<VideoFrame> = (0..60).map(|n| pattern.frame(n)).collect();
    for pair in frames.windows(2) {
        // Rows 40..360: under the barcode, above the ramp and bars. Panning texture moves
        // nearly every sample.
        let moving = changed_fraction(&pair[0], &pair[1], 40..360);
        assert!(moving > 0.8, "only {moving:.2} of the moving area changed");
        // The bottom sixth (bars) and the ramp above it do not move.
        assert_eq!(changed_fraction(&pair[0], &pair[1], 400..480), 0.0);
        let db = psnr(&pair[0], &pair[1]).unwrap();
        assert!(db < 30.0, "consecutive frames too alike: {db:.1} dB");
        // The colour planes move too.
        assert_ne!(pair[0].planes().1, pair[1].planes().1);
    }
    // Real picture content: the luma uses most of the range.
    let y = frames[0].planes().0;
    let (lo, hi) = (y.iter().min().unwrap(), y.iter().max().unwrap());
    assert!(*lo <= 20 && *hi >= 230, "luma {lo}..{hi}");
}

#[test]
fn pattern_works_at_any_valid_size() {
    for (w, h) in [(2, 2), (16, 8), (64, 64), (66, 130), (352, 288), (4096, 16)] {
        let mut p = PatternSource::new(w, h).unwrap();
        let f = p.read().unwrap().unwrap();
        assert_eq!((f.width(), f.height()), (w, h));
        assert_ne!(p.frame(0), p.frame(1), "{w}x{h} moves");
    }
    for (w, h) in [(0, 2), (3, 2), (640, 481), (4098, 2)] {
        assert!(matches!(
            PatternSource::new(w, h),
            Err(Error::InvalidVideoSize { .. })
        ));
    }
}

#[test]
fn barcode_reads_back_its_index_at_every_size() {
    let mut rng = Rng(0x5eed);
    let mut indices = vec![
        0,
        1,
        2,
        255,
        256,
        65_535,
        0x8000_0000,
        u32::MAX - 1,
        u32::MAX,
    ];
    indices.extend((0..8).map(|_| rng.next() as u32));
    for (w, h) in [
        (64, 64),
        (176, 144),
        (240, 240),
        (320, 240),
        (640, 480),
        (1280, 720),
        (1920, 1080),
        (4096, 64),
        (64, 4096),
    ] {
        let p = PatternSource::new(w, h).unwrap();
        for &n in &indices {
            assert_eq!(read_frame_index(&p.frame(n)), Some(n), "{w}x{h} frame {n}");
        }
    }
}

#[test]
fn no_barcode_reads_none() {
    assert_eq!(
        read_frame_index(&VideoFrame::black(640, 480).unwrap()),
        None
    );
    // Too small to carry one.
    assert_eq!(
        read_frame_index(&PatternSource::new(62, 62).unwrap().frame(5)),
        None
    );
    // Random pictures never pass the guards, contrast and CRC checks.
    let mut rng = Rng(42);
    for _ in 0..50 {
        let data: Vec<u8> = (0..320 * 240 * 3 / 2).map(|_| rng.next() as u8).collect();
        let noise = VideoFrame::from_i420(320, 240, data).unwrap();
        assert_eq!(read_frame_index(&noise), None);
    }
    // A pattern of another size: the cells are elsewhere.
    let other = PatternSource::new(640, 480).unwrap().frame(7);
    let (y, _, _) = other.planes();
    let cropped: Vec<u8> = y
        .chunks(640)
        .take(240)
        .flat_map(|r| &r[..320])
        .copied()
        .collect();
    let mut data = cropped;
    data.resize(320 * 240 * 3 / 2, 128);
    assert_eq!(
        read_frame_index(&VideoFrame::from_i420(320, 240, data).unwrap()),
        None
    );
}

/// Inverts one barcode cell (16 px cells at 640x480, 40 to a row) of frame `n`.
fn with_cell_inverted(n: u32, cell: usize) -> VideoFrame {
    let mut frame = PatternSource::new(640, 480).unwrap().frame(n);
    let (y, _, _) = frame.planes_mut();
    let (x0, y0) = ((cell % 40) * 16, (cell / 40) * 16);
    for row in y0..y0 + 16 {
        for p in &mut y[row * 640 + x0..][..16] {
            *p = 251 - *p;
        }
    }
    frame
}

#[test]
fn a_flipped_cell_is_caught() {
    // Every single-cell error: guards (0..4, 52..56), index bits and CRC bits.
    for cell in 0..56 {
        assert_eq!(
            read_frame_index(&with_cell_inverted(1234, cell)),
            None,
            "cell {cell}"
        );
    }
}

/// Adds noise of +-`amplitude` to luma, then blurs it with a 3x3 box, then quantises to
/// `step`: roughly what a lossy codec does to flat blocks and their edges.
fn degrade(frame: &VideoFrame, rng: &mut Rng, amplitude: i32, step: i32) -> VideoFrame {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let mut out = frame.clone();
    let noisy: Vec<i32> = frame
        .planes()
        .0
        .iter()
        .map(|&p| i32::from(p) + rng.below(2 * amplitude as u64 + 1) as i32 - amplitude)
        .collect();
    let (y, u, v) = out.planes_mut();
    for row in 0..h {
        for col in 0..w {
            let mut sum = 0;
            let mut count = 0;
            for r in row.saturating_sub(1)..(row + 2).min(h) {
                for c in col.saturating_sub(1)..(col + 2).min(w) {
                    sum += noisy[r * w + c];
                    count += 1;
                }
            }
            let blurred = sum / count;
            y[row * w + col] = ((blurred + step / 2) / step * step).clamp(0, 255) as u8;
        }
    }
    for p in u.iter_mut().chain(v.iter_mut()) {
        *p = (i32::from(*p) + rng.below(9) as i32 - 4).clamp(0, 255) as u8;
    }
    out
}

#[test]
fn barcode_survives_noise_blur_and_quantisation() {
    let mut rng = Rng(7);
    for (w, h) in [(64, 64), (176, 144), (320, 240), (640, 480), (1280, 720)] {
        let p = PatternSource::new(w, h).unwrap();
        for n in [0, 1, 99, 1_000_003, u32::MAX] {
            let original = p.frame(n);
            let damaged = degrade(&original, &mut rng, 12, 8);
            let db = psnr(&original, &damaged).unwrap();
            assert!(db < 40.0, "the damage is real: {db:.1} dB");
            assert_eq!(read_frame_index(&damaged), Some(n), "{w}x{h} frame {n}");
        }
    }
}

#[test]
fn barcode_survives_a_contrast_and_brightness_change() {
    let p = PatternSource::new(640, 480).unwrap();
    let mut frame = p.frame(4321);
    // Squeezed into 60..170, as a dim, washed-out camera might.
    for v in frame.planes_mut().0 {
        *v = (60 + u32::from(*v) / 2) as u8;
    }
    assert_eq!(read_frame_index(&frame), Some(4321));
    // Squeezed to almost nothing: no longer a barcode.
    for v in frame.planes_mut().0 {
        *v = 100 + *v / 8;
    }
    assert_eq!(read_frame_index(&frame), None);
}

// ---------------------------------------------------------------- Y4M

fn write_pattern(path: &Path, w: u32, h: u32, frames: u32, fps: u32) -> Vec<VideoFrame> {
    let mut pattern = PatternSource::new(w, h).unwrap();
    let mut sink = Y4mSink::create(path, fps).unwrap();
    let written: Vec<VideoFrame> = (0..frames)
        .map(|_| pattern.read().unwrap().unwrap())
        .collect();
    for f in &written {
        sink.write(f).unwrap();
    }
    assert_eq!(sink.frames_written(), u64::from(frames));
    sink.finish().unwrap();
    written
}

#[test]
fn y4m_round_trip_is_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clip.y4m");
    let written = write_pattern(&path, 176, 144, 12, 30);

    let bytes = std::fs::read(&path).unwrap();
    let header_end = bytes.iter().position(|&b| b == b'\n').unwrap();
    let header = std::str::from_utf8(&bytes[..header_end]).unwrap();
    assert!(header.starts_with("YUV4MPEG2 W176 H144 F30:1 "), "{header}");
    assert!(header.contains(" C420jpeg"), "{header}");
    let frame_len = 6 + 176 * 144 * 3 / 2;
    assert_eq!(bytes.len(), header_end + 1 + 12 * frame_len);

    let mut source = Y4mSource::open(&path).unwrap();
    assert_eq!(source.size(), (176, 144));
    assert_eq!(source.fps(), (30, 1));
    let read = read_all(&mut source);
    assert_eq!(read, written);
    assert_eq!(source.frames_read(), 12);
    assert!(source.read().unwrap().is_none(), "stays at the end");
    for (n, f) in read.iter().enumerate() {
        assert_eq!(read_frame_index(f), Some(n as u32));
    }
}

#[test]
fn y4m_cut_short_ends_at_the_last_whole_frame() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clip.y4m");
    let written = write_pattern(&path, 64, 64, 3, 25);
    let full = std::fs::read(&path).unwrap();
    let frame_len = 6 + 64 * 64 * 3 / 2;
    let header_len = full.len() - 3 * frame_len;
    // Cut inside the third frame's data, inside its FRAME line, and right after it.
    for (cut, whole) in [
        (full.len() - 1, 2),
        (full.len() - frame_len + 3, 2),
        (header_len + 2 * frame_len, 2),
        (header_len + 6, 0),
        (header_len, 0),
    ] {
        std::fs::write(&path, &full[..cut]).unwrap();
        let mut source = Y4mSource::open(&path).unwrap();
        let read = read_all(&mut source);
        assert_eq!(read.len(), whole, "cut at {cut}");
        assert_eq!(read[..], written[..whole]);
    }
}

#[test]
fn y4m_reads_other_writers_headers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ffmpeg.y4m");
    let frame = PatternSource::new(64, 48).unwrap().frame(3);
    let mut file = std::fs::File::create(&path).unwrap();
    // As ffmpeg writes NTSC-rate video, with frame parameters on the second frame.
    file.write_all(b"YUV4MPEG2 W64 H48 F30000:1001 It A0:0 C420mpeg2 XYSCSS=420MPEG2\n")
        .unwrap();
    file.write_all(b"FRAME\n").unwrap();
    file.write_all(frame.as_bytes()).unwrap();
    file.write_all(b"FRAME Ixyz XFOO=1\n").unwrap();
    file.write_all(frame.as_bytes()).unwrap();
    drop(file);
    let mut source = Y4mSource::open(&path).unwrap();
    assert_eq!(source.fps(), (30000, 1001));
    assert_eq!(read_all(&mut source), [frame.clone(), frame]);
}

fn y4m_error(contents: &[u8]) -> Error {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.y4m");
    std::fs::write(&path, contents).unwrap();
    match Y4mSource::open(&path) {
        Err(e) => e,
        Ok(mut source) => loop {
            match source.read() {
                Err(e) => break e,
                Ok(Some(_)) => {}
                Ok(None) => panic!("{:?} read without error", String::from_utf8_lossy(contents)),
            }
        },
    }
}

#[test]
fn y4m_errors_are_clear() {
    for c in ["C444", "C422", "Cmono", "C420p10"] {
        let err = y4m_error(format!("YUV4MPEG2 W4 H4 F25:1 {c}\n").as_bytes());
        let msg = err.to_string();
        assert!(matches!(err, Error::Y4m { .. }), "{msg}");
        assert!(msg.contains(c) && msg.contains("-pix_fmt yuv420p"), "{msg}");
    }
    for (contents, needle) in [
        (&b""[..], "header"),
        (b"YUV4MPEG2 W4 H4", "header"),
        (b"RIFF....WAVEfmt \n", "YUV4MPEG2"),
        (b"YUV4MPEG2 W5 H4\n", "5x4"),
        (b"YUV4MPEG2 W100000 H100000\n", "100000x100000"),
        (b"YUV4MPEG2 W4 H4\nFRAMEX\n", "FRAME"),
        (b"YUV4MPEG2 W2 H2\nFRAME\n\0\0\0\0\0\0JUNK\n", "frame 1"),
    ] {
        let msg = y4m_error(contents).to_string();
        assert!(msg.contains(needle), "{msg}");
    }
    let mut long = b"YUV4MPEG2 W4 H4 X".to_vec();
    long.resize(10_000, b'a');
    assert!(y4m_error(&long).to_string().contains("longer than"));
    let mut long_frame = b"YUV4MPEG2 W4 H4\nFRAME ".to_vec();
    long_frame.resize(10_000, b'a');
    assert!(y4m_error(&long_frame).to_string().contains("longer than"));

    let missing = Y4mSource::open(Path::new("/nonexistent/clip.y4m")).unwrap_err();
    assert!(matches!(missing, Error::Io { .. }), "{missing}");
}

#[test]
fn y4m_damaged_files_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clip.y4m");
    write_pattern(&path, 16, 8, 3, 30);
    let good = std::fs::read(&path).unwrap();
    let mut rng = Rng(99);
    for _ in 0..400 {
        let mut bad = good.clone();
        for _ in 0..1 + rng.below(4) {
            // Mostly in the header and FRAME lines, where the parsing is.
            let at = if rng.below(2) == 0 {
                rng.below(60) as usize
            } else {
                rng.below(bad.len() as u64) as usize
            };
            bad[at] = rng.next() as u8;
        }
        bad.truncate(rng.below(bad.len() as u64 + 1) as usize);
        std::fs::write(&path, &bad).unwrap();
        if let Ok(mut source) = Y4mSource::open(&path) {
            for _ in 0..5 {
                if !matches!(source.read(), Ok(Some(_))) {
                    break;
                }
            }
        }
    }
}

#[test]
fn y4m_sink_refuses_a_size_change_and_carries_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.y4m");
    let mut sink = Y4mSink::create(&path, 15).unwrap();
    let a = PatternSource::new(64, 64).unwrap();
    let b = PatternSource::new(128, 64).unwrap();
    sink.write(&a.frame(0)).unwrap();
    let err = sink.write(&b.frame(1)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::VideoSizeChanged {
                expected_width: 64,
                expected_height: 64,
                width: 128,
                height: 64
            }
        ),
        "{err}"
    );
    sink.write(&a.frame(2)).unwrap();
    sink.finish().unwrap();
    assert!(
        sink.write(&a.frame(3)).is_err(),
        "writing after finish fails"
    );
    let mut source = Y4mSource::open(&path).unwrap();
    assert_eq!(source.fps(), (15, 1));
    assert_eq!(read_all(&mut source), [a.frame(0), a.frame(2)]);

    assert!(matches!(
        Y4mSink::create(&path, 0),
        Err(Error::InvalidFrameRate(0))
    ));
    assert!(matches!(
        Y4mSink::create(Path::new("/nonexistent/dir/out.y4m"), 30),
        Err(Error::Io { .. })
    ));
}

// ---------------------------------------------------------------- cameras

#[test]
fn listing_cameras_works_without_a_camera() {
    let cameras = list_cameras().unwrap();
    if !Path::new("/dev/video0").exists() {
        assert!(cameras.is_empty(), "{cameras:?}");
    }
}

#[test]
fn a_missing_camera_is_a_clear_error() {
    let err = CameraSource::open(99, 640, 480, 30).unwrap_err();
    assert!(matches!(err, Error::NoCamera(99)), "{err}");
    assert_eq!(
        err.to_string(),
        "no camera at index 99; run `sotto devices` to list cameras"
    );
    let err = "camera:99"
        .parse::<VideoInput>()
        .unwrap()
        .open(640, 480, 30)
        .err()
        .unwrap();
    assert!(matches!(err, Error::NoCamera(99)), "{err}");
    assert!(matches!(
        CameraSource::open(0, 640, 480, 0),
        Err(Error::InvalidFrameRate(0))
    ));
}

#[test]
#[ignore = "needs a camera"]
#[allow(clippy::disallowed_methods, reason = "a camera runs in real time")]
fn a_real_camera_gives_changing_pictures() {
    let cameras = list_cameras().unwrap();
    assert!(!cameras.is_empty(), "no camera found");
    let mut camera = CameraSource::open(cameras[0].index, 640, 480, 30).unwrap();
    let (w, h) = camera.size();
    println!(
        "camera {:?}: {w}x{h} {} at {} fps",
        cameras[0].name,
        camera.pixel_format(),
        camera.fps()
    );
    let first = camera.read().unwrap().unwrap();
    assert_eq!((first.width(), first.height()), (w, h));
    let mut last = first.clone();
    for _ in 0..60 {
        std::thread::sleep(std::time::Duration::from_millis(33));
        last = camera.read().unwrap().unwrap();
    }
    // Sensor noise alone makes two frames two seconds apart differ.
    assert_ne!(first, last);
    assert_eq!(camera.bad_frames(), 0);
}

// ---------------------------------------------------------------- specifications

#[test]
fn video_specs_open_their_sources_and_sinks() {
    assert!(VideoInput::None.open(640, 480, 30).unwrap().is_none());
    assert!(VideoOutput::None.open(30).unwrap().is_none());

    let mut pattern = "pattern"
        .parse::<VideoInput>()
        .unwrap()
        .open(320, 240, 30)
        .unwrap()
        .unwrap();
    assert_eq!(pattern.size(), (320, 240));
    assert_eq!(read_frame_index(&pattern.read().unwrap().unwrap()), Some(0));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.y4m");
    let spec = path.to_str().unwrap();
    let mut sink = spec
        .parse::<VideoOutput>()
        .unwrap()
        .open(30)
        .unwrap()
        .unwrap();
    let picture = PatternSource::new(96, 64).unwrap().frame(9);
    sink.write(&picture).unwrap();
    sink.finish().unwrap();
    // A file keeps its own size whatever the call asks for.
    let mut file = spec
        .parse::<VideoInput>()
        .unwrap()
        .open(640, 480, 30)
        .unwrap()
        .unwrap();
    assert_eq!(file.size(), (96, 64));
    assert_eq!(file.read().unwrap(), Some(picture));
    assert_eq!(file.read().unwrap(), None);

    let err = "clip.mp4".parse::<VideoInput>().unwrap_err().to_string();
    assert!(err.contains("only Y4M files are read"), "{err}");
    assert!(matches!(
        VideoInput::Pattern.open(641, 480, 30),
        Err(Error::InvalidVideoSize { .. })
    ));
}
