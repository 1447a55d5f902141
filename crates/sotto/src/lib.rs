//! sotto: a secure voice and video calling engine. Media travels as SRTP over one UDP port,
//! keyed by a ZRTP handshake (RFC 6189) in the media path, which the two people confirm by
//! reading a Short Authentication String to each other.
//!
//! This crate is the only one that touches the world (sockets, threads, clocks, devices); the
//! protocol cores it drives are sans-IO. [`Call`] runs a whole secure audio call, and with
//! [`CallConfig::video_in`] or [`CallConfig::video_out`] set, a video stream beside it, keyed
//! by ZRTP Multistream from the audio stream's session; [`zrtp_udp`] runs just a ZRTP
//! handshake over a UDP socket. [`Call::prepare`] sets up a call by offer and answer instead of
//! an address: for peers behind NATs who reach each other through a chat (see
//! [`PreparedCall`]).
//!
//! A call, driven from its events:
//!
//! ```no_run
//! use std::time::Duration;
//! use sotto::{Call, CallConfig, CallEvent};
//! use sotto::media::AudioInput;
//!
//! let mut config = CallConfig::new("0.0.0.0:0".parse()?, None, "zid-cache.sqlite".into());
//! config.audio_in = AudioInput::Tone;
//! let call = Call::start(config)?;
//! println!("listening on {}", call.local_addr());
//! while let Some(event) = call.next_event(Duration::from_secs(3600)) {
//!     match event {
//!         CallEvent::Sas { sas, .. } => println!("compare with your peer: {sas}"),
//!         CallEvent::Secure { peer, .. } => println!("secure call with {peer}"),
//!         CallEvent::VideoUnavailable { reason } => println!("audio only: {reason}"),
//!         CallEvent::Stats(stats) => println!("loss {:.1}%", stats.loss_percent),
//!         CallEvent::Ended(reason) => println!("ended: {reason}"),
//!         _ => {}
//!     }
//! }
//! call.wait();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod audio;
mod call;
mod config;
mod error;
mod event;
mod net;
mod reports;
mod signaling;
mod video;
mod video_net;
pub mod zrtp_udp;

pub use audio::{TONE_AMPLITUDE, TONE_FREQ_HZ};
pub use call::Call;
pub use config::CallConfig;
pub use error::Error;
pub use event::{CallEvent, CallStats, EndReason, VideoStats};
pub use signaling::{PathConfig, PreparedCall};

pub use sotto_net as path;
pub use sotto_signal as signal;

pub use sotto_media as media;
pub use sotto_zrtp as zrtp;
pub use sotto_zrtp::{Algorithms, Role, SasType};
