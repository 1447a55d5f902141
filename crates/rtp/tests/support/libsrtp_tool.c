/*
 * A libsrtp2 filter for interop tests (built by libsrtp.rs against Debian's libsrtp2-dev).
 *
 *   libsrtp_tool protect|unprotect rtp|rtcp PROFILE KEYHEX SALTHEX
 *       stdin:  records [u32 big-endian length][packet]
 *       stdout: per record [i32 big-endian srtp_err_status_t][u32 big-endian length][packet]
 *               (length 0 and no bytes when the status is not srtp_err_status_ok)
 *   libsrtp_tool bench PROFILE SIZE COUNT
 *       prints "protect_ns=<mean> unprotect_ns=<mean>" for SIZE-byte RTP packets
 *
 * PROFILE: aes128_hmac80, aes128_hmac32, aes256_hmac80, aes256_hmac32. The _32 profiles use
 * the 32-bit tag for SRTP only: SRTCP gets the 80-bit tag, as RFC 4568 section 6.2 defines
 * those suites and as libsrtp's callers (GStreamer srtpenc, mediastreamer2) configure it;
 * libsrtp itself would apply whatever tag length its rtcp policy names.
 *
 * One process is one crypto context: protect uses ssrc_any_outbound, unprotect
 * ssrc_any_inbound, replay window 1024 so reordered streams get through, allow_repeat_tx 0.
 */
#include <srtp2/srtp.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PACKET 65536
#define WINDOW_SIZE 1024
#define MAX_KEY 32
#define SALT_LEN 14

static void die(const char *what) {
    fprintf(stderr, "libsrtp_tool: %s\n", what);
    exit(2);
}

static void check(srtp_err_status_t status, const char *what) {
    if (status != srtp_err_status_ok) {
        fprintf(stderr, "libsrtp_tool: %s failed: status %d\n", what, (int)status);
        exit(2);
    }
}

/* Sets both crypto policies and returns the master key length the profile needs. */
static size_t set_profile(srtp_policy_t *policy, const char *profile) {
    if (strcmp(profile, "aes128_hmac80") == 0) {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy->rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy->rtcp);
        return 16;
    }
    if (strcmp(profile, "aes128_hmac32") == 0) {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy->rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy->rtcp);
        return 16;
    }
    if (strcmp(profile, "aes256_hmac80") == 0) {
        srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&policy->rtp);
        srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&policy->rtcp);
        return 32;
    }
    if (strcmp(profile, "aes256_hmac32") == 0) {
        srtp_crypto_policy_set_aes_cm_256_hmac_sha1_32(&policy->rtp);
        srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&policy->rtcp);
        return 32;
    }
    die("unknown profile (aes128_hmac80, aes128_hmac32, aes256_hmac80, aes256_hmac32)");
    return 0;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes exactly `len` bytes of hex into out, or dies. */
static void decode_hex(const char *hex, uint8_t *out, size_t len, const char *what) {
    if (strlen(hex) != 2 * len) {
        fprintf(stderr, "libsrtp_tool: %s must be %zu hex digits\n", what, 2 * len);
        exit(2);
    }
    for (size_t i = 0; i < len; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) die("bad hex digit");
        out[i] = (uint8_t)(hi << 4 | lo);
    }
}

static size_t key_len_of(const char *profile) {
    srtp_policy_t policy;
    memset(&policy, 0, sizeof policy);
    return set_profile(&policy, profile);
}

static srtp_t create_session(const char *profile, const uint8_t *key_and_salt, int outbound) {
    srtp_policy_t policy;
    memset(&policy, 0, sizeof policy);
    set_profile(&policy, profile);
    policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    policy.key = (unsigned char *)key_and_salt;
    policy.window_size = WINDOW_SIZE;
    policy.allow_repeat_tx = 0;
    policy.next = NULL;
    srtp_t session = NULL;
    check(srtp_create(&session, &policy), "srtp_create");
    return session;
}

static int read_exact(uint8_t *buf, size_t len) {
    size_t got = fread(buf, 1, len, stdin);
    if (got == len) return 1;
    if (got == 0 && feof(stdin)) return 0;
    die("truncated input record");
    return 0;
}

static void write_u32(uint32_t v) {
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    if (fwrite(b, 1, 4, stdout) != 4) die("write failed");
}

static int filter(int argc, char **argv) {
    if (argc != 6) die("usage: protect|unprotect rtp|rtcp PROFILE KEYHEX SALTHEX");
    int protect;
    if (strcmp(argv[1], "protect") == 0) protect = 1;
    else if (strcmp(argv[1], "unprotect") == 0) protect = 0;
    else die("mode must be protect or unprotect");
    int rtcp;
    if (strcmp(argv[2], "rtp") == 0) rtcp = 0;
    else if (strcmp(argv[2], "rtcp") == 0) rtcp = 1;
    else die("kind must be rtp or rtcp");

    size_t key_len = key_len_of(argv[3]);
    uint8_t key_and_salt[MAX_KEY + SALT_LEN];
    decode_hex(argv[4], key_and_salt, key_len, "key");
    decode_hex(argv[5], key_and_salt + key_len, SALT_LEN, "salt");
    srtp_t session = create_session(argv[3], key_and_salt, protect);

    /* srtp_protect* may append up to SRTP_MAX_TRAILER_LEN bytes in place. */
    static uint8_t packet[MAX_PACKET + SRTP_MAX_TRAILER_LEN];
    uint8_t header[4];
    while (read_exact(header, 4)) {
        uint32_t len = (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 |
                       (uint32_t)header[2] << 8 | header[3];
        if (len > MAX_PACKET) die("input record too long");
        if (len > 0 && !read_exact(packet, len)) die("truncated input record");
        int out_len = (int)len;
        srtp_err_status_t status;
        if (protect) {
            status = rtcp ? srtp_protect_rtcp(session, packet, &out_len)
                          : srtp_protect(session, packet, &out_len);
        } else {
            status = rtcp ? srtp_unprotect_rtcp(session, packet, &out_len)
                          : srtp_unprotect(session, packet, &out_len);
        }
        if (status != srtp_err_status_ok || out_len < 0) out_len = 0;
        write_u32((uint32_t)(int32_t)status);
        write_u32((uint32_t)out_len);
        if (out_len > 0 && fwrite(packet, 1, (size_t)out_len, stdout) != (size_t)out_len)
            die("write failed");
    }
    if (fflush(stdout) != 0) die("write failed");
    check(srtp_dealloc(session), "srtp_dealloc");
    return 0;
}

static double elapsed_ns(const struct timespec *a, const struct timespec *b) {
    return (double)(b->tv_sec - a->tv_sec) * 1e9 + (double)(b->tv_nsec - a->tv_nsec);
}

/* Protects then unprotects COUNT packets in batches, timing each loop on its own so the copies
 * that refill the batch stay outside the figures. */
static int bench(int argc, char **argv) {
    if (argc != 5) die("usage: bench PROFILE SIZE COUNT");
    long size = strtol(argv[3], NULL, 10);
    long count = strtol(argv[4], NULL, 10);
    if (size < 12 || size > MAX_PACKET) die("SIZE must be 12..65536");
    if (count < 1) die("COUNT must be positive");

    uint8_t key_and_salt[MAX_KEY + SALT_LEN];
    for (size_t i = 0; i < sizeof key_and_salt; i++) key_and_salt[i] = (uint8_t)(i * 7 + 1);
    srtp_t sender = create_session(argv[2], key_and_salt, 1);
    srtp_t receiver = create_session(argv[2], key_and_salt, 0);

    enum { BATCH = 256 };
    size_t stride = (size_t)size + SRTP_MAX_TRAILER_LEN;
    uint8_t *slots = malloc(stride * BATCH);
    int lens[BATCH];
    if (slots == NULL) die("out of memory");
    double protect_ns = 0, unprotect_ns = 0;
    long done = 0;
    while (done < count) {
        int n = count - done < BATCH ? (int)(count - done) : BATCH;
        for (int i = 0; i < n; i++) {
            uint8_t *p = slots + stride * (size_t)i;
            uint16_t seq = (uint16_t)(done + i);
            uint32_t ts = (uint32_t)(done + i) * 960;
            memset(p, 0xa5, (size_t)size);
            p[0] = 0x80;
            p[1] = 111;
            p[2] = (uint8_t)(seq >> 8);
            p[3] = (uint8_t)seq;
            p[4] = (uint8_t)(ts >> 24);
            p[5] = (uint8_t)(ts >> 16);
            p[6] = (uint8_t)(ts >> 8);
            p[7] = (uint8_t)ts;
            p[8] = 0x12;
            p[9] = 0x34;
            p[10] = 0x56;
            p[11] = 0x78;
            lens[i] = (int)size;
        }
        struct timespec t0, t1, t2;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int i = 0; i < n; i++)
            check(srtp_protect(sender, slots + stride * (size_t)i, &lens[i]), "srtp_protect");
        clock_gettime(CLOCK_MONOTONIC, &t1);
        for (int i = 0; i < n; i++)
            check(srtp_unprotect(receiver, slots + stride * (size_t)i, &lens[i]),
                  "srtp_unprotect");
        clock_gettime(CLOCK_MONOTONIC, &t2);
        for (int i = 0; i < n; i++)
            if (lens[i] != (int)size) die("round trip changed the packet length");
        protect_ns += elapsed_ns(&t0, &t1);
        unprotect_ns += elapsed_ns(&t1, &t2);
        done += n;
    }
    free(slots);
    printf("protect_ns=%.1f unprotect_ns=%.1f\n", protect_ns / (double)count,
           unprotect_ns / (double)count);
    check(srtp_dealloc(sender), "srtp_dealloc");
    check(srtp_dealloc(receiver), "srtp_dealloc");
    return 0;
}

int main(int argc, char **argv) {
    check(srtp_init(), "srtp_init");
    int rc;
    if (argc >= 2 && strcmp(argv[1], "bench") == 0) rc = bench(argc, argv);
    else rc = filter(argc, argv);
    check(srtp_shutdown(), "srtp_shutdown");
    return rc;
}
