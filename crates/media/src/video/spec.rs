//! Where call video comes from and goes, as given on the command line.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::{CameraSource, PatternSource, VideoSink, VideoSource, Y4mSink, Y4mSource};
use crate::Error;

const INPUT_FORMS: &str = "none, pattern, camera, camera:N or FILE.y4m";
const INPUT_NOT_Y4M: &str =
    "none, pattern, camera, camera:N or FILE.y4m (only Y4M files are read; \
     convert with `ffmpeg -i INPUT -pix_fmt yuv420p OUTPUT.y4m`)";
const OUTPUT_FORMS: &str = "none or FILE.y4m (only Y4M files are written)";

/// Where call video comes from: `none`, `pattern`, `camera` (the first camera), `camera:N` or
/// a path to a Y4M file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoInput {
    /// No video is sent.
    None,
    /// The moving test pattern with its frame-index barcode ([`PatternSource`]).
    Pattern,
    /// The camera with this index (see [`super::list_cameras`]).
    Camera(u32),
    /// A Y4M file, played once at its own size.
    File(PathBuf),
}

/// Where received video goes: `none` or a path to a Y4M file to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoOutput {
    /// Discarded.
    None,
    /// A Y4M file.
    File(PathBuf),
}

fn is_y4m(path: &str) -> bool {
    Path::new(path)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("y4m"))
}

impl FromStr for VideoInput {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = |expected| Error::InvalidVideoSpec {
            kind: "input",
            spec: s.to_owned(),
            expected,
        };
        match s {
            "none" => Ok(Self::None),
            "pattern" => Ok(Self::Pattern),
            "camera" => Ok(Self::Camera(0)),
            _ => {
                if let Some(index) = s.strip_prefix("camera:") {
                    // Digits only: `u32::from_str` would also take a leading `+`.
                    if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(invalid(INPUT_FORMS));
                    }
                    return index
                        .parse()
                        .map(Self::Camera)
                        .map_err(|_| invalid(INPUT_FORMS));
                }
                if is_y4m(s) {
                    Ok(Self::File(PathBuf::from(s)))
                } else if s.is_empty() || !s.contains(['.', '/', std::path::MAIN_SEPARATOR]) {
                    // A word, not a path: most likely a misspelt keyword.
                    Err(invalid(INPUT_FORMS))
                } else {
                    Err(invalid(INPUT_NOT_Y4M))
                }
            }
        }
    }
}

impl FromStr for VideoOutput {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "none" => Ok(Self::None),
            path if is_y4m(path) => Ok(Self::File(PathBuf::from(path))),
            _ => Err(Error::InvalidVideoSpec {
                kind: "output",
                spec: s.to_owned(),
                expected: OUTPUT_FORMS,
            }),
        }
    }
}

impl std::fmt::Display for VideoInput {
    /// The form [`FromStr`] reads back.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("none"),
            Self::Pattern => f.write_str("pattern"),
            Self::Camera(index) => write!(f, "camera:{index}"),
            Self::File(path) => write!(f, "{}", path.display()),
        }
    }
}

impl std::fmt::Display for VideoOutput {
    /// The form [`FromStr`] reads back.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("none"),
            Self::File(path) => write!(f, "{}", path.display()),
        }
    }
}

impl VideoInput {
    /// Opens the source, `None` for [`VideoInput::None`]. `width`, `height` and `fps` are what
    /// the call asks for: the pattern is made at that size, a camera opened in the mode closest
    /// to it; a file keeps its own size and rate. The source's [`VideoSource::size`] is what it
    /// will give.
    pub fn open(
        &self,
        width: u32,
        height: u32,
        fps: u32,
    ) -> Result<Option<Box<dyn VideoSource>>, Error> {
        Ok(match self {
            Self::None => None,
            Self::Pattern => Some(Box::new(PatternSource::new(width, height)?)),
            Self::Camera(index) => Some(Box::new(CameraSource::open(*index, width, height, fps)?)),
            Self::File(path) => Some(Box::new(Y4mSource::open(path)?)),
        })
    }
}

impl VideoOutput {
    /// Opens the sink, `None` for [`VideoOutput::None`]; a file is written at `fps`.
    pub fn open(&self, fps: u32) -> Result<Option<Box<dyn VideoSink>>, Error> {
        Ok(match self {
            Self::None => None,
            Self::File(path) => Some(Box::new(Y4mSink::create(path, fps)?)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_parse_and_print_back() {
        for (spec, input) in [
            ("none", VideoInput::None),
            ("pattern", VideoInput::Pattern),
            ("camera:0", VideoInput::Camera(0)),
            ("camera:12", VideoInput::Camera(12)),
            ("clip.y4m", VideoInput::File("clip.y4m".into())),
            ("dir/Clip.Y4M", VideoInput::File("dir/Clip.Y4M".into())),
        ] {
            assert_eq!(spec.parse::<VideoInput>().expect(spec), input);
            assert_eq!(input.to_string(), spec);
        }
        assert_eq!(
            "camera".parse::<VideoInput>().expect("camera"),
            VideoInput::Camera(0)
        );
    }

    #[test]
    fn bad_inputs_say_what_is_accepted() {
        for spec in [
            "",
            "camera:",
            "camera:x",
            "camera:-1",
            "camera:+1",
            "camera:99999999999",
            "patern",
        ] {
            let err = spec.parse::<VideoInput>().expect_err(spec).to_string();
            assert!(err.contains("camera:N or FILE.y4m"), "{err}");
            assert!(err.starts_with("invalid video input"), "{err}");
        }
        for spec in ["clip.mp4", "dir/clip", "./y4m"] {
            let err = spec.parse::<VideoInput>().expect_err(spec).to_string();
            assert!(err.contains("only Y4M files are read"), "{spec}: {err}");
        }
    }

    #[test]
    fn outputs_parse() {
        assert_eq!(
            "none".parse::<VideoOutput>().expect("none"),
            VideoOutput::None
        );
        assert_eq!(
            "out.y4m".parse::<VideoOutput>().expect("file"),
            VideoOutput::File("out.y4m".into())
        );
        for spec in ["", "out.yuv", "pattern", "camera"] {
            let err = spec.parse::<VideoOutput>().expect_err(spec).to_string();
            assert!(err.contains("only Y4M files are written"), "{err}");
        }
    }
}
