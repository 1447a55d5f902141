//! Multistream mode (RFC 6189 section 4.4.3): a second stream keyed from the first session's
//! ZRTPSess, with its own SRTP keys and no second SAS.

#[path = "support/pair.rs"]
mod pair;

use std::time::Duration;

use pair::{memory_cache, Pair};
use sotto_netsim::LinkConfig;
use sotto_zrtp::{KeyAgreement, SessionConfig};

#[test]
fn second_stream_is_keyed_by_multistream() {
    let link = LinkConfig::perfect().with_delay(Duration::from_millis(10));
    let (cache_a, cache_b) = (memory_cache(), memory_cache());
    let mut audio = Pair::new(
        SessionConfig::default(),
        cache_a.clone(),
        SessionConfig::default(),
        cache_b.clone(),
        11,
        link.clone(),
    );
    audio.run(Duration::from_secs(30));
    let (a, b) = audio.assert_agreed();

    let video_a = SessionConfig {
        multistream: Some(a.multistream.clone()),
        ssrc: 2,
        ..SessionConfig::default()
    };
    let video_b = SessionConfig {
        multistream: Some(b.multistream.clone()),
        ssrc: 3,
        ..SessionConfig::default()
    };
    let mut video = Pair::new(video_a, cache_a, video_b, cache_b, 12, link.with_loss(0.2));
    video.run(Duration::from_secs(60));
    let (va, vb) = video.assert_agreed();
    assert_eq!(va.algorithms.key_agreement, KeyAgreement::Mult);
    assert!(
        va.sas.is_none() && vb.sas.is_none(),
        "the audio stream's SAS covers video"
    );
    assert_ne!(va.srtp.local_key, a.srtp.local_key);
    assert_ne!(va.srtp.remote_key, a.srtp.remote_key);
}

#[test]
fn multistream_with_another_sessions_key_never_goes_secure() {
    use sotto_zrtp::cache::{MemoryCache, ZidCache};
    use sotto_zrtp::{Error, Zid};
    use std::sync::Arc;
    let link = LinkConfig::perfect().with_delay(Duration::from_millis(10));
    let cache = |z: u8| -> Arc<dyn ZidCache> { Arc::new(MemoryCache::with_zid(Zid([z; 12]))) };
    let mut first = Pair::new(
        SessionConfig::default(),
        cache(1),
        SessionConfig::default(),
        cache(2),
        21,
        link.clone(),
    );
    first.run(Duration::from_secs(30));
    let mut second = Pair::new(
        SessionConfig::default(),
        cache(1),
        SessionConfig::default(),
        cache(2),
        22,
        link.clone(),
    );
    second.run(Duration::from_secs(30));
    let (a, _) = first.assert_agreed();
    let (_, b) = second.assert_agreed();
    // Same two ZIDs, but B continues a different session than A.
    let cfg_a = SessionConfig {
        multistream: Some(a.multistream.clone()),
        ..SessionConfig::default()
    };
    let cfg_b = SessionConfig {
        multistream: Some(b.multistream.clone()),
        ..SessionConfig::default()
    };
    let mut video = Pair::new(cfg_a, cache(1), cfg_b, cache(2), 23, link);
    video.run(Duration::from_secs(60));
    assert!(video.a.secure.is_none() && video.b.secure.is_none());
    let errors: Vec<_> = video.a.rejected.iter().chain(&video.b.rejected).collect();
    assert!(
        errors.iter().any(|e| matches!(e, Error::BadConfirmMac)),
        "{errors:?}"
    );
}
