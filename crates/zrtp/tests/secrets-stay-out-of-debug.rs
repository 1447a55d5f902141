//! Key material never shows in `Debug` output: not the SRTP keys and salts, the exported key,
//! ZRTPSess or retained secrets, in hex or as byte lists.

#[path = "support/pair.rs"]
mod pair;

use std::time::Duration;

use pair::{memory_cache, Pair};
use sotto_netsim::LinkConfig;
use sotto_zrtp::{SecretBytes, SessionConfig};

fn renderings(secret: &SecretBytes) -> Vec<String> {
    let bytes = secret.expose_secret();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let upper = hex.to_uppercase();
    // Any 4-byte window of the key, in the forms a derive(Debug) or a hex dump would print.
    let list = format!("{:?}", &bytes[..4]);
    let list = list.trim_matches(|c| c == '[' || c == ']').to_owned();
    vec![hex[..8].to_owned(), upper[..8].to_owned(), list]
}

#[test]
fn secure_info_and_session_debug_show_no_key_bytes() {
    let link = LinkConfig::perfect().with_delay(Duration::from_millis(5));
    let mut pair = Pair::new(
        SessionConfig::default(),
        memory_cache(),
        SessionConfig::default(),
        memory_cache(),
        3,
        link,
    );
    pair.run(Duration::from_secs(10));
    let (a, _) = pair.assert_agreed();
    let text = format!("{a:?} {:?} {:?}", pair.a.session, pair.b.session);
    let secrets = [
        &a.srtp.local_key,
        &a.srtp.local_salt,
        &a.srtp.remote_key,
        &a.srtp.remote_salt,
        &a.exported_key,
        &a.multistream.zrtp_sess,
    ];
    for secret in secrets {
        for needle in renderings(secret) {
            assert!(!text.contains(&needle), "{needle} leaked into {text}");
        }
    }
    // The SAS is meant to be shown.
    assert!(text.contains(a.sas.as_deref().expect("sas")));
}
