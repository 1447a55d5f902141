//! `a=zrtp-hash` against bzrtp (Debian's libbzrtp 5.1, Linphone's ZRTP library): the value
//! `bzrtp_getSelfHelloHash` gives for its Hello is the one sotto computes and renders for that
//! Hello, and bzrtp, handed sotto's value through `bzrtp_setPeerHelloHash`, accepts sotto's
//! Hello and refuses it under any other hash, in either order. So a Linphone peer and sotto
//! can exchange the attribute through their SDP.
//!
//! The C check below is built once per source (sotto-testkit's `CTool`) and linked against
//! `libbzrtp`; it opens a cacheless bzrtp channel, lets it send its first Hello, prints that
//! packet and bzrtp's own hash of it, then feeds it one Hello packet and one hash.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sotto_testkit::CTool;
use sotto_zrtp::cache::MemoryCache;
use sotto_zrtp::wire::{self, Message};
use sotto_zrtp::{Event, HelloHash, Input, Output, Session, SessionConfig};

const SOURCE: &str = r#"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bzrtp/bzrtp.h>

/* Usage: bzrtp_hello_hash <our Hello packet, hex> <hash string> hash-first|hello-first
 * Prints: self_hello <hex>, self_hash <string>, then in the order asked
 * set_peer_hash <rc> and process_hello <rc>, then replies <message types bzrtp sent back>. */

static uint8_t sent[16][512];
static uint16_t sent_len[16];
static int sent_count;

static int on_send(void *client, const uint8_t *packet, uint16_t len) {
	(void)client;
	if (sent_count < 16 && len <= sizeof(sent[0])) {
		memcpy(sent[sent_count], packet, len);
		sent_len[sent_count] = len;
		sent_count++;
	}
	return 0;
}

static int unhex(const char *s, uint8_t *out, size_t cap) {
	size_t n = strlen(s), i;
	if (n % 2 || n / 2 > cap) return -1;
	for (i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1) return -1;
		out[i] = (uint8_t)v;
	}
	return (int)(n / 2);
}

int main(int argc, char **argv) {
	const uint32_t ssrc = 0x0b2e0b2e;
	bzrtpCallbacks_t cbs;
	uint8_t hello[512], self_hash[80];
	int hello_len, rc, i, first;
	bzrtpContext_t *ctx;
	if (argc != 4 || (hello_len = unhex(argv[1], hello, sizeof(hello))) <= 0) {
		fprintf(stderr, "usage: %s <hello hex> <hash> hash-first|hello-first\n", argv[0]);
		return 2;
	}
	ctx = bzrtp_createBzrtpContext();
	memset(&cbs, 0, sizeof(cbs));
	cbs.bzrtp_sendData = on_send;
	bzrtp_setCallbacks(ctx, &cbs);
	if ((rc = bzrtp_initBzrtpContext(ctx, ssrc)) != 0 || (rc = bzrtp_startChannelEngine(ctx, ssrc)) != 0) {
		fprintf(stderr, "bzrtp setup failed: 0x%x\n", rc);
		return 1;
	}
	/* The first Hello goes out on the first timer tick. */
	bzrtp_iterate(ctx, ssrc, 1);
	if (sent_count != 1) {
		fprintf(stderr, "expected one Hello, bzrtp sent %d packets\n", sent_count);
		return 1;
	}
	printf("self_hello ");
	for (i = 0; i < sent_len[0]; i++) printf("%02x", sent[0][i]);
	printf("\n");
	if ((rc = bzrtp_getSelfHelloHash(ctx, ssrc, self_hash, sizeof(self_hash))) != 0) {
		fprintf(stderr, "bzrtp_getSelfHelloHash failed: 0x%x\n", rc);
		return 1;
	}
	printf("self_hash %s\n", (char *)self_hash);
	first = sent_count;
	if (strcmp(argv[3], "hash-first") == 0) {
		printf("set_peer_hash 0x%x\n", bzrtp_setPeerHelloHash(ctx, ssrc, (uint8_t *)argv[2], strlen(argv[2])));
		printf("process_hello 0x%x\n", bzrtp_processMessage(ctx, ssrc, hello, (uint16_t)hello_len));
	} else {
		printf("process_hello 0x%x\n", bzrtp_processMessage(ctx, ssrc, hello, (uint16_t)hello_len));
		first = sent_count;
		printf("set_peer_hash 0x%x\n", bzrtp_setPeerHelloHash(ctx, ssrc, (uint8_t *)argv[2], strlen(argv[2])));
	}
	/* What bzrtp sent after the hash was set: a HelloACK means it took the Hello. */
	printf("replies");
	for (i = first; i < sent_count; i++) {
		char type[9];
		if (sent_len[i] < 24) continue;
		memcpy(type, sent[i] + 16, 8);
		type[8] = '\0';
		for (rc = 7; rc >= 0 && type[rc] == ' '; rc--) type[rc] = '\0';
		printf(" %s", type);
	}
	printf("\n");
	bzrtp_destroyBzrtpContext(ctx, ssrc);
	return 0;
}
"#;

const BZRTP_ERROR_HELLOHASH_MISMATCH: u32 = 0x0080;

struct Report {
    self_hello: Vec<u8>,
    self_hash: String,
    set_peer_hash: u32,
    process_hello: u32,
    replies: Vec<String>,
}

fn run_check(hello_packet: &[u8], hash: &str, order: &str) -> Report {
    // Built once per process: the tests run on parallel threads.
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let binary = BINARY
        .get_or_init(|| {
            CTool {
                name: "bzrtp_hello_hash",
                source: SOURCE,
                pkg_config: &["libbzrtp", "bctoolbox"],
                install_hint:
                    "install libbzrtp-dev libbctoolbox-dev pkg-config (the project's .ci/setup does)",
            }
            .build(Path::new(env!("CARGO_TARGET_TMPDIR")))
        })
        .as_ref()
        .unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(binary)
        .arg(hex(hello_packet))
        .arg(hash)
        .arg(order)
        .output()
        .expect("run the bzrtp check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |name: &str| -> String {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
            .trim()
            .to_owned()
    };
    let code = |name: &str| -> u32 {
        let v = field(name);
        u32::from_str_radix(v.trim_start_matches("0x"), 16).expect("hex return code")
    };
    Report {
        self_hello: unhex(&field("self_hello ")),
        self_hash: field("self_hash "),
        set_peer_hash: code("set_peer_hash "),
        process_hello: code("process_hello "),
        replies: field("replies")
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    }
}

fn new_session(cfg: SessionConfig) -> Session {
    let mut rng = ChaCha20Rng::seed_from_u64(61);
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    Session::new(cfg, Arc::new(MemoryCache::new()), &mut rng, now).expect("session")
}

/// sotto's first Hello packet and its hash.
fn sotto_hello() -> (Vec<u8>, HelloHash) {
    let mut session = new_session(SessionConfig::default());
    let Output::Transmit(packet) = session.poll_output() else {
        panic!("the first output is our Hello");
    };
    (packet, session.hello_hash())
}

#[test]
fn sotto_and_bzrtp_agree_on_bzrtps_hello_hash() {
    let (hello, hash) = sotto_hello();
    let report = run_check(&hello, &hash.to_string(), "hash-first");
    let packet = wire::parse_packet(&report.self_hello).expect("bzrtp's Hello parses");
    assert!(matches!(packet.message, Message::Hello(_)));
    let ours = HelloHash::of_message(packet.raw);
    assert_eq!(ours.to_string(), report.self_hash, "byte for byte");
    let signaled = HelloHash::parse(&report.self_hash).expect("bzrtp's value parses");
    assert_eq!(signaled, ours);

    // A sotto session handed bzrtp's value takes bzrtp's Hello, and refuses it under another.
    for (expected, accepted) in [(signaled, true), (HelloHash([7; 32]), false)] {
        let mut session = new_session(SessionConfig {
            peer_hello_hash: Some(expected),
            ..SessionConfig::default()
        });
        while !matches!(session.poll_output(), Output::Timeout(_)) {}
        #[allow(clippy::disallowed_methods)]
        let now = Instant::now();
        let result = session.handle_input(Input::Receive {
            now,
            packet: &report.self_hello,
        });
        assert_eq!(result.is_ok(), accepted, "{result:?}");
        let mut mismatch = false;
        loop {
            match session.poll_output() {
                Output::Event(Event::HelloHashMismatch { received, .. }) => {
                    assert_eq!(received, ours);
                    mismatch = true;
                }
                Output::Timeout(_) => break,
                _ => {}
            }
        }
        assert_eq!(mismatch, !accepted);
    }
}

#[test]
fn bzrtp_accepts_sottos_hello_under_sottos_hash_in_either_order() {
    let (hello, hash) = sotto_hello();
    for order in ["hash-first", "hello-first"] {
        let report = run_check(&hello, &hash.to_string(), order);
        assert_eq!(
            (report.set_peer_hash, report.process_hello),
            (0, 0),
            "{order}"
        );
        if order == "hash-first" {
            assert_eq!(report.replies, ["HelloACK"], "bzrtp took our Hello");
        }
    }
    // bzrtp also takes the bare hex, without the version.
    let bare = hash.to_string()[5..].to_owned();
    let report = run_check(&hello, &bare, "hash-first");
    assert_eq!((report.set_peer_hash, report.process_hello), (0, 0));
}

#[test]
fn bzrtp_refuses_sottos_hello_under_another_hash_in_either_order() {
    let (hello, hash) = sotto_hello();
    let mut wrong = *hash.as_bytes();
    wrong[31] ^= 1;
    let wrong = HelloHash(wrong).to_string();

    let report = run_check(&hello, &wrong, "hash-first");
    assert_eq!(report.set_peer_hash, 0);
    assert_eq!(
        report.process_hello, BZRTP_ERROR_HELLOHASH_MISMATCH,
        "the Hello is refused"
    );
    assert!(report.replies.is_empty(), "and not answered");

    // Hash after the Hello: bzrtp reports the mismatch and restarts its channel.
    let report = run_check(&hello, &wrong, "hello-first");
    assert_eq!(report.process_hello, 0);
    assert_eq!(report.set_peer_hash, BZRTP_ERROR_HELLOHASH_MISMATCH);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex from the check"))
        .collect()
}
