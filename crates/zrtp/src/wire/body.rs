//! The encrypted parts of Confirm1/Confirm2 (RFC 6189 section 5.7) and SASrelay (section 5.13),
//! as plaintext. The caller decrypts with AES-CFB after checking the MAC over the ciphertext.

use super::cursor::Reader;
use crate::{AlgoId, Error};

/// Longest signature block (type word included): the length field has 9 bits of words.
pub const MAX_SIGNATURE_LEN: usize = 511 * 4;

/// The E, V, A and D flags of Confirm and SASrelay.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConfirmFlags {
    /// E: the sender is a PBX enrolling this endpoint (RFC 6189 section 7.3.1).
    pub pbx_enrollment_e: bool,
    /// V: the sender's user has verified the SAS with this peer before.
    pub sas_verified_v: bool,
    /// A: the sender allows a switch to clear (GoClear).
    pub allow_clear_a: bool,
    /// D: the sender discloses session keys to a third party (section 11).
    pub disclosure_d: bool,
}

impl ConfirmFlags {
    const E: u8 = 0x08;
    const V: u8 = 0x04;
    const A: u8 = 0x02;
    const D: u8 = 0x01;

    fn from_octet(octet: u8) -> Self {
        ConfirmFlags {
            pbx_enrollment_e: octet & Self::E != 0,
            sas_verified_v: octet & Self::V != 0,
            allow_clear_a: octet & Self::A != 0,
            disclosure_d: octet & Self::D != 0,
        }
    }

    fn to_octet(self) -> u8 {
        let bit = |on: bool, mask: u8| if on { mask } else { 0 };
        bit(self.pbx_enrollment_e, Self::E)
            | bit(self.sas_verified_v, Self::V)
            | bit(self.allow_clear_a, Self::A)
            | bit(self.disclosure_d, Self::D)
    }
}

/// Reads the word `unused (15 bits) | sig len (9 bits) | flag octet`, returning the signature
/// length in bytes and the flags. Unused bits are ignored, as the RFC asks of receivers.
fn read_sig_len_and_flags(r: &mut Reader<'_>) -> Result<(usize, ConfirmFlags), Error> {
    let [_, high, low, flags] = r.array::<4>()?;
    let words = (usize::from(high & 0x01) << 8) | usize::from(low);
    Ok((words * 4, ConfirmFlags::from_octet(flags)))
}

fn write_sig_len_and_flags(signature: &[u8], flags: ConfirmFlags, out: &mut Vec<u8>) {
    debug_assert!(
        signature.len() % 4 == 0 && signature.len() <= MAX_SIGNATURE_LEN,
        "signature must be whole words, at most 511"
    );
    let words = (signature.len() / 4) & 0x1ff;
    // Bounded to 9 bits above, so both casts are exact.
    out.extend_from_slice(&[
        0,
        (words >> 8) as u8,
        (words & 0xff) as u8,
        flags.to_octet(),
    ]);
}

/// The plaintext of a Confirm message's encrypted part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfirmBody {
    /// H0, the root of the sender's hash chain, which proves the earlier message MACs.
    pub h0: [u8; 32],
    /// The E, V, A, D flags.
    pub flags: ConfirmFlags,
    /// How long, in seconds, the peer may keep the new retained secret; `0xffff_ffff` is forever,
    /// 0 means do not cache.
    pub cache_expiration: u32,
    /// The signature type block and signature (section 7.2), whole 32-bit words; empty for none.
    pub signature: Vec<u8>,
}

impl ConfirmBody {
    /// Length of the plaintext without a signature.
    pub const FIXED_LEN: usize = 40;

    /// Parses decrypted Confirm bytes; the signature length field must account for every byte.
    pub fn parse(plaintext: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(plaintext);
        let h0 = r.array::<32>()?;
        let (sig_len, flags) = read_sig_len_and_flags(&mut r)?;
        let cache_expiration = r.u32()?;
        let signature = r.bytes(sig_len)?.to_vec();
        r.finish()?;
        Ok(ConfirmBody {
            h0,
            flags,
            cache_expiration,
            signature,
        })
    }

    /// Appends the plaintext, ready to encrypt. The signature must be whole words and at most
    /// [`MAX_SIGNATURE_LEN`] bytes (checked in debug builds).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.h0);
        write_sig_len_and_flags(&self.signature, self.flags, out);
        out.extend_from_slice(&self.cache_expiration.to_be_bytes());
        out.extend_from_slice(&self.signature);
    }
}

/// The plaintext of a SASrelay message's encrypted part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SasRelayBody {
    /// The V, A, D flags; the RFC leaves E zero in SASrelay, it is carried at the same bit.
    pub flags: ConfirmFlags,
    /// The SAS rendering scheme of the relayed SAS.
    pub rendering: AlgoId,
    /// The trusted MiTM's relayed sashash, or zeros when the PBX relays no SAS.
    pub trusted_sas_hash: [u8; 32],
    /// The signature type block and signature, whole 32-bit words; empty for none.
    pub signature: Vec<u8>,
}

impl SasRelayBody {
    /// Length of the plaintext without a signature.
    pub const FIXED_LEN: usize = 40;

    /// Parses decrypted SASrelay bytes; the signature length field must account for every byte.
    pub fn parse(plaintext: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(plaintext);
        let (sig_len, flags) = read_sig_len_and_flags(&mut r)?;
        let rendering = AlgoId(r.array::<4>()?);
        let trusted_sas_hash = r.array::<32>()?;
        let signature = r.bytes(sig_len)?.to_vec();
        r.finish()?;
        Ok(SasRelayBody {
            flags,
            rendering,
            trusted_sas_hash,
            signature,
        })
    }

    /// Appends the plaintext, ready to encrypt. The signature must be whole words and at most
    /// [`MAX_SIGNATURE_LEN`] bytes (checked in debug builds).
    pub fn encode(&self, out: &mut Vec<u8>) {
        write_sig_len_and_flags(&self.signature, self.flags, out);
        out.extend_from_slice(&self.rendering.0);
        out.extend_from_slice(&self.trusted_sas_hash);
        out.extend_from_slice(&self.signature);
    }
}
