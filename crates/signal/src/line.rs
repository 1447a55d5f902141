//! The one-line form of an offer or answer, for pasting into a chat:
//! `sotto1:<offer|answer>:<SDP in unpadded base64url>:<CRC-32 of the SDP, 8 hex digits>`.
//! base64url (RFC 4648 section 5) is what no chat client reflows, escapes or turns into a link;
//! the CRC-32 (the common IEEE one, as `crc32` and zlib compute it) catches a line a
//! messenger cut off, even at an SDP line boundary, where the SDP alone would still read as
//! valid but could have lost a stream, a candidate or its `a=zrtp-hash`. No compression: the
//! SDP of a call is about 1 KB, and a line anyone can decode with standard tools is worth it.

use core::fmt::Write as _;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, Engine};

use crate::{parse, Answer, Error, Offer, MAX_SDP_LEN};

/// What every sotto line starts with; the digit is the format's version.
pub const LINE_PREFIX: &str = "sotto1:";

/// Unpadded base64url out; padded or not accepted in.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The longest line [`Signal::from_line`] reads: the prefix, the kind, the base64 of
/// [`MAX_SDP_LEN`] bytes and the checksum.
pub const MAX_LINE_LEN: usize =
    LINE_PREFIX.len() + "answer:".len() + MAX_SDP_LEN.div_ceil(3) * 4 + ":".len() + 8;

/// An offer or an answer, as a pasted line turns out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signal {
    /// `sotto1:offer:...`.
    Offer(Offer),
    /// `sotto1:answer:...`.
    Answer(Answer),
}

impl Signal {
    /// Reads a pasted line. White space anywhere in it (a chat client's line wrap, the
    /// newline of a copy) is ignored.
    pub fn from_line(line: &str) -> Result<Signal, Error> {
        let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.len() > MAX_LINE_LEN {
            return Err(Error::TooLong {
                len: compact.len(),
                max: MAX_LINE_LEN,
            });
        }
        let Some(rest) = compact.strip_prefix(LINE_PREFIX) else {
            let newer = compact
                .strip_prefix("sotto")
                .and_then(|r| r.split_once(':'))
                .is_some_and(|(v, _)| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()));
            return Err(Error::BadLine(if newer {
                "it is of a newer format than this sotto reads; update sotto"
            } else {
                "it should start with \"sotto1:\""
            }));
        };
        let (kind, payload) = rest.split_once(':').ok_or(Error::BadLine(
            "it should read sotto1:offer:... or sotto1:answer:...",
        ))?;
        const DAMAGED: Error = Error::BadLine("it is damaged or cut off: copy it again whole");
        let (payload, checksum) = payload.rsplit_once(':').ok_or(DAMAGED)?;
        let bytes = BASE64URL.decode(payload).map_err(|_| DAMAGED)?;
        if checksum.len() != 8 || u32::from_str_radix(checksum, 16).ok() != Some(crc32(&bytes)) {
            return Err(DAMAGED);
        }
        let sdp = core::str::from_utf8(&bytes).map_err(|_| DAMAGED)?;
        match kind {
            "offer" => parse::parse(sdp).map(|d| Signal::Offer(Offer(d))),
            "answer" => parse::parse(sdp).map(|d| Signal::Answer(Answer(d))),
            _ => Err(Error::BadLine(
                "it should read sotto1:offer:... or sotto1:answer:...",
            )),
        }
    }

    /// The line.
    pub fn to_line(&self) -> String {
        match self {
            Signal::Offer(o) => o.to_line(),
            Signal::Answer(a) => a.to_line(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Signal::Offer(_) => "offer",
            Signal::Answer(_) => "answer",
        }
    }
}

impl Offer {
    /// The offer as one line: `sotto1:offer:<base64url of the SDP>`.
    pub fn to_line(&self) -> String {
        encode("offer", &self.to_sdp())
    }

    /// Reads an offer line; an answer line is [`Error::WrongKind`].
    pub fn from_line(line: &str) -> Result<Offer, Error> {
        match Signal::from_line(line)? {
            Signal::Offer(o) => Ok(o),
            other => Err(Error::WrongKind {
                expected: "offer",
                found: other.kind(),
            }),
        }
    }
}

impl Answer {
    /// The answer as one line: `sotto1:answer:<base64url of the SDP>`.
    pub fn to_line(&self) -> String {
        encode("answer", &self.to_sdp())
    }

    /// Reads an answer line; an offer line is [`Error::WrongKind`].
    pub fn from_line(line: &str) -> Result<Answer, Error> {
        match Signal::from_line(line)? {
            Signal::Answer(a) => Ok(a),
            other => Err(Error::WrongKind {
                expected: "answer",
                found: other.kind(),
            }),
        }
    }
}

fn encode(kind: &str, sdp: &str) -> String {
    let mut line = String::with_capacity(LINE_PREFIX.len() + 17 + sdp.len().div_ceil(3) * 4);
    line.push_str(LINE_PREFIX);
    line.push_str(kind);
    line.push(':');
    BASE64URL.encode_string(sdp.as_bytes(), &mut line);
    let _ = write!(line, ":{:08x}", crc32(sdp.as_bytes()));
    line
}

/// CRC-32 (IEEE 802.3, reflected, as zlib): bitwise, since it runs once per pasted line.
fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &b| {
        (0..8).fold(crc ^ u32::from(b), |c, _| {
            (c >> 1) ^ (0xEDB8_8320 & (c & 1).wrapping_neg())
        })
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc32_is_the_common_one() {
        // The check value of CRC-32/ISO-HDLC.
        assert_eq!(super::crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(super::crc32(b""), 0);
    }
}
