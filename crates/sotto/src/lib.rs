//! sotto: a secure voice and video calling engine. Media travels as SRTP over one UDP port,
//! keyed by a ZRTP handshake (RFC 6189) in the media path, which the two people confirm by
//! reading a Short Authentication String to each other.
//!
//! This crate is the only one that touches the world (sockets, threads, clocks); the protocol
//! cores it drives are sans-IO. [`zrtp_udp`] runs a ZRTP session over a UDP socket.
#![deny(missing_docs)]

pub mod zrtp_udp;

pub use sotto_zrtp as zrtp;
