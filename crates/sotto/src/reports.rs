//! What the audio and video streams do alike on the network thread: write, protect and send
//! their RTCP compounds, and turn their counters into per-interval figures.

use std::net::{SocketAddr, UdpSocket};
use std::ops::DerefMut;
use std::time::{Instant, SystemTime};

use sotto_rtp::rtcp::{
    self, Bye, ReceiverReport, ReportBlock, RtcpPacket, SdesChunk, SdesItem, SenderInfo,
    SenderReport, SDES_CNAME,
};
use sotto_rtp::srtp::SrtpSender;
use sotto_rtp::stats::{ReceiveStats, SenderStats};

use crate::net::MediaIds;

/// Largest RTCP compound we build (an SRTCP index and tag come on top).
const RTCP_BUFFER_LEN: usize = 512;

/// Where one stream's RTCP goes, and under which keys and identifiers.
#[derive(Debug)]
pub(crate) struct RtcpOut<'a> {
    pub(crate) socket: &'a UdpSocket,
    pub(crate) peer: SocketAddr,
    pub(crate) rtcp_tx: &'a mut SrtpSender,
    pub(crate) ids: &'a MediaIds,
}

impl RtcpOut<'_> {
    /// Sends the stream's regular report: an SR if `sender_stats` has seen us send (an RR
    /// otherwise) with a block on the peer's stream once `rx_stats` has one, SDES CNAME, and a
    /// BYE when `bye`. A lost one is like any lost datagram: the next report follows.
    ///
    /// `sender_stats` is the sender thread's lock guard: it is released before anything is
    /// written or sent, so the sender never waits on this.
    pub(crate) fn send_report(
        self,
        rx_stats: Option<&mut ReceiveStats>,
        mut sender_stats: impl DerefMut<Target = SenderStats>,
        now: Instant,
        bye: bool,
    ) {
        let info = sender_stats.sender_info(now, SystemTime::now());
        drop(sender_stats);
        let block = rx_stats.and_then(|s| s.report_block(now));
        let tail = if bye { Tail::Bye } else { Tail::Nothing };
        self.send(info, block, tail);
    }

    /// Sends one feedback message in a compound of its own (an empty RR, SDES CNAME, then the
    /// message, as RFC 4585 section 3.1 asks); returns whether it went out.
    pub(crate) fn send_feedback(self, feedback: RtcpPacket<'_>) -> bool {
        self.send(None, None, Tail::Feedback(feedback))
    }

    /// Writes an SR (with `info`) or RR carrying `block`, SDES CNAME and `tail`, protects the
    /// compound and sends it; returns whether it went out.
    fn send(self, info: Option<SenderInfo>, block: Option<ReportBlock>, tail: Tail<'_>) -> bool {
        let ssrc = self.ids.ssrc;
        let blocks: &[ReportBlock] = block.as_slice();
        let report = match info {
            Some(info) => RtcpPacket::SenderReport(SenderReport {
                ssrc,
                info,
                blocks: blocks.into(),
            }),
            None => RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc,
                blocks: blocks.into(),
            }),
        };
        let items = [SdesItem {
            kind: SDES_CNAME,
            value: self.ids.cname.as_bytes(),
        }];
        let chunks = [SdesChunk {
            ssrc,
            items: items[..].into(),
        }];
        let sdes = RtcpPacket::Sdes(chunks[..].into());
        let sources = [ssrc];
        let mut out = [0u8; RTCP_BUFFER_LEN];
        let written = match tail {
            Tail::Nothing => rtcp::write_compound(&[report, sdes], 0, &mut out),
            Tail::Bye => {
                let bye = RtcpPacket::Bye(Bye {
                    sources: (&sources).into(),
                    reason: None,
                });
                rtcp::write_compound(&[report, sdes, bye], 0, &mut out)
            }
            Tail::Feedback(feedback) => {
                rtcp::write_compound(&[report, sdes, feedback], 0, &mut out)
            }
        };
        match written.and_then(|len| self.rtcp_tx.protect_rtcp(&mut out, len)) {
            Ok(len) => self.socket.send_to(&out[..len], self.peer).is_ok(),
            Err(_) => false,
        }
    }
}

/// What follows the report and SDES CNAME in one of our RTCP compounds.
enum Tail<'a> {
    Nothing,
    Bye,
    Feedback(RtcpPacket<'a>),
}

/// Packets expected and received so far on the peer's stream (`(0, 0)` until it has one, and
/// while it is on probation).
pub(crate) fn expected_received(stats: Option<&ReceiveStats>) -> (u32, u32) {
    stats
        .filter(|s| !s.on_probation())
        .map_or((0, 0), |s| (s.expected(), s.received()))
}

/// The percentage lost between two `(expected, received)` counts (RFC 3550 A.3), never
/// negative: duplicates can make more arrive than were expected.
pub(crate) fn interval_loss_percent(previous: (u32, u32), now: (u32, u32)) -> f64 {
    let expected = now.0.wrapping_sub(previous.0);
    let received = now.1.wrapping_sub(previous.1);
    if expected == 0 || received >= expected {
        0.0
    } else {
        f64::from(expected - received) * 100.0 / f64::from(expected)
    }
}

/// `count` per second over an interval of `seconds`; 0 for an empty interval.
pub(crate) fn per_second(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_loss_counts_only_the_interval_and_never_goes_negative() {
        // 100 more expected, 90 more received: 10 % lost, whatever came before.
        assert_eq!(interval_loss_percent((1000, 950), (1100, 1040)), 10.0);
        // Duplicates: more received than expected is no loss.
        assert_eq!(interval_loss_percent((0, 0), (10, 12)), 0.0);
        assert_eq!(interval_loss_percent((5, 5), (5, 5)), 0.0);
        // The extended counters wrap like the sequence numbers under them.
        assert_eq!(
            interval_loss_percent((u32::MAX - 9, u32::MAX - 9), (10, 5)),
            25.0
        );
    }

    #[test]
    fn per_second_of_an_empty_interval_is_zero() {
        assert_eq!(per_second(500, 2.0), 250.0);
        assert_eq!(per_second(500, 0.0), 0.0);
    }
}
