//! A ZRTP handshake between two endpoints ("alice" and "bob") over real loopback UDP, each on
//! its own thread with its own SQLite ZID cache. Prints both SAS values, the negotiated
//! algorithms and the wall time from the first Hello to both ends secure.
//!
//! ```text
//! cargo run --release --example handshake -- [--key-agreement X255|DH3k|DH2k|EC25] [--sas B32|B256]
//!                                            [--cache-dir DIR] [--fresh] [--verify]
//! ```
//! Run it twice: the second call finds the retained secret of the first in both caches. With
//! `--verify` both users are taken to have compared the SAS, and later calls show it verified.

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use sotto::zrtp_udp::ZrtpOverUdp;
use sotto_zrtp::cache::SqliteCache;
use sotto_zrtp::{Input, KeyAgreement, SasType, SecureInfo, Session, SessionConfig};

struct Options {
    key_agreement: Option<KeyAgreement>,
    sas: Option<SasType>,
    cache_dir: PathBuf,
    fresh: bool,
    verify: bool,
}

fn parse_args() -> Result<Options> {
    let mut opts = Options {
        key_agreement: None,
        sas: None,
        cache_dir: std::env::temp_dir().join("sotto-handshake-example"),
        fresh: false,
        verify: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--key-agreement" => opts.key_agreement = Some(value("--key-agreement")?.parse()?),
            "--sas" => opts.sas = Some(value("--sas")?.parse()?),
            "--cache-dir" => opts.cache_dir = value("--cache-dir")?.into(),
            "--fresh" => opts.fresh = true,
            "--verify" => opts.verify = true,
            "-h" | "--help" => {
                println!("usage: handshake [--key-agreement X255|DH3k|DH2k|EC25] [--sas B32|B256] [--cache-dir DIR] [--fresh] [--verify]");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}; try --help"),
        }
    }
    Ok(opts)
}

/// Runs one endpoint until it is secure, then lingers to answer a lost Conf2ACK.
fn endpoint(
    name: &str,
    socket: UdpSocket,
    peer: SocketAddr,
    config: SessionConfig,
    cache: PathBuf,
    verify: bool,
) -> Result<(Box<SecureInfo>, Instant)> {
    let cache = Arc::new(SqliteCache::open(&cache)?);
    let session = Session::new(config, cache, &mut rand_core::OsRng, Instant::now())?;
    let mut link = ZrtpOverUdp::new(socket, Some(peer), session);
    let info = link
        .handshake(Duration::from_secs(20))
        .with_context(|| format!("{name}'s handshake"))?;
    let at = Instant::now();
    if verify {
        link.session_mut()
            .handle_input(Input::SetSasVerified(true))?;
    }
    link.serve_until(at + Duration::from_millis(300))?;
    Ok((info, at))
}

fn main() -> Result<()> {
    let opts = parse_args()?;
    std::fs::create_dir_all(&opts.cache_dir)
        .with_context(|| format!("creating {}", opts.cache_dir.display()))?;
    let (alice_cache, bob_cache) = (
        opts.cache_dir.join("alice.zid.sqlite"),
        opts.cache_dir.join("bob.zid.sqlite"),
    );
    if opts.fresh {
        for f in [&alice_cache, &bob_cache] {
            let _ = std::fs::remove_file(f);
        }
    }
    let mut config = SessionConfig::default();
    if let Some(ka) = opts.key_agreement {
        config.key_agreements.retain(|k| *k != ka);
        config.key_agreements.insert(0, ka);
    }
    if let Some(sas) = opts.sas {
        config.sas_types.retain(|s| *s != sas);
        config.sas_types.insert(0, sas);
    }

    let alice = UdpSocket::bind("127.0.0.1:0").context("binding alice's UDP socket")?;
    let bob = UdpSocket::bind("127.0.0.1:0").context("binding bob's UDP socket")?;
    let (alice_addr, bob_addr) = (alice.local_addr()?, bob.local_addr()?);
    println!(
        "alice on udp://{alice_addr}, bob on udp://{bob_addr}; ZID caches in {}",
        opts.cache_dir.display()
    );

    let verify = opts.verify;
    let start = Instant::now();
    let cfg_b = SessionConfig {
        ssrc: 0xb0b,
        ..config.clone()
    };
    let cfg_a = SessionConfig {
        ssrc: 0xa11ce,
        ..config
    };
    let bob_thread =
        std::thread::spawn(move || endpoint("bob", bob, alice_addr, cfg_b, bob_cache, verify));
    let (a, a_at) = endpoint("alice", alice, bob_addr, cfg_a, alice_cache, verify)?;
    let (b, b_at) = bob_thread
        .join()
        .map_err(|_| anyhow::anyhow!("bob's thread panicked"))??;
    let elapsed = a_at.max(b_at) - start;

    let alg = a.algorithms;
    println!();
    println!(
        "  alice SAS: {:>12}   ({})",
        a.sas.as_deref().unwrap_or("-"),
        a.role
    );
    println!(
        "  bob   SAS: {:>12}   ({})",
        b.sas.as_deref().unwrap_or("-"),
        b.role
    );
    println!();
    println!(
        "  negotiated: key agreement {}, hash {}, cipher {}, srtp auth tag {}, sas {}",
        alg.key_agreement, alg.hash, alg.cipher, alg.auth_tag, alg.sas_type
    );
    let continuity = if a.cache_mismatch || b.cache_mismatch {
        "CACHE MISMATCH: compare the SAS, this may be a man in the middle"
    } else if a.sas_verified && b.sas_verified {
        "retained secret matched, SAS verified in an earlier call"
    } else if a.secret_matched && b.secret_matched {
        "retained secret from the last call matched; SAS not yet verified (--verify)"
    } else {
        "first call between these two: compare the SAS aloud (--verify to mark it)"
    };
    println!("  key continuity: {continuity}");
    println!(
        "  first Hello to both secure over loopback UDP: {:.2} ms",
        elapsed.as_secs_f64() * 1e3
    );
    if a.sas != b.sas || a.srtp.local_key != b.srtp.remote_key {
        bail!("the two ends disagree: this must never happen");
    }
    println!("  both ends hold the same SRTP keys (shown nowhere)");
    Ok(())
}
