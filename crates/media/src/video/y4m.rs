//! YUV4MPEG2 (Y4M) files in and out: the file twins of a camera and a video window.
//!
//! A Y4M file is a one-line header (`YUV4MPEG2 W640 H480 F30:1 ...`), then for each frame a
//! `FRAME` line and the raw planes. Only 8-bit 4:2:0 is read; `ffmpeg -pix_fmt yuv420p`
//! converts anything else. Every length in the file is checked before it is used, and a file
//! that stops part way through a frame simply ends there.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use super::{check_size, i420_len, VideoFrame, VideoSink, VideoSource};
use crate::Error;

const MAGIC: &[u8] = b"YUV4MPEG2";
/// Longest stream header accepted; real ones are well under 100 bytes.
const MAX_HEADER: usize = 4096;
/// Longest `FRAME` line accepted (frame parameters are rare and short).
const MAX_FRAME_HEADER: usize = 1024;
/// Frame rate assumed when the header has no `F` tag (ffmpeg's default).
const DEFAULT_FPS: (u32, u32) = (25, 1);
/// Highest frame rate written or accepted from a caller.
const MAX_FPS: u32 = 240;

/// Reads the frames of a Y4M file in 4:2:0; ends (`Ok(None)`) at the end of the file or at a
/// last frame cut short.
pub struct Y4mSource {
    path: PathBuf,
    reader: BufReader<File>,
    width: u32,
    height: u32,
    fps: (u32, u32),
    frames_read: u64,
    ended: bool,
}

impl std::fmt::Debug for Y4mSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Y4mSource")
            .field("path", &self.path)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("fps", &self.fps)
            .field("frames_read", &self.frames_read)
            .finish_non_exhaustive()
    }
}

/// Reads one `\n`-terminated line of at most `max` bytes (without the `\n`). `Ok(None)` at the
/// end of the input, also when it ends part way through the line.
fn read_line(reader: &mut impl BufRead, max: usize) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    // One past the limit, so an over-long line is told apart from one of exactly `max`.
    let n = reader.take(max as u64 + 1).read_until(b'\n', &mut line)?;
    if n == 0 || line.last() != Some(&b'\n') {
        if line.len() > max {
            return Err(std::io::Error::new(ErrorKind::InvalidData, "line too long"));
        }
        return Ok(None);
    }
    line.pop();
    Ok(Some(line))
}

impl Y4mSource {
    /// Opens `path` and reads its header. Fails with [`Error::Io`] if it cannot be read and
    /// [`Error::Y4m`] if it is not an 8-bit 4:2:0 Y4M file of a size sotto handles.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let y4m_err = |reason: String| Error::Y4m {
            path: path.to_path_buf(),
            reason,
        };
        let file = File::open(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut reader = BufReader::new(file);
        let header = match read_line(&mut reader, MAX_HEADER) {
            Ok(Some(line)) => line,
            Ok(None) => return Err(y4m_err("no complete header line".to_owned())),
            Err(e) if e.kind() == ErrorKind::InvalidData => {
                return Err(y4m_err(format!("header longer than {MAX_HEADER} bytes")))
            }
            Err(source) => {
                return Err(Error::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let (width, height, fps) = parse_header(&header).map_err(y4m_err)?;
        Ok(Y4mSource {
            path: path.to_path_buf(),
            reader,
            width,
            height,
            fps,
            frames_read: 0,
            ended: false,
        })
    }

    /// The frame rate from the header's `F` tag as (numerator, denominator); 25:1 if absent.
    pub fn fps(&self) -> (u32, u32) {
        self.fps
    }

    /// Frames read so far.
    pub fn frames_read(&self) -> u64 {
        self.frames_read
    }

    fn err(&self, reason: String) -> Error {
        Error::Y4m {
            path: self.path.clone(),
            reason,
        }
    }
}

/// Parses the stream header line (without its `\n`) into width, height and frame rate.
fn parse_header(line: &[u8]) -> Result<(u32, u32, (u32, u32)), String> {
    let rest = match line.strip_prefix(MAGIC) {
        Some(rest) if rest.is_empty() || rest[0] == b' ' => rest,
        _ => return Err("it does not start with YUV4MPEG2".to_owned()),
    };
    let (mut width, mut height, mut fps) = (None, None, DEFAULT_FPS);
    for tag in rest.split(|&b| b == b' ').filter(|t| !t.is_empty()) {
        let (key, value) = (tag[0], &tag[1..]);
        // Comments may hold anything; the other tags must be ASCII.
        if key == b'X' {
            continue;
        }
        let value = std::str::from_utf8(value)
            .ok()
            .filter(|v| key.is_ascii() && v.is_ascii())
            .ok_or_else(|| "header is not ASCII".to_owned())?;
        match key {
            b'W' => width = Some(parse_dimension(value, "width")?),
            b'H' => height = Some(parse_dimension(value, "height")?),
            b'F' => {
                fps = value
                    .split_once(':')
                    .and_then(|(n, d)| Some((n.parse::<u32>().ok()?, d.parse::<u32>().ok()?)))
                    .filter(|&(n, d)| n > 0 && d > 0)
                    .ok_or_else(|| format!("frame rate F{value} is not N:D"))?;
            }
            b'C' => {
                if !matches!(value, "420" | "420jpeg" | "420paldv" | "420mpeg2") {
                    return Err(format!(
                        "colour space C{value} is not 8-bit 4:2:0 (sotto reads C420, C420jpeg, C420paldv and C420mpeg2)"
                    ));
                }
            }
            // Interlacing and aspect ratio do not change how the planes are read.
            b'I' | b'A' => {}
            _ => {
                return Err(format!(
                    "unknown header tag {:?}",
                    String::from_utf8_lossy(tag)
                ))
            }
        }
    }
    let width = width.ok_or("header has no width (W tag)")?;
    let height = height.ok_or("header has no height (H tag)")?;
    check_size(width, height).map_err(|_| {
        format!("size {width}x{height} is not one sotto handles (even, 2 to 4096 pixels)")
    })?;
    Ok((width, height, fps))
}

fn parse_dimension(value: &str, what: &str) -> Result<u32, String> {
    value
        .parse::<u32>()
        .map_err(|_| format!("{what} {value:?} is not a number"))
}

impl VideoSource for Y4mSource {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn read(&mut self) -> Result<Option<VideoFrame>, Error> {
        if self.ended {
            return Ok(None);
        }
        let io_err = |path: &Path, source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let line = match read_line(&mut self.reader, MAX_FRAME_HEADER) {
            Ok(Some(line)) => line,
            Ok(None) => {
                self.ended = true;
                return Ok(None);
            }
            Err(e) if e.kind() == ErrorKind::InvalidData => {
                let n = self.frames_read;
                return Err(self.err(format!(
                    "frame {n} header longer than {MAX_FRAME_HEADER} bytes"
                )));
            }
            Err(source) => return Err(io_err(&self.path, source)),
        };
        if !line.starts_with(b"FRAME") || line.get(5).is_some_and(|&b| b != b' ') {
            let n = self.frames_read;
            return Err(self.err(format!("frame {n} does not start with FRAME")));
        }
        let mut data = vec![0u8; i420_len(self.width, self.height)];
        match self.reader.read_exact(&mut data) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
                // A recording cut off mid-frame: what came before it is still good.
                self.ended = true;
                return Ok(None);
            }
            Err(source) => return Err(io_err(&self.path, source)),
        }
        self.frames_read += 1;
        Ok(Some(VideoFrame {
            width: self.width,
            height: self.height,
            data,
        }))
    }
}

/// Writes pictures to a Y4M file (`C420jpeg`, limited range). The header takes the size of the
/// first picture; a later picture of another size is refused with
/// [`Error::VideoSizeChanged`] (and not written), so the caller can count it and go on.
pub struct Y4mSink {
    path: PathBuf,
    writer: Option<BufWriter<File>>,
    fps: u32,
    size: Option<(u32, u32)>,
    frames_written: u64,
}

impl std::fmt::Debug for Y4mSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Y4mSink")
            .field("path", &self.path)
            .field("fps", &self.fps)
            .field("size", &self.size)
            .field("frames_written", &self.frames_written)
            .field("finished", &self.writer.is_none())
            .finish()
    }
}

impl Y4mSink {
    /// Creates (or truncates) `path`, to be written at `fps` frames per second (1 to 240).
    pub fn create(path: &Path, fps: u32) -> Result<Self, Error> {
        if fps == 0 || fps > MAX_FPS {
            return Err(Error::InvalidFrameRate(fps));
        }
        let file = File::create(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Y4mSink {
            path: path.to_path_buf(),
            writer: Some(BufWriter::new(file)),
            fps,
            size: None,
            frames_written: 0,
        })
    }

    /// Frames written so far.
    pub fn frames_written(&self) -> u64 {
        self.frames_written
    }

    fn io_err(&self, source: std::io::Error) -> Error {
        Error::Io {
            path: self.path.clone(),
            source,
        }
    }
}

impl VideoSink for Y4mSink {
    fn write(&mut self, frame: &VideoFrame) -> Result<(), Error> {
        let Some(writer) = self.writer.as_mut() else {
            return Err(Error::Y4m {
                path: self.path.clone(),
                reason: "written to after finish".to_owned(),
            });
        };
        let (width, height) = (frame.width(), frame.height());
        if let Some((w, h)) = self.size {
            if (w, h) != (width, height) {
                return Err(Error::VideoSizeChanged {
                    expected_width: w,
                    expected_height: h,
                    width,
                    height,
                });
            }
        } else {
            writeln!(
                writer,
                "YUV4MPEG2 W{width} H{height} F{}:1 Ip A1:1 C420jpeg XYSCSS=420JPEG XCOLORRANGE=LIMITED",
                self.fps
            )
            .map_err(|source| Error::Io {
                path: self.path.clone(),
                source,
            })?;
            self.size = Some((width, height));
        }
        writer
            .write_all(b"FRAME\n")
            .and_then(|()| writer.write_all(frame.as_bytes()))
            .map_err(|source| Error::Io {
                path: self.path.clone(),
                source,
            })?;
        self.frames_written += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), Error> {
        match self.writer.take() {
            Some(mut writer) => writer.flush().map_err(|e| self.io_err(e)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_tags() {
        assert_eq!(
            parse_header(b"YUV4MPEG2 W640 H480 F30000:1001 Ip A1:1 C420jpeg XYSCSS=420JPEG"),
            Ok((640, 480, (30000, 1001)))
        );
        assert_eq!(parse_header(b"YUV4MPEG2 W2 H2"), Ok((2, 2, (25, 1))));
        // A comment may be in any encoding.
        assert_eq!(
            parse_header("YUV4MPEG2 W2 H2 XTITLE=caf\u{e9}".as_bytes()),
            Ok((2, 2, (25, 1)))
        );
        for c in ["C420", "C420paldv", "C420mpeg2"] {
            let line = format!("YUV4MPEG2 W4 H4 F25:1 {c}");
            assert!(parse_header(line.as_bytes()).is_ok(), "{c}");
        }
    }

    #[test]
    fn bad_headers_say_why() {
        for (line, needle) in [
            (&b"YUV4MPEG W4 H4"[..], "YUV4MPEG2"),
            (b"YUV4MPEG2 W4 H4 C444", "C444"),
            (b"YUV4MPEG2 W4 H4 C420p10", "C420p10"),
            (b"YUV4MPEG2 W4 H4 Cmono", "Cmono"),
            (b"YUV4MPEG2 W4", "height"),
            (b"YUV4MPEG2 H4", "width"),
            (b"YUV4MPEG2 W3 H4", "3x4"),
            (b"YUV4MPEG2 W99999999999 H4", "not a number"),
            (b"YUV4MPEG2 W8192 H4", "8192x4"),
            (b"YUV4MPEG2 W4 H4 F0:1", "F0:1"),
            (b"YUV4MPEG2 W4 H4 F30", "F30"),
            (b"YUV4MPEG2 W4 H4 Q1", "Q1"),
            (b"YUV4MPEG2 W4 H4 \xff", "ASCII"),
            ("YUV4MPEG2 W4 H4 \u{e9}1".as_bytes(), "ASCII"),
            ("YUV4MPEG2 W\u{e9} H4".as_bytes(), "ASCII"),
            (b"YUV4MPEG2W4 H4", "YUV4MPEG2"),
        ] {
            let err = parse_header(line).expect_err("refused");
            assert!(err.contains(needle), "{err}");
        }
    }
}
