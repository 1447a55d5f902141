//! Once a call runs, receiving video allocates nothing: packets in and out of order, gaps
//! NACKed and repaired, frames assembled and handed out. An instrumented global allocator
//! counts the allocations made inside the receiver's calls after a warm-up.

#[path = "support/video.rs"]
mod video;

use std::alloc::System;
use std::time::Duration;

use sotto_rtp::video::{VideoEvent, VideoReceiver, VideoReceiverConfig};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use video::{base, frame_index, stream};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const FRAMES: u32 = 600;
const WARM_UP_FRAMES: u32 = 200;
const FIRST_SEQ: u16 = 65_300;

/// Allocations and reallocations made while `f` runs.
fn allocations_in(f: impl FnOnce()) -> usize {
    let region = Region::new(GLOBAL);
    f();
    let change = region.change();
    change.allocations + change.reallocations
}

#[test]
fn steady_state_receive_allocates_nothing() {
    let (_, packets) = stream(FRAMES, 60, FIRST_SEQ);
    let mut receiver = VideoReceiver::new(VideoReceiverConfig::default());
    receiver.set_rtt(Duration::from_millis(40));
    let start = base();
    let at = |ms: usize| start + Duration::from_millis(ms as u64);
    // Retransmissions due: (arrival time, packet index). Pre-sized so the test loop itself
    // does not allocate either.
    let mut resend: Vec<(std::time::Instant, usize)> = Vec::with_capacity(4096);
    let mut shown = Vec::with_capacity(FRAMES as usize);
    let mut nacked = 0usize;
    let mut allocations = 0usize;
    let mut measure = false;

    // Frames 33 ms apart, their packets 1 ms apart.
    let mut schedule = Vec::with_capacity(packets.len());
    let mut k = 0;
    for (i, p) in packets.iter().enumerate() {
        k = if i > 0 && packets[i - 1].frame == p.frame {
            k + 1
        } else {
            0
        };
        schedule.push(p.frame as usize * 33 + k);
    }
    let mut next = 0;
    let end = FRAMES as usize * 33 + 500;
    for ms in 0..end {
        let now = at(ms);
        // Every 13th packet is lost on its first trip, and comes 40 ms after its NACK.
        let mut arriving: Vec<usize> = resend
            .iter()
            .filter(|(t, _)| *t <= now)
            .map(|&(_, i)| i)
            .collect();
        resend.retain(|(t, _)| *t > now);
        while next < packets.len() && schedule[next] == ms {
            if next % 13 != 5 {
                arriving.push(next);
            }
            next += 1;
        }
        // The timer if due, then each packet; after every input, drain the events.
        let timer = receiver.poll_timeout().is_some_and(|t| t <= now);
        let inputs = timer
            .then_some(None)
            .into_iter()
            .chain(arriving.into_iter().map(Some));
        for input in inputs {
            let made = allocations_in(|| match input {
                None => receiver.handle_timeout(now),
                Some(i) => {
                    let p = &packets[i];
                    receiver.handle_packet(now, p.sequence, p.timestamp, p.marker, &p.payload)
                }
            });
            if input.is_some_and(|i| packets[i].frame >= WARM_UP_FRAMES) {
                measure = true;
            }
            if measure {
                allocations += made;
            }
            loop {
                let region = Region::new(GLOBAL);
                let event = receiver.poll_event(now);
                let change = region.change();
                if measure {
                    allocations += change.allocations + change.reallocations;
                }
                match event {
                    None => break,
                    Some(VideoEvent::Frame(frame)) => {
                        shown.push(frame_index(frame.annexb).expect("index"))
                    }
                    Some(VideoEvent::Nack(lost)) => {
                        for &sequence in lost {
                            nacked += 1;
                            let i = usize::from(sequence.wrapping_sub(FIRST_SEQ));
                            resend.push((now + Duration::from_millis(40), i));
                        }
                    }
                    Some(VideoEvent::KeyframeRequest) => panic!("nothing was given up"),
                }
            }
        }
    }

    // In decode order; only frames still waiting for a repair when a keyframe came are
    // passed over.
    assert!(shown.windows(2).all(|w| w[0] < w[1]));
    assert!(
        shown.len() >= FRAMES as usize * 95 / 100,
        "{} shown",
        shown.len()
    );
    assert!(nacked > 100, "only {nacked} nacked");
    let stats = receiver.stats();
    // Every retransmission repaired a gap, or came after a keyframe had passed over it.
    assert_eq!((stats.packets_repaired + stats.late) as usize, nacked);
    assert!(stats.packets_repaired as usize > nacked * 95 / 100);
    assert_eq!(allocations, 0, "the receive path allocated");
}
