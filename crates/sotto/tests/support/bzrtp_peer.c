/*
 * A ZRTP test peer driven by the real bzrtp library (Debian libbzrtp-dev 5.1.x).
 *
 * It binds a UDP socket on 127.0.0.1, runs one bzrtp channel against a remote peer until the
 * channel is secure (then lingers so its last packets reach the other side) or a timeout, and
 * prints what bzrtp negotiated and derived. Built and driven by tests/support/bzrtp.rs.
 *
 * stdout, exactly two lines:
 *   listening <port>          as soon as the socket is bound (lets the caller learn an ephemeral port)
 *   { ...flat JSON report... } at the end; exit status 0 when secure, 1 otherwise (with "error")
 * stderr: diagnostics (packet trace with --verbose, bzrtp status messages).
 *
 * Options (lists are comma separated 4-character RFC 6189 names, e.g. X255,DH3k):
 *   --local-port N        0 = ephemeral
 *   --remote-port N       0 = answer whoever sends the first ZRTP packet (drop output until then)
 *   --remote-host A       IPv4 address, default 127.0.0.1
 *   --key-agreements L --hashes L --ciphers L --auth-tags L --sas-types L
 *                         preference lists handed to bzrtp_setSupportedCryptoTypes; bzrtp drops
 *                         what it does not implement and appends its mandatory types
 *   --cache PATH          sqlite3 ZID cache (created if missing); no cache without it
 *   --self-uri U --peer-uri U   cache binding (default alice@sotto.test / bob@sotto.test)
 *   --ssrc N              channel SSRC, sent in every ZRTP packet header
 *   --timeout-ms N        give up if not secure by then (default 10000)
 *   --linger-ms N         keep answering after secure (default 1000)
 *   --export-label S      label for bzrtp_exportKey (default "sotto-test-export")
 *   --sas-verified        call bzrtp_SASVerified once secure (sets the cache's pvs flag)
 *   --sas-reset           call bzrtp_resetSASVerified once secure (clears it)
 *   --ignore-hello-ack    drop incoming HelloACKs: bzrtp then never commits and can only
 *                         become responder (to force roles between two bzrtp peers)
 *   --withhold-hello-ack  never send a HelloACK: a peer that commits only once acknowledged
 *                         waits, so bzrtp commits first and becomes initiator
 *   --capture PATH        write every non-ZRTP datagram received (the peer's SRTP/SRTCP) to
 *                         PATH as [u32 BE length][bytes] records, from the start
 *   --capture-ms N        with --capture, stay at least N ms after secure (default 0: the
 *                         linger only), so the peer's media is captured while it streams
 *   --verbose             trace every packet on stderr
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bzrtp/bzrtp.h>

#define MAX_KEY 64
#define ZRTP_HEADER 12
/* Hello message body offsets after the 12-byte packet header and 12-byte message header */
#define HELLO_CLIENT_ID (ZRTP_HEADER + 12 + 4)
#define HELLO_ZID (HELLO_CLIENT_ID + 16 + 32)
#define HELLO_COUNTS (HELLO_ZID + 12)
#define HELLO_ALGOS (HELLO_COUNTS + 4)

struct algo_name {
	uint8_t type;
	uint8_t id;
	const char *name;
};

static const struct algo_name ALGOS[] = {
	{ZRTP_HASH_TYPE, ZRTP_HASH_S256, "S256"},
	{ZRTP_HASH_TYPE, ZRTP_HASH_S384, "S384"},
	{ZRTP_HASH_TYPE, ZRTP_HASH_N256, "N256"},
	{ZRTP_HASH_TYPE, ZRTP_HASH_N384, "N384"},
	{ZRTP_CIPHERBLOCK_TYPE, ZRTP_CIPHER_AES1, "AES1"},
	{ZRTP_CIPHERBLOCK_TYPE, ZRTP_CIPHER_AES2, "AES2"},
	{ZRTP_CIPHERBLOCK_TYPE, ZRTP_CIPHER_AES3, "AES3"},
	{ZRTP_CIPHERBLOCK_TYPE, ZRTP_CIPHER_2FS1, "2FS1"},
	{ZRTP_CIPHERBLOCK_TYPE, ZRTP_CIPHER_2FS2, "2FS2"},
	{ZRTP_CIPHERBLOCK_TYPE, ZRTP_CIPHER_2FS3, "2FS3"},
	{ZRTP_AUTHTAG_TYPE, ZRTP_AUTHTAG_HS32, "HS32"},
	{ZRTP_AUTHTAG_TYPE, ZRTP_AUTHTAG_HS80, "HS80"},
	{ZRTP_AUTHTAG_TYPE, ZRTP_AUTHTAG_SK32, "SK32"},
	{ZRTP_AUTHTAG_TYPE, ZRTP_AUTHTAG_SK64, "SK64"},
	{ZRTP_KEYAGREEMENT_TYPE, ZRTP_KEYAGREEMENT_DH2k, "DH2k"},
	{ZRTP_KEYAGREEMENT_TYPE, ZRTP_KEYAGREEMENT_X255, "X255"},
	{ZRTP_KEYAGREEMENT_TYPE, ZRTP_KEYAGREEMENT_EC25, "EC25"},
	{ZRTP_KEYAGREEMENT_TYPE, ZRTP_KEYAGREEMENT_X448, "X448"},
	{ZRTP_KEYAGREEMENT_TYPE, ZRTP_KEYAGREEMENT_DH3k, "DH3k"},
	{ZRTP_KEYAGREEMENT_TYPE, ZRTP_KEYAGREEMENT_EC38, "EC38"},
	{ZRTP_KEYAGREEMENT_TYPE, ZRTP_KEYAGREEMENT_EC52, "EC52"},
	{ZRTP_KEYAGREEMENT_TYPE, ZRTP_KEYAGREEMENT_Prsh, "Prsh"},
	{ZRTP_KEYAGREEMENT_TYPE, ZRTP_KEYAGREEMENT_Mult, "Mult"},
	{ZRTP_SAS_TYPE, ZRTP_SAS_B32, "B32"},
	{ZRTP_SAS_TYPE, ZRTP_SAS_B256, "B256"},
};

struct peer {
	int fd;
	struct sockaddr_in remote;
	int remote_known;
	int verbose;
	int ignore_hello_ack;
	int withhold_hello_ack;
	uint64_t start_ms;

	FILE *capture;
	unsigned captured;
	unsigned captured_before_secure;
	int capture_error;

	bzrtpContext_t *ctx;
	uint32_t ssrc;
	const char *export_label;

	unsigned packets_sent;
	unsigned packets_received;
	int last_process_error;
	char last_sent[9];
	char last_received[9];

	/* from the callbacks */
	int receiver_secrets;
	int sender_secrets;
	int secure;
	uint64_t secure_ms;
	int verified;
	int cache_mismatch;
	int cache_mismatch_message;
	uint8_t self_key[MAX_KEY], self_salt[MAX_KEY], peer_key[MAX_KEY], peer_salt[MAX_KEY];
	size_t self_key_len, self_salt_len, peer_key_len, peer_salt_len;
	char sas[64];
	uint8_t hash, cipher, auth_tag, key_agreement, sas_type;
	uint8_t exported[MAX_KEY];
	size_t exported_len;
	int exported_done;
	int export_error;
	int role_from_export; /* -1 unknown, else BZRTP_ROLE_* */

	/* sniffed from the packets on the wire */
	int role_from_wire; /* -1 unknown, else BZRTP_ROLE_* */
	uint8_t self_zid[12], peer_zid[12];
	int have_self_zid, have_peer_zid;
	char offered[5][64];
	char peer_client_id[17];
	uint32_t peer_ssrc;
	int have_peer_ssrc;
};

static uint64_t now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void logf_(struct peer *p, const char *fmt, ...) {
	va_list ap;
	fprintf(stderr, "[bzrtp-peer %6llu ms] ", (unsigned long long)(now_ms() - p->start_ms));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *algo_name(uint8_t id) {
	size_t i;
	for (i = 0; i < sizeof(ALGOS) / sizeof(ALGOS[0]); i++) {
		if (ALGOS[i].id == id) {
			return ALGOS[i].name;
		}
	}
	return NULL;
}

/* Parse "X255,DH3k" into ids of one type; returns the count or -1 (message in err). */
static int parse_list(const char *list, uint8_t type, uint8_t out[7], char *err, size_t err_len) {
	int n = 0;
	const char *s = list;
	while (*s) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		size_t i;
		int found = 0;
		if (len > 0) {
			if (n == 7) {
				snprintf(err, err_len, "more than 7 algorithms in \"%s\"", list);
				return -1;
			}
			for (i = 0; i < sizeof(ALGOS) / sizeof(ALGOS[0]); i++) {
				if (ALGOS[i].type == type && strlen(ALGOS[i].name) == len && strncmp(ALGOS[i].name, s, len) == 0) {
					out[n++] = ALGOS[i].id;
					found = 1;
					break;
				}
			}
			if (!found) {
				snprintf(err, err_len, "unknown algorithm \"%.*s\" in \"%s\"", (int)len, s, list);
				return -1;
			}
		}
		if (!end) {
			break;
		}
		s = end + 1;
	}
	return n;
}

static void message_type(const uint8_t *packet, size_t len, char out[9]) {
	size_t i;
	if (len < ZRTP_HEADER + 12) {
		strcpy(out, "?");
		return;
	}
	memcpy(out, packet + ZRTP_HEADER + 4, 8);
	out[8] = '\0';
	for (i = 8; i > 0 && out[i - 1] == ' '; i--) {
		out[i - 1] = '\0';
	}
}

static uint32_t be32(const uint8_t *b) {
	return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | (uint32_t)b[3];
}

/* Our own Hello tells what bzrtp really offers after it filtered and completed the lists. */
static void sniff_own_hello(struct peer *p, const uint8_t *packet, size_t len) {
	uint8_t counts[5];
	size_t total, off = HELLO_ALGOS;
	int t;
	if (len < HELLO_ALGOS) {
		return;
	}
	memcpy(p->self_zid, packet + HELLO_ZID, 12);
	p->have_self_zid = 1;
	counts[0] = packet[HELLO_COUNTS + 1] & 0x0f;
	counts[1] = packet[HELLO_COUNTS + 2] >> 4;
	counts[2] = packet[HELLO_COUNTS + 2] & 0x0f;
	counts[3] = packet[HELLO_COUNTS + 3] >> 4;
	counts[4] = packet[HELLO_COUNTS + 3] & 0x0f;
	total = 4u * (counts[0] + counts[1] + counts[2] + counts[3] + counts[4]);
	if (len < HELLO_ALGOS + total) {
		return;
	}
	for (t = 0; t < 5; t++) {
		int i;
		p->offered[t][0] = '\0';
		for (i = 0; i < counts[t]; i++) {
			char name[5];
			int k;
			memcpy(name, packet + off, 4);
			name[4] = '\0';
			for (k = 3; k >= 0 && name[k] == ' '; k--) {
				name[k] = '\0';
			}
			if (i > 0) {
				strncat(p->offered[t], ",", sizeof(p->offered[t]) - strlen(p->offered[t]) - 1);
			}
			strncat(p->offered[t], name, sizeof(p->offered[t]) - strlen(p->offered[t]) - 1);
			off += 4;
		}
	}
}

static void sniff_peer_hello(struct peer *p, const uint8_t *packet, size_t len) {
	int i;
	if (len < HELLO_COUNTS) {
		return;
	}
	memcpy(p->peer_zid, packet + HELLO_ZID, 12);
	p->have_peer_zid = 1;
	memcpy(p->peer_client_id, packet + HELLO_CLIENT_ID, 16);
	p->peer_client_id[16] = '\0';
	for (i = 15; i >= 0 && (p->peer_client_id[i] == ' ' || p->peer_client_id[i] == '\0'); i--) {
		p->peer_client_id[i] = '\0';
	}
}

static void capture_datagram(struct peer *p, const uint8_t *buf, size_t len) {
	uint8_t header[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
	if (fwrite(header, 1, sizeof(header), p->capture) != sizeof(header) || fwrite(buf, 1, len, p->capture) != len) {
		if (p->capture_error == 0) {
			p->capture_error = errno != 0 ? errno : EIO;
		}
		return;
	}
	p->captured++;
	if (!p->secure) {
		p->captured_before_secure++;
	}
	if (p->verbose) {
		logf_(p, "capture %zu bytes, first byte 0x%02x", len, (unsigned)buf[0]);
	}
}

static int cb_send(void *client, const uint8_t *packet, uint16_t len) {
	struct peer *p = client;
	char type[9];
	message_type(packet, len, type);
	if (strcmp(type, "Hello") == 0) {
		sniff_own_hello(p, packet, len);
	} else if (strcmp(type, "DHPart1") == 0) {
		p->role_from_wire = BZRTP_ROLE_RESPONDER;
	} else if (strcmp(type, "DHPart2") == 0) {
		p->role_from_wire = BZRTP_ROLE_INITIATOR;
	}
	memcpy(p->last_sent, type, sizeof(type));
	if (p->withhold_hello_ack && strcmp(type, "HelloACK") == 0) {
		if (p->verbose) {
			logf_(p, "drop %s (withheld)", type);
		}
		return 0;
	}
	if (!p->remote_known) {
		if (p->verbose) {
			logf_(p, "drop %s (remote not known yet)", type);
		}
		return 0;
	}
	if (p->verbose) {
		logf_(p, "send %-8s seq %5u len %u", type, (unsigned)((packet[2] << 8) | packet[3]), (unsigned)len);
	}
	if (sendto(p->fd, packet, len, 0, (const struct sockaddr *)&p->remote, sizeof(p->remote)) < 0) {
		logf_(p, "sendto: %s", strerror(errno));
	}
	p->packets_sent++;
	/* bzrtp aborts a transition when this returns non-zero; a lost datagram is not its business */
	return 0;
}

static void copy_secret(uint8_t *dst, size_t *dst_len, const uint8_t *src, uint8_t len) {
	if (src == NULL || len > MAX_KEY) {
		*dst_len = 0;
		return;
	}
	memcpy(dst, src, len);
	*dst_len = len;
}

static void record_secrets(struct peer *p, const bzrtpSrtpSecrets_t *s) {
	copy_secret(p->self_key, &p->self_key_len, s->selfSrtpKey, s->selfSrtpKeyLength);
	copy_secret(p->self_salt, &p->self_salt_len, s->selfSrtpSalt, s->selfSrtpSaltLength);
	copy_secret(p->peer_key, &p->peer_key_len, s->peerSrtpKey, s->peerSrtpKeyLength);
	copy_secret(p->peer_salt, &p->peer_salt_len, s->peerSrtpSalt, s->peerSrtpSaltLength);
	if (s->sas != NULL) {
		snprintf(p->sas, sizeof(p->sas), "%s", s->sas);
	}
	p->hash = s->hashAlgo;
	p->cipher = s->cipherAlgo;
	p->auth_tag = s->authTagAlgo;
	p->key_agreement = s->keyAgreementAlgo;
	p->sas_type = s->sasAlgo;
	if (s->cacheMismatch) {
		p->cache_mismatch = 1;
	}
}

static int cb_secrets(void *client, const bzrtpSrtpSecrets_t *secrets, uint8_t part) {
	struct peer *p = client;
	record_secrets(p, secrets);
	if (part & ZRTP_SRTP_SECRETS_FOR_RECEIVER) {
		p->receiver_secrets = 1;
	}
	if (part & ZRTP_SRTP_SECRETS_FOR_SENDER) {
		p->sender_secrets = 1;
	}
	if (p->verbose) {
		logf_(p, "srtp secrets available for %s", part == ZRTP_SRTP_SECRETS_FOR_SENDER ? "sender" : part == ZRTP_SRTP_SECRETS_FOR_RECEIVER ? "receiver" : "both");
	}
	return 0;
}

static void export_key(struct peer *p) {
	size_t len = sizeof(p->exported);
	int rc;
	if (p->exported_done) {
		return;
	}
	rc = bzrtp_exportKey(p->ctx, (char *)p->export_label, strlen(p->export_label), p->exported, &len);
	if (rc == 0) {
		p->exported_len = len;
		p->exported_done = 1;
	} else {
		p->export_error = rc;
	}
}

/* bzrtp wipes s0 right after this callback, so the exported key can only be taken here. */
static int cb_export(void *client, int zuid, uint8_t role) {
	struct peer *p = client;
	(void)zuid;
	p->role_from_export = role;
	export_key(p);
	return 0;
}

static int cb_start(void *client, const bzrtpSrtpSecrets_t *secrets, int32_t verified) {
	struct peer *p = client;
	record_secrets(p, secrets);
	p->verified = verified != 0;
	/* On a cache mismatch bzrtp keeps s0 (it defers the cache update until the SAS is
	 * confirmed) and never calls the export callback, so export now while s0 is there. */
	if (secrets->cacheMismatch) {
		export_key(p);
	}
	p->secure = 1;
	p->secure_ms = now_ms() - p->start_ms;
	if (p->verbose) {
		logf_(p, "secure, sas \"%s\", verified %d", p->sas, p->verified);
	}
	return 0;
}

static int cb_status(void *client, const uint8_t level, const uint8_t id, const char *msg) {
	struct peer *p = client;
	if (id == BZRTP_MESSAGE_CACHEMISMATCH) {
		p->cache_mismatch_message = 1;
	}
	logf_(p, "bzrtp status level %u id %u: %s", (unsigned)level, (unsigned)id, msg ? msg : "");
	return 0;
}

static void json_string(FILE *f, const char *s) {
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			fprintf(f, "\\%c", c);
		} else if (c < 0x20 || c >= 0x7f) {
			fprintf(f, "\\u%04x", c);
		} else {
			fputc(c, f);
		}
	}
	fputc('"', f);
}

static void json_key(FILE *f, int *first, const char *key) {
	fprintf(f, "%s\"%s\":", *first ? "" : ",", key);
	*first = 0;
}

static void json_str_field(FILE *f, int *first, const char *key, const char *value) {
	json_key(f, first, key);
	if (value == NULL) {
		fputs("null", f);
	} else {
		json_string(f, value);
	}
}

static void json_hex_field(FILE *f, int *first, const char *key, const uint8_t *b, size_t len) {
	size_t i;
	json_key(f, first, key);
	fputc('"', f);
	for (i = 0; i < len; i++) {
		fprintf(f, "%02x", b[i]);
	}
	fputc('"', f);
}

static void json_bool_field(FILE *f, int *first, const char *key, int value) {
	json_key(f, first, key);
	fputs(value ? "true" : "false", f);
}

static void json_uint_field(FILE *f, int *first, const char *key, unsigned long long value) {
	json_key(f, first, key);
	fprintf(f, "%llu", value);
}

static const char *role_name(int role) {
	switch (role) {
		case BZRTP_ROLE_INITIATOR:
			return "initiator";
		case BZRTP_ROLE_RESPONDER:
			return "responder";
		default:
			return NULL;
	}
}

static const char *peer_status_name(int status) {
	switch (status) {
		case BZRTP_CACHE_PEER_STATUS_UNKNOWN:
			return "unknown";
		case BZRTP_CACHE_PEER_STATUS_VALID:
			return "valid";
		case BZRTP_CACHE_PEER_STATUS_INVALID:
			return "invalid";
		default:
			return NULL;
	}
}

static void print_report(struct peer *p, const char *error, int peer_status) {
	FILE *f = stdout;
	int first = 1;
	int role = p->role_from_wire >= 0 ? p->role_from_wire : p->role_from_export;
	fputc('{', f);
	json_bool_field(f, &first, "ok", error == NULL);
	json_str_field(f, &first, "error", error);
	json_str_field(f, &first, "role", role_name(role));
	json_str_field(f, &first, "role_from_export_callback", role_name(p->role_from_export));
	json_str_field(f, &first, "sas", p->secure ? p->sas : NULL);
	json_bool_field(f, &first, "sas_verified", p->verified);
	json_bool_field(f, &first, "cache_mismatch", p->cache_mismatch || p->cache_mismatch_message);
	json_str_field(f, &first, "hash", algo_name(p->hash));
	json_str_field(f, &first, "cipher", algo_name(p->cipher));
	json_str_field(f, &first, "auth_tag", algo_name(p->auth_tag));
	json_str_field(f, &first, "key_agreement", algo_name(p->key_agreement));
	json_str_field(f, &first, "sas_type", algo_name(p->sas_type));
	json_hex_field(f, &first, "self_srtp_key", p->self_key, p->self_key_len);
	json_hex_field(f, &first, "self_srtp_salt", p->self_salt, p->self_salt_len);
	json_hex_field(f, &first, "peer_srtp_key", p->peer_key, p->peer_key_len);
	json_hex_field(f, &first, "peer_srtp_salt", p->peer_salt, p->peer_salt_len);
	json_str_field(f, &first, "export_label", p->export_label);
	json_hex_field(f, &first, "exported_key", p->exported, p->exported_done ? p->exported_len : 0);
	json_hex_field(f, &first, "self_zid", p->self_zid, p->have_self_zid ? 12 : 0);
	json_hex_field(f, &first, "peer_zid", p->peer_zid, p->have_peer_zid ? 12 : 0);
	json_uint_field(f, &first, "ssrc", p->ssrc);
	json_key(f, &first, "peer_ssrc");
	if (p->have_peer_ssrc) {
		fprintf(f, "%lu", (unsigned long)p->peer_ssrc);
	} else {
		fputs("null", f);
	}
	json_str_field(f, &first, "peer_client_id", p->have_peer_zid ? p->peer_client_id : NULL);
	json_str_field(f, &first, "offered_hashes", p->offered[0]);
	json_str_field(f, &first, "offered_ciphers", p->offered[1]);
	json_str_field(f, &first, "offered_auth_tags", p->offered[2]);
	json_str_field(f, &first, "offered_key_agreements", p->offered[3]);
	json_str_field(f, &first, "offered_sas_types", p->offered[4]);
	json_str_field(f, &first, "peer_status", peer_status_name(peer_status));
	json_uint_field(f, &first, "secure_ms", p->secure ? p->secure_ms : 0);
	json_uint_field(f, &first, "packets_sent", p->packets_sent);
	json_uint_field(f, &first, "packets_received", p->packets_received);
	json_uint_field(f, &first, "captured", p->captured);
	json_uint_field(f, &first, "captured_before_secure", p->captured_before_secure);
	fputs("}\n", f);
	fflush(f);
}

static int set_types(bzrtpContext_t *ctx, const char *list, uint8_t type, char *err, size_t err_len) {
	uint8_t ids[7];
	int n;
	if (list == NULL) {
		return 0;
	}
	n = parse_list(list, type, ids, err, err_len);
	if (n < 0) {
		return -1;
	}
	if (n > 0) {
		bzrtp_setSupportedCryptoTypes(ctx, type, ids, (uint8_t)n);
	}
	return 0;
}

static int parse_u32(const char *s, unsigned long max, unsigned long *out) {
	char *end;
	unsigned long v;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno != 0 || *s == '\0' || *end != '\0' || v > max) {
		return -1;
	}
	*out = v;
	return 0;
}

enum {
	OPT_LOCAL_PORT = 256,
	OPT_REMOTE_PORT,
	OPT_REMOTE_HOST,
	OPT_KEY_AGREEMENTS,
	OPT_HASHES,
	OPT_CIPHERS,
	OPT_AUTH_TAGS,
	OPT_SAS_TYPES,
	OPT_CACHE,
	OPT_SELF_URI,
	OPT_PEER_URI,
	OPT_SSRC,
	OPT_TIMEOUT_MS,
	OPT_LINGER_MS,
	OPT_EXPORT_LABEL,
	OPT_SAS_VERIFIED,
	OPT_SAS_RESET,
	OPT_IGNORE_HELLO_ACK,
	OPT_WITHHOLD_HELLO_ACK,
	OPT_CAPTURE,
	OPT_CAPTURE_MS,
	OPT_VERBOSE,
};

int main(int argc, char **argv) {
	static const struct option options[] = {
		{"local-port", required_argument, NULL, OPT_LOCAL_PORT},
		{"remote-port", required_argument, NULL, OPT_REMOTE_PORT},
		{"remote-host", required_argument, NULL, OPT_REMOTE_HOST},
		{"key-agreements", required_argument, NULL, OPT_KEY_AGREEMENTS},
		{"hashes", required_argument, NULL, OPT_HASHES},
		{"ciphers", required_argument, NULL, OPT_CIPHERS},
		{"auth-tags", required_argument, NULL, OPT_AUTH_TAGS},
		{"sas-types", required_argument, NULL, OPT_SAS_TYPES},
		{"cache", required_argument, NULL, OPT_CACHE},
		{"self-uri", required_argument, NULL, OPT_SELF_URI},
		{"peer-uri", required_argument, NULL, OPT_PEER_URI},
		{"ssrc", required_argument, NULL, OPT_SSRC},
		{"timeout-ms", required_argument, NULL, OPT_TIMEOUT_MS},
		{"linger-ms", required_argument, NULL, OPT_LINGER_MS},
		{"export-label", required_argument, NULL, OPT_EXPORT_LABEL},
		{"sas-verified", no_argument, NULL, OPT_SAS_VERIFIED},
		{"sas-reset", no_argument, NULL, OPT_SAS_RESET},
		{"ignore-hello-ack", no_argument, NULL, OPT_IGNORE_HELLO_ACK},
		{"withhold-hello-ack", no_argument, NULL, OPT_WITHHOLD_HELLO_ACK},
		{"capture", required_argument, NULL, OPT_CAPTURE},
		{"capture-ms", required_argument, NULL, OPT_CAPTURE_MS},
		{"verbose", no_argument, NULL, OPT_VERBOSE},
		{NULL, 0, NULL, 0},
	};
	static struct peer peer;
	struct peer *p = &peer;
	unsigned long local_port = 0, remote_port = 0, ssrc = 0x50770b2bUL, timeout_ms = 10000, linger_ms = 1000, capture_ms = 0;
	const char *remote_host = "127.0.0.1";
	const char *lists[5] = {NULL, NULL, NULL, NULL, NULL};
	static const uint8_t list_types[5] = {ZRTP_HASH_TYPE, ZRTP_CIPHERBLOCK_TYPE, ZRTP_AUTHTAG_TYPE, ZRTP_KEYAGREEMENT_TYPE, ZRTP_SAS_TYPE};
	const char *capture_path = NULL;
	const char *cache_path = NULL, *self_uri = "alice@sotto.test", *peer_uri = "bob@sotto.test";
	int sas_verified = 0, sas_reset = 0;
	char err[2048];
	const char *error = NULL;
	sqlite3 *db = NULL;
	struct sockaddr_in local;
	socklen_t local_len = sizeof(local);
	bzrtpCallbacks_t cbs;
	uint64_t deadline, linger_until = 0;
	int peer_status = 0;
	int opt, i, rc;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	p->start_ms = now_ms();
	p->role_from_wire = -1;
	p->role_from_export = -1;
	p->export_label = "sotto-test-export";

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		int bad = 0;
		switch (opt) {
			case OPT_LOCAL_PORT: bad = parse_u32(optarg, 65535, &local_port); break;
			case OPT_REMOTE_PORT: bad = parse_u32(optarg, 65535, &remote_port); break;
			case OPT_REMOTE_HOST: remote_host = optarg; break;
			case OPT_HASHES: lists[0] = optarg; break;
			case OPT_CIPHERS: lists[1] = optarg; break;
			case OPT_AUTH_TAGS: lists[2] = optarg; break;
			case OPT_KEY_AGREEMENTS: lists[3] = optarg; break;
			case OPT_SAS_TYPES: lists[4] = optarg; break;
			case OPT_CACHE: cache_path = optarg; break;
			case OPT_SELF_URI: self_uri = optarg; break;
			case OPT_PEER_URI: peer_uri = optarg; break;
			case OPT_SSRC: bad = parse_u32(optarg, 0xffffffffUL, &ssrc); break;
			case OPT_TIMEOUT_MS: bad = parse_u32(optarg, 3600000UL, &timeout_ms); break;
			case OPT_LINGER_MS: bad = parse_u32(optarg, 3600000UL, &linger_ms); break;
			case OPT_EXPORT_LABEL: p->export_label = optarg; break;
			case OPT_SAS_VERIFIED: sas_verified = 1; break;
			case OPT_SAS_RESET: sas_reset = 1; break;
			case OPT_IGNORE_HELLO_ACK: p->ignore_hello_ack = 1; break;
			case OPT_WITHHOLD_HELLO_ACK: p->withhold_hello_ack = 1; break;
			case OPT_CAPTURE: capture_path = optarg; break;
			case OPT_CAPTURE_MS: bad = parse_u32(optarg, 3600000UL, &capture_ms); break;
			case OPT_VERBOSE: p->verbose = 1; break;
			default: bad = 1; break;
		}
		if (bad) {
			snprintf(err, sizeof(err), "bad command line near \"%s\"", argv[optind - 1]);
			print_report(p, err, 0);
			return 2;
		}
	}
	if (optind != argc) {
		snprintf(err, sizeof(err), "unexpected argument \"%s\"", argv[optind]);
		print_report(p, err, 0);
		return 2;
	}
	p->ssrc = (uint32_t)ssrc;
	if (capture_path != NULL) {
		p->capture = fopen(capture_path, "wb");
		if (p->capture == NULL) {
			snprintf(err, sizeof(err), "cannot create capture file %s: %s", capture_path, strerror(errno));
			print_report(p, err, 0);
			return 1;
		}
	}

	/* socket first, so the caller can start talking as soon as it reads the port */
	p->fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&local, 0, sizeof(local));
	local.sin_family = AF_INET;
	local.sin_port = htons((uint16_t)local_port);
	local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (p->fd < 0 || bind(p->fd, (struct sockaddr *)&local, sizeof(local)) < 0 ||
	    getsockname(p->fd, (struct sockaddr *)&local, &local_len) < 0) {
		snprintf(err, sizeof(err), "cannot bind udp 127.0.0.1:%lu: %s", local_port, strerror(errno));
		print_report(p, err, 0);
		return 1;
	}
	memset(&p->remote, 0, sizeof(p->remote));
	p->remote.sin_family = AF_INET;
	p->remote.sin_port = htons((uint16_t)remote_port);
	if (inet_pton(AF_INET, remote_host, &p->remote.sin_addr) != 1) {
		snprintf(err, sizeof(err), "bad remote host \"%s\"", remote_host);
		print_report(p, err, 0);
		return 1;
	}
	p->remote_known = remote_port != 0;
	printf("listening %u\n", (unsigned)ntohs(local.sin_port));
	fflush(stdout);

	/* Order matters: the Hello is built inside bzrtp_initBzrtpContext from the algorithm
	 * lists and the ZID, so both must be set before it. */
	p->ctx = bzrtp_createBzrtpContext();
	memset(&cbs, 0, sizeof(cbs));
	cbs.bzrtp_statusMessage = cb_status;
	cbs.bzrtp_messageLevel = p->verbose ? BZRTP_MESSAGE_LOG : BZRTP_MESSAGE_WARNING;
	cbs.bzrtp_sendData = cb_send;
	cbs.bzrtp_srtpSecretsAvailable = cb_secrets;
	cbs.bzrtp_startSrtpSession = cb_start;
	cbs.bzrtp_contextReadyForExportedKeys = cb_export;
	bzrtp_setCallbacks(p->ctx, &cbs);
	for (i = 0; i < 5; i++) {
		if (set_types(p->ctx, lists[i], list_types[i], err, sizeof(err)) != 0) {
			print_report(p, err, 0);
			return 2;
		}
	}
	if (cache_path != NULL) {
		if (sqlite3_open(cache_path, &db) != SQLITE_OK) {
			snprintf(err, sizeof(err), "cannot open zid cache %s: %s", cache_path, db ? sqlite3_errmsg(db) : "out of memory");
			print_report(p, err, 0);
			return 1;
		}
		rc = bzrtp_setZIDCache(p->ctx, db, self_uri, peer_uri);
		if (rc != 0 && rc != BZRTP_CACHE_SETUP && rc != BZRTP_CACHE_UPDATE) {
			snprintf(err, sizeof(err), "bzrtp_setZIDCache failed: 0x%x", rc);
			print_report(p, err, 0);
			return 1;
		}
	}
	rc = bzrtp_initBzrtpContext(p->ctx, p->ssrc);
	if (rc == 0) {
		rc = bzrtp_setClientData(p->ctx, p->ssrc, p);
	}
	if (rc == 0) {
		rc = bzrtp_startChannelEngine(p->ctx, p->ssrc);
	}
	if (rc != 0) {
		snprintf(err, sizeof(err), "bzrtp setup failed: 0x%x", rc);
		print_report(p, err, 0);
		return 1;
	}

	deadline = p->start_ms + timeout_ms;
	for (;;) {
		uint64_t now = now_ms();
		struct pollfd pfd;
		if (p->secure && linger_until == 0) {
			if (sas_verified) {
				bzrtp_SASVerified(p->ctx);
			}
			if (sas_reset) {
				bzrtp_resetSASVerified(p->ctx);
			}
			linger_until = now + (capture_ms > linger_ms ? capture_ms : linger_ms);
		}
		if (linger_until != 0 && now >= linger_until) {
			break;
		}
		if (linger_until == 0 && now >= deadline) {
			snprintf(err, sizeof(err),
			         "not secure after %lu ms (channel status 0x%x, last sent %s, last received %s, last bzrtp_processMessage error 0x%x, %u sent, %u received)",
			         timeout_ms, bzrtp_getChannelStatus(p->ctx, p->ssrc), p->last_sent[0] ? p->last_sent : "nothing",
			         p->last_received[0] ? p->last_received : "nothing", p->last_process_error, p->packets_sent,
			         p->packets_received);
			error = err;
			break;
		}
		bzrtp_iterate(p->ctx, p->ssrc, now);

		pfd.fd = p->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, 5) > 0 && (pfd.revents & POLLIN)) {
			uint8_t buf[4096];
			struct sockaddr_in from;
			socklen_t from_len = sizeof(from);
			ssize_t n = recvfrom(p->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &from_len);
			char type[9];
			if (n < 28 || (buf[0] & 0xf0) != 0x10 || be32(buf + 4) != ZRTP_MAGIC_COOKIE) {
				/* not ZRTP (or a socket error): the real demux would hand it to SRTP */
				if (n > 0 && p->capture != NULL) {
					capture_datagram(p, buf, (size_t)n);
				}
				continue;
			}
			if (!p->remote_known) {
				p->remote = from;
				p->remote_known = 1;
			}
			p->packets_received++;
			p->peer_ssrc = be32(buf + 8);
			p->have_peer_ssrc = 1;
			message_type(buf, (size_t)n, type);
			memcpy(p->last_received, type, sizeof(type));
			if (strcmp(type, "Hello") == 0 && !p->have_peer_zid) {
				sniff_peer_hello(p, buf, (size_t)n);
			}
			if (p->ignore_hello_ack && strcmp(type, "HelloACK") == 0) {
				if (p->verbose) {
					logf_(p, "recv %-8s seq %5u len %zd, ignored", type, (unsigned)((buf[2] << 8) | buf[3]), n);
				}
				continue;
			}
			if (p->verbose) {
				logf_(p, "recv %-8s seq %5u len %zd", type, (unsigned)((buf[2] << 8) | buf[3]), n);
			}
			rc = bzrtp_processMessage(p->ctx, p->ssrc, buf, (uint16_t)n);
			if (rc != 0) {
				p->last_process_error = rc;
				if (p->verbose) {
					logf_(p, "  bzrtp_processMessage rejected it: 0x%x", rc);
				}
			}
		}
	}

	if (error == NULL && !p->sender_secrets) {
		error = "secure without sender srtp secrets";
	}
	if (p->capture != NULL && fclose(p->capture) != 0) {
		p->capture_error = errno;
	}
	if (error == NULL && p->capture_error != 0) {
		snprintf(err, sizeof(err), "cannot write capture file %s: %s", capture_path, strerror(p->capture_error));
		error = err;
	}
	if (error == NULL && p->export_error != 0) {
		snprintf(err, sizeof(err), "bzrtp_exportKey failed: 0x%x", p->export_error);
		error = err;
	}
	if (db != NULL) {
		peer_status = bzrtp_cache_getPeerStatus_lock(db, peer_uri, NULL);
	}
	print_report(p, error, peer_status);
	bzrtp_destroyBzrtpContext(p->ctx, p->ssrc);
	if (db != NULL) {
		sqlite3_close(db);
	}
	close(p->fd);
	return error == NULL ? 0 : 1;
}
