//! SRTP and SRTCP (RFC 3711) with AES-CM and HMAC-SHA1: AES_CM_128_HMAC_SHA1_80/_32 and the
//! AES-256 profiles of RFC 6188, keyed from a ZRTP exchange.
//!
//! Packets are transformed in the caller's buffer: nothing is allocated per packet. The
//! receiver authenticates before it touches anything, so a rejected packet leaves the buffer,
//! the rollover counter and the replay window exactly as they were.
//!
//! ```
//! use sotto_rtp::srtp::{SrtpProfile, SrtpReceiver, SrtpSender};
//! let (key, salt) = ([7u8; 16], [9u8; 14]);
//! let profile = SrtpProfile::Aes128CmHmacSha1_80;
//! let mut tx = SrtpSender::new(profile, &key, &salt)?;
//! let mut rx = SrtpReceiver::new(profile, &key, &salt)?;
//! let mut buf = [0u8; 1500];
//! let rtp = [0x80, 0x60, 0, 1, 0, 0, 0, 160, 0x12, 0x34, 0x56, 0x78, 1, 2, 3];
//! buf[..rtp.len()].copy_from_slice(&rtp);
//! let len = tx.protect_rtp(&mut buf, rtp.len())?;
//! let plain = rx.unprotect_rtp(&mut buf[..len])?;
//! assert_eq!(&buf[..plain], &rtp);
//! # Ok::<(), sotto_rtp::Error>(())
//! ```

mod keys;
mod state;

use core::fmt;

use sotto_zrtp::{AuthTag, CipherAlgorithm, SecureInfo};

use crate::Error;
use keys::SessionKeys;
use state::{estimate_index, ReplayWindow, SsrcTable, MAX_SRTCP_INDEX, MAX_SRTP_INDEX};

/// Fixed RTP header length before CSRCs and extension.
const RTP_HEADER_LEN: usize = 12;
/// RTCP header plus sender SSRC: the part of an SRTCP packet that stays in the clear.
const RTCP_CLEAR_LEN: usize = 8;
/// The E flag and 31-bit SRTCP index appended to every SRTCP packet.
const SRTCP_INDEX_LEN: usize = 4;
const SRTCP_E_FLAG: u32 = 1 << 31;

/// An SRTP protection profile (RFC 3711, RFC 5764 names, RFC 6188 for AES-256).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SrtpProfile {
    /// AES-128 counter mode, HMAC-SHA1 with an 80-bit tag.
    Aes128CmHmacSha1_80,
    /// AES-128 counter mode, HMAC-SHA1 with a 32-bit SRTP tag (SRTCP keeps 80 bits).
    Aes128CmHmacSha1_32,
    /// AES-256 counter mode (RFC 6188), HMAC-SHA1 with an 80-bit tag.
    Aes256CmHmacSha1_80,
    /// AES-256 counter mode (RFC 6188), HMAC-SHA1 with a 32-bit SRTP tag (SRTCP keeps 80 bits).
    Aes256CmHmacSha1_32,
}

impl SrtpProfile {
    /// The profile a ZRTP exchange negotiated: AES1 is AES-128, AES3 is AES-256; HS32 and HS80
    /// are the SRTP tag lengths. `None` for anything else ZRTP may add later.
    pub fn from_zrtp(cipher: CipherAlgorithm, tag: AuthTag) -> Option<Self> {
        Some(match (cipher, tag) {
            (CipherAlgorithm::Aes1, AuthTag::Hs80) => Self::Aes128CmHmacSha1_80,
            (CipherAlgorithm::Aes1, AuthTag::Hs32) => Self::Aes128CmHmacSha1_32,
            (CipherAlgorithm::Aes3, AuthTag::Hs80) => Self::Aes256CmHmacSha1_80,
            (CipherAlgorithm::Aes3, AuthTag::Hs32) => Self::Aes256CmHmacSha1_32,
            _ => return None,
        })
    }

    /// Master (and session) encryption key length in bytes.
    pub const fn key_len(self) -> usize {
        match self {
            Self::Aes128CmHmacSha1_80 | Self::Aes128CmHmacSha1_32 => 16,
            Self::Aes256CmHmacSha1_80 | Self::Aes256CmHmacSha1_32 => 32,
        }
    }

    /// Master salt length in bytes (112 bits for every AES-CM profile).
    pub const fn salt_len(self) -> usize {
        keys::SALT_LEN
    }

    /// SRTP authentication tag length in bytes.
    pub const fn rtp_tag_len(self) -> usize {
        match self {
            Self::Aes128CmHmacSha1_80 | Self::Aes256CmHmacSha1_80 => 10,
            Self::Aes128CmHmacSha1_32 | Self::Aes256CmHmacSha1_32 => 4,
        }
    }

    /// SRTCP authentication tag length in bytes: 80 bits for every profile (RFC 3711 section
    /// 5.2; the _32 profiles shorten only the SRTP tag, as libsrtp and webrtc-rs do).
    pub const fn rtcp_tag_len(self) -> usize {
        10
    }
}

/// Where a plain RTP packet's payload starts, checked against `pkt.len()`.
fn rtp_header_len(pkt: &[u8]) -> Result<usize, Error> {
    let first = *pkt.first().ok_or(Error::TooShort("rtp header"))?;
    if pkt.len() < RTP_HEADER_LEN {
        return Err(Error::TooShort("rtp header"));
    }
    if first >> 6 != 2 {
        return Err(Error::Malformed("rtp version is not 2"));
    }
    let mut len = RTP_HEADER_LEN + 4 * usize::from(first & 0x0f);
    if pkt.len() < len {
        return Err(Error::TooShort("rtp csrc list"));
    }
    if first & 0x10 != 0 {
        let words = pkt
            .get(len + 2..len + 4)
            .ok_or(Error::TooShort("rtp header extension"))?;
        len += 4 + 4 * usize::from(u16::from_be_bytes([words[0], words[1]]));
        if pkt.len() < len {
            return Err(Error::TooShort("rtp header extension"));
        }
    }
    Ok(len)
}

/// Sequence number and SSRC of an RTP packet whose header length was checked.
fn rtp_seq_ssrc(pkt: &[u8]) -> (u16, u32) {
    let seq = u16::from_be_bytes([pkt[2], pkt[3]]);
    let ssrc = u32::from_be_bytes([pkt[8], pkt[9], pkt[10], pkt[11]]);
    (seq, ssrc)
}

/// Sender SSRC of an RTCP packet of at least [`RTCP_CLEAR_LEN`] bytes, after a version check.
fn rtcp_ssrc(pkt: &[u8]) -> Result<u32, Error> {
    if pkt.len() < RTCP_CLEAR_LEN {
        return Err(Error::TooShort("rtcp header"));
    }
    if pkt[0] >> 6 != 2 {
        return Err(Error::Malformed("rtcp version is not 2"));
    }
    Ok(u32::from_be_bytes([pkt[4], pkt[5], pkt[6], pkt[7]]))
}

/// SRTP and SRTCP session keys of one direction.
struct DirectionKeys {
    profile: SrtpProfile,
    rtp: SessionKeys,
    rtcp: SessionKeys,
}

impl DirectionKeys {
    fn new(profile: SrtpProfile, master_key: &[u8], master_salt: &[u8]) -> Result<Self, Error> {
        Ok(Self {
            profile,
            rtp: SessionKeys::derive(profile, master_key, master_salt, false)?,
            rtcp: SessionKeys::derive(profile, master_key, master_salt, true)?,
        })
    }
}

/// Protects what we send: one master key, and per SSRC (up to 16) the highest SRTP index sent
/// and the last SRTCP index.
///
/// Session keys are zeroized on drop and never shown by `Debug`.
pub struct SrtpSender {
    keys: DirectionKeys,
    rtp: SsrcTable<u64>,
    rtcp: SsrcTable<u32>,
}

impl fmt::Debug for SrtpSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpSender")
            .field("profile", &self.keys.profile)
            .field("rtp_ssrcs", &self.rtp.len())
            .field("rtcp_ssrcs", &self.rtcp.len())
            .finish_non_exhaustive()
    }
}

impl SrtpSender {
    /// Derives the session keys from a master key and 14-byte master salt.
    pub fn new(profile: SrtpProfile, master_key: &[u8], master_salt: &[u8]) -> Result<Self, Error> {
        Ok(Self {
            keys: DirectionKeys::new(profile, master_key, master_salt)?,
            rtp: SsrcTable::default(),
            rtcp: SsrcTable::default(),
        })
    }

    /// The profile in use.
    pub fn profile(&self) -> SrtpProfile {
        self.keys.profile
    }

    /// `buf[..len]` is a plain RTP packet; encrypts the payload in place and appends the tag;
    /// returns the new length. `buf` needs `len + rtp_tag_len` bytes (Error::BufferTooSmall).
    ///
    /// The rollover counter follows the sequence numbers as RFC 3711 appendix A guesses them,
    /// so a resent older packet keeps its index. Fails with [`Error::KeyExhausted`] rather than
    /// reuse an index after 2^48 packets of one SSRC.
    pub fn protect_rtp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error> {
        let tag_len = self.keys.profile.rtp_tag_len();
        let pkt = buf.get(..len).ok_or(Error::BufferTooSmall {
            needed: len,
            have: buf.len(),
        })?;
        let header_len = rtp_header_len(pkt)?;
        let (seq, ssrc) = rtp_seq_ssrc(pkt);
        let out_len = len + tag_len;
        if buf.len() < out_len {
            return Err(Error::BufferTooSmall {
                needed: out_len,
                have: buf.len(),
            });
        }
        let index = match self.rtp.get(ssrc) {
            Some(&highest) => estimate_index(highest, seq).ok_or(Error::Malformed(
                "rtp sequence number precedes the stream's first packet",
            ))?,
            None => {
                self.rtp.check_room(ssrc)?;
                u64::from(seq)
            }
        };
        if index > MAX_SRTP_INDEX {
            return Err(Error::KeyExhausted);
        }
        let highest = self.rtp.get(ssrc).map_or(index, |&h| h.max(index));
        self.rtp.insert(ssrc, highest)?;

        let (pkt, tail) = buf.split_at_mut(len);
        self.keys
            .rtp
            .apply_keystream(ssrc, index, &mut pkt[header_len..]);
        let roc = (index >> 16) as u32;
        let tag = self.keys.rtp.tag(pkt, &roc.to_be_bytes());
        tail[..tag_len].copy_from_slice(&tag[..tag_len]);
        Ok(out_len)
    }

    /// Same for a (compound) RTCP packet: encrypts, appends E-flag|SRTCP index and the tag.
    /// `buf` needs `len + 4 + rtcp_tag_len` bytes. Fails with [`Error::KeyExhausted`] after
    /// 2^31 - 1 packets of one SSRC rather than wrap the index.
    pub fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, Error> {
        let tag_len = self.keys.profile.rtcp_tag_len();
        let pkt = buf.get(..len).ok_or(Error::BufferTooSmall {
            needed: len,
            have: buf.len(),
        })?;
        let ssrc = rtcp_ssrc(pkt)?;
        let out_len = len + SRTCP_INDEX_LEN + tag_len;
        if buf.len() < out_len {
            return Err(Error::BufferTooSmall {
                needed: out_len,
                have: buf.len(),
            });
        }
        // The first SRTCP index is 1, as libsrtp and webrtc-rs send.
        let index = match self.rtcp.get(ssrc) {
            Some(&last) if last >= MAX_SRTCP_INDEX => return Err(Error::KeyExhausted),
            Some(&last) => last + 1,
            None => {
                self.rtcp.check_room(ssrc)?;
                1
            }
        };
        self.rtcp.insert(ssrc, index)?;

        self.keys
            .rtcp
            .apply_keystream(ssrc, u64::from(index), &mut buf[RTCP_CLEAR_LEN..len]);
        buf[len..len + SRTCP_INDEX_LEN].copy_from_slice(&(index | SRTCP_E_FLAG).to_be_bytes());
        let (authenticated, tail) = buf.split_at_mut(len + SRTCP_INDEX_LEN);
        let tag = self.keys.rtcp.tag(authenticated, &[]);
        tail[..tag_len].copy_from_slice(&tag[..tag_len]);
        Ok(out_len)
    }

    /// Sets the state of `ssrc` as if packets up to SRTP index `rtp_index` and SRTCP index
    /// `rtcp_index` had been sent, to exercise key exhaustion without sending 2^48 packets.
    #[doc(hidden)]
    pub fn set_indices_for_test(
        &mut self,
        ssrc: u32,
        rtp_index: u64,
        rtcp_index: u32,
    ) -> Result<(), Error> {
        self.rtp.insert(ssrc, rtp_index.min(MAX_SRTP_INDEX))?;
        self.rtcp.insert(ssrc, rtcp_index.min(MAX_SRTCP_INDEX))
    }
}

/// What a receiver has accepted and rejected, for call statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SrtpStats {
    /// SRTP and SRTCP packets authenticated and decrypted.
    pub unprotected: u64,
    /// Packets whose tag did not verify: damaged, forged, or under another key.
    pub auth_failed: u64,
    /// Packets already received or older than the replay window.
    pub replayed: u64,
    /// Packets too short or malformed to process.
    pub malformed: u64,
    /// Authenticable packets refused because the context already tracks 16 SSRCs.
    pub too_many_ssrcs: u64,
    /// Packets refused because their index would overflow the key's lifetime.
    pub key_exhausted: u64,
}

/// Unprotects what the peer sends: per SSRC (up to 16 each for SRTP and SRTCP) the highest
/// authenticated index and a 128-packet replay window.
///
/// Session keys are zeroized on drop and never shown by `Debug`.
pub struct SrtpReceiver {
    keys: DirectionKeys,
    rtp: SsrcTable<ReplayWindow>,
    rtcp: SsrcTable<ReplayWindow>,
    stats: SrtpStats,
}

impl fmt::Debug for SrtpReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpReceiver")
            .field("profile", &self.keys.profile)
            .field("rtp_ssrcs", &self.rtp.len())
            .field("rtcp_ssrcs", &self.rtcp.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl SrtpReceiver {
    /// Derives the session keys from a master key and 14-byte master salt.
    pub fn new(profile: SrtpProfile, master_key: &[u8], master_salt: &[u8]) -> Result<Self, Error> {
        Ok(Self {
            keys: DirectionKeys::new(profile, master_key, master_salt)?,
            rtp: SsrcTable::default(),
            rtcp: SsrcTable::default(),
            stats: SrtpStats::default(),
        })
    }

    /// The profile in use.
    pub fn profile(&self) -> SrtpProfile {
        self.keys.profile
    }

    /// Verifies and decrypts `buf` in place; returns the plain length. On ANY error nothing
    /// changes: not the ROC, not the replay window, not the packet bytes.
    pub fn unprotect_rtp(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let result = self.unprotect_rtp_inner(buf);
        self.count(result)
    }

    /// Verifies and decrypts an SRTCP packet in place; returns the plain RTCP length. On any
    /// error nothing changes.
    pub fn unprotect_rtcp(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let result = self.unprotect_rtcp_inner(buf);
        self.count(result)
    }

    /// Counters since creation.
    pub fn stats(&self) -> SrtpStats {
        self.stats
    }

    fn count(&mut self, result: Result<usize, Error>) -> Result<usize, Error> {
        let s = &mut self.stats;
        let counter = match &result {
            Ok(_) => &mut s.unprotected,
            Err(Error::AuthFailed) => &mut s.auth_failed,
            Err(Error::Replayed) => &mut s.replayed,
            Err(Error::TooManySsrcs) => &mut s.too_many_ssrcs,
            Err(Error::KeyExhausted) => &mut s.key_exhausted,
            Err(_) => &mut s.malformed,
        };
        *counter += 1;
        result
    }

    fn unprotect_rtp_inner(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let tag_len = self.keys.profile.rtp_tag_len();
        let auth_len = buf
            .len()
            .checked_sub(tag_len)
            .ok_or(Error::TooShort("srtp packet shorter than its tag"))?;
        let (pkt, tag) = buf.split_at_mut(auth_len);
        let header_len = rtp_header_len(pkt)?;
        let (seq, ssrc) = rtp_seq_ssrc(pkt);
        let window = self.rtp.get(ssrc).copied();
        let index = match window {
            Some(w) => {
                let index = estimate_index(w.highest(), seq).ok_or(Error::Replayed)?;
                if index > MAX_SRTP_INDEX {
                    return Err(Error::KeyExhausted);
                }
                w.check(index)?;
                index
            }
            None => {
                self.rtp.check_room(ssrc)?;
                u64::from(seq)
            }
        };
        let roc = (index >> 16) as u32;
        if !self.keys.rtp.verify(pkt, &roc.to_be_bytes(), tag) {
            return Err(Error::AuthFailed);
        }
        let mut window = window.unwrap_or_else(|| ReplayWindow::starting_at(index));
        window.accept(index);
        self.rtp.insert(ssrc, window)?;
        self.keys
            .rtp
            .apply_keystream(ssrc, index, &mut pkt[header_len..]);
        Ok(auth_len)
    }

    fn unprotect_rtcp_inner(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let tag_len = self.keys.profile.rtcp_tag_len();
        let plain_len = buf
            .len()
            .checked_sub(tag_len + SRTCP_INDEX_LEN)
            .ok_or(Error::TooShort(
                "srtcp packet shorter than its index and tag",
            ))?;
        let ssrc = rtcp_ssrc(&buf[..plain_len])?;
        let (authenticated, tag) = buf.split_at_mut(plain_len + SRTCP_INDEX_LEN);
        let word = &authenticated[plain_len..];
        let word = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        let encrypted = word & SRTCP_E_FLAG != 0;
        let index = u64::from(word & !SRTCP_E_FLAG);
        let window = self.rtcp.get(ssrc).copied();
        match window {
            Some(w) => w.check(index)?,
            None => self.rtcp.check_room(ssrc)?,
        }
        if !self.keys.rtcp.verify(authenticated, &[], tag) {
            return Err(Error::AuthFailed);
        }
        let mut window = window.unwrap_or_else(|| ReplayWindow::starting_at(index));
        window.accept(index);
        self.rtcp.insert(ssrc, window)?;
        // An authenticated packet with E clear was sent unencrypted (RFC 3711 section 3.4).
        if encrypted {
            self.keys.rtcp.apply_keystream(
                ssrc,
                index,
                &mut authenticated[RTCP_CLEAR_LEN..plain_len],
            );
        }
        Ok(plain_len)
    }

    /// Sets the state of `ssrc` as if SRTP index `rtp_index` had been the highest received, to
    /// exercise key exhaustion without receiving 2^48 packets.
    #[doc(hidden)]
    pub fn set_rtp_index_for_test(&mut self, ssrc: u32, rtp_index: u64) -> Result<(), Error> {
        self.rtp.insert(
            ssrc,
            ReplayWindow::starting_at(rtp_index.min(MAX_SRTP_INDEX)),
        )
    }
}

/// Both directions from a completed ZRTP exchange (local keys send, remote keys receive).
pub fn from_zrtp(info: &SecureInfo) -> Result<(SrtpSender, SrtpReceiver), Error> {
    let algorithms = &info.algorithms;
    let profile = SrtpProfile::from_zrtp(algorithms.cipher, algorithms.auth_tag).ok_or(
        Error::InvalidKey("zrtp negotiated a cipher or tag srtp does not implement"),
    )?;
    let srtp = &info.srtp;
    Ok((
        SrtpSender::new(
            profile,
            srtp.local_key.expose_secret(),
            srtp.local_salt.expose_secret(),
        )?,
        SrtpReceiver::new(
            profile,
            srtp.remote_key.expose_secret(),
            srtp.remote_salt.expose_secret(),
        )?,
    ))
}

/// The RFC 3711 primitives on their own, for the appendix B test vectors.
#[doc(hidden)]
pub mod spec {
    use super::keys;
    use crate::Error;

    /// RFC 3711 section 4.3.1 key derivation (kdr 0) with `label`; AES-256 for 32-byte keys.
    pub fn derive_session_key(
        master_key: &[u8],
        master_salt: &[u8; 14],
        label: u8,
        out: &mut [u8],
    ) -> Result<(), Error> {
        let master = keys::BlockCipher::new(master_key)?;
        keys::derive(&master, master_salt, label, out);
        Ok(())
    }

    /// XORs the AES-CM keystream of packet (`ssrc`, `index`) under a session key and salt into
    /// `data` (RFC 3711 section 4.1.1).
    pub fn aes_cm_keystream(
        session_key: &[u8],
        session_salt: &[u8; 14],
        ssrc: u32,
        index: u64,
        data: &mut [u8],
    ) -> Result<(), Error> {
        let cipher = keys::BlockCipher::new(session_key)?;
        cipher.apply_keystream(&keys::packet_iv(session_salt, ssrc, index), data);
        Ok(())
    }
}
