//! Shared by the call tests: scratch files, loopback addresses, and a call to a peer that
//! speaks only ZRTP (it never sends media), so a test can inspect what the call sends.
#![allow(dead_code)]

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sotto::media::AudioInput;
use sotto::zrtp_udp::ZrtpOverUdp;
use sotto::{Call, CallConfig};
use sotto_zrtp::cache::MemoryCache;
use sotto_zrtp::{SecureInfo, Session, SessionConfig};

/// A fresh path in the test binary's scratch directory.
pub fn scratch(ext: &str) -> PathBuf {
    sotto_testkit::scratch_path(Path::new(env!("CARGO_TARGET_TMPDIR")), ext).expect("scratch")
}

/// Any free port on the loopback interface.
pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().expect("addr")
}

/// A call (tone in) and the ZRTP-only peer it reached.
pub struct ZrtpPeerCall {
    /// The call under test.
    pub call: Call,
    /// Its address.
    pub call_addr: SocketAddr,
    /// The peer's side of the handshake, to keep answering ZRTP if the test needs it.
    pub link: ZrtpOverUdp,
    /// What the peer derived: the keys to read the call's media with.
    pub info: Box<SecureInfo>,
    /// The peer's socket, to read what the call sends and to answer it.
    pub tap: UdpSocket,
}

/// Starts a call to a peer that completes ZRTP and then stays silent; `configure` adjusts the
/// call's configuration first.
pub fn call_a_zrtp_peer(configure: impl FnOnce(&mut CallConfig)) -> ZrtpPeerCall {
    let peer_socket = UdpSocket::bind(loopback()).expect("bind");
    let peer_addr = peer_socket.local_addr().expect("addr");
    let tap = peer_socket.try_clone().expect("clone");
    let mut config = CallConfig::new(loopback(), Some(peer_addr), scratch("sqlite"));
    config.audio_in = AudioInput::Tone;
    configure(&mut config);
    let call = Call::start(config).expect("start");
    let call_addr = call.local_addr();
    let session = Session::new(
        SessionConfig::default(),
        Arc::new(MemoryCache::new()),
        &mut rand_core::OsRng,
        Instant::now(),
    )
    .expect("session");
    let mut link = ZrtpOverUdp::new(peer_socket, Some(call_addr), session);
    let info = link.handshake(Duration::from_secs(10)).expect("handshake");
    ZrtpPeerCall {
        call,
        call_addr,
        link,
        info,
        tap,
    }
}
