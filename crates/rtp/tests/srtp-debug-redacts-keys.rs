//! `Debug` of a sender or receiver never shows the master key or the derived session keys.

use sotto_rtp::srtp::spec::derive_session_key;
use sotto_rtp::srtp::{SrtpProfile, SrtpReceiver, SrtpSender};

fn renderings(bytes: &[u8]) -> Vec<String> {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let list = format!("{:?}", &bytes[..4]);
    vec![
        hex[..8].to_owned(),
        hex[..8].to_uppercase(),
        list.trim_matches(|c| c == '[' || c == ']').to_owned(),
    ]
}

#[test]
fn debug_shows_no_key_bytes() {
    let profile = SrtpProfile::Aes256CmHmacSha1_32;
    let key: Vec<u8> = (0xa0..0xc0).collect();
    let salt: [u8; 14] = core::array::from_fn(|i| 0xd0 + i as u8);
    let tx = SrtpSender::new(profile, &key, &salt).expect("sender");
    let rx = SrtpReceiver::new(profile, &key, &salt).expect("receiver");
    let text = format!("{tx:?} {rx:?} {tx:#?} {rx:#?}");
    assert!(text.contains("Aes256CmHmacSha1_32"), "{text}");
    let mut secrets = vec![key.clone(), salt.to_vec()];
    for label in 0..6u8 {
        let mut out = [0u8; 32];
        derive_session_key(&key, &salt, label, &mut out).expect("kdf");
        secrets.push(out.to_vec());
    }
    for secret in &secrets {
        for needle in renderings(secret) {
            assert!(!text.contains(&needle), "{needle} leaked into {text}");
        }
    }
}
