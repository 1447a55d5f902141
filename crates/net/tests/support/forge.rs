//! Hand-built STUN messages for tests that play the attacker or a misbehaving peer.
#![allow(dead_code)]

use std::net::SocketAddr;

use stun_rs::attributes::ice::{IceControlled, IceControlling, Priority, UseCandidate};
use stun_rs::attributes::stun::{
    ErrorCode, Fingerprint, MessageIntegrity, UserName, XorMappedAddress,
};
use stun_rs::methods::BINDING;
use stun_rs::{
    HMACKey, MessageClass, MessageDecoderBuilder, MessageEncoderBuilder, StunMessage,
    StunMessageBuilder, TransactionId,
};

/// What a forged Binding request carries.
#[derive(Clone, Debug)]
pub struct Check<'a> {
    pub tid: [u8; 12],
    pub username: Option<&'a str>,
    /// MESSAGE-INTEGRITY keyed with this password; `None` leaves it out.
    pub pwd: Option<&'a str>,
    pub priority: Option<u32>,
    /// (controlling, tie-breaker)
    pub role: Option<(bool, u64)>,
    pub use_candidate: bool,
    pub fingerprint: bool,
}

impl Check<'_> {
    pub fn encode(&self) -> Vec<u8> {
        let mut b = StunMessageBuilder::new(BINDING, MessageClass::Request)
            .with_transaction_id(TransactionId::from(self.tid));
        if let Some(u) = self.username {
            b = b.with_attribute(UserName::new(u).expect("username"));
        }
        if let Some(p) = self.priority {
            b = b.with_attribute(Priority::new(p));
        }
        match self.role {
            Some((true, t)) => b = b.with_attribute(IceControlling::new(t)),
            Some((false, t)) => b = b.with_attribute(IceControlled::new(t)),
            None => {}
        }
        if self.use_candidate {
            b = b.with_attribute(UseCandidate::default());
        }
        if let Some(pwd) = self.pwd {
            let key = HMACKey::new_short_term(pwd).expect("key");
            b = b.with_attribute(MessageIntegrity::new(key));
        }
        if self.fingerprint {
            b = b.with_attribute(Fingerprint::default());
        }
        encode(b.build())
    }
}

/// A Binding success response, authenticated with `pwd` when given.
pub fn success(tid: [u8; 12], mapped: SocketAddr, pwd: Option<&str>) -> Vec<u8> {
    let mut b = StunMessageBuilder::new(BINDING, MessageClass::SuccessResponse)
        .with_transaction_id(TransactionId::from(tid))
        .with_attribute(XorMappedAddress::from(mapped));
    if let Some(pwd) = pwd {
        let key = HMACKey::new_short_term(pwd).expect("key");
        b = b.with_attribute(MessageIntegrity::new(key));
    }
    encode(b.with_attribute(Fingerprint::default()).build())
}

/// A Binding error response.
pub fn error(tid: [u8; 12], code: u16, pwd: Option<&str>) -> Vec<u8> {
    let mut b = StunMessageBuilder::new(BINDING, MessageClass::ErrorResponse)
        .with_transaction_id(TransactionId::from(tid))
        .with_attribute(ErrorCode::from(
            stun_rs::ErrorCode::new(code, "test").expect("code"),
        ));
    if let Some(pwd) = pwd {
        let key = HMACKey::new_short_term(pwd).expect("key");
        b = b.with_attribute(MessageIntegrity::new(key));
    }
    encode(b.with_attribute(Fingerprint::default()).build())
}

fn encode(msg: StunMessage) -> Vec<u8> {
    let mut buf = [0u8; 1024];
    let n = MessageEncoderBuilder::default()
        .build()
        .encode(&mut buf, &msg)
        .expect("encode");
    buf[..n].to_vec()
}

/// Decodes without checking integrity (the test reads what was sent).
pub fn decode(bytes: &[u8]) -> StunMessage {
    MessageDecoderBuilder::default()
        .build()
        .decode(bytes)
        .expect("stun")
        .0
}

pub fn tid_of(bytes: &[u8]) -> [u8; 12] {
    bytes[8..20].try_into().expect("stun header")
}

pub fn error_code_of(bytes: &[u8]) -> Option<u16> {
    let msg = decode(bytes);
    let attr = msg.get::<ErrorCode>()?.as_error_code().ok()?;
    Some(attr.error_code().error_code())
}

pub fn is_success(bytes: &[u8]) -> bool {
    decode(bytes).class() == MessageClass::SuccessResponse
}
