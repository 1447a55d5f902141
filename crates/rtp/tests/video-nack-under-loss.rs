//! With 3% loss in both directions (media and feedback), 40 ms RTT and jitter, NACK and
//! retransmission from the sender's history deliver nearly every frame: at least 99%, each
//! byte for byte as sent, in decode order, none twice.

#[path = "support/video.rs"]
mod video;

use std::time::Duration;

use video::{assert_in_order, Call, CallConfig};

fn lossy_call(seed: u64) -> Call {
    let mut call = Call::new(CallConfig {
        seed,
        one_way_delay: Duration::from_millis(20),
        jitter: Duration::from_millis(5),
        loss: 0.03,
        gop: 90,
        frames: 900,
        ..CallConfig::default()
    });
    call.run(Duration::from_secs(1));
    call
}

#[test]
fn three_percent_loss_is_repaired() {
    for seed in [1, 2, 3] {
        let call = lossy_call(seed);
        let stats = call.receiver.stats();
        let shown = call.shown.len();
        let sent = call.sent.len();
        eprintln!(
            "seed {seed}: shown {shown}/{sent}, media lost {} of {}, {stats:?}",
            call.forward.lost, call.forward.sent
        );
        assert_in_order(&call.shown);
        assert!(
            shown * 100 >= sent * 99,
            "seed {seed}: only {shown} of {sent} frames shown"
        );
        // Loss really happened and was repaired by retransmission, not luck.
        assert!(
            call.forward.lost > 30,
            "seed {seed}: too little loss to test"
        );
        assert!(stats.nacks_sent > 0);
        assert!(stats.packets_repaired * 10 >= call.forward.lost * 8);
        assert_eq!(call.history.stats().unknown, 0);
    }
}
