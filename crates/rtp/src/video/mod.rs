//! The video path around the H.264 payload format: [`VideoReceiver`] turns the packets of one
//! lossy H.264 stream into complete, decodable frames in decode order (reordering, NACK
//! (RFC 4585 generic NACK), freezing until a keyframe and asking for it (PLI)), and
//! [`RetransmitHistory`] keeps what was sent so a NACKed packet can go out again.
//!
//! Both are sans-IO: `now` comes in as an argument, nothing here reads a clock, sleeps or
//! touches a socket. The receiver's driver loop:
//!
//! ```
//! use std::time::Instant;
//! use sotto_rtp::h264::H264Packetizer;
//! use sotto_rtp::video::{VideoEvent, VideoReceiver, VideoReceiverConfig};
//! use sotto_rtp::RtpPacket;
//!
//! let mut receiver = VideoReceiver::new(VideoReceiverConfig::default());
//! let mut packetizer = H264Packetizer::new(7, 96, 1000, 1200)?;
//! // A keyframe: SPS, PPS and an IDR slice, in several packets.
//! let mut au = vec![0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80];
//! au.extend_from_slice(&[0, 0, 0, 1, 0x65]);
//! au.extend(std::iter::repeat(0x11).take(3000));
//!
//! let start = Instant::now();
//! let mut buf = [0u8; 1500];
//! let mut packets = packetizer.start_access_unit(&au, 90_000);
//! let mut shown = 0;
//! while let Some(len) = packets.next_packet(&mut buf) {
//!     let packet = RtpPacket::parse(&buf[..len?])?;
//!     let h = packet.header;
//!     // Every input: one packet (or a timeout), then drain the events.
//!     receiver.handle_packet(start, h.sequence, h.timestamp, h.marker, packet.payload);
//!     while let Some(event) = receiver.poll_event(start) {
//!         match event {
//!             VideoEvent::Frame(frame) => {
//!                 assert!(frame.has_idr);
//!                 shown += 1; // hand frame.annexb to the decoder
//!             }
//!             VideoEvent::Nack(lost) => { /* write an RTCP NACK naming `lost` */ }
//!             VideoEvent::KeyframeRequest => { /* send a PLI */ }
//!         }
//!     }
//! }
//! assert_eq!(shown, 1);
//! // Between packets, wake up at the deadline and run the timers.
//! if let Some(deadline) = receiver.poll_timeout() {
//!     receiver.handle_timeout(deadline);
//!     while receiver.poll_event(deadline).is_some() {}
//! }
//! # Ok::<(), sotto_rtp::Error>(())
//! ```

mod history;
mod receiver;

pub use history::{nack_pairs, NackPairs, RetransmitHistory, RetransmitStats};
pub use receiver::{
    VideoEvent, VideoReceiver, VideoReceiverConfig, VideoReceiverStats, MAX_NACK_SEQUENCES,
};
