//! The message bodies of RFC 6189 section 5 that carry fields, each read after the 12-byte
//! message header (preamble, length, type block) and written without it.

use super::body::MAX_SIGNATURE_LEN;
use super::cursor::Reader;
use crate::{AlgoId, Error, Zid};

/// Most entries of one algorithm list in Hello: each count is a 4-bit field and the RFC caps it at 7.
pub const MAX_ALGORITHMS: usize = 7;

/// Longest public value accepted in DHPart1/DHPart2 (DH3k needs 384 bytes).
pub const MAX_PUBLIC_VALUE_LEN: usize = 1024;

/// Hello (RFC 6189 section 5.2): the first message, advertising versions and algorithms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    /// Protocol version, `"1.10"` for RFC 6189.
    pub version: [u8; 4],
    /// Free-form identification of the implementation, space padded.
    pub client_id: [u8; 16],
    /// H3, the top of the sender's hash chain.
    pub h3: [u8; 32],
    /// The sender's ZID.
    pub zid: Zid,
    /// S: the sender can verify signatures.
    pub signature_capable: bool,
    /// M: the sender is a PBX (trusted MiTM).
    pub mitm: bool,
    /// P: the sender is passive and will not send Commit.
    pub passive: bool,
    /// Hash algorithms, at most [`MAX_ALGORITHMS`]; unknown ids are kept.
    pub hashes: Vec<AlgoId>,
    /// Cipher algorithms, at most [`MAX_ALGORITHMS`].
    pub ciphers: Vec<AlgoId>,
    /// SRTP auth tag types, at most [`MAX_ALGORITHMS`].
    pub auth_tags: Vec<AlgoId>,
    /// Key agreement types, at most [`MAX_ALGORITHMS`].
    pub key_agreements: Vec<AlgoId>,
    /// SAS rendering types, at most [`MAX_ALGORITHMS`].
    pub sas_types: Vec<AlgoId>,
    /// HMAC-SHA-256 of the message up to here, keyed with H2 (truncated to 64 bits).
    pub mac: [u8; 8],
}

impl Hello {
    const S: u8 = 0x40;
    const M: u8 = 0x20;
    const P: u8 = 0x10;

    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self, Error> {
        let version = r.array::<4>()?;
        let client_id = r.array::<16>()?;
        let h3 = r.array::<32>()?;
        let zid = Zid(r.array::<12>()?);
        // 0|S|M|P, 8 unused bits, then the five 4-bit counts hc cc ac kc sc.
        let [smp, hc, cc_ac, kc_sc] = r.array::<4>()?;
        let counts = [
            hc & 0x0f,
            cc_ac >> 4,
            cc_ac & 0x0f,
            kc_sc >> 4,
            kc_sc & 0x0f,
        ];
        let mut lists: [Vec<AlgoId>; 5] = Default::default();
        for (list, count) in lists.iter_mut().zip(counts) {
            let count = usize::from(count);
            if count > MAX_ALGORITHMS {
                return Err(Error::Malformed("hello algorithm count above 7"));
            }
            list.reserve_exact(count);
            for _ in 0..count {
                list.push(AlgoId(r.array::<4>()?));
            }
        }
        let mac = r.array::<8>()?;
        let [hashes, ciphers, auth_tags, key_agreements, sas_types] = lists;
        Ok(Hello {
            version,
            client_id,
            h3,
            zid,
            signature_capable: smp & Self::S != 0,
            mitm: smp & Self::M != 0,
            passive: smp & Self::P != 0,
            hashes,
            ciphers,
            auth_tags,
            key_agreements,
            sas_types,
            mac,
        })
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.version);
        out.extend_from_slice(&self.client_id);
        out.extend_from_slice(&self.h3);
        out.extend_from_slice(&self.zid.0);
        let lists = [
            &self.hashes,
            &self.ciphers,
            &self.auth_tags,
            &self.key_agreements,
            &self.sas_types,
        ];
        debug_assert!(
            lists.iter().all(|l| l.len() <= MAX_ALGORITHMS),
            "hello algorithm list longer than 7"
        );
        // Capped at 7 so the counts always agree with the entries written below.
        let [hc, cc, ac, kc, sc] = lists.map(|l| l.len().min(MAX_ALGORITHMS) as u8);
        let mut smp = 0;
        if self.signature_capable {
            smp |= Self::S;
        }
        if self.mitm {
            smp |= Self::M;
        }
        if self.passive {
            smp |= Self::P;
        }
        out.extend_from_slice(&[smp, hc, (cc << 4) | ac, (kc << 4) | sc]);
        for list in lists {
            for id in list.iter().take(MAX_ALGORITHMS) {
                out.extend_from_slice(&id.0);
            }
        }
        out.extend_from_slice(&self.mac);
    }
}

/// The mode-specific part of Commit, chosen by its key agreement type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommitMode {
    /// Diffie-Hellman mode: the hash commitment to the initiator's DHPart2.
    Dh {
        /// hvi = hash(initiator's DHPart2 || responder's Hello), truncated to 256 bits.
        hvi: [u8; 32],
    },
    /// Multistream mode (key agreement `Mult`).
    Multistream {
        /// A fresh random nonce.
        nonce: [u8; 16],
    },
    /// Preshared mode (key agreement `Prsh`).
    Preshared {
        /// A fresh random nonce.
        nonce: [u8; 16],
        /// Identifies the preshared key (MAC of the retained secret).
        key_id: [u8; 8],
    },
}

/// Commit (RFC 6189 section 5.4): the initiator's algorithm choice and commitment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    /// H2 of the sender's hash chain.
    pub h2: [u8; 32],
    /// The sender's ZID.
    pub zid: Zid,
    /// Chosen hash algorithm.
    pub hash: AlgoId,
    /// Chosen cipher.
    pub cipher: AlgoId,
    /// Chosen SRTP auth tag type.
    pub auth_tag: AlgoId,
    /// Chosen key agreement type; it decides the shape of `mode`.
    pub key_agreement: AlgoId,
    /// Chosen SAS rendering.
    pub sas_type: AlgoId,
    /// The mode-specific fields; must match `key_agreement` (`Mult`, `Prsh`, else DH).
    pub mode: CommitMode,
    /// HMAC of the message up to here, keyed with H1 (truncated to 64 bits).
    pub mac: [u8; 8],
}

/// Key agreement id of Multistream mode.
const MULT: [u8; 4] = *b"Mult";
/// Key agreement id of Preshared mode.
const PRSH: [u8; 4] = *b"Prsh";

impl Commit {
    /// Whether `mode` has the shape `key_agreement` calls for; only such a Commit round-trips.
    pub fn mode_matches_key_agreement(&self) -> bool {
        match (&self.mode, self.key_agreement.0) {
            (CommitMode::Multistream { .. }, MULT) | (CommitMode::Preshared { .. }, PRSH) => true,
            (CommitMode::Dh { .. }, id) => id != MULT && id != PRSH,
            _ => false,
        }
    }

    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self, Error> {
        let h2 = r.array::<32>()?;
        let zid = Zid(r.array::<12>()?);
        let hash = AlgoId(r.array::<4>()?);
        let cipher = AlgoId(r.array::<4>()?);
        let auth_tag = AlgoId(r.array::<4>()?);
        let key_agreement = AlgoId(r.array::<4>()?);
        let sas_type = AlgoId(r.array::<4>()?);
        let mode = match key_agreement.0 {
            MULT => CommitMode::Multistream {
                nonce: r.array::<16>()?,
            },
            PRSH => CommitMode::Preshared {
                nonce: r.array::<16>()?,
                key_id: r.array::<8>()?,
            },
            _ => CommitMode::Dh {
                hvi: r.array::<32>()?,
            },
        };
        let mac = r.array::<8>()?;
        Ok(Commit {
            h2,
            zid,
            hash,
            cipher,
            auth_tag,
            key_agreement,
            sas_type,
            mode,
            mac,
        })
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        debug_assert!(
            self.mode_matches_key_agreement(),
            "commit mode does not match its key agreement"
        );
        out.extend_from_slice(&self.h2);
        out.extend_from_slice(&self.zid.0);
        for id in [
            self.hash,
            self.cipher,
            self.auth_tag,
            self.key_agreement,
            self.sas_type,
        ] {
            out.extend_from_slice(&id.0);
        }
        match &self.mode {
            CommitMode::Dh { hvi } => out.extend_from_slice(hvi),
            CommitMode::Multistream { nonce } => out.extend_from_slice(nonce),
            CommitMode::Preshared { nonce, key_id } => {
                out.extend_from_slice(nonce);
                out.extend_from_slice(key_id);
            }
        }
        out.extend_from_slice(&self.mac);
    }
}

/// DHPart1 or DHPart2 (RFC 6189 sections 5.5 and 5.6): a public value and secret ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DhPart {
    /// H1 of the sender's hash chain.
    pub h1: [u8; 32],
    /// rs1IDr / rs1IDi: MAC identifying retained secret rs1.
    pub rs1_id: [u8; 8],
    /// rs2IDr / rs2IDi: MAC identifying retained secret rs2.
    pub rs2_id: [u8; 8],
    /// auxsecretIDr / auxsecretIDi.
    pub aux_secret_id: [u8; 8],
    /// pbxsecretIDr / pbxsecretIDi.
    pub pbx_secret_id: [u8; 8],
    /// pvr / pvi, its length implied by the message length: whole words, 4 to
    /// [`MAX_PUBLIC_VALUE_LEN`] bytes. The state machine checks it fits the key agreement.
    pub public_value: Vec<u8>,
    /// HMAC of the message up to here, keyed with H0 (truncated to 64 bits).
    pub mac: [u8; 8],
}

impl DhPart {
    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self, Error> {
        let h1 = r.array::<32>()?;
        let rs1_id = r.array::<8>()?;
        let rs2_id = r.array::<8>()?;
        let aux_secret_id = r.array::<8>()?;
        let pbx_secret_id = r.array::<8>()?;
        let pv_len = r
            .remaining()
            .checked_sub(8)
            .ok_or(Error::Malformed("dhpart too short"))?;
        if pv_len == 0 || pv_len > MAX_PUBLIC_VALUE_LEN {
            return Err(Error::Malformed("dhpart public value length out of range"));
        }
        let public_value = r.bytes(pv_len)?.to_vec();
        let mac = r.array::<8>()?;
        Ok(DhPart {
            h1,
            rs1_id,
            rs2_id,
            aux_secret_id,
            pbx_secret_id,
            public_value,
            mac,
        })
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        debug_assert!(
            self.public_value.len() % 4 == 0
                && (4..=MAX_PUBLIC_VALUE_LEN).contains(&self.public_value.len()),
            "dhpart public value must be 4 to 1024 bytes of whole words"
        );
        out.extend_from_slice(&self.h1);
        out.extend_from_slice(&self.rs1_id);
        out.extend_from_slice(&self.rs2_id);
        out.extend_from_slice(&self.aux_secret_id);
        out.extend_from_slice(&self.pbx_secret_id);
        out.extend_from_slice(&self.public_value);
        out.extend_from_slice(&self.mac);
    }
}

/// MAC, IV and ciphertext of Confirm or SASrelay.
type EncryptedParts = ([u8; 8], [u8; 16], Vec<u8>);

/// Reads `mac | iv | encrypted`, shared by Confirm and SASrelay; the encrypted part holds at
/// least the fixed 40-byte plaintext and at most a full signature more.
fn parse_encrypted(r: &mut Reader<'_>) -> Result<EncryptedParts, Error> {
    const MIN: usize = 40;
    let mac = r.array::<8>()?;
    let iv = r.array::<16>()?;
    let len = r.remaining();
    if !(MIN..=MIN + MAX_SIGNATURE_LEN).contains(&len) {
        return Err(Error::Malformed("encrypted part length out of range"));
    }
    let encrypted = r.bytes(len)?.to_vec();
    Ok((mac, iv, encrypted))
}

/// Confirm1 or Confirm2 (RFC 6189 section 5.7), with its encrypted part as on the wire; decrypt
/// it and read it with [`ConfirmBody::parse`](super::ConfirmBody::parse).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirm {
    /// HMAC over the encrypted part, keyed with mackeyi / mackeyr (truncated to 64 bits).
    pub confirm_mac: [u8; 8],
    /// The AES-CFB initialisation vector.
    pub iv: [u8; 16],
    /// The encrypted [`ConfirmBody`](super::ConfirmBody): 40 bytes plus the signature.
    pub encrypted: Vec<u8>,
}

impl Confirm {
    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (confirm_mac, iv, encrypted) = parse_encrypted(r)?;
        Ok(Confirm {
            confirm_mac,
            iv,
            encrypted,
        })
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        debug_assert!(
            self.encrypted.len() % 4 == 0,
            "encrypted part must be whole words"
        );
        out.extend_from_slice(&self.confirm_mac);
        out.extend_from_slice(&self.iv);
        out.extend_from_slice(&self.encrypted);
    }
}

/// SASrelay (RFC 6189 section 5.13), sent by a trusted MiTM, with its encrypted part as on the
/// wire; decrypt it and read it with [`SasRelayBody::parse`](super::SasRelayBody::parse).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SasRelay {
    /// HMAC over the encrypted part (truncated to 64 bits).
    pub mac: [u8; 8],
    /// The AES-CFB initialisation vector.
    pub iv: [u8; 16],
    /// The encrypted [`SasRelayBody`](super::SasRelayBody): 40 bytes plus the signature.
    pub encrypted: Vec<u8>,
}

impl SasRelay {
    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (mac, iv, encrypted) = parse_encrypted(r)?;
        Ok(SasRelay { mac, iv, encrypted })
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        debug_assert!(
            self.encrypted.len() % 4 == 0,
            "encrypted part must be whole words"
        );
        out.extend_from_slice(&self.mac);
        out.extend_from_slice(&self.iv);
        out.extend_from_slice(&self.encrypted);
    }
}

/// Ping (RFC 6189 section 5.15), sent by a PBX or middlebox to learn the endpoint hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ping {
    /// Protocol version.
    pub version: [u8; 4],
    /// The sender's endpoint hash.
    pub endpoint_hash: [u8; 8],
}

impl Ping {
    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Ping {
            version: r.array::<4>()?,
            endpoint_hash: r.array::<8>()?,
        })
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.version);
        out.extend_from_slice(&self.endpoint_hash);
    }
}

/// PingACK (RFC 6189 section 5.16), the answer to Ping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PingAck {
    /// Protocol version.
    pub version: [u8; 4],
    /// The answering endpoint's hash.
    pub source_endpoint_hash: [u8; 8],
    /// The endpoint hash from the Ping being answered.
    pub received_endpoint_hash: [u8; 8],
    /// The SSRC of the Ping packet being answered.
    pub ssrc: u32,
}

impl PingAck {
    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(PingAck {
            version: r.array::<4>()?,
            source_endpoint_hash: r.array::<8>()?,
            received_endpoint_hash: r.array::<8>()?,
            ssrc: r.u32()?,
        })
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.version);
        out.extend_from_slice(&self.source_endpoint_hash);
        out.extend_from_slice(&self.received_endpoint_hash);
        out.extend_from_slice(&self.ssrc.to_be_bytes());
    }
}
